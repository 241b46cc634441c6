"""The consultation log: one row per answered (or referred, handed-off, ...) question.

The sender id is stored only as a keyed hash (:mod:`records.privacy`) and the question is
redacted on write (:mod:`records.redact`). ``topic`` accepts the Chinese name or the dialogue key
(``labor`` → 劳动纠纷); ``village`` an id, label or unique name (see
:func:`records.villages.resolve_village`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, insert, select
from sqlalchemy.engine import Row

from records import validate
from records.db import transaction
from records.errors import InvalidValue, UnknownConsultation
from records.privacy import hash_sender
from records.redact import redact
from records.schema import CHANNELS, OUTCOMES, consultations, utcnow
from records.topics import topic_name
from records.villages import resolve_village


@dataclass(frozen=True)
class Consultation:
    id: str
    created_at: datetime
    channel: str
    sender_hash: str
    village_id: int | None
    topic: str | None
    question: str
    articles: list[str]
    outcome: str
    confidence: float | None


def log_consultation(
    *,
    sender_id: str,
    channel: str,
    question: str,
    outcome: str,
    topic: str | None = None,
    articles: Sequence[str] = (),
    confidence: float | None = None,
    village: int | str | None = None,
    created_at: datetime | None = None,
    id: str | None = None,
    engine: Engine | None = None,
) -> str:
    """Store one consultation and return its id (a UUID string).

    With ``id`` the call is idempotent: if that consultation exists already, nothing is written.
    """
    values = prepare_consultation(
        sender_id=sender_id,
        channel=channel,
        question=question,
        outcome=outcome,
        topic=topic,
        articles=articles,
        confidence=confidence,
        village=village,
        created_at=created_at,
        id=id,
    )
    return store_consultation(values, engine=engine)


def prepare_consultation(
    *,
    sender_id: str,
    channel: str,
    question: str,
    outcome: str,
    topic: str | None = None,
    articles: Sequence[str] = (),
    confidence: float | None = None,
    village: int | str | None = None,
    created_at: datetime | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    """The validated row to store (sender hashed, question redacted); needs no database."""
    return {
        "id": validate.uuid_text(id, "id") if id is not None else str(uuid.uuid4()),
        "created_at": _timestamp(created_at),
        "channel": validate.one_of(channel, CHANNELS, "channel"),
        "sender_hash": hash_sender(validate.text(sender_id, "sender_id")),
        "topic": topic_name(topic),
        "question": redact(validate.text(question, "question", allow_empty=True)),
        "articles": validate.string_list(articles, "articles"),
        "outcome": validate.one_of(outcome, OUTCOMES, "outcome"),
        "confidence": validate.optional_number(confidence, "confidence"),
        "village": _village_key(village),
    }


def store_consultation(values: dict[str, Any], *, engine: Engine | None = None) -> str:
    """Insert a row made by :func:`prepare_consultation` unless its id exists; returns the id."""
    row = dict(values)
    village = row.pop("village")
    with transaction(engine) as conn:
        if _exists(conn, row["id"]):
            return row["id"]
        row["village_id"] = resolve_village(conn, village).id if village is not None else None
        conn.execute(insert(consultations).values(**row))
    return row["id"]


def get_consultation(consultation_id: str, *, engine: Engine | None = None) -> Consultation:
    """One consultation; raises :class:`UnknownConsultation`."""
    with transaction(engine, write=False) as conn:
        return _from_row(require_consultation(conn, consultation_id))


def consultations_for_sender(sender_id: str, *, engine: Engine | None = None) -> list[Consultation]:
    """Every consultation of one sender, oldest first (PIPL access requests)."""
    query = (
        select(consultations)
        .where(consultations.c.sender_hash == hash_sender(sender_id))
        .order_by(consultations.c.created_at)
    )
    with transaction(engine, write=False) as conn:
        return [_from_row(row) for row in conn.execute(query)]


def forget_sender(sender_id: str, *, engine: Engine | None = None) -> int:
    """Delete a sender's consultations and their feedback (PIPL deletion); returns the count.

    Referrals made from those consultations stay (the adviser may still be working on them) but
    lose their link to the consultation.
    """
    statement = delete(consultations).where(consultations.c.sender_hash == hash_sender(sender_id))
    with transaction(engine) as conn:
        return conn.execute(statement).rowcount


def require_consultation(conn: Connection, consultation_id: str) -> Row:
    row = conn.execute(
        select(consultations).where(consultations.c.id == str(consultation_id))
    ).one_or_none()
    if row is None:
        raise UnknownConsultation(f"unknown consultation {consultation_id!r}")
    return row


def _exists(conn: Connection, consultation_id: str) -> bool:
    query = select(exists().where(consultations.c.id == consultation_id))
    return bool(conn.execute(query).scalar())


def _village_key(village: object) -> int | str | None:
    if village is None or isinstance(village, str):
        return village
    if isinstance(village, int) and not isinstance(village, bool):
        return village
    raise InvalidValue(f"village must be an id or a name, not {village!r}")


def _timestamp(created_at: datetime | None) -> datetime:
    return utcnow() if created_at is None else validate.aware_datetime(created_at, "created_at")


def _from_row(row: Row) -> Consultation:
    return Consultation(**row._asdict())
