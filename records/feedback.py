"""有帮助 / 没帮助 feedback on an answer; one per consultation, the latest click wins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

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
    consultation_id: str, helpful: bool | str, *, engine: Engine | None = None
) -> Feedback:
    """Record feedback; raises :class:`UnknownConsultation` for an unknown id."""
    value = parse_helpful(helpful)
    try:
        return _upsert(consultation_id, value, engine)
    except IntegrityError:
        # A concurrent first click inserted the row between our check and insert; now update it.
        return _upsert(consultation_id, value, engine)


def get_feedback(consultation_id: str, *, engine: Engine | None = None) -> Feedback | None:
    """The feedback on one consultation, or None if the resident gave none."""
    query = select(feedback).where(feedback.c.consultation_id == consultation_id)
    with transaction(engine, write=False) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else Feedback(row.consultation_id, row.helpful, row.created_at)


def _upsert(consultation_id: str, helpful: bool, engine: Engine | None) -> Feedback:
    now = utcnow()
    with transaction(engine) as conn:
        require_consultation(conn, consultation_id)
        changed = conn.execute(
            update(feedback)
            .where(feedback.c.consultation_id == consultation_id)
            .values(helpful=helpful, created_at=now)
        ).rowcount
        if not changed:
            conn.execute(
                insert(feedback).values(
                    consultation_id=consultation_id, helpful=helpful, created_at=now
                )
            )
    return Feedback(consultation_id, helpful, now)
