"""Starting the staff app as a real server process and talking to it over HTTP like a browser does.

Also the shared test values: ``County`` (the seeded database), ``login`` and the record writers.
``Client`` keeps the session cookie itself (the cookie is ``Secure``, which ``requests`` would not
send over plain HTTP to 127.0.0.1) and sends the CSRF token it got at login.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

import records

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
SALT = "staff-test-salt"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(db_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        LEGAL_DB_URL=db_url,
        LEGAL_SENDER_SALT=SALT,
        PYTHONUNBUFFERED="1",
        STAFF_TRUST_PROXY="1",  # tests choose their client address with X-Forwarded-For
        STAFF_TICK_SECONDS="1",
        STAFF_LOGIN_MAX_USER="5",
        STAFF_LOGIN_MAX_ADDR="8",
        STAFF_ASSIST_PRELOAD="0",  # the search engine loads only in the tests that ask it
    )
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


@dataclass
class StaffServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    db_url: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def start(db_url: str, log_dir: Path, **extra: str) -> StaffServer:
    port = free_port()
    log_path = log_dir / f"staff-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "staff", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env_for(db_url, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = StaffServer(f"http://127.0.0.1:{port}", process, log_path, db_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"staff app exited:\n{server.log()}")
        try:
            requests.get(f"{server.url}/login", timeout=2)
            return server
        except requests.ConnectionError:
            time.sleep(0.3)
    stop(server)
    raise TimeoutError(f"staff app not ready:\n{server.log()}")


def stop(server: StaffServer) -> None:
    if server.process.poll() is None:
        os.killpg(os.getpgid(server.process.pid), signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(os.getpgid(server.process.pid), signal.SIGKILL)


@dataclass
class Client:
    base: str
    address: str = "198.51.100.1"
    cookie: str | None = None
    csrf: str | None = None
    last_set_cookie: str = field(default="", repr=False)

    def request(self, method: str, path: str, *, csrf: bool = True, **kw: Any) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        headers.setdefault("X-Forwarded-For", self.address)
        if self.cookie:
            headers["Cookie"] = f"staff_session={self.cookie}"
        if csrf and self.csrf and method.upper() not in ("GET", "HEAD"):
            headers.setdefault("X-CSRF-Token", self.csrf)
        kw.setdefault("allow_redirects", False)
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def login(self, username: str, password: str = PASSWORD) -> requests.Response:
        reply = self.request("POST", "/api/session", json={"username": username, "password": password})
        if reply.status_code == 200:
            self.cookie = reply.cookies.get("staff_session")
            self.csrf = reply.json()["csrf_token"]
            self.last_set_cookie = reply.headers.get("Set-Cookie", "")
        return reply

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)


@dataclass
class County:
    db_url: str
    advisers: dict[str, int]  # name → id
    villages: dict[str, int]  # label → id
    tmp: Path


def login(server: StaffServer, username: str) -> Client:
    c = Client(server.url, address=f"192.0.2.{uuid.uuid4().int % 250 + 1}")
    reply = c.login(username)
    assert reply.status_code == 200, reply.text
    return c


def store_referral(db_url: str, village: str, **values: object) -> str:
    """A resident's referral written the way the action server writes it; returns its id."""
    values.setdefault("contact_phone", "13912345678")
    values.setdefault("description", "邻居占了我家宅基地，请回电 13912345678")
    values.setdefault("consent", True)
    values.setdefault("topic", "土地/房屋")
    return records.write(records.NewReferral(village=village, **values), engine=records.get_engine(db_url)).id


def store_consultation(db_url: str, **values: object) -> str:
    """A logged consultation (as the action server logs it); returns its id."""
    return records.write(records.NewConsultation(**values), engine=records.get_engine(db_url)).id
