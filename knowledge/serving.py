"""The engine a server answers from, replaced while it serves when a build writes a newer index.

``make run`` first serves a quick index on the base model and builds the fine-tuned model's index in the
background; the action server and the staff app's agent assist pick it up without a restart. A
:class:`LiveEngine` loads the configured engine on first use; :meth:`LiveEngine.watch` then stats the
index manifest every ``KNOWLEDGE_INDEX_CHECK_SECONDS`` (one ``stat``: cheap) and, when it changed, loads the
new engine in the watcher's thread while questions are still answered by the one in use, then puts it in
place in one assignment and logs one line (``search index swapped: model …, N articles``).

With ``KNOWLEDGE_INTERIM_CORPUS`` set (e.g. ``county`` while ``KNOWLEDGE_CORPUS=national`` has its first
build), a configured index that cannot be served yet is not built in the server: that corpus's index is
served meanwhile and the configured one swapped in when its build lands.

A new index that does not load — half-written (files that do not match the manifest, or replaced while it
loaded), stale for the corpus (an article repealed since), vectors of another encoder — is logged and the
engine in use kept; it is tried again once the manifest changes again. Nothing is ever built here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from knowledge.config import Settings, index_check_seconds, interim_corpus
from knowledge.engine import SearchEngine, load_engine, open_engine
from knowledge.index import IndexOutOfDate, manifest_stamp, model_entry

log = logging.getLogger(__name__)
WARM_UP_QUESTION = "拖欠工资怎么办"


class LiveEngine:
    """The configured engine, loaded once and swapped for a newer index's; or a fixed engine given by :meth:`use`."""

    def __init__(self, load: Callable[[], SearchEngine] = load_engine):
        self._load = load  # the first load (may build a missing index, as load_engine does)
        self._lock = threading.Lock()  # held for the first load and for a swap itself, never for a new load
        self._refreshing = threading.Lock()
        self._engine: SearchEngine | None = None
        self._fixed = False  # an engine given by use() (e.g. a test's): never swapped
        self._stamp: tuple | None = None  # the manifest the engine in use was loaded from
        self._refused: tuple | None = None  # a manifest whose index did not load

    def use(self, engine: SearchEngine | None) -> None:
        """Serve ``engine`` from now on, never swapped; None: the configured one (loaded on next use)."""
        with self._lock:
            self._engine, self._fixed, self._stamp, self._refused = engine, engine is not None, None, None

    @property
    def fixed(self) -> SearchEngine | None:
        """The engine given by :meth:`use`, if any."""
        return self._engine if self._fixed else None

    def get(self) -> SearchEngine:
        """The engine in use; loads the configured one on first use (slow: call it off the event loop)."""
        engine = self._engine  # one read: a swap meanwhile hands this question the old engine, whole
        if engine is not None:
            return engine
        with self._lock:  # a warm-up thread and a first question must not load it twice
            if self._engine is None:
                stamp = manifest_stamp(Settings().index_dir)  # before loading: a build landing meanwhile is seen
                self._engine, self._stamp = self._interim() or self._load(), stamp
            return self._engine

    def _interim(self) -> SearchEngine | None:
        """The interim corpus's engine while the configured index cannot be served (None: load the configured)."""
        name = interim_corpus()
        if name is None:
            return None
        try:
            return open_engine(Settings(), auto_build=False)
        except (IndexOutOfDate, FileNotFoundError) as exc:
            log.warning("the %s index cannot be served yet (%s): answering from the %s index until it can",
                        Settings().corpus, exc, name)
        return open_engine(Settings.of_corpus(name), auto_build=False)

    def refresh(self) -> bool:
        """Swap in the engine of a newer index if the manifest changed since the engine in use was loaded.

        One stat when nothing changed. A load takes seconds, in the caller's thread (never the event
        loop's), while questions are answered by the engine in use. True when a new engine was swapped in.
        """
        if self._engine is None or self._fixed:
            return False
        settings = Settings()
        stamp = manifest_stamp(settings.index_dir)
        if stamp is None or stamp in (self._stamp, self._refused):
            return False
        with self._refreshing:
            old = self._engine
            try:
                fresh = open_engine(settings, auto_build=False)
                fresh.search(WARM_UP_QUESTION, top_k=1)  # the first resident on it waits no longer than on the old
            except Exception as exc:  # noqa: BLE001 - whatever is wrong with the new index, keep answering
                self._refused = stamp
                if isinstance(exc, IndexOutOfDate):
                    log.warning("new search index not served (%s); still serving the previous one", exc)
                else:
                    log.exception("new search index failed to load; still serving the previous one")
                return False
            with self._lock:
                if self._engine is not old or self._fixed:  # replaced meanwhile by use()
                    return False
                self._engine, self._stamp = fresh, stamp
        log.info("search index swapped: model %s, %d articles (was: model %s, %d articles)",
                 model_name(fresh), len(fresh.articles), model_name(old), len(old.articles))
        return True

    def watch(self, every: float | None = None, stop: threading.Event | None = None) -> threading.Thread | None:
        """Call :meth:`refresh` every ``every`` seconds (default ``KNOWLEDGE_INDEX_CHECK_SECONDS``; 0: never)
        in a daemon thread, until ``stop`` is set."""
        every = index_check_seconds() if every is None else every
        if every <= 0:
            return None
        thread = threading.Thread(target=self._watch, args=(every, stop or threading.Event()), name="index-watch",
                                  daemon=True)
        thread.start()
        return thread

    def _watch(self, every: float, stop: threading.Event) -> None:
        while not stop.wait(every):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the watcher must outlive any surprise; the engine in use stays
                log.exception("checking for a new search index failed")


def model_name(engine: SearchEngine) -> str:
    """The model folder of an engine's encoder (relative to the repository root; its precision unless the default
    int8), for logs."""
    model_dir = getattr(engine.encoder, "model_dir", None)
    if not model_dir:
        return type(engine.encoder).__name__
    precision = engine.encoder.precision
    return model_entry(model_dir, precision)["dir"] + ("" if precision == "int8" else f" ({precision})")
