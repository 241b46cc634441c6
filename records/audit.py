"""The audit log: who saw a referral's contact details, and who changed what, when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select

from records.db import transaction
from records.schema import audit_log, utcnow


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    referral_id: str | None
    detail: str | None


def log(
    actor: str,
    action: str,
    *,
    referral_id: str | None = None,
    detail: str | None = None,
    conn: Connection | None = None,
    engine: Engine | None = None,
) -> None:
    """Append one entry (inside ``conn``'s transaction when given, so it commits with the change)."""
    statement = insert(audit_log).values(
        at=utcnow(), actor=actor[:100], action=action[:40], referral_id=referral_id, detail=detail
    )
    if conn is not None:
        conn.execute(statement)
        return
    with transaction(engine) as own:
        own.execute(statement)


def entries(
    *, referral_id: str | None = None, limit: int = 200, engine: Engine | None = None
) -> list[AuditEntry]:
    """Newest first; only one referral's entries when ``referral_id`` is given."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if referral_id is not None:
        query = query.where(audit_log.c.referral_id == referral_id)
    with transaction(engine, write=False) as conn:
        return [AuditEntry(r.id, r.at, r.actor, r.action, r.referral_id, r.detail) for r in conn.execute(query)]
