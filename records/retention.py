"""Retention (PIPL art. 19): what residents said is kept ``RETENTION_DAYS``, the statistics for ever.

:func:`apply_retention` anonymises, in one transaction, everything older than the cut-off that
holds a resident's words or identity, and keeps the columns the justice bureau counts (time,
channel, village, topic, outcome, cited articles, confidence, referral status and outcome):

| table | older than the cut-off |
|---|---|
| ``consultations`` | ``question`` emptied, ``sender_hash`` emptied (no longer linkable) |
| ``referrals`` (resolved or closed only) | ``contact_phone``, ``description``, ``summary`` emptied |
| ``referral_notes`` of those | deleted |
| ``referral_events`` of those | ``note`` cleared (the status history stays) |
| ``referral_resolutions`` of those | ``summary`` emptied (``outcome`` kept) |
| ``handoffs`` (not waiting) | ``sender_id`` emptied, ``reason`` cleared |
| ``notifications`` (sent or failed) | deleted (their body quotes the referral) |

Open referrals keep their details until they are closed: the adviser is still working on them.
Running it again changes nothing (only rows not yet anonymised are counted). Rasa's tracker
store is cleared by the staff app's scheduler (``staff.retention``), which calls this function
daily; ``python -m records retention`` runs it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, select, update

from records.config import retention_days
from records.db import transaction
from records.schema import (
    consultations,
    handoffs,
    notifications,
    referral_events,
    referral_notes,
    referral_resolutions,
    referrals,
    utcnow,
)

FINISHED = ("resolved", "closed")


@dataclass(frozen=True)
class Retained:
    """How many rows were anonymised or deleted."""

    cutoff: datetime | None
    consultations: int = 0
    referrals: int = 0
    notes: int = 0
    handoffs: int = 0
    notifications: int = 0


def cutoff(days: float | None = None, now: datetime | None = None) -> datetime | None:
    """The moment before which texts go (None when retention is off: ``days <= 0``)."""
    days = retention_days() if days is None else days
    if days <= 0:
        return None
    return (now or utcnow()) - timedelta(days=days)


def apply_retention(
    days: float | None = None, *, now: datetime | None = None, engine: Engine | None = None
) -> Retained:
    """Anonymise what is older than ``days`` (default ``RETENTION_DAYS``); see the module."""
    before = cutoff(days, now)
    if before is None:
        return Retained(cutoff=None)
    finished_old = and_(referrals.c.created_at < before, referrals.c.status.in_(FINISHED))
    with transaction(engine) as conn:
        asked = conn.execute(
            update(consultations)
            .where(consultations.c.created_at < before)
            .where((consultations.c.question != "") | (consultations.c.sender_hash != ""))
            .values(question="", sender_hash="")
        ).rowcount
        old_referrals = select(referrals.c.id).where(finished_old).scalar_subquery()
        notes = conn.execute(delete(referral_notes).where(referral_notes.c.referral_id.in_(old_referrals))).rowcount
        conn.execute(
            update(referral_events)
            .where(referral_events.c.referral_id.in_(old_referrals), referral_events.c.note.is_not(None))
            .values(note=None)
        )
        conn.execute(
            update(referral_resolutions).where(referral_resolutions.c.referral_id.in_(old_referrals)).values(summary="")
        )
        referred = conn.execute(
            update(referrals)
            .where(finished_old)
            .where((referrals.c.description != "") | (referrals.c.contact_phone != "") | (referrals.c.summary != ""))
            .values(contact_phone="", description="", summary="")
        ).rowcount
        queued = conn.execute(
            update(handoffs)
            .where(handoffs.c.created_at < before, handoffs.c.status != "waiting", handoffs.c.sender_id != "")
            .values(sender_id="", reason=None)
        ).rowcount
        sent = conn.execute(
            delete(notifications).where(
                notifications.c.created_at < before, notifications.c.status.in_(("sent", "failed"))
            )
        ).rowcount
    return Retained(
        cutoff=before, consultations=asked, referrals=referred, notes=notes, handoffs=queued, notifications=sent
    )
