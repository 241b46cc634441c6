"""A local stand-in for WeChat's API server: ``/cgi-bin/token`` and ``/cgi-bin/message/custom/send``.

The real API cannot be reached from tests, so this HTTP server implements the two documented
endpoints: tokens are issued for the right AppID and secret only and expire when told to (then
``send`` answers ``42001`` like WeChat), and ``fail_next(n)`` makes the next ``n`` sends answer
HTTP 500. Accepted messages are kept in ``messages`` in arrival order.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Sent:
    touser: str
    content: str
    token: str


@dataclass
class FakeWeChatAPI:
    app_id: str
    secret: str
    messages: list[Sent] = field(default_factory=list)
    tokens_issued: list[str] = field(default_factory=list)
    send_answers: list[int] = field(default_factory=list)  # HTTP status of every send request
    expires_in: int = 7200  # seconds, as WeChat announces it with each token
    _valid: set[str] = field(default_factory=set)
    _failures: int = 0
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                if url.path != "/cgi-bin/token":
                    return self._json(404, {"errcode": 404})
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._json(200, fake.issue_token(query))

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                if url.path != "/cgi-bin/message/custom/send":
                    return self._json(404, {"errcode": 404})
                token = parse_qs(url.query).get("access_token", [""])[0]
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                status, answer = fake.accept(token, body)
                self._json(status, answer)

            def _json(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()

    def issue_token(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("grant_type") != "client_credential":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != self.app_id or query.get("secret") != self.secret:
            return {"errcode": 40013, "errmsg": "invalid appid or secret"}
        with self._lock:
            token = f"token-{len(self.tokens_issued) + 1}-{time.monotonic_ns()}"
            self.tokens_issued.append(token)
            self._valid.add(token)
        return {"access_token": token, "expires_in": self.expires_in}

    def accept(self, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._failures > 0:
                self._failures -= 1
                self.send_answers.append(500)
                return 500, {"errcode": -1, "errmsg": "internal error"}
            self.send_answers.append(200)
            if token not in self.tokens_issued:
                return 200, {"errcode": 40001, "errmsg": "invalid credential"}
            if token not in self._valid:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            if body.get("msgtype") != "text" or not body.get("touser"):
                return 200, {"errcode": 40008, "errmsg": "invalid message type"}
            self.messages.append(Sent(body["touser"], body["text"]["content"], token))
            self._lock.notify_all()
        return 200, {"errcode": 0, "errmsg": "ok"}

    def expire_tokens(self) -> None:
        with self._lock:
            self._valid.clear()

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._failures = count

    def to(self, openid: str) -> list[str]:
        with self._lock:
            return [m.content for m in self.messages if m.touser == openid]

    def wait_for(self, openid: str, done: Callable[[list[str]], bool], timeout: float = 90) -> list[str]:
        """The texts sent to ``openid`` once ``done`` accepts them; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                texts = [m.content for m in self.messages if m.touser == openid]
                if done(texts):
                    return texts
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching messages for {openid} within {timeout} s: {texts!r}")
                self._lock.wait(left)
