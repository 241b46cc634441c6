"""A lease lock in the database: one scheduler runner at a time across processes and hosts.

The holder renews its lease before it expires; if it dies, another process takes over once the
lease has run out. (The staff app uses a Redis lock instead when Redis is configured.)
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from records.db import transaction
from records.schema import scheduler_locks


def acquire(name: str, holder: str, ttl: timedelta, now: datetime, *, engine: Engine | None = None) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; False if another holds it."""
    until = now + ttl
    try:
        with transaction(engine) as conn:
            changed = conn.execute(
                update(scheduler_locks)
                .where(
                    scheduler_locks.c.name == name,
                    or_(scheduler_locks.c.holder == holder, scheduler_locks.c.expires_at <= now),
                )
                .values(holder=holder, expires_at=until)
            ).rowcount
            if changed == 1:
                return True
            if conn.execute(select(scheduler_locks.c.name).where(scheduler_locks.c.name == name)).first():
                return False
            conn.execute(insert(scheduler_locks).values(name=name, holder=holder, expires_at=until))
            return True
    except IntegrityError:  # another process inserted the lease first
        return False


def release(name: str, holder: str, *, engine: Engine | None = None) -> None:
    with transaction(engine) as conn:
        conn.execute(delete(scheduler_locks).where(scheduler_locks.c.name == name, scheduler_locks.c.holder == holder))
