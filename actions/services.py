"""The action server's shared services: the search engine and the records database, loaded once."""

from __future__ import annotations

import logging
import threading
import time

import records
from knowledge import SearchEngine, load_engine
from knowledge.answers import OperatorEntry
from records import knowledge_entries

logger = logging.getLogger(__name__)


_loading = threading.Lock()
_engine: SearchEngine | None = None
ENTRIES_TTL_S = 5.0  # an entry the bureau approves is used within seconds, without any rebuild
_entries: tuple[float, list[OperatorEntry]] = (0.0, [])
_entries_lock = threading.Lock()


def use_search_engine(engine: SearchEngine | None) -> None:
    """Serve questions from ``engine`` (e.g. a small real engine in tests); None: the configured one."""
    global _engine
    with _loading:
        _engine = engine


def search_engine() -> SearchEngine:
    """The engine in use; loads the configured one on first use (slow: call it off the event loop)."""
    global _engine
    with _loading:  # the warm-up thread and a first question must not load it twice
        if _engine is None:
            _engine = load_engine()
        return _engine


def approved_entries() -> list[OperatorEntry]:
    """The operators' approved Q&A entries, re-read at most every ``ENTRIES_TTL_S`` (call off the loop).

    When the database is unavailable the last list read is kept: answers still go out.
    """
    global _entries
    with _entries_lock:
        read_at, cached = _entries
        if time.monotonic() - read_at < ENTRIES_TTL_S:
            return cached
        try:
            fresh = [
                OperatorEntry(e.id, e.question, e.answer, tuple(e.articles)) for e in knowledge_entries.approved()
            ]
        except Exception:  # noqa: BLE001 - e.g. the database is down: answer from the corpus alone
            logger.warning("approved knowledge entries unreadable; using the last ones read", exc_info=True)
            fresh = cached
        _entries = (time.monotonic(), fresh)
        return fresh


def prepare_database() -> None:
    """Create missing tables, seed the villages and replay the outbox; start the background replayer.

    Writes go through ``records.outbox``: while the database is down they are spooled locally and
    replayed later, so nothing a resident submitted is lost.
    """
    try:
        records.init_db()
    except Exception:  # noqa: BLE001 - the outbox keeps writes until the database is back
        logger.exception("database not ready; writes will be spooled to the outbox")
    records.outbox.start_replayer()


def warm_up() -> None:
    """Load the model and index before the first resident waits for them."""
    search_engine().search("拖欠工资怎么办", top_k=1)
    logger.info("search engine ready")


def warm_up_in_background() -> threading.Thread:
    """Warm up without delaying the server's start (Sanic stops a worker that is slow to report)."""
    thread = threading.Thread(target=_warm_up_logged, name="warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up_logged() -> None:
    try:
        warm_up()
    except Exception:  # noqa: BLE001 - the first question retries the load
        logger.exception("warm-up failed")
