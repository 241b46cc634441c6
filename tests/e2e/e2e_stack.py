"""The end-to-end stack: starting, checking and stopping the Rasa server and action server.

Used by the ``stack`` fixture in ``conftest.py``; tests import ``Stack``, ``get`` and ``post_json``
from here.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

import records
from channels.webchat_identity import COOKIE as WEBCHAT_COOKIE
from records.schema import consultations

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
RASA = REPO_ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = REPO_ROOT / "models" / "current.tar.gz"
# Rasa loads its model in 1–3 min on 2 busy cores.
READY_TIMEOUT = float(os.environ.get("E2E_READY_TIMEOUT", "420"))
REQUEST_TIMEOUT = 120.0
SENDER_SALT = "e2e-test-salt"  # fixed, so tests can compute records.hash_sender themselves
LOG_TAIL_LINES = 60
# Rasa's HTTP API needs a token, as in ``make run`` and production (``--auth-token``): a fresh one
# per test session; tests reach the API through ``api_url``.
RASA_TOKEN = "e2e-" + secrets.token_hex(16)
# 转人工 tests: operators always on duty, and a short wait before the bot resumes.
HANDOFF_TIMEOUT_MINUTES = os.environ.get("E2E_HANDOFF_TIMEOUT_MINUTES", "0.25")


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """The running assistant. ``send`` talks to it like a channel client does."""

    base_url: str
    rest_url: str
    webchat_url: str
    db_url: str
    action_url: str
    log_dir: Path
    servers: list[Server] = field(default_factory=list)

    @classmethod
    def local(cls, rasa_port: int, action_port: int, db_url: str, log_dir: Path) -> Stack:
        """The URLs of a stack on this machine's ports."""
        base_url = f"http://127.0.0.1:{rasa_port}"
        return cls(
            base_url=base_url,
            rest_url=f"{base_url}/webhooks/rest/webhook",
            webchat_url=f"{base_url}/webhooks/webchat/",
            db_url=db_url,
            action_url=f"http://127.0.0.1:{action_port}",
            log_dir=log_dir,
        )

    @property
    def webchat_webhook_url(self) -> str:
        return self.webchat_url + "webhook"

    def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """Post one message through the REST channel; return the bot's replies."""
        status, body = post_json(self.rest_url, {"sender": sender, "message": text})
        if status != 200:
            raise AssertionError(f"{self.rest_url} answered {status}: {body!r}")
        return json.loads(body)

    def webchat(self) -> WebChat:
        """A new web chat conversation, as a browser opening the page gets one (the cookie)."""
        chat = WebChat(self.webchat_url)
        reply = chat.session.get(self.webchat_url, timeout=REQUEST_TIMEOUT)
        if reply.status_code != 200 or not chat.session.cookies.get(WEBCHAT_COOKIE):
            raise AssertionError(f"the chat page set no conversation cookie ({reply.status_code})")
        return chat

    def api(self, path: str) -> str:
        """The URL of ``path`` of Rasa's HTTP API, with the token."""
        return api_url(self.base_url, path)

    def tracker(self, sender: str) -> dict[str, Any]:
        with urllib.request.urlopen(
            self.api(f"/conversations/{urllib.parse.quote(sender)}/tracker"), timeout=REQUEST_TIMEOUT
        ) as response:
            return json.load(response)

    def consultations(self, sender: str) -> list[dict[str, Any]]:
        """The consultations the action server logged for ``sender``, oldest first."""
        sender_hash = records.hash_sender(sender, SENDER_SALT.encode())
        query = (
            select(consultations)
            .where(consultations.c.sender_hash == sender_hash)
            .order_by(consultations.c.created_at)
        )
        with records.get_engine(self.db_url).connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def logs(self) -> str:
        return "\n\n".join(f"--- {s.name} ({s.log_path}) ---\n{s.log_tail()}" for s in self.servers)


@dataclass
class WebChat:
    """One browser's web chat conversation: the HttpOnly cookie the page set, and the id it names."""

    page_url: str
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def sender(self) -> str:
        return self.session.cookies.get(WEBCHAT_COOKIE, "").rpartition(".")[0]

    def post(self, payload: Any = None, raw: bytes | None = None) -> tuple[int, str]:
        data = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        reply = self.session.post(
            self.page_url + "webhook", data=data, headers={"Content-Type": "application/json"}, timeout=REQUEST_TIMEOUT
        )
        return reply.status_code, reply.text

    def send(self, text: str) -> list[dict[str, Any]]:
        status, body = self.post({"message": text})
        if status != 200:
            raise AssertionError(f"web chat answered {status}: {body!r}")
        return json.loads(body)


def api_url(base_url: str, path: str) -> str:
    """``path`` of the Rasa server at ``base_url``'s HTTP API, with the session's token (``?token=``)."""
    return f"{base_url}{path}{'&' if '?' in path else '?'}token={RASA_TOKEN}"


def post_json(url: str, payload: Any, raw: bytes | None = None) -> tuple[int, str]:
    """POST JSON (or ``raw`` bytes); return the status and the body, also for 4xx/5xx answers."""
    data = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", errors="replace")


def get(url: str, timeout: float = REQUEST_TIMEOUT) -> tuple[int, str, dict[str, str]]:
    """GET without following redirects: status, body and headers."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as response:
            body = response.read().decode("utf-8", errors="replace")
            return response.status, body, dict(response.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", errors="replace"), dict(e.headers)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_step(name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
    """Run a preparation command (index build, training); fail the session with its output."""
    with log_path.open("w") as log:
        result = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
        pytest.fail(f"{name} failed (exit {result.returncode}), log {log_path}:\n{tail}")


def start_server(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> Server:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown reaches its children too
    )
    log.close()
    return Server(name, process, log_path)


def stop_server(server: Server, grace: float = 20.0) -> None:
    if server.process.poll() is not None:
        return
    pgid = os.getpgid(server.process.pid)
    os.killpg(pgid, signal.SIGTERM)
    try:
        server.process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(pgid, signal.SIGKILL)
        server.process.wait(timeout=grace)


def unread_on(port: int) -> bool:
    """Whether something sent to a server on 127.0.0.1:``port`` waits unread: a connection not yet
    accepted (a listening socket's queue) or bytes not yet read (an accepted one), from /proc/net/tcp.

    With the server stopped (SIGSTOP), this says a request has reached it and is waiting there.
    """
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _, state, queues = line.split()[1:5]
        # For a listening socket (state 0A) rx_queue is the accept backlog, else the unread bytes.
        if int(local.rpartition(":")[2], 16) == port and state in ("0A", "01") and int(queues.split(":")[1], 16):
            return True
    return False


def reset_under_request(pgid: int, port: int, send: Callable[[], Any], wait_s: float = 120.0) -> Any:
    """A server dies with a request written to it: stop its process group (SIGSTOP), call ``send`` in a
    thread, and once that request waits unread in the stopped server (:func:`unread_on` ``port``), kill the
    group (SIGKILL: the connection is reset under the written request). Returns what ``send`` returned."""
    from concurrent.futures import ThreadPoolExecutor

    os.killpg(pgid, signal.SIGSTOP)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(send)
        try:
            deadline = time.monotonic() + wait_s
            while not unread_on(port):
                if pending.done() or time.monotonic() > deadline:
                    pytest.fail("the request never reached the stopped server")
                time.sleep(0.05)
        finally:
            os.killpg(pgid, signal.SIGKILL)
        return pending.result(timeout=180)


def responds(url: str, accept: Callable[[int, str], bool]) -> bool:
    try:
        status, body, _ = get(url, timeout=5)
    except OSError:
        return False
    return accept(status, body)


def rasa_ready(status: int, body: str) -> bool:
    """``/status`` names the loaded model once the agent is ready."""
    if status != 200:
        return False
    try:
        return bool(json.loads(body).get("model_file"))
    except ValueError:
        return False


def wait_until_ready(checks: list[tuple[Server, str, Callable[[int, str], bool]]]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(checks)
    while pending:
        for server, _, _ in pending:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
        pending = [c for c in pending if not responds(c[1], c[2])]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(c[0].name for c in pending)
            raise TimeoutError(f"not ready after {READY_TIMEOUT:.0f} s: {names}")
        time.sleep(1.0)


def base_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        LEGAL_DB_URL=db_url,
        LEGAL_SENDER_SALT=SENDER_SALT,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        RASA_TELEMETRY_ENABLED="false",
        PYTHONUNBUFFERED="1",
        SANIC_WORKER_ACK_TIMEOUT="120",
        HOTLINE_HOURS="mon-sun 00:00-24:00",
        HANDOFF_TIMEOUT_MINUTES=HANDOFF_TIMEOUT_MINUTES,
        # Tests send from one address far faster than residents do; test_production.py checks
        # the limits on a stack of its own.
        RATE_LIMIT_SENDER="0",
        RATE_LIMIT_ADDRESS="0",
        # Read by the staff app the tests start beside the stack (staff/config.py).
        RASA_TOKEN=RASA_TOKEN,
    )
    return env


def write_endpoints(path: Path, action_port: int, tracker_db: Path) -> None:
    """The repo's endpoints.yml (so tests run the configured tracker store) on a temporary database."""
    text = (REPO_ROOT / "endpoints.yml").read_text(encoding="utf-8")
    replacements = {
        "${ACTION_SERVER_URL}": f'"http://127.0.0.1:{action_port}/webhook"',
        "db: var/tracker.db": f'db: "{tracker_db}"',
    }
    for old, new in replacements.items():
        if old not in text:
            raise RuntimeError(f"endpoints.yml no longer contains {old!r}: update write_endpoints")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def prepare_models(env: dict[str, str], log_dir: Path) -> None:
    """Build the search index and train the dialogue model; both skip work that is up to date."""
    if os.environ.get("E2E_SKIP_BUILD") == "1":
        return
    build = [str(APP_PYTHON), "-m", "knowledge", "build", "--quiet"]
    run_step("knowledge build", build, env, log_dir / "knowledge-build.log")
    run_step("model training", ["scripts/train_model.sh"], env, log_dir / "train.log")


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def rasa_command(port: int, endpoints: Path) -> list[str]:
    return [
        str(RASA), "run", "--enable-api", "--auth-token", RASA_TOKEN, "--interface", "127.0.0.1", "--port", str(port),
        "--credentials", "credentials.yml", "--endpoints", str(endpoints),
        "--model", str(MODEL.relative_to(REPO_ROOT)),
    ]  # fmt: skip


def action_command(port: int) -> list[str]:
    return [str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]


def start_stack(stack: Stack, env: dict[str, str], action_port: int, rasa_port: int) -> None:
    """Start both servers and wait until they answer; fail with their logs otherwise."""
    tmp = stack.log_dir
    endpoints = tmp / "endpoints.yml"
    write_endpoints(endpoints, action_port, tmp / "tracker.db")
    rasa_cmd = rasa_command(rasa_port, endpoints)
    try:
        actions = start_server("actions", action_command(action_port), env, tmp)
        stack.servers.append(actions)
        rasa = start_server("rasa", rasa_cmd, env, tmp)
        stack.servers.append(rasa)
        wait_until_ready(
            [
                (actions, f"{stack.action_url}/health", lambda status, _: status == 200),
                (rasa, stack.api("/status"), rasa_ready),
            ]
        )
    except (RuntimeError, TimeoutError) as e:
        pytest.fail(f"e2e stack did not start: {e}\n{stack.logs()}")


@contextmanager
def local_stack(scratch: Path) -> Iterator[tuple[Stack, dict[str, str]]]:
    """A started stack on free ports with its SQLite database in ``scratch`` (the benchmarks' way), and
    the environment its servers got; both servers are stopped on exit."""
    env = base_env(f"sqlite:///{scratch / 'legal.db'}")
    prepare_models(env, scratch)
    action_port, rasa_port = free_ports(2)
    stack = Stack.local(rasa_port, action_port, env["LEGAL_DB_URL"], scratch)
    try:
        start_stack(stack, env, action_port, rasa_port)
        yield stack, env
    finally:
        for server in reversed(stack.servers):
            stop_server(server)
