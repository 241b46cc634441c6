"""State the WeChat channel shares between Rasa processes: message claims, the token, choices, retries.

WeChat retries a slow request up to three times and may send the retries to another Rasa process;
the access token must be one per account, not one per process. So the channel keeps this state in
Redis (``REDIS_HOST``, ``REDIS_PORT``, database ``WECHAT_REDIS_DB``, default 2) in production, else a
small SQLite file (``WECHAT_STATE_DB``, default ``var/wechat.db``) that every process on the machine
opens. ``WECHAT_STATE_STORE`` (``redis``/``sqlite``) chooses; by default Redis when ``REDIS_HOST`` is set
(``scripts/run.sh`` picks Redis with ``endpoints.production.yml`` only).

Both stores offer the same operations: ``claim`` (set-if-absent with a TTL: the first caller
wins), ``get``/``put``/``delete`` (values with a TTL) and a FIFO queue (``push``/``pop``).

An outage of the store must not turn into an error page for WeChat: :func:`store_from_env` wraps
it in a :class:`FallbackStore`, which keeps the state in the process (:class:`MemoryStore`) while
the shared store cannot be reached. Meanwhile a retry sent to the same process is still answered
once; only a retry that WeChat sends to another process could be answered twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger(__name__)

PREFIX = "wechat:"
DEFAULT_SQLITE_PATH = "var/wechat.db"
DEFAULT_REDIS_DB = 2  # 0 and 1 hold Rasa's trackers and locks (scripts/run.sh)
REDIS_TIMEOUT_S = 1.0  # a hung Redis must not hold a resident's answer past WeChat's 5 s


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
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._redis = redis.asyncio.Redis(
            host=host,
            port=port,
            db=db,
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            # One immediate retry (a connection the server closed); newer redis-py versions would
            # otherwise back off for seconds on a refused connection, past WeChat's 5 s.
            retry=Retry(NoBackoff(), 1),
        )

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


def _set_wal(conn: sqlite3.Connection, wait: float = 30.0) -> None:
    """Switch a SQLite file to WAL, waiting out a second process doing the same.

    Changing the journal mode takes an exclusive lock and SQLite answers "database is locked" at once,
    without calling the busy handler, when two processes open a fresh file together (two workers
    starting side by side), so the wait is ours.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SqliteStore:
    """One SQLite file; a unique key makes a claim atomic across processes."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            _set_wal(conn)
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


class MemoryStore:
    """The same operations on this process's memory: the stand-in while the shared store is down."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._queues: dict[str, deque[str]] = {}

    def _live(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None or found[1] <= time.monotonic():
            self._values.pop(key, None)
            return None
        return found[0]

    async def claim(self, key: str, ttl: float) -> bool:
        if self._live(key) is not None:
            return False
        self._values[key] = ("1", time.monotonic() + ttl)
        return True

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def put(self, key: str, value: str, ttl: float) -> None:
        self._values[key] = (value, time.monotonic() + ttl)

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def push(self, queue: str, value: str) -> None:
        self._queues.setdefault(queue, deque()).append(value)

    async def pop(self, queue: str) -> str | None:
        waiting = self._queues.get(queue)
        return waiting.popleft() if waiting else None


def _outage_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError, sqlite3.Error, TimeoutError)
    try:
        import redis.exceptions
    except ImportError:  # a SQLite-only installation
        return errors
    return (*errors, redis.exceptions.RedisError)


class FallbackStore:
    """The shared store, or this process's memory for as long as the shared one fails.

    Every operation goes to the shared store first (so it is used again as soon as it is back);
    when that raises a connection or database error the operation is done on the local
    :class:`MemoryStore` instead. Queued items kept locally are popped after the shared ones.
    """

    def __init__(self, shared: SharedStore, local: MemoryStore | None = None) -> None:
        self.shared = shared
        self.local = local or MemoryStore()
        self._errors = _outage_errors()
        self._down = False

    async def _do(self, operation: str, *args: Any) -> Any:
        try:
            result = await getattr(self.shared, operation)(*args)
        except self._errors as exc:
            if not self._down:
                logger.error("wechat: shared state store unreachable (%s); using this process's memory", exc)
            self._down = True
            return await getattr(self.local, operation)(*args)
        if self._down:
            logger.warning("wechat: shared state store reachable again")
            self._down = False
        return result

    async def claim(self, key: str, ttl: float) -> bool:
        return bool(await self._do("claim", key, ttl))

    async def get(self, key: str) -> str | None:
        return await self._do("get", key)

    async def put(self, key: str, value: str, ttl: float) -> None:
        await self._do("put", key, value, ttl)

    async def delete(self, key: str) -> None:
        await self._do("delete", key)

    async def push(self, queue: str, value: str) -> None:
        await self._do("push", queue, value)

    async def pop(self, queue: str) -> str | None:
        value = await self._do("pop", queue)
        return value if value is not None else await self.local.pop(queue)


def store_from_env() -> FallbackStore:
    """The store ``WECHAT_STATE_STORE`` names (by default Redis when ``REDIS_HOST`` is set),
    falling back to process memory during an outage."""
    host = os.environ.get("REDIS_HOST", "").strip()
    kind = os.environ.get("WECHAT_STATE_STORE", "").strip().lower() or ("redis" if host else "sqlite")
    if kind not in ("redis", "sqlite"):
        raise ValueError("WECHAT_STATE_STORE must be redis or sqlite")
    if kind == "redis":
        port = int(os.environ.get("REDIS_PORT", "6379"))
        db = int(os.environ.get("WECHAT_REDIS_DB", DEFAULT_REDIS_DB))
        return FallbackStore(RedisStore(host or "127.0.0.1", port, db))
    return FallbackStore(SqliteStore(os.environ.get("WECHAT_STATE_DB", DEFAULT_SQLITE_PATH)))


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
