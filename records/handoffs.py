"""The queue of conversations waiting for a hotline operator (转人工).

``waiting`` → ``taken`` (an operator took over) → ``closed``; a waiting handoff can also be closed
directly (the resident left). A conversation has at most one waiting handoff: enqueueing again
returns the existing one. ``sender_id`` is stored raw because the operator console uses it to
take over the conversation through Rasa's HTTP API; ``reason`` is redacted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from records import validate
from records.db import transaction
from records.errors import InvalidTransition, UnknownHandoff
from records.redact import redact
from records.schema import CHANNELS, handoffs, utcnow


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


def enqueue_handoff(
    sender_id: str,
    channel: str,
    reason: str | None = None,
    *,
    created_at: datetime | None = None,
    id: str | None = None,
    engine: Engine | None = None,
) -> Handoff:
    """Queue a conversation for an operator, or return its handoff that is already waiting.

    With ``id`` the call is idempotent: if that handoff exists already, it is returned.
    """
    values = prepare_handoff(sender_id, channel, reason, created_at=created_at, id=id)
    return store_handoff(values, engine=engine)


def prepare_handoff(
    sender_id: str,
    channel: str,
    reason: str | None = None,
    *,
    created_at: datetime | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    """The validated handoff to store (reason redacted); needs no database."""
    at = utcnow() if created_at is None else validate.aware_datetime(created_at, "created_at")
    return {
        "id": validate.uuid_text(id, "id") if id is not None else str(uuid.uuid4()),
        "sender_id": validate.text(sender_id, "sender_id"),
        "channel": validate.one_of(channel, CHANNELS, "channel"),
        "reason": redact(reason) if reason else None,
        "created_at": at,
    }


def store_handoff(values: dict[str, Any], *, engine: Engine | None = None) -> Handoff:
    """Insert a handoff made by :func:`prepare_handoff` (see :func:`enqueue_handoff`)."""
    sender = values["sender_id"]
    try:
        with transaction(engine) as conn:
            done = conn.execute(select(handoffs).where(handoffs.c.id == values["id"])).one_or_none()
            if done is not None:
                return _from_row(done)
            existing = _waiting_for(conn, sender)
            if existing is not None:
                return existing
            conn.execute(insert(handoffs).values(status="waiting", **values))
            return _load(conn, values["id"])
    except IntegrityError:
        # Lost a race against a concurrent enqueue for the same sender (unique waiting index).
        with transaction(engine, write=False) as conn:
            existing = _waiting_for(conn, sender)
        if existing is None:
            raise
        return existing


def waiting_handoffs(*, engine: Engine | None = None) -> list[Handoff]:
    """Handoffs waiting for an operator, longest-waiting first."""
    query = (
        select(handoffs)
        .where(handoffs.c.status == "waiting")
        .order_by(handoffs.c.created_at, handoffs.c.id)
    )
    with transaction(engine, write=False) as conn:
        return [_from_row(row) for row in conn.execute(query)]


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
        select(handoffs)
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


def _waiting_for(conn: Connection, sender_id: str) -> Handoff | None:
    row = conn.execute(
        select(handoffs).where(handoffs.c.sender_id == sender_id, handoffs.c.status == "waiting")
    ).one_or_none()
    return None if row is None else _from_row(row)


def _load(conn: Connection, handoff_id: str) -> Handoff:
    row = conn.execute(select(handoffs).where(handoffs.c.id == str(handoff_id))).one_or_none()
    if row is None:
        raise UnknownHandoff(f"unknown handoff {handoff_id!r}")
    return _from_row(row)


def _from_row(row: Row) -> Handoff:
    return Handoff(**row._asdict())
