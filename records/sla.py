"""The referrals the staff scheduler must act on: not yet notified, not accepted or not resolved in time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Select, select

from records.db import transaction
from records.referral_scope import OPEN, ReferralItem, base_query
from records.schema import referral_routing, referrals, staff_users


def _items(query: Select, engine: Engine | None) -> list[ReferralItem]:
    with transaction(engine, write=False) as conn:
        return [ReferralItem(**row._asdict()) for row in conn.execute(query.order_by(referrals.c.created_at))]


def not_notified(*, limit: int = 200, engine: Engine | None = None) -> list[ReferralItem]:
    """Routed referrals whose people have not been told yet."""
    query = base_query().where(referral_routing.c.referral_id.is_not(None), referral_routing.c.notified_at.is_(None))
    return _items(query.limit(limit), engine)


def not_accepted_by(deadline: datetime, *, limit: int = 200, engine: Engine | None = None) -> list[ReferralItem]:
    """Created before ``deadline``, never accepted, not yet escalated."""
    query = base_query().where(
        referrals.c.created_at <= deadline,
        referrals.c.status.in_(("new", "escalated")),
        referral_routing.c.referral_id.is_not(None),
        referral_routing.c.escalated_at.is_(None),
    )
    return _items(query.limit(limit), engine)


def not_resolved_by(deadline: datetime, *, limit: int = 200, engine: Engine | None = None) -> list[ReferralItem]:
    """Created before ``deadline``, still open, not yet flagged."""
    query = base_query().where(
        referrals.c.created_at <= deadline,
        referrals.c.status.in_(OPEN),
        referral_routing.c.referral_id.is_not(None),
        referral_routing.c.resolve_flagged_at.is_(None),
    )
    return _items(query.limit(limit), engine)


def staff_emails(adviser_id: int | None, township: str | None, *, engine: Engine | None = None) -> dict[str, list[str]]:
    """E-mail addresses of the adviser's and the township office's enabled accounts."""
    out: dict[str, list[str]] = {"adviser": [], "township": []}
    query = select(staff_users.c.email, staff_users.c.adviser_id, staff_users.c.township, staff_users.c.roles).where(
        staff_users.c.disabled.is_(False), staff_users.c.email.is_not(None)
    )
    with transaction(engine, write=False) as conn:
        for row in conn.execute(query):
            roles = row.roles.split(",")
            if adviser_id is not None and "adviser" in roles and row.adviser_id == adviser_id:
                out["adviser"].append(row.email)
            if township and "township" in roles and row.township == township:
                out["township"].append(row.email)
    return out
