"""State the WeChat channel shares between Rasa processes: message claims, the token, choices, retries.

WeChat retries a slow request up to three times and may send the retries to another Rasa process;
the access token must be one per account, not one per process. So the channel keeps this state in
Redis (``REDIS_HOST``, ``REDIS_PORT``, database ``WECHAT_REDIS_DB``, default 2) in production, else a
small SQLite file (``WECHAT_STATE_DB``, default ``var/wechat.db``) that every process on the machine
opens. ``WECHAT_STATE_STORE`` (``redis``/``sqlite``) chooses; by default Redis when ``REDIS_HOST`` is set
(``scripts/run.sh`` picks Redis with ``endpoints.production.yml`` only).

Both stores offer the same five operations: ``claim`` (set-if-absent with a TTL: the first caller
wins), ``get``/``put``/``delete`` (values with a TTL) and a FIFO queue (``push``/``pop``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path
from typing import Protocol

PREFIX = "wechat:"
DEFAULT_SQLITE_PATH = "var/wechat.db"
DEFAULT_REDIS_DB = 2  # 0 and 1 hold Rasa's trackers and locks (scripts/run.sh)


class SharedStore(Protocol):
    async def claim(self, key: str, ttl: float) -> bool: ...
    async def get(self, key: str) -> str | None: ...
    async def put(self, key: str, value: str, ttl: float) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def push(self, queue: str, value: str) -> None: ...
    async def pop(self, queue: str) -> str | None: ...


class RedisStore:
    """Redis: ``SET NX EX`` claims, lists for queues. Keys start with ``wechat:``."""

    def __init__(self, host: str, port: int = 6379, db: int = DEFAULT_REDIS_DB) -> None:
        import redis.asyncio  # Rasa's env has redis-py 4.6

        self._redis = redis.asyncio.Redis(host=host, port=port, db=db, decode_responses=True)

    async def claim(self, key: str, ttl: float) -> bool:
        return bool(await self._redis.set(PREFIX + key, "1", nx=True, px=_ms(ttl)))

    async def get(self, key: str) -> str | None:
        return await self._redis.get(PREFIX + key)

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self._redis.set(PREFIX + key, value, px=_ms(ttl))

    async def delete(self, key: str) -> None:
        await self._redis.delete(PREFIX + key)

    async def push(self, queue: str, value: str) -> None:
        await self._redis.rpush(PREFIX + queue, value)

    async def pop(self, queue: str) -> str | None:
        return await self._redis.lpop(PREFIX + queue)


class SqliteStore:
    """One SQLite file; a unique key makes a claim atomic across processes."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS queue (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "name TEXT NOT NULL, value TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so a claim is one locked step.
        return sqlite3.connect(self._path, timeout=10, isolation_level=None)

    def _run(self, sql: list[tuple[str, tuple]]) -> list[sqlite3.Cursor]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            cursors = [conn.execute(q, args) for q, args in sql]
            results = [c.fetchall() for c in cursors]
            conn.execute("COMMIT")
            return results  # type: ignore[return-value]
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    async def _do(self, sql: list[tuple[str, tuple]]) -> list:
        return await asyncio.to_thread(self._run, sql)

    async def claim(self, key: str, ttl: float) -> bool:
        now = time.time()
        results = await self._do(
            [
                ("DELETE FROM kv WHERE key = ? AND expires <= ?", (key, now)),
                ("INSERT OR IGNORE INTO kv VALUES (?, '1', ?) RETURNING key", (key, now + ttl)),
            ]
        )
        return bool(results[1])

    async def get(self, key: str) -> str | None:
        rows = (await self._do([("SELECT value FROM kv WHERE key = ? AND expires > ?", (key, time.time()))]))[0]
        return rows[0][0] if rows else None

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self._do([("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (key, value, time.time() + ttl))])

    async def delete(self, key: str) -> None:
        await self._do([("DELETE FROM kv WHERE key = ?", (key,))])

    async def push(self, queue: str, value: str) -> None:
        await self._do([("INSERT INTO queue (name, value) VALUES (?, ?)", (queue, value))])

    async def pop(self, queue: str) -> str | None:
        rows = (
            await self._do(
                [
                    (
                        "DELETE FROM queue WHERE id = (SELECT MIN(id) FROM queue WHERE name = ?) RETURNING value",
                        (queue,),
                    )
                ]
            )
        )[0]
        return rows[0][0] if rows else None


def store_from_env() -> SharedStore:
    """The store ``WECHAT_STATE_STORE`` names; by default Redis when ``REDIS_HOST`` is set."""
    host = os.environ.get("REDIS_HOST", "").strip()
    kind = os.environ.get("WECHAT_STATE_STORE", "").strip().lower() or ("redis" if host else "sqlite")
    if kind not in ("redis", "sqlite"):
        raise ValueError("WECHAT_STATE_STORE must be redis or sqlite")
    if kind == "redis":
        port = int(os.environ.get("REDIS_PORT", "6379"))
        return RedisStore(host or "127.0.0.1", port, int(os.environ.get("WECHAT_REDIS_DB", DEFAULT_REDIS_DB)))
    return SqliteStore(os.environ.get("WECHAT_STATE_DB", DEFAULT_SQLITE_PATH))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
