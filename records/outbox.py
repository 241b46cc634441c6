"""A durable local outbox: nothing accepted is lost while the database is unavailable.

The wrappers here take the same arguments as the functions of ``records`` they are named after,
validate and prepare the record first (validation errors raise :class:`records.RecordError` as
usual and nothing is kept), then try to write it. If the database is unavailable (connection
refused or lost, SQLite file locked or unwritable, tables missing, ...: see
:func:`is_unavailable`), the prepared record is appended to a spool file and a *pending* result is
returned instead of raising:

>>> cid = outbox.log_consultation(sender_id=sid, channel="web", question=q, outcome="answered")
>>> ref = outbox.create_referral(village="城关镇石桥村", contact_phone=p, description=d,
...                              consent=True)
>>> isinstance(ref, outbox.Pending)       # PendingReferral: id, village, adviser_name, urgent

:func:`replay` writes the spooled records in order, each removed from the spool only after its
transaction committed. Every record carries an id chosen before the first try (feedback: its
click time), and writing it again is a no-op, so a replay interrupted by a crash never duplicates.
While records for a database wait in the spool, new records for it are queued behind them (after
one replay attempt), so a referral never arrives before the consultation it points at.
:func:`replay` runs on :func:`records.init_db` and every ``interval_s`` in the thread of
:func:`start_replayer`.

Files in ``LEGAL_OUTBOX_DIR`` (default ``var/outbox``, see :mod:`records.config`), all mode 0600:

- ``outbox.jsonl`` — one JSON object per line: ``kind``, ``values`` (the prepared row), ``db``
  (the target URL, password hidden; entries land only in that database unless
  ``replay(any_database=True)``), ``entry`` (spool id), ``spooled_at``. What is stored is what the
  database would get: the sender id hashed and the question redacted for a consultation; for a
  referral the raw phone and description (the adviser needs them); for a handoff the raw sender
  id (the operator console needs it) and the redacted reason.
- ``rejected.jsonl`` — entries the database refused when replayed (e.g. a village that is no
  longer listed) or unreadable lines, with the error, kept for staff; never replayed.
- ``outbox.lock``, ``replay.lock`` — ``fcntl.flock`` locks: appends from several processes are
  safe, and one replay runs at a time.
"""

from __future__ import annotations

import enum
import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from records.config import outbox_dir
from records.consultations import prepare_consultation, store_consultation
from records.db import get_engine
from records.errors import UnknownConsultation
from records.feedback import Feedback, prepare_feedback, store_feedback
from records.handoffs import Handoff, prepare_handoff, store_handoff
from records.referrals import Referral, prepare_referral, store_referral
from records.schema import utcnow
from records.villages import listed_village

logger = logging.getLogger(__name__)

SPOOL_NAME = "outbox.jsonl"
REJECTED_NAME = "rejected.jsonl"
_LOCK_NAME = "outbox.lock"
_REPLAY_LOCK_NAME = "replay.lock"
_FORMAT = 1
_BATCH = 50  # landed entries are removed from the spool at least every _BATCH entries
# SQLSTATEs that mean "not available now" though the driver does not call them operational:
# a read-only standby after a failover, tables not created yet.
_UNAVAILABLE_SQLSTATES = frozenset({"25006", "42P01"})

_STORES: dict[str, Callable[..., Any]] = {
    "consultation": store_consultation,
    "referral": store_referral,
    "feedback": store_feedback,
    "handoff": store_handoff,
}


class Spooled(enum.Enum):
    """What :func:`submit` returns when the record went to the spool."""

    PENDING = "pending"


PENDING = Spooled.PENDING


class Pending:
    """Base of the results for records that wait in the outbox."""


@dataclass(frozen=True)
class PendingReferral(Pending):
    id: str
    village: str  # label from the village list when known, else as given
    adviser_name: str | None  # from the village list; None if unknown without the database
    urgent: bool
    created_at: datetime


@dataclass(frozen=True)
class PendingFeedback(Pending):
    consultation_id: str
    helpful: bool
    created_at: datetime


@dataclass(frozen=True)
class PendingHandoff(Pending):
    id: str
    channel: str
    created_at: datetime


# --- the wrappers ----------------------------------------------------------------------------


def log_consultation(*, engine: Engine | None = None, **kwargs: Any) -> str:
    """:func:`records.log_consultation`, spooled if the database is unavailable; returns the id."""
    values = prepare_consultation(**kwargs)
    submit("consultation", values, engine=engine)
    return values["id"]


def create_referral(*, engine: Engine | None = None, **kwargs: Any) -> Referral | PendingReferral:
    """:func:`records.create_referral`, or a :class:`PendingReferral` if it was spooled."""
    values = prepare_referral(**kwargs)
    result = submit("referral", values, engine=engine)
    return _pending_referral(values) if result is PENDING else result


def add_feedback(
    consultation_id: str, helpful: bool | str, *, engine: Engine | None = None
) -> Feedback | PendingFeedback:
    """:func:`records.add_feedback`, or a :class:`PendingFeedback` if it was spooled."""
    values = prepare_feedback(consultation_id, helpful)
    result = submit("feedback", values, engine=engine)
    if result is PENDING:
        return PendingFeedback(values["consultation_id"], values["helpful"], values["created_at"])
    return result


def enqueue_handoff(
    sender_id: str, channel: str, reason: str | None = None, *, engine: Engine | None = None
) -> Handoff | PendingHandoff:
    """:func:`records.enqueue_handoff`, or a :class:`PendingHandoff` if it was spooled."""
    values = prepare_handoff(sender_id, channel, reason)
    result = submit("handoff", values, engine=engine)
    if result is PENDING:
        return PendingHandoff(values["id"], values["channel"], values["created_at"])
    return result


def _pending_referral(values: dict[str, Any]) -> PendingReferral:
    given = values["village"]
    listed = listed_village(given) if isinstance(given, str) else None
    adviser = listed.adviser_name if listed and values["adviser_id"] is None else None
    label = listed.label if listed else str(given)
    return PendingReferral(values["id"], label, adviser, values["urgent"], values["created_at"])


# --- submit and replay -----------------------------------------------------------------------


def submit(kind: str, values: dict[str, Any], *, engine: Engine | None = None) -> Any:
    """Store prepared ``values`` of ``kind`` now, or spool them and return :data:`PENDING`.

    ``values`` come from ``records.<module>.prepare_<kind>``. Errors other than an unavailable
    database (see :func:`is_unavailable`) propagate and nothing is spooled.
    """
    store = _STORES[kind]
    engine = engine or get_engine()
    target = _target(engine)
    if not _drained(engine, target):
        try:
            _spool(kind, values, target)  # queue behind the older records
        except OSError:  # the spool is unwritable: better out of order than lost
            logger.exception("outbox unwritable; writing %s %s directly", kind, _ref(values))
        else:
            logger.warning("%s %s spooled behind earlier records", kind, _ref(values))
            return PENDING
    try:
        return store(values, engine=engine)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        reason = _describe(exc)
        logger.warning("database unavailable (%s): %s %s spooled", reason, kind, _ref(values))
        _spool(kind, values, target)
        return PENDING


def _drained(engine: Engine, target: str) -> bool:
    """Whether no entries for ``target`` wait in the spool, after one replay if some did."""
    if not _waiting_for(target):
        return True
    try:
        replay(engine)
    except OSError:
        logger.exception("outbox replay failed")
    return not _waiting_for(target)


def replay(engine: Engine | None = None, *, any_database: bool = False) -> int:
    """Write spooled entries for ``engine``'s database in order; returns how many landed.

    Stops at the first sign that the database is unavailable (the rest stay spooled). An entry
    the database refuses for another reason moves to ``rejected.jsonl``. With ``any_database``,
    entries spooled for other database URLs land in ``engine`` as well (after a move).
    """
    if not _nonempty(_path(SPOOL_NAME)):
        return 0
    engine = engine or get_engine()
    target = _target(engine)
    with _flock(_REPLAY_LOCK_NAME):
        return _replay_locked(engine, None if any_database else target)


def pending_count() -> int:
    """Entries waiting in the spool, for every database."""
    return sum(1 for _, entry in _read_spool() if entry is not None)


def rejected_count() -> int:
    """Lines in ``rejected.jsonl`` (entries that need a person to look at them)."""
    path = _path(REJECTED_NAME)
    if not path.exists():
        return 0
    with _flock(_LOCK_NAME):
        return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that say the database cannot be written now, not that the data is wrong."""
    unavailable = (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.DisconnectionError,
        sa_exc.TimeoutError,
    )
    if isinstance(exc, unavailable):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        return exc.connection_invalidated or sqlstate in _UNAVAILABLE_SQLSTATES
    return False


def _replay_locked(engine: Engine, target: str | None) -> int:
    landed, done, dropped = 0, set(), set()
    try:
        for line, entry in _read_spool():
            if entry is None:
                _reject(line, "unreadable line")
                dropped.add(line)
                continue
            if target is not None and entry["db"] != target:
                continue
            try:
                _land(entry, engine)
            except Exception as exc:  # noqa: BLE001 - a refused entry must not block the rest
                if is_unavailable(exc):
                    logger.warning(
                        "outbox replay stopped: database unavailable (%s)", _describe(exc)
                    )
                    break
                logger.warning("outbox entry %s rejected: %s", entry["entry"], _describe(exc))
                _reject(line, _describe(exc))
            else:
                landed += 1
            done.add(entry["entry"])
            if len(done) + len(dropped) >= _BATCH:
                _remove(done, dropped)
                done, dropped = set(), set()
    finally:
        _remove(done, dropped)
    if landed:
        logger.info("outbox: %d spooled records written", landed)
    return landed


def _land(entry: dict[str, Any], engine: Engine) -> None:
    values = _decode(entry["values"])
    store = _STORES[entry["kind"]]
    try:
        store(values, engine=engine)
    except UnknownConsultation:
        if entry["kind"] != "referral" or values.get("consultation_id") is None:
            raise
        # The consultation was deleted (forget_sender) or rejected: keep the referral unlinked.
        store({**values, "consultation_id": None}, engine=engine)


# --- background replay -----------------------------------------------------------------------

_replayer: threading.Thread | None = None
_replayer_stop = threading.Event()
_replayer_lock = threading.Lock()


def start_replayer(interval_s: float = 30.0, *, engine: Engine | None = None) -> threading.Thread:
    """Start (once per process) a daemon thread that replays the outbox every ``interval_s``."""
    global _replayer
    with _replayer_lock:
        if _replayer is not None and _replayer.is_alive():
            return _replayer
        _replayer_stop.clear()
        _replayer = threading.Thread(
            target=_replay_forever,
            args=(interval_s, engine),
            name="records-outbox-replayer",
            daemon=True,
        )
        _replayer.start()
        return _replayer


def stop_replayer(timeout: float | None = None) -> None:
    """Stop the thread of :func:`start_replayer` (if any) and wait for it."""
    global _replayer
    with _replayer_lock:
        thread, _replayer = _replayer, None
        _replayer_stop.set()
    if thread is not None:
        thread.join(timeout)


def _replay_forever(interval_s: float, engine: Engine | None) -> None:
    while not _replayer_stop.wait(interval_s):
        try:
            replay(engine)
        except Exception:  # noqa: BLE001 - keep the thread alive; the next round retries
            logger.exception("outbox replay failed")


# --- the spool files -------------------------------------------------------------------------


def _spool(kind: str, values: dict[str, Any], target: str) -> None:
    entry = {
        "v": _FORMAT,
        "entry": str(uuid.uuid4()),
        "kind": kind,
        "db": target,
        "spooled_at": utcnow().isoformat(),
        "values": values,
    }
    _append(SPOOL_NAME, json.dumps(entry, ensure_ascii=False, default=_encode_value))


def _reject(line: bytes, error: str) -> None:
    record = {
        "rejected_at": utcnow().isoformat(),
        "error": error,
        "line": line.decode("utf-8", "replace"),
    }
    _append(REJECTED_NAME, json.dumps(record, ensure_ascii=False))


def _append(name: str, text: str) -> None:
    """Append one line durably (fsync) under the outbox lock; the file is created 0600."""
    path = _path(name)
    data = (text + "\n").encode("utf-8")
    with _flock(_LOCK_NAME):
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a crash cut the last line short: keep it a line of its own
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(path.parent)


def _read_spool() -> Iterator[tuple[bytes, dict[str, Any] | None]]:
    """(line, entry or None if unreadable) for each line of the spool, in order, parsed lazily."""
    for line in _spool_lines():
        yield line, _parse(line)


def _spool_lines() -> list[bytes]:
    path = _path(SPOOL_NAME)
    if not _nonempty(path):
        return []
    with _flock(_LOCK_NAME):
        return [line for line in path.read_bytes().splitlines() if line.strip()]


def _remove(entries: set[str], lines: set[bytes]) -> None:
    """Drop the given entries (by spool id) and raw lines from the spool, atomically."""
    if not entries and not lines:
        return
    path = _path(SPOOL_NAME)
    with _flock(_LOCK_NAME):
        kept = [
            line
            for line in path.read_bytes().splitlines()
            if line.strip() and line not in lines and _entry_id(line) not in entries
        ]
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, b"".join(line + b"\n" for line in kept))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)


def _waiting_for(target: str) -> bool:
    """Whether the spool holds entries for the database ``target``."""
    # A byte search instead of parsing every line: inside JSON strings quotes are escaped, so
    # this text only occurs as the "db" member written by _spool.
    needle = ('"db": ' + json.dumps(target, ensure_ascii=False) + ",").encode("utf-8")
    return any(needle in line for line in _spool_lines())


@contextmanager
def _flock(name: str) -> Iterator[None]:
    # flock (not lockf): the lock belongs to the open file, so it also excludes other threads.
    _create_dir()
    fd = os.open(_path(name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _path(name: str) -> Path:
    return outbox_dir() / name


def _create_dir() -> None:
    directory = outbox_dir()
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- encoding --------------------------------------------------------------------------------


def _target(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _encode_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot spool {type(value).__name__}")


def _decode(values: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(values)
    if isinstance(decoded.get("created_at"), str):
        decoded["created_at"] = datetime.fromisoformat(decoded["created_at"])
    return decoded


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    keys = ("entry", "kind", "db", "values")
    if not isinstance(entry, dict) or not all(k in entry for k in keys):
        return None
    if entry["kind"] not in _STORES or not isinstance(entry["values"], dict):
        return None
    return entry


def _entry_id(line: bytes) -> str | None:
    entry = _parse(line)
    return None if entry is None else entry["entry"]


def _ref(values: dict[str, Any]) -> str:
    return str(values.get("id") or values.get("consultation_id"))


def _describe(exc: BaseException) -> str:
    # The driver's message only: SQLAlchemy's text would include the statement's parameters.
    cause = getattr(exc, "orig", None) or exc
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first}"[:300]
