"""Deletion on request (PIPL art. 47): everything kept about one resident's conversations.

:func:`forget_sender` deletes, in the database and in the outbox spool alike, the sender's
consultations, the feedback on them, and the sender's operator handoffs. The sender's referrals
stay (the adviser may still be working on them; they hold only what the resident agreed to send)
but lose their link to the consultation and to the conversation (``referrals.sender_hash``). Command line:
``python -m records forget --sender ID``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from sqlalchemy import Engine, delete, func, select, update

from records import outbox, spool, validate
from records.consultations import NewConsultation
from records.db import get_engine, transaction
from records.feedback import NewFeedback
from records.handoffs import NewHandoff
from records.privacy import hash_sender
from records.referrals import NewReferral
from records.schema import consultations, feedback, handoffs, referrals


@dataclass(frozen=True)
class Forgotten:
    """How many records were deleted; ``spooled`` of them were still waiting in the outbox."""

    consultations: int
    feedback: int
    handoffs: int
    spooled: int


def forget_sender(sender_id: str, *, engine: Engine | None = None) -> Forgotten:
    """Delete what is kept about ``sender_id`` (see the module); needs the database.

    Holds the outbox's replay lock meanwhile, so a replay cannot bring back what is deleted.
    """
    sender = validate.text(sender_id, "sender_id")
    sender_hash = hash_sender(sender)
    engine = engine or get_engine()
    with spool.replay_lock():
        with transaction(engine) as conn:
            ids = set(
                conn.execute(
                    select(consultations.c.id).where(consultations.c.sender_hash == sender_hash)
                ).scalars()
            )
            clicks = conn.execute(
                select(func.count()).select_from(feedback).where(feedback.c.consultation_id.in_(ids))
            ).scalar_one()
            # Feedback goes with its consultation (ON DELETE CASCADE); referrals lose the link.
            conn.execute(delete(consultations).where(consultations.c.sender_hash == sender_hash))
            queued = conn.execute(delete(handoffs).where(handoffs.c.sender_id == sender)).rowcount
            conn.execute(update(referrals).where(referrals.c.sender_hash == sender_hash).values(sender_hash=None))
        spooled, ids = _forget_spooled(sender, sender_hash, ids)
    return Forgotten(
        consultations=len(ids),
        feedback=clicks + spooled["feedback"],
        handoffs=queued + spooled["handoff"],
        spooled=sum(spooled.values()),
    )


def _forget_spooled(sender: str, sender_hash: str, stored_ids: set[str]) -> tuple[Counter[str], set[str]]:
    """Remove the sender's entries from the spool: (counts by kind, all their consultation ids).

    Call under the replay lock.
    """
    entries = outbox.spooled()
    ids = stored_ids | {
        r.id for _, r in entries if isinstance(r, NewConsultation) and r.sender_hash == sender_hash
    }
    removed: dict[str, str] = {}
    unlinked: dict[str, dict[str, object]] = {}
    for entry, record in entries:
        if isinstance(record, NewConsultation) and record.sender_hash == sender_hash:
            removed[entry] = "consultation"
        elif isinstance(record, NewFeedback) and record.consultation_id in ids:
            removed[entry] = "feedback"
        elif isinstance(record, NewHandoff) and record.sender_id == sender:
            removed[entry] = "handoff"
        elif isinstance(record, NewReferral) and record.sender_hash == sender_hash:
            unlinked[entry] = outbox.spool_values(replace(record, sender_hash=None))  # the referral stays
    spool.remove(set(removed), set(), changed=unlinked)
    return Counter(removed.values()), ids
