"""The WeChat channel's shared state: a claim has exactly one winner across processes, in both stores."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from pathlib import Path

import pytest
import redis

from channels.wechat_store import RedisStore, SqliteStore

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
