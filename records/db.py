"""Engine creation, schema creation and the transaction helper.

>>> engine = get_engine()                # LEGAL_DB_URL or var/legal.db, cached per URL
>>> create_schema(engine)                # CREATE TABLE IF NOT EXISTS for every table
>>> with transaction(engine) as conn:    # one transaction; commits on exit, rolls back on error
...     conn.execute(...)

SQLite connections get WAL journaling, foreign keys and a 30 s busy timeout. Write transactions
start with ``BEGIN IMMEDIATE`` so concurrent writers queue on the busy timeout instead of failing
with "database is locked" when a read lock cannot be upgraded; read transactions
(``transaction(write=False)``) use a plain deferred ``BEGIN``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from records.config import database_url
from records.schema import metadata

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_WRITE_OPTION = "records_write"
_SCHEMA_LOCK_KEY = 7_348_120_001  # any constant: the advisory lock of schema upgrades


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: :func:`records.config.database_url`), created once."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _make_engine(url)
    return engine


def dispose_engines(url: str | None = None) -> None:
    """Close the connections of the cached engine for ``url`` (default: all) and forget it."""
    with _lock:
        urls = list(_engines) if url is None else [u for u in _engines if u == url]
        for key in urls:
            _engines.pop(key).dispose()


def create_schema(engine: Engine | None = None) -> None:
    """Create missing tables and indices (existing ones are left untouched).

    An existing database is brought up to date by :func:`records.migrate.upgrade` (``init_db``).
    """
    metadata.create_all(engine or get_engine())


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One locked transaction for schema changes, with SQLite's foreign keys off meanwhile.

    PostgreSQL: an advisory lock held to the end of the transaction, so processes starting together
    change the schema one after the other. SQLite: ``BEGIN IMMEDIATE``; foreign keys are switched off
    on the raw connection first (the pragma is a no-op inside a transaction), so that rebuilding a
    table does not cascade to the rows that refer to it, and on again afterwards.
    """
    if engine.dialect.name != "sqlite":
        with transaction(engine) as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            yield conn
        return
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


@contextmanager
def transaction(engine: Engine | None = None, *, write: bool = True) -> Iterator[Connection]:
    """A connection inside one transaction: committed on normal exit, rolled back on error."""
    engine = engine or get_engine()
    with engine.connect() as conn:
        if write:
            conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # isolation_level=None stops the sqlite3 module from issuing its own BEGINs; we emit them.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    _set_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _set_wal(cursor: Any, wait: float = 30.0) -> None:
    # Changing the journal mode takes an exclusive lock, and SQLite answers "database is locked" at once,
    # without calling the busy handler, when two processes open a fresh file together (the action server
    # and the staff app starting side by side), so the wait is ours.
    deadline = time.monotonic() + wait
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
