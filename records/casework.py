"""An adviser's work on a referral: notes, and resolving it with an outcome and a summary.

Status changes go through :func:`records.referrals.transition` (the one writer of a referral's
status); the resolution's outcome and summary are kept beside it for the bureau's statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select

from records import validate
from records.db import transaction
from records.errors import InvalidValue
from records.referrals import Referral, get_referral, transition
from records.schema import RESOLUTION_OUTCOMES, referral_notes, referral_resolutions, utcnow

MAX_NOTE = 2000
MAX_SUMMARY = 1000


@dataclass(frozen=True)
class Note:
    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class Resolution:
    outcome: str
    summary: str
    by: str
    at: datetime


def _bounded(value: object, what: str, limit: int) -> str:
    text = validate.text(value, what)
    if len(text) > limit:
        raise InvalidValue(f"{what} is longer than {limit} characters")
    return text


def add_note(
    referral_id: str, author: str, text: object, *, adviser_id: int | None = None, engine: Engine | None = None
) -> Note:
    """Add a note; with ``adviser_id`` only to that adviser's referral (else UnknownReferral)."""
    body = _bounded(text, "text", MAX_NOTE)
    get_referral(referral_id, adviser_id=adviser_id, engine=engine)
    note = Note(utcnow(), author, body)
    with transaction(engine) as conn:
        conn.execute(insert(referral_notes).values(referral_id=referral_id, at=note.at, author=author, text=body))
    return note


def notes_for(referral_id: str, *, engine: Engine | None = None) -> list[Note]:
    query = (
        select(referral_notes)
        .where(referral_notes.c.referral_id == referral_id)
        .order_by(referral_notes.c.at, referral_notes.c.id)
    )
    with transaction(engine, write=False) as conn:
        return [Note(r.at, r.author, r.text) for r in conn.execute(query)]


def resolve(
    referral_id: str,
    outcome: object,
    summary: object,
    by: str,
    *,
    adviser_id: int | None = None,
    engine: Engine | None = None,
) -> Referral:
    """Validate, move the referral to ``resolved`` (InvalidTransition if it cannot), keep the outcome."""
    chosen = validate.one_of(outcome, RESOLUTION_OUTCOMES, "outcome")
    text = _bounded(summary, "summary", MAX_SUMMARY)
    referral = transition(referral_id, "resolved", by, f"{chosen}: {text}", adviser_id=adviser_id, engine=engine)
    with transaction(engine) as conn:
        conn.execute(
            insert(referral_resolutions).values(
                referral_id=referral_id, outcome=chosen, summary=text, by=by, at=referral.updated_at
            )
        )
    return referral


def resolution_for(referral_id: str, *, engine: Engine | None = None) -> Resolution | None:
    query = select(referral_resolutions).where(referral_resolutions.c.referral_id == referral_id)
    with transaction(engine, write=False) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else Resolution(row.outcome, row.summary, row.by, row.at)
