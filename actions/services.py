"""The action server's shared services: the search engine and the records database.

The search engine is loaded once and swapped for a newer index's while serving (``knowledge.serving``:
e.g. the national corpus's index when its first build lands, or with ``KNOWLEDGE_FINETUNE=1`` the fine-tuned
model's after ``make run``'s quick one).
"""

from __future__ import annotations

import logging
import threading
import time

import records
from knowledge import SearchEngine, load_engine
from knowledge.answers import OperatorEntry
from knowledge.serving import WARM_UP_QUESTION, LiveEngine
from records import knowledge_entries

logger = logging.getLogger(__name__)


_search = LiveEngine(lambda: load_engine())  # looked up at call time: tests replace load_engine
ENTRIES_TTL_S = 5.0  # an entry the bureau approves is used within seconds, without any rebuild
_entries: tuple[float, list[OperatorEntry]] = (0.0, [])
_entries_lock = threading.Lock()


def use_search_engine(engine: SearchEngine | None) -> None:
    """Serve questions from ``engine`` (e.g. a small real engine in tests; never swapped); None: the configured one."""
    _search.use(engine)


def search_engine() -> SearchEngine:
    """The engine in use; loads the configured one on first use (slow: call it off the event loop)."""
    return _search.get()


def watch_index_in_background(every: float | None = None, stop: threading.Event | None = None
                              ) -> threading.Thread | None:
    """Swap in a newer index when a build writes one (every ``KNOWLEDGE_INDEX_CHECK_SECONDS``, until ``stop``)."""
    return _search.watch(every, stop)


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
    search_engine().search(WARM_UP_QUESTION, top_k=1)
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
