"""Tracker stores that never stop the Rasa server and never lose a message without saying so.

Rasa 3.6.21's ``SQLTrackerStore.session_scope`` turns every ``ValueError`` raised while a session
is open into ``print_error_and_exit`` (``sys.exit(1)``), assuming it can only mean a missing
PostgreSQL schema. A sender id UTF-8 cannot encode raises ``UnicodeEncodeError`` (a ``ValueError``)
there, and the ``SystemExit`` ends the whole server. Every other storage error (database locked,
read-only file, Redis unreachable) is caught by Rasa's ``FailSafeTrackerStore``, which the agent
wraps around any store: it carries on with an empty conversation and an in-memory copy, so the
resident gets an answer that is neither based on nor added to their stored conversation.

The stores here (select them in ``endpoints*.yml`` with ``type: channels.tracker_stores.…``):

- open SQL sessions without the exit (a missing PostgreSQL schema becomes an ordinary error);
- log each storage failure once, with the sender id redacted and without the SQL parameters;
- while one of our channels handles a message (``watching_storage``): when the conversation cannot be
  read, hand Rasa a paused stand-in so that nothing is predicted or run for it, write nothing more
  for that message, and let the channel answer 503 so the resident sends it again; the same when a
  custom action's call fails (``action_failed``, from ``channels.action_failures``);
- elsewhere (Rasa's HTTP API) raise an error with the same redacted text, as Rasa expects;
- give the Redis client socket timeouts, so a Redis that stops answering cannot block the server's
  event loop (Rasa's Redis store uses a blocking client without them).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore, ensure_schema_exists
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, ConversationPaused
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

REDIS_SOCKET_TIMEOUT = 5.0  # seconds; Rasa's Redis lock store uses 10
_REDACTION_KEY = os.urandom(16)  # per process: log lines correlate, ids cannot be recovered


class TrackerStoreError(RuntimeError):
    """A storage failure, described without personal data."""


@dataclass
class MessageStorage:
    """Whether the tracker store, or a custom action's call, failed while one channel message was
    being handled: the conversation keeps nothing of the message, the resident sends it again."""

    failed: bool = False


_current_message: ContextVar[MessageStorage | None] = ContextVar("tracker_storage", default=None)


@contextmanager
def watching_storage() -> Iterator[MessageStorage]:
    """Watch the tracker store while the current task hands one message to Rasa.

    Read ``failed`` once the message was handled. The record is reset on leaving, because Sanic
    handles all requests of a keep-alive connection in one task, Rasa's HTTP API included.
    """
    storage = MessageStorage()
    token = _current_message.set(storage)
    try:
        yield storage
    finally:
        _current_message.reset(token)


def action_failed(action: str, error: BaseException) -> None:
    """A custom action's call failed: inside a channel message, mark the message as failed (nothing of
    it is stored, the channel asks for it again); elsewhere (Rasa's HTTP API) leave it to Rasa."""
    storage = _current_message.get()
    if storage is None:
        return
    logger.error(
        "custom action %s failed (%s); the resident is asked to send the message again",
        action,
        describe_error(error),
    )
    storage.failed = True


def message_failed() -> bool:
    """Whether the channel message being handled has failed already (storage or a custom action)."""
    storage = _current_message.get()
    return storage is not None and storage.failed


def redact_sender(sender_id: str) -> str:
    """A stable tag for a sender id in log lines (keyed hash, key never leaves the process)."""
    digest = hmac.new(_REDACTION_KEY, sender_id.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return "sender#" + digest.hexdigest()[:12]


def describe_error(error: BaseException, sender_id: str | None = None) -> str:
    """The error's type and first line, without the sender id or the failed statement's values."""
    if isinstance(error, UnicodeError):
        return type(error).__name__  # its text quotes the offending characters
    first_line = (str(error).splitlines() or [""])[0][:200]
    if sender_id:
        first_line = first_line.replace(sender_id, redact_sender(sender_id))
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


class GuardedStore:
    """Wraps a Rasa tracker store's reads and writes; mix in before the Rasa store class."""

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._read("retrieve", sender_id)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._read("retrieve_full_tracker", sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        storage = _current_message.get()
        if storage is not None and storage.failed:
            # This message was handled on a stand-in or half-stored conversation: keep it out of
            # the store; the channel asks the resident to send it again.
            return
        try:
            await super().save(tracker)  # type: ignore[misc]
        except Exception as error:  # noqa: BLE001 - any storage failure, described below
            self._failed("save", tracker.sender_id, error)

    async def keys(self) -> Iterable[str]:
        try:
            return await super().keys()  # type: ignore[misc]
        except Exception as error:  # noqa: BLE001 - any storage failure, described below
            self._failed("keys", None, error)
        return []  # inside a channel message (Rasa does not list keys there)

    async def _read(self, method: str, sender_id: str) -> DialogueStateTracker | None:
        storage = _current_message.get()
        if storage is None or not storage.failed:
            try:
                return await getattr(super(), method)(sender_id)
            except Exception as error:  # noqa: BLE001 - any storage failure, described below
                self._failed(method, sender_id, error)
        # Inside a channel message whose conversation cannot be read: a paused stand-in makes Rasa
        # parse the message and stop (no prediction, no action), instead of starting afresh.
        stand_in = self.init_tracker(sender_id)  # type: ignore[attr-defined]
        stand_in.update(ActionExecuted(ACTION_LISTEN_NAME))
        stand_in.update(ConversationPaused())
        return stand_in

    def _failed(self, operation: str, sender_id: str | None, error: Exception) -> None:
        """Log a failure; inside a channel message mark it, elsewhere raise ``TrackerStoreError``."""
        who = f" for {redact_sender(sender_id)}" if sender_id is not None else ""
        text = f"{type(self).__name__}.{operation}{who} failed: {describe_error(error, sender_id)}"
        storage = _current_message.get()
        if storage is None:
            raise TrackerStoreError(text) from None  # Rasa's FailSafeTrackerStore logs it
        logger.error("%s; the resident is asked to send the message again", text)
        storage.failed = True


class GuardedSQLTrackerStore(GuardedStore, SQLTrackerStore):
    """Rasa's SQL tracker store (SQLite, PostgreSQL) that cannot exit the process."""

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """Rasa's session scope minus the ``except ValueError: sys.exit`` around the caller's code."""
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as missing:
                raise TrackerStoreError(f"PostgreSQL schema {missing} does not exist") from None
            yield session
        finally:
            session.close()


class GuardedRedisTrackerStore(GuardedStore, RedisTrackerStore):
    """Rasa's Redis tracker store with socket timeouts (``socket_timeout``, seconds)."""

    def __init__(self, *args: Any, socket_timeout: float = REDIS_SOCKET_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections are made lazily from these settings, so this covers every connection.
        self.red.connection_pool.connection_kwargs.update(
            socket_timeout=float(socket_timeout), socket_connect_timeout=float(socket_timeout)
        )
