"""The consultation log: one row per answered (or referred, handed-off, ...) question.

A new consultation is a :class:`NewConsultation` written with :func:`records.write`. The sender id
is kept only as a keyed hash (:mod:`records.privacy`) and the question is redacted
(:mod:`records.redact`) as soon as the value is made, so neither the database nor the outbox
ever sees them raw. ``topic`` accepts the Chinese name or the dialogue key (``labor`` → 劳动纠纷);
``village`` an id, label or unique name (see :func:`records.village_db.resolve_village`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, exists, insert, select
from sqlalchemy.engine import Row

from records import validate
from records.db import transaction
from records.errors import InvalidValue, UnknownConsultation
from records.privacy import hash_sender
from records.receipts import Receipt
from records.redact import redact
from records.schema import CHANNELS, DRAFT_STATUSES, OUTCOMES, consultations, utcnow
from records.topics import topic_name
from records.village_db import resolve_village

_SENDER_HASH = re.compile(r"[0-9a-f]{64}")


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
    draft: str | None = None


@dataclass(frozen=True, kw_only=True)
class NewConsultation:
    """A consultation to write; validated, sender hashed and question redacted on construction.

    Give ``sender_id``; ``sender_hash`` instead is how the outbox restores a spooled value.
    """

    sender_id: InitVar[str | None] = None
    channel: str
    question: str
    outcome: str
    topic: str | None = None
    articles: Sequence[str] = ()
    confidence: float | None = None
    draft: str | None = None  # the county model's draft: "used", "dropped", or None (not asked)
    village: int | str | None = None
    created_at: datetime = field(default_factory=utcnow)
    id: str = field(default_factory=validate.new_id)
    sender_hash: str = ""

    def __post_init__(self, sender_id: str | None) -> None:
        validate.settle(
            self,
            id=validate.uuid_text(self.id, "id"),
            created_at=validate.aware_datetime(self.created_at, "created_at"),
            channel=validate.one_of(self.channel, CHANNELS, "channel"),
            sender_hash=_sender_hash(sender_id, self.sender_hash),
            topic=topic_name(self.topic),
            question=redact(validate.text(self.question, "question", allow_empty=True)),
            articles=tuple(validate.string_list(self.articles, "articles")),
            outcome=validate.one_of(self.outcome, OUTCOMES, "outcome"),
            confidence=validate.optional_number(self.confidence, "confidence"),
            draft=None if self.draft is None else validate.one_of(self.draft, DRAFT_STATUSES, "draft"),
            village=_village_key(self.village),
        )

    def pending_receipt(self) -> Receipt:
        return Receipt(self.id, pending=True)


def insert_consultation(new: NewConsultation, *, engine: Engine | None = None) -> Receipt:
    """Store ``new`` unless its id exists (only :func:`records.write` calls this)."""
    with transaction(engine) as conn:
        if _exists(conn, new.id):
            return Receipt(new.id, pending=False)
        village_id = resolve_village(conn, new.village).id if new.village is not None else None
        conn.execute(
            insert(consultations).values(
                id=new.id,
                created_at=new.created_at,
                channel=new.channel,
                sender_hash=new.sender_hash,
                village_id=village_id,
                topic=new.topic,
                question=new.question,
                articles=list(new.articles),
                outcome=new.outcome,
                confidence=new.confidence,
                draft=new.draft,
            )
        )
    return Receipt(new.id, pending=False)


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


def require_consultation(conn: Connection, consultation_id: str) -> Row:
    row = conn.execute(
        select(consultations).where(consultations.c.id == str(consultation_id))
    ).one_or_none()
    if row is None:
        raise UnknownConsultation(f"unknown consultation {consultation_id!r}")
    return row


def _sender_hash(sender_id: str | None, sender_hash: str) -> str:
    if sender_id is not None:
        if sender_hash:
            raise InvalidValue("give sender_id or sender_hash, not both")
        return hash_sender(validate.text(sender_id, "sender_id"))
    if not isinstance(sender_hash, str) or not _SENDER_HASH.fullmatch(sender_hash):
        raise InvalidValue("sender_id must be given")
    return sender_hash


def optional_sender_hash(sender_id: str | None, sender_hash: str | None) -> str | None:
    """The keyed hash of ``sender_id``, a valid spooled ``sender_hash``, or None when neither is given."""
    if sender_id is None and not sender_hash:
        return None
    return _sender_hash(sender_id, sender_hash or "")


def _exists(conn: Connection, consultation_id: str) -> bool:
    query = select(exists().where(consultations.c.id == consultation_id))
    return bool(conn.execute(query).scalar())


def _village_key(village: object) -> int | str | None:
    if village is None or isinstance(village, str):
        return village
    if isinstance(village, int) and not isinstance(village, bool):
        return village
    raise InvalidValue(f"village must be an id or a name, not {village!r}")


def _from_row(row: Row) -> Consultation:
    return Consultation(**row._asdict())
