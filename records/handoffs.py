"""The queue of conversations waiting for a hotline operator (转人工).

``waiting`` → ``taken`` (an operator took over) → ``closed``; a waiting handoff can also be closed
directly (the resident left). A conversation has at most one waiting handoff: enqueueing again
returns the existing one. ``sender_id`` is stored raw because the operator console uses it to
take over the conversation through Rasa's HTTP API; ``reason`` is redacted. A conversation is queued
by writing a :class:`NewHandoff` with :func:`records.write`; its ``kind`` (a 转人工 ``request``, the
bot being ``unsure`` again and again, an ``emergency``) orders the operators' queue
(:func:`operator_queue`): emergencies first, then the longest waiting.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, case, exists, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from records import validate
from records.db import transaction
from records.errors import InvalidTransition, UnknownHandoff
from records.receipts import Receipt
from records.redact import redact
from records.schema import (
    CHANNELS,
    HANDOFF_KINDS,
    RESOLUTION_OUTCOMES,
    handoff_kinds,
    handoff_outcomes,
    handoffs,
    utcnow,
)


@dataclass(frozen=True)
class Handoff:
    id: str
    sender_id: str
    channel: str
    created_at: datetime
    status: str
    reason: str | None
    taken_by: str | None
    taken_at: datetime | None
    closed_at: datetime | None
    kind: str = "request"

    @property
    def urgent(self) -> bool:
        return self.kind == "emergency"


@dataclass(frozen=True)
class NewHandoff:
    """A conversation to queue for an operator; ``reason`` is redacted on construction."""

    sender_id: str
    channel: str
    reason: str | None = None
    _: KW_ONLY
    kind: str = "request"
    created_at: datetime = field(default_factory=utcnow)
    id: str = field(default_factory=validate.new_id)

    def __post_init__(self) -> None:
        reason = validate.text(self.reason, "reason", allow_empty=True) if self.reason is not None else ""
        validate.settle(
            self,
            kind=validate.one_of(self.kind, HANDOFF_KINDS, "kind"),
            id=validate.uuid_text(self.id, "id"),
            sender_id=validate.text(self.sender_id, "sender_id"),
            channel=validate.one_of(self.channel, CHANNELS, "channel"),
            reason=redact(reason) if reason else None,
            created_at=validate.aware_datetime(self.created_at, "created_at"),
        )

    def pending_receipt(self) -> Receipt:
        return Receipt(self.id, pending=True)


def insert_handoff(new: NewHandoff, *, engine: Engine | None = None) -> Receipt:
    """Queue ``new`` (only :func:`records.write` calls this); the receipt names the stored handoff.

    If the conversation has a waiting handoff already, that one is kept and its id returned; if a
    handoff with ``new.id`` exists (written before), nothing changes.
    """
    try:
        with transaction(engine) as conn:
            if conn.execute(select(exists().where(handoffs.c.id == new.id))).scalar():
                return Receipt(new.id, pending=False)
            existing = _waiting_for(conn, new.sender_id)
            if existing is not None:
                if new.kind != "request":  # an emergency while waiting moves the resident up
                    _set_kind(conn, existing.id, new.kind)
                return Receipt(existing.id, pending=False)
            conn.execute(
                insert(handoffs).values(
                    id=new.id,
                    sender_id=new.sender_id,
                    channel=new.channel,
                    reason=new.reason,
                    created_at=new.created_at,
                    status="waiting",
                )
            )
            if new.kind != "request":
                _set_kind(conn, new.id, new.kind)
            return Receipt(new.id, pending=False)
    except IntegrityError:
        # Lost a race against a concurrent enqueue for the same sender (unique waiting index).
        with transaction(engine, write=False) as conn:
            existing = _waiting_for(conn, new.sender_id)
        if existing is None:
            raise
        return Receipt(existing.id, pending=False)


def waiting_handoffs(*, engine: Engine | None = None) -> list[Handoff]:
    """Handoffs waiting for an operator, longest-waiting first."""
    query = _select().where(handoffs.c.status == "waiting").order_by(handoffs.c.created_at, handoffs.c.id)
    with transaction(engine, write=False) as conn:
        return [_from_row(row) for row in conn.execute(query)]


def operator_queue(*, engine: Engine | None = None) -> list[Handoff]:
    """Open handoffs for the console: waiting ones (emergencies first, then oldest), then taken ones."""
    order = [
        case((handoffs.c.status == "waiting", 0), else_=1),
        case((handoff_kinds.c.kind == "emergency", 0), else_=1),
        handoffs.c.created_at,
        handoffs.c.id,
    ]
    query = _select().where(handoffs.c.status.in_(("waiting", "taken"))).order_by(*order)
    with transaction(engine, write=False) as conn:
        return [_from_row(row) for row in conn.execute(query)]


def close_with_outcome(
    handoff_id: str,
    outcome: object,
    summary: object,
    by: str,
    consultation_id: str | None = None,
    *,
    engine: Engine | None = None,
) -> Handoff:
    """An operator ends a taken conversation with an outcome (InvalidTransition if not taken)."""
    chosen = validate.one_of(outcome, RESOLUTION_OUTCOMES, "outcome")
    text = validate.text(summary, "summary", allow_empty=True) if summary is not None else ""
    with transaction(engine) as conn:
        current = _load(conn, handoff_id).status
        changed = conn.execute(
            update(handoffs)
            .where(handoffs.c.id == handoff_id, handoffs.c.status == "taken")
            .values(status="closed", closed_at=utcnow())
        ).rowcount
        if changed != 1:
            raise InvalidTransition(current, "closed")
        conn.execute(
            insert(handoff_outcomes).values(
                handoff_id=handoff_id,
                outcome=chosen,
                summary=redact(text[:1000]) or None,
                by=validate.text(by, "by"),
                at=utcnow(),
                consultation_id=consultation_id,
            )
        )
        return _load(conn, handoff_id)


def outcome_of(handoff_id: str, *, engine: Engine | None = None) -> dict[str, object] | None:
    with transaction(engine, write=False) as conn:
        row = conn.execute(select(handoff_outcomes).where(handoff_outcomes.c.handoff_id == handoff_id)).one_or_none()
    return None if row is None else dict(row._mapping)


def queue_position(handoff_id: str, *, engine: Engine | None = None) -> int | None:
    """1 for the next handoff an operator will take; None if it is no longer waiting."""
    with transaction(engine, write=False) as conn:
        handoff = _load(conn, handoff_id)
        if handoff.status != "waiting":
            return None
        ahead = conn.execute(
            select(func.count())
            .select_from(handoffs)
            .where(handoffs.c.status == "waiting", handoffs.c.created_at < handoff.created_at)
        ).scalar_one()
    return int(ahead) + 1


def open_handoff_for(sender_id: str, *, engine: Engine | None = None) -> Handoff | None:
    """The conversation's waiting or taken handoff, if any (newest)."""
    query = (
        _select()
        .where(handoffs.c.sender_id == sender_id, handoffs.c.status.in_(("waiting", "taken")))
        .order_by(handoffs.c.created_at.desc())
        .limit(1)
    )
    with transaction(engine, write=False) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else _from_row(row)


def get_handoff(handoff_id: str, *, engine: Engine | None = None) -> Handoff:
    with transaction(engine, write=False) as conn:
        return _load(conn, handoff_id)


def take_handoff(handoff_id: str, operator: str, *, engine: Engine | None = None) -> Handoff:
    """An operator takes a waiting handoff; if two race, the second gets InvalidTransition."""
    who = validate.text(operator, "operator")
    return _change(handoff_id, ("waiting",), "taken", engine, taken_by=who, taken_at=utcnow())


def close_handoff(handoff_id: str, *, engine: Engine | None = None) -> Handoff:
    """Close a waiting or taken handoff (conversation handed back to the bot, or abandoned)."""
    return _change(handoff_id, ("waiting", "taken"), "closed", engine, closed_at=utcnow())


def _change(
    handoff_id: str,
    allowed_from: tuple[str, ...],
    to_status: str,
    engine: Engine | None,
    **values: object,
) -> Handoff:
    with transaction(engine) as conn:
        current = _load(conn, handoff_id).status
        changed = conn.execute(
            update(handoffs)
            .where(handoffs.c.id == handoff_id, handoffs.c.status.in_(allowed_from))
            .values(status=to_status, **values)
        ).rowcount
        if changed != 1:
            raise InvalidTransition(current, to_status)
        return _load(conn, handoff_id)


def _select():  # noqa: ANN202 - a SQLAlchemy Select
    """Handoffs with their kind (``request`` when no kind row exists)."""
    kind = func.coalesce(handoff_kinds.c.kind, "request").label("kind")
    return select(handoffs, kind).select_from(
        handoffs.outerjoin(handoff_kinds, handoff_kinds.c.handoff_id == handoffs.c.id)
    )


def _set_kind(conn: Connection, handoff_id: str, kind: str) -> None:
    if conn.execute(select(handoff_kinds.c.kind).where(handoff_kinds.c.handoff_id == handoff_id)).first():
        conn.execute(update(handoff_kinds).where(handoff_kinds.c.handoff_id == handoff_id).values(kind=kind))
    else:
        conn.execute(insert(handoff_kinds).values(handoff_id=handoff_id, kind=kind))


def _waiting_for(conn: Connection, sender_id: str) -> Handoff | None:
    row = conn.execute(
        _select().where(handoffs.c.sender_id == sender_id, handoffs.c.status == "waiting")
    ).one_or_none()
    return None if row is None else _from_row(row)


def _load(conn: Connection, handoff_id: str) -> Handoff:
    row = conn.execute(_select().where(handoffs.c.id == str(handoff_id))).one_or_none()
    if row is None:
        raise UnknownHandoff(f"unknown handoff {handoff_id!r}")
    return _from_row(row)


def _from_row(row: Row) -> Handoff:
    return Handoff(**row._asdict())
