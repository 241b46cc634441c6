"""有帮助 / 没帮助 feedback on an answer; one per consultation, the latest click wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from records import validate
from records.consultations import require_consultation
from records.db import transaction
from records.errors import InvalidValue
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


def add_feedback(
    consultation_id: str,
    helpful: bool | str,
    *,
    created_at: datetime | None = None,
    engine: Engine | None = None,
) -> Feedback:
    """Record feedback; raises :class:`UnknownConsultation` for an unknown id.

    Feedback stored with a later ``created_at`` is kept (so replaying an old click is harmless).
    """
    return store_feedback(prepare_feedback(consultation_id, helpful, created_at), engine=engine)


def prepare_feedback(
    consultation_id: str, helpful: bool | str, created_at: datetime | None = None
) -> dict[str, Any]:
    """The validated click to store; needs no database (see :func:`store_feedback`)."""
    at = utcnow() if created_at is None else validate.aware_datetime(created_at, "created_at")
    return {
        "consultation_id": validate.text(consultation_id, "consultation_id"),
        "helpful": parse_helpful(helpful),
        "created_at": at,
    }


def store_feedback(values: dict[str, Any], *, engine: Engine | None = None) -> Feedback:
    """Store a click made by :func:`prepare_feedback` unless a later one is stored already."""
    args = (values["consultation_id"], values["helpful"], values["created_at"], engine)
    try:
        return _upsert(*args)
    except IntegrityError:
        # A concurrent first click inserted the row between our check and insert; now update it.
        return _upsert(*args)


def get_feedback(consultation_id: str, *, engine: Engine | None = None) -> Feedback | None:
    """The feedback on one consultation, or None if the resident gave none."""
    query = select(feedback).where(feedback.c.consultation_id == consultation_id)
    with transaction(engine, write=False) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else Feedback(row.consultation_id, row.helpful, row.created_at)


def _upsert(consultation_id: str, helpful: bool, at: datetime, engine: Engine | None) -> Feedback:
    with transaction(engine) as conn:
        require_consultation(conn, consultation_id)
        changed = conn.execute(
            update(feedback)
            .where(feedback.c.consultation_id == consultation_id, feedback.c.created_at <= at)
            .values(helpful=helpful, created_at=at)
        ).rowcount
        if changed:
            return Feedback(consultation_id, helpful, at)
        query = select(feedback).where(feedback.c.consultation_id == consultation_id)
        later = conn.execute(query).one_or_none()
        if later is not None:
            return Feedback(later.consultation_id, later.helpful, later.created_at)
        conn.execute(
            insert(feedback).values(consultation_id=consultation_id, helpful=helpful, created_at=at)
        )
    return Feedback(consultation_id, helpful, at)
