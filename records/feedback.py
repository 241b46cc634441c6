"""有帮助 / 没帮助 feedback on an answer; one per consultation, the latest click wins.

A click is a :class:`NewFeedback` written with :func:`records.write`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from records import validate
from records.consultations import require_consultation
from records.db import transaction
from records.errors import InvalidValue
from records.receipts import Receipt
from records.schema import feedback, utcnow

_YES = frozenset({"yes", "true", "1", "有帮助", "有用", "是"})
_NO = frozenset({"no", "false", "0", "没帮助", "没有帮助", "没用", "否"})


@dataclass(frozen=True)
class Feedback:
    consultation_id: str
    helpful: bool
    created_at: datetime


def parse_helpful(value: bool | str) -> bool:
    """``True``/``False``, or the button payload ``"yes"``/``"no"`` (also 有帮助 / 没帮助)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _YES:
            return True
        if key in _NO:
            return False
    raise InvalidValue(f"helpful must be a bool or yes/no, not {value!r}")


@dataclass(frozen=True)
class NewFeedback:
    """A 有帮助 / 没帮助 click to write; ``helpful`` also takes the button payload ``"yes"``/``"no"``.

    Its ``created_at`` (the click time) identifies it: a stored later click wins, so writing an
    older one again is harmless.
    """

    consultation_id: str
    helpful: bool | str
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        validate.settle(
            self,
            consultation_id=validate.text(self.consultation_id, "consultation_id"),
            helpful=parse_helpful(self.helpful),
            created_at=validate.aware_datetime(self.created_at, "created_at"),
        )

    def pending_receipt(self) -> Receipt:
        return Receipt(self.consultation_id, pending=True)


def insert_feedback(new: NewFeedback, *, engine: Engine | None = None) -> Receipt:
    """Store ``new`` unless a later click is stored already (only :func:`records.write` calls this).

    Raises :class:`UnknownConsultation` for an unknown consultation.
    """
    args = (new.consultation_id, bool(new.helpful), new.created_at, engine)
    try:
        _upsert(*args)
    except IntegrityError:
        # A concurrent first click inserted the row between our check and insert; now update it.
        _upsert(*args)
    return Receipt(new.consultation_id, pending=False)


def get_feedback(consultation_id: str, *, engine: Engine | None = None) -> Feedback | None:
    """The feedback on one consultation, or None if the resident gave none."""
    query = select(feedback).where(feedback.c.consultation_id == consultation_id)
    with transaction(engine, write=False) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else Feedback(row.consultation_id, row.helpful, row.created_at)


def _upsert(consultation_id: str, helpful: bool, at: datetime, engine: Engine | None) -> None:
    with transaction(engine) as conn:
        require_consultation(conn, consultation_id)
        changed = conn.execute(
            update(feedback)
            .where(feedback.c.consultation_id == consultation_id, feedback.c.created_at <= at)
            .values(helpful=helpful, created_at=at)
        ).rowcount
        if changed:
            return
        query = select(exists().where(feedback.c.consultation_id == consultation_id))
        if conn.execute(query).scalar():
            return  # a later click is stored
        conn.execute(
            insert(feedback).values(consultation_id=consultation_id, helpful=helpful, created_at=at)
        )
