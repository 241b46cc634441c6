"""Notification delivery through the outbox: e-mail to a real ``aiosmtpd`` server process that is
down for the first attempt (retried with back-off, sent once, no phone number in it), and the
signed HTTPS webhook with a failed first delivery. No staff app runs on this module's database,
so the test's scheduler (with its own clock) is the only runner.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mailbox
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from staff_harness import REPO_ROOT, County, free_port
from test_staff_scheduler import new_referral

import records
from records import notifications, users
from staff.config import Settings
from staff.passwords import hash_password
from staff.scheduler import Scheduler, backoff


@pytest.fixture(autouse=True)
def _database(county: County, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGAL_DB_URL", county.db_url)


# --- e-mail through a real SMTP server, after an outage, and the webhook ------------------------


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def start_smtp(port: int, maildir: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
        + ["-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise TimeoutError("aiosmtpd did not start")


def test_email_is_retried_after_an_smtp_outage_and_sent_once(
    county: County, smtp_port: int, tmp_path: Path
) -> None:
    engine = records.get_engine(county.db_url)
    users.create_user("zheng-mail", hash_password("x" * 12), ["adviser"], adviser_id=county.advisers["郑国强"],
                      email="zheng@example.org", engine=engine)  # fmt: skip
    settings = Settings(
        notify=("inapp", "log", "email"),
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        accept_hours=10**6,  # only the "new referral" message in this test
        resolve_days=10**5,
    )
    sender = Scheduler(settings)
    referral_id = new_referral(county, "河口镇渡口村")  # 郑国强
    now = datetime.now(UTC) + timedelta(days=60)  # beyond the app's lease
    try:
        sender.run_once(now)  # SMTP server down: the e-mail waits
        mail = [n for n in notifications.all_for_referral(referral_id, engine=engine) if n.channel == "email"]
        assert len(mail) == 1 and mail[0].recipient == "zheng@example.org"
        assert (mail[0].status, mail[0].attempts) == ("pending", 1)
        assert mail[0].next_attempt_at == now + backoff(1) and "Connection" in (mail[0].last_error or "")
        maildir = tmp_path / "maildir"
        smtp = start_smtp(smtp_port, maildir)
        try:
            sender.run_once(now + timedelta(seconds=5))  # not yet due
            assert not list(mailbox.Maildir(maildir))
            sender.run_once(now + backoff(1))
            sender.run_once(now + backoff(1) + timedelta(minutes=5))
            messages = list(mailbox.Maildir(maildir))
        finally:
            smtp.terminate()
            smtp.wait(timeout=10)
    finally:
        sender.release()
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "zheng@example.org"
    text = message.get_payload(decode=True).decode("utf-8")
    assert "河口镇渡口村" in text and referral_id in text
    assert "13700001111" not in text and "137****1111" in text  # no phone number leaves the app
    (mail,) = [n for n in notifications.all_for_referral(referral_id, engine=engine) if n.channel == "email"]
    assert (mail.status, mail.attempts) == ("sent", 2)


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30) == timedelta(hours=1)


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict, str]] = []
    fail_first = True

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Hook.fail_first:
            _Hook.fail_first = False
            self.send_response(503)
        else:
            _Hook.received.append((json.loads(body), self.headers["X-Signature"]))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def hook() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/notify"
    finally:
        httpd.shutdown()


def test_webhook_is_signed_and_retried(county: County, hook: str) -> None:
    _Hook.received.clear()
    _Hook.fail_first = True
    settings = Settings(
        notify=("inapp", "webhook"), webhook_url=hook, webhook_secret="s3cret", accept_hours=10**6, resolve_days=10**5
    )
    sender = Scheduler(settings)
    referral_id = new_referral(county, "柳林镇龙泉村")
    now = datetime.now(UTC) + timedelta(days=90)
    try:
        sender.run_once(now)
        sender.run_once(now + backoff(1))
        sender.run_once(now + timedelta(hours=2))
    finally:
        sender.release()
    mine = [(body, sig) for body, sig in _Hook.received if body["referral_id"] == referral_id]
    assert len(mine) == 1
    body, signature = mine[0]
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    assert signature == "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert body["to"] == f"adviser:{county.advisers['林芳']}" and "13700001111" not in body["text"]
