"""Calling back bad ratings (the 12348 standard): mark an unhelpful feedback as called back.

The mark and its audit entry are written in one transaction, so the log always says who called
whom back. Marking twice keeps the first mark (and says so).
"""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from records import audit
from records.db import transaction
from records.errors import InvalidValue, UnknownConsultation
from records.schema import consultations, feedback, feedback_callbacks, utcnow, villages


def township_of(consultation_id: str, *, engine: Engine | None = None) -> str | None:
    """The township of the consultation's village (None: no village, or no such consultation)."""
    query = (
        select(villages.c.township)
        .select_from(consultations.join(villages, villages.c.id == consultations.c.village_id))
        .where(consultations.c.id == consultation_id)
    )
    with transaction(engine, write=False) as conn:
        return conn.execute(query).scalar_one_or_none()


def mark_called_back(consultation_id: str, by: str, note: str | None = None, *, engine: Engine | None = None) -> bool:
    """Record that ``by`` called back the resident of an unhelpful rating; False if already marked.

    Raises :class:`UnknownConsultation` when there is no such bad rating.
    """
    note = (note or "").strip()[:500] or None
    with transaction(engine) as conn:
        helpful = conn.execute(
            select(feedback.c.helpful).where(feedback.c.consultation_id == consultation_id)
        ).scalar_one_or_none()
        if helpful is None or helpful:
            raise UnknownConsultation(f"no unhelpful rating for consultation {consultation_id!r}")
        done = conn.execute(
            select(feedback_callbacks.c.by).where(feedback_callbacks.c.consultation_id == consultation_id)
        ).scalar_one_or_none()
        if done is not None:
            return False
        if not by.strip():
            raise InvalidValue("by is required")
        conn.execute(
            insert(feedback_callbacks).values(consultation_id=consultation_id, at=utcnow(), by=by[:100], note=note)
        )
        audit.log(by, "callback", detail=f"consultation {consultation_id}", conn=conn)
    return True
