"""The WeChat channel's shared state: a claim has exactly one winner across processes, in both stores;
an outage of the store (a Redis server of the test's own, killed) falls back to process memory."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from channels.wechat_store import FallbackStore, RedisStore, SqliteStore
from tests.fresh_files import open_together

REDIS_DB = 8  # this module's own database on the local Redis


def _claims(kind: str, where: str, keys: list[str], start_at: float, queue: multiprocessing.Queue) -> None:
    store = SqliteStore(where) if kind == "sqlite" else RedisStore("127.0.0.1", 6379, REDIS_DB)

    async def run() -> list[str]:
        return [key for key in keys if await store.claim(key, ttl=60)]

    time.sleep(max(0.0, start_at - time.time()))  # both processes start claiming together
    queue.put(asyncio.run(run()))


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "redis":
        redis.Redis(db=REDIS_DB).flushdb()
    return request.param, str(tmp_path / "wechat.db")


def test_each_message_is_claimed_by_exactly_one_of_two_processes(where: tuple[str, str]) -> None:
    kind, path = where
    keys = [f"msg:{uuid.uuid4().hex}" for _ in range(200)]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start_at = time.time() + 1.5
    workers = [context.Process(target=_claims, args=(kind, path, keys, start_at, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    won = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(won[0] + won[1]) == sorted(keys)  # every key claimed once, none twice
    assert not set(won[0]) & set(won[1])


def test_processes_opening_a_fresh_file_together_all_start(tmp_path: Path) -> None:
    # Workers started side by side open the same new file at once; switching it to WAL used to fail in
    # one of them with "database is locked" (SQLite does not wait on that lock by itself).
    paths = [str(tmp_path / f"fresh-{n}.db") for n in range(100)]
    assert open_together(SqliteStore, paths, (sqlite3.Error,)) == ["ok"] * 3


def _store(kind: str, path: str) -> SqliteStore | RedisStore:
    return SqliteStore(path) if kind == "sqlite" else RedisStore("127.0.0.1", 6379, REDIS_DB)


def test_values_expire_and_queues_keep_their_order(where: tuple[str, str]) -> None:
    store = _store(*where)

    async def run() -> None:
        await store.put("token", "abc", ttl=0.3)
        assert await store.get("token") == "abc"
        assert not await store.claim("lock", ttl=0.3) or not await store.claim("lock", ttl=0.3)
        await asyncio.sleep(0.5)
        assert await store.get("token") is None
        assert await store.claim("lock", ttl=5)  # the expired claim no longer blocks
        for value in ["1", "2", "3"]:
            await store.push("pending", value)
        assert [await store.pop("pending") for _ in range(4)] == ["1", "2", "3", None]

    asyncio.run(run())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(port: int) -> subprocess.Popen:
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            if redis.Redis(port=port).ping():
                return server
        except redis.ConnectionError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def own_redis() -> Iterator[tuple[int, list[subprocess.Popen]]]:
    """A Redis server of this test's own (never the shared one), which the test may kill."""
    port = _free_port()
    servers = [_start_redis(port)]
    yield port, servers
    for server in servers:
        server.kill()
        server.wait()


def test_an_outage_falls_back_to_process_memory_and_recovers(own_redis: tuple[int, list[subprocess.Popen]]) -> None:
    port, servers = own_redis
    store = FallbackStore(RedisStore("127.0.0.1", port, 0))

    async def run() -> None:
        assert await store.claim("msg:1", ttl=60)
        await store.push("pending", "queued-before")
        servers[0].kill()
        servers[0].wait()
        started = time.monotonic()
        # During the outage: a message is claimed once per process, values and queues still work.
        assert await store.claim("msg:2", ttl=60)
        assert not await store.claim("msg:2", ttl=60)
        await store.put("token", "t-local", ttl=60)
        assert await store.get("token") == "t-local"
        await store.push("pending", "queued-during")
        assert await store.pop("pending") == "queued-during"
        await store.push("pending", "still-local")
        await store.delete("token")
        assert await store.get("token") is None
        assert time.monotonic() - started < 2.0  # refused connections fail fast
        servers.append(_start_redis(port))  # the store is back (empty: nothing was saved)
        assert await store.claim("msg:2", ttl=60)  # the shared store is used again
        assert await store.get("msg:2") == "1"
        assert redis.Redis(port=port, decode_responses=True).get("wechat:msg:2") == "1"
        # What was queued locally is not lost: it comes after what the shared store holds.
        await store.push("pending", "queued-after")
        assert [await store.pop("pending") for _ in range(3)] == ["queued-after", "still-local", None]

    asyncio.run(run())
