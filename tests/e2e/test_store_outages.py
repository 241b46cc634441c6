"""Tracker store outages on the real Rasa server: the resident is told to send the message again
(503), the server keeps running, and once the store is back the conversation continues where it was.

SQLite: the session stack's tracker database is locked by another connection. Redis: a Rasa server
on endpoints.production.yml reaches the real Redis through TCP relays that the test cuts and restores,
one for the tracker store and one for the lock store, as a network outage would.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import socketserver
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest
import redis
from e2e_stack import (
    REPO_ROOT,
    Stack,
    api_url,
    free_port,
    get,
    post_json,
    rasa_command,
    rasa_ready,
    start_server,
    stop_server,
    wait_until_ready,
)

pytestmark = pytest.mark.e2e
REDIS_URL = os.environ.get("LEGAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def new_sender() -> str:
    return f"e2e-outage-{uuid.uuid4().hex[:12]}"


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def user_texts(base_url: str, sender: str) -> list[str]:
    status, body, _ = get(api_url(base_url, f"/conversations/{urllib.parse.quote(sender)}/tracker"))
    assert status == 200, body
    return [e["text"] for e in json.loads(body)["events"] if e["event"] == "user"]


def assert_try_again(status: int, body: str) -> None:
    assert status == 503, body
    assert json.loads(body)["error"] == "try_again"


def test_locked_sqlite_tracker_store_asks_to_retry_and_loses_nothing(stack: Stack) -> None:
    sender, chat = new_sender(), stack.webchat()
    assert stack.send(sender, "你好")
    question = "老板拖欠我三个月工资不给怎么办"
    lock = sqlite3.connect(stack.log_dir / "tracker.db", timeout=1, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")  # readers and writers now wait, then fail: "database is locked"
        assert_try_again(*post_json(stack.rest_url, {"sender": sender, "message": question}))
        assert_try_again(*chat.post({"message": question}))
        assert get(stack.api("/status"))[0] == 200
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert texts(stack.send(sender, question)).strip()
    assert user_texts(stack.base_url, sender) == ["你好", question], "nothing half-stored, nothing lost"


class RelayServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # restart on the same port while old connections linger
    daemon_threads = True


class Relay:
    """A TCP relay to a real server that can be cut (``stop``), hung (``hang``) and restored (``start``)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.hung = threading.Event()
        self._server: RelayServer | None = None
        self._sockets: set[socket.socket] = set()

    def start(self) -> None:
        relay = self
        self.hung.clear()

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                relay._sockets.add(self.request)
                if relay.hung.is_set():
                    relay.swallow(self.request)
                    return
                with socket.create_connection(relay.target, timeout=5) as upstream:
                    relay._sockets.add(upstream)
                    relay.pump(self.request, upstream)

        self._server = RelayServer(("127.0.0.1", self.port), Pipe)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @staticmethod
    def pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except (OSError, ValueError):  # the relay was cut
            return

    def swallow(self, sock: socket.socket) -> None:
        """Read and drop what the client sends, answering nothing, while the relay is hung."""
        try:
            while self.hung.is_set():
                if select.select([sock], [], [], 1.0)[0] and not sock.recv(65536):
                    return
        except (OSError, ValueError):  # the relay was cut
            return

    def hang(self) -> None:
        """Keep accepting connections but answer nothing, like a server that stopped responding."""
        self.hung.set()
        self._cut_connections()

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._cut_connections()

    def _cut_connections(self) -> None:
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()


@pytest.fixture(scope="module")
def redis_rasa(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Relay, Relay]]:
    """A Rasa server on endpoints.production.yml, its tracker store and lock store behind relays."""
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    kwargs = client.connection_pool.connection_kwargs
    redis_address = ("127.0.0.1", kwargs.get("port", 6379))
    tracker_relay, lock_relay = Relay(redis_address), Relay(redis_address)
    prefix = f"legaltest{uuid.uuid4().hex[:8]}"  # Rasa ignores a key prefix that is not alphanumeric
    endpoints = (REPO_ROOT / "endpoints.production.yml").read_text(encoding="utf-8")
    tracker_part, lock_part = endpoints.split("lock_store:")
    endpoints = (
        tracker_part.replace("${REDIS_PORT}", str(tracker_relay.port))
        + "lock_store:"
        + lock_part.replace("${REDIS_PORT}", str(lock_relay.port))
    ).replace("key_prefix: legal", f"key_prefix: {prefix}")
    tmp = tmp_path_factory.mktemp("redis-outage")
    (tmp / "endpoints.yml").write_text(endpoints, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "ACTION_SERVER_URL": f"{stack.action_url}/webhook", "REDIS_HOST": "127.0.0.1",
           "REDIS_TRACKER_DB": str(kwargs.get("db", 0)), "REDIS_LOCK_DB": str(kwargs.get("db", 0))}  # fmt: skip
    port = free_port()
    tracker_relay.start()
    lock_relay.start()
    server = start_server("rasa-redis-outage", rasa_command(port, tmp / "endpoints.yml"), env, tmp)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready([(server, api_url(base_url, "/status"), rasa_ready)])
        yield base_url, tracker_relay, lock_relay
    finally:
        stop_server(server)
        for relay in (tracker_relay, lock_relay):
            relay.stop()
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def send(base_url: str, sender: str, text: str) -> tuple[int, str]:
    return post_json(f"{base_url}/webhooks/rest/webhook", {"sender": sender, "message": text})


@pytest.mark.redis
@pytest.mark.parametrize("store", ["tracker", "lock"])
def test_unreachable_redis_asks_to_retry_and_the_conversation_continues(
    redis_rasa: tuple[str, Relay, Relay], store: str
) -> None:
    base_url, tracker_relay, lock_relay = redis_rasa
    relay = tracker_relay if store == "tracker" else lock_relay
    sender = new_sender()
    status, body = send(base_url, sender, "我想找村里的法律顾问帮忙")  # the referral form asks for the village
    assert status == 200, body
    relay.stop()
    try:
        assert_try_again(*send(base_url, sender, "石桥村"))
        assert get(api_url(base_url, "/status"))[0] == 200
    finally:
        relay.start()
    status, body = send(base_url, sender, "石桥村")
    assert status == 200, body
    reply = texts(json.loads(body))
    assert "电话" in reply or "手机" in reply, reply  # the form went on to the next question
    assert user_texts(base_url, sender) == ["我想找村里的法律顾问帮忙", "石桥村"]


@pytest.mark.redis
def test_hung_redis_tracker_store_times_out_instead_of_freezing_the_server(
    redis_rasa: tuple[str, Relay, Relay],
) -> None:
    # Rasa's Redis tracker store blocks the event loop on each call; without socket timeouts a Redis
    # that stops answering would freeze the server for every resident until it answers again.
    base_url, tracker_relay, _ = redis_rasa
    sender = new_sender()
    assert send(base_url, sender, "你好")[0] == 200
    tracker_relay.hang()
    try:
        started = time.monotonic()
        assert_try_again(*send(base_url, sender, "我想找村里的法律顾问帮忙"))
        assert time.monotonic() - started < 60
    finally:
        tracker_relay.stop()
        tracker_relay.start()
    status, body = send(base_url, sender, "我想找村里的法律顾问帮忙")
    assert status == 200 and texts(json.loads(body)).strip(), body
