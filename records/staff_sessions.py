"""Staff login sessions kept in the database (the default when no Redis is configured).

The key is the SHA-256 of the cookie value, so a leaked table does not leak live sessions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from records.db import transaction
from records.schema import staff_sessions, utcnow


def create(
    key: str, user_id: int, csrf_token: str, expires_at: datetime, *, engine: Engine | None = None
) -> None:
    with transaction(engine) as conn:
        conn.execute(
            insert(staff_sessions).values(
                id=key, user_id=user_id, csrf_token=csrf_token, created_at=utcnow(), expires_at=expires_at
            )
        )


def get(key: str, now: datetime, *, engine: Engine | None = None) -> tuple[int, str] | None:
    """(user id, CSRF token) of a live session, or None if unknown or expired."""
    query = select(staff_sessions.c.user_id, staff_sessions.c.csrf_token).where(
        staff_sessions.c.id == key, staff_sessions.c.expires_at > now
    )
    with transaction(engine, write=False) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else (row.user_id, row.csrf_token)


def remove(key: str, *, engine: Engine | None = None) -> None:
    with transaction(engine) as conn:
        conn.execute(delete(staff_sessions).where(staff_sessions.c.id == key))


def remove_for_user(user_id: int, *, engine: Engine | None = None) -> None:
    """End every session of a user (password change, account disabled)."""
    with transaction(engine) as conn:
        conn.execute(delete(staff_sessions).where(staff_sessions.c.user_id == user_id))


def purge_expired(now: datetime, *, engine: Engine | None = None) -> int:
    with transaction(engine) as conn:
        return conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at <= now)).rowcount
