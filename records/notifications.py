"""The outbox of staff notifications: every message to send, sent at most once.

A notification is queued with a ``dedupe_key`` (e.g. ``new:<referral>:email:<addr>``): queuing
the same key again is a no-op, so a retried sweep never sends twice. The deliverer (one runner,
see :mod:`records.locks`) takes due rows, and marks each sent, or failed with the next attempt
time (back-off) until it gives up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from records import validate
from records.db import transaction
from records.schema import NOTIFICATION_CHANNELS, notifications, utcnow


@dataclass(frozen=True)
class Notification:
    id: int
    dedupe_key: str
    channel: str
    recipient: str
    subject: str
    body: str
    referral_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


def enqueue(
    conn: Connection,
    dedupe_key: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    *,
    referral_id: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Queue a message inside the caller's transaction; False if that key was queued before."""
    validate.one_of(channel, NOTIFICATION_CHANNELS, "channel")
    if conn.execute(select(notifications.c.id).where(notifications.c.dedupe_key == dedupe_key)).first():
        return False
    at = now or utcnow()
    try:
        with conn.begin_nested():
            conn.execute(
                insert(notifications).values(
                    dedupe_key=dedupe_key[:200],
                    channel=channel,
                    recipient=recipient[:200],
                    subject=subject[:200],
                    body=body,
                    referral_id=referral_id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=at,
                    created_at=at,
                )
            )
    except IntegrityError:  # queued concurrently by another process
        return False
    return True


def due(now: datetime, *, limit: int = 50, engine: Engine | None = None) -> list[Notification]:
    query = (
        select(notifications)
        .where(notifications.c.status == "pending", notifications.c.next_attempt_at <= now)
        .order_by(notifications.c.next_attempt_at, notifications.c.id)
        .limit(limit)
    )
    with transaction(engine, write=False) as conn:
        return [Notification(**r._asdict()) for r in conn.execute(query)]


def mark_sent(notification_id: int, now: datetime, *, engine: Engine | None = None) -> None:
    with transaction(engine) as conn:
        conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id, notifications.c.status == "pending")
            .values(status="sent", sent_at=now, attempts=notifications.c.attempts + 1, last_error=None)
        )


def mark_failed(
    notification_id: int, error: str, next_attempt_at: datetime | None, *, engine: Engine | None = None
) -> None:
    """Count a failed attempt; ``next_attempt_at`` None gives up (status ``failed``)."""
    values: dict[str, object] = {"attempts": notifications.c.attempts + 1, "last_error": error[:1000]}
    if next_attempt_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = next_attempt_at
    with transaction(engine) as conn:
        conn.execute(update(notifications).where(notifications.c.id == notification_id).values(**values))


def for_recipients(
    recipients: list[str], *, after_id: int = 0, channel: str = "inapp", limit: int = 50, engine: Engine | None = None
) -> list[Notification]:
    """Messages to any of ``recipients`` with an id above ``after_id`` (the in-app feed), oldest first."""
    query = (
        select(notifications)
        .where(
            notifications.c.channel == channel,
            notifications.c.recipient.in_(recipients),
            notifications.c.id > after_id,
        )
        .order_by(notifications.c.id)
        .limit(limit)
    )
    with transaction(engine, write=False) as conn:
        return [Notification(**r._asdict()) for r in conn.execute(query)]


def latest_id(recipients: list[str], *, channel: str = "inapp", engine: Engine | None = None) -> int:
    """The id of the newest message to any of ``recipients`` (0 if none): where a new feed starts."""
    query = select(func.max(notifications.c.id)).where(
        notifications.c.channel == channel, notifications.c.recipient.in_(recipients)
    )
    with transaction(engine, write=False) as conn:
        return int(conn.execute(query).scalar() or 0)


def all_for_referral(referral_id: str, *, engine: Engine | None = None) -> list[Notification]:
    query = select(notifications).where(notifications.c.referral_id == referral_id).order_by(notifications.c.id)
    with transaction(engine, write=False) as conn:
        return [Notification(**r._asdict()) for r in conn.execute(query)]
