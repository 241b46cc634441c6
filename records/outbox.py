"""The one writer of records: store a new record now, or keep it in the outbox until it can be.

>>> receipt = records.write(records.NewConsultation(sender_id=sid, channel="web", question=q,
...                                                 outcome="answered"))
>>> receipt.id, receipt.pending          # pending: spooled while the database is unavailable

A new record is a validated value (:class:`~records.NewConsultation`, :class:`~records.NewReferral`,
:class:`~records.NewFeedback`, :class:`~records.NewHandoff`): bad input raises a
:class:`records.RecordError` when the value is made, so nothing is stored or spooled. :func:`write`
then stores it; if the database is unavailable (connection refused or lost, SQLite file locked or
unwritable, tables missing, ...: see :func:`is_unavailable`) it appends the value to the spool
(:mod:`records.spool`) and returns a pending receipt instead of raising. What is spooled is what
the database would get: the sender hash and the redacted question of a consultation; for a
referral the raw phone and description (the adviser needs them); for a handoff the raw sender id
(the operator console needs it) and the redacted reason.

:func:`replay` writes the spooled records in order, each removed from the spool only after its
transaction committed. Every record carries an id chosen when the value was made (feedback: its
click time), and writing it again is a no-op, so a replay interrupted by a crash never duplicates.
While records for a database wait in the spool, new records for it are queued behind them (after
one replay attempt), so a referral never arrives before the consultation it points at. Each entry
lands only in the database it was meant for, unless ``replay(any_database=True)``. :func:`replay`
runs on :func:`records.init_db` and every ``interval_s`` in the thread of :func:`start_replayer`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import datetime
from typing import Any, overload

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from records import spool
from records.config import outbox_replay_seconds
from records.consultations import NewConsultation, insert_consultation
from records.db import get_engine
from records.errors import InvalidValue, RecordError, UnknownConsultation
from records.feedback import NewFeedback, insert_feedback
from records.handoffs import NewHandoff, insert_handoff
from records.receipts import Receipt, ReferralReceipt
from records.referrals import NewReferral, insert_referral
from records.spool import pending_count, rejected_count

__all__ = [
    "NewRecord",
    "is_unavailable",
    "pending_count",
    "rejected_count",
    "replay",
    "spooled",
    "start_replayer",
    "stop_replayer",
    "write",
]

logger = logging.getLogger(__name__)

NewRecord = NewConsultation | NewReferral | NewFeedback | NewHandoff
_BATCH = 50  # landed entries are removed from the spool at least every _BATCH entries
# SQLSTATEs that mean "not available now" though the driver does not call them operational:
# a read-only standby after a failover, tables not created yet.
_UNAVAILABLE_SQLSTATES = frozenset({"25006", "42P01"})
# The spool's "kind" of each record type, and how it is stored.
_KINDS: dict[str, tuple[type[Any], Callable[..., Receipt]]] = {
    "consultation": (NewConsultation, insert_consultation),
    "referral": (NewReferral, insert_referral),
    "feedback": (NewFeedback, insert_feedback),
    "handoff": (NewHandoff, insert_handoff),
}


@overload
def write(record: NewReferral, *, engine: Engine | None = None) -> ReferralReceipt: ...
@overload
def write(record: NewConsultation | NewFeedback | NewHandoff, *, engine: Engine | None = None) -> Receipt: ...
def write(record: NewRecord, *, engine: Engine | None = None) -> Receipt:
    """Store ``record`` now, or spool it and return a pending receipt if the database is unavailable.

    Errors other than an unavailable database (e.g. :class:`records.UnknownVillage` while it is
    up, checked on replay while it is down) propagate and nothing is spooled.
    """
    kind = _kind(record)
    engine = engine or get_engine()
    target = _target(engine)
    if not _drained(engine, target):
        try:
            _spool(kind, record, target)  # queue behind the older records
        except OSError:  # the spool is unwritable: better out of order than lost
            logger.exception("outbox unwritable; writing %s %s directly", kind, _ref(record))
        else:
            logger.warning("%s %s spooled behind earlier records", kind, _ref(record))
            return record.pending_receipt()
    try:
        return _KINDS[kind][1](record, engine=engine)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        logger.warning("database unavailable (%s): %s %s spooled", _describe(exc), kind, _ref(record))
        _spool(kind, record, target)
        return record.pending_receipt()


def replay(engine: Engine | None = None, *, any_database: bool = False) -> int:
    """Write spooled entries for ``engine``'s database in order; returns how many landed.

    Stops at the first sign that the database is unavailable (the rest stay spooled). An entry
    the database refuses for another reason moves to ``rejected.jsonl``. With ``any_database``,
    entries spooled for other database URLs land in ``engine`` as well (after a move).
    """
    if not spool.nonempty():
        return 0
    engine = engine or get_engine()
    target = _target(engine)
    with spool.replay_lock():
        return _replay_locked(engine, None if any_database else target)


def spooled() -> list[tuple[str, NewRecord]]:
    """(spool entry id, record) of every readable entry, in order; call under the replay lock."""
    found = []
    for _, entry in spool.lines():
        if entry is None:
            continue
        try:
            found.append((entry["entry"], _decode(entry)))
        except (RecordError, TypeError, ValueError):  # set aside by the next replay
            continue
    return found


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


def _drained(engine: Engine, target: str) -> bool:
    """Whether no entries for ``target`` wait in the spool, after one replay if some did."""
    if not spool.waiting_for(target):
        return True
    try:
        replay(engine)
    except OSError:
        logger.exception("outbox replay failed")
    return not spool.waiting_for(target)


def _replay_locked(engine: Engine, target: str | None) -> int:
    landed, done, dropped = 0, set(), set()
    try:
        for line, entry in spool.lines():
            if entry is None:
                spool.reject(line, "unreadable line")
                dropped.add(line)
                continue
            if target is not None and entry["db"] != target:
                continue
            try:
                _land(entry, engine)
            except Exception as exc:  # noqa: BLE001 - a refused entry must not block the rest
                if is_unavailable(exc):
                    logger.warning("outbox replay stopped: database unavailable (%s)", _describe(exc))
                    break
                logger.warning("outbox entry %s rejected: %s", entry["entry"], _describe(exc))
                spool.reject(line, _describe(exc))
            else:
                landed += 1
            done.add(entry["entry"])
            if len(done) + len(dropped) >= _BATCH:
                spool.remove(done, dropped)
                done, dropped = set(), set()
    finally:
        spool.remove(done, dropped)
    if landed:
        logger.info("outbox: %d spooled records written", landed)
    return landed


def _land(entry: dict[str, Any], engine: Engine) -> None:
    record = _decode(entry)
    store = _KINDS[entry["kind"]][1]
    try:
        store(record, engine=engine)
    except UnknownConsultation:
        if not isinstance(record, NewReferral) or record.consultation_id is None:
            raise
        # The consultation was deleted (forget_sender) or rejected: keep the referral unlinked.
        store(replace(record, consultation_id=None), engine=engine)


# --- background replay -----------------------------------------------------------------------

_replayer: threading.Thread | None = None
_replayer_stop = threading.Event()
_replayer_lock = threading.Lock()


def start_replayer(interval_s: float | None = None, *, engine: Engine | None = None) -> threading.Thread:
    """Start (once per process) a daemon thread that replays the outbox every ``interval_s``
    (default ``LEGAL_OUTBOX_REPLAY_SECONDS``, see :mod:`records.config`)."""
    global _replayer
    if interval_s is None:
        interval_s = outbox_replay_seconds()
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


# --- the records in the spool ----------------------------------------------------------------
# The one place that turns records into spool values and back. The values are the dataclass
# fields (created_at as ISO text), the same keys the earlier prepared rows had, so lines spooled
# by an older version still replay. Restoring runs the validation again.


def _kind(record: object) -> str:
    for kind, (cls, _) in _KINDS.items():
        if type(record) is cls:
            return kind
    raise InvalidValue(f"not a new record: {record!r}")


def spool_values(record: NewRecord) -> dict[str, Any]:
    """The JSON-ready ``values`` of a spool entry for ``record``."""
    values = {f.name: getattr(record, f.name) for f in fields(record)}
    values["created_at"] = record.created_at.isoformat()
    return values


def _spool(kind: str, record: NewRecord, target: str) -> None:
    spool.append(kind, spool_values(record), target)


def _decode(entry: dict[str, Any]) -> NewRecord:
    if entry["kind"] not in _KINDS:
        raise InvalidValue(f"unknown kind of record {entry['kind']!r}")
    values = dict(entry["values"])
    if isinstance(values.get("created_at"), str):
        values["created_at"] = datetime.fromisoformat(values["created_at"])
    return _KINDS[entry["kind"]][0](**values)


def _target(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _ref(record: NewRecord) -> str:
    return record.consultation_id if isinstance(record, NewFeedback) else record.id


def _describe(exc: BaseException) -> str:
    # The driver's message only: SQLAlchemy's text would include the statement's parameters.
    cause = getattr(exc, "orig", None) or exc
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first}"[:300]
