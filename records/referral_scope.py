"""The referrals a staff member may see, with their routing and service-level state.

A scope is the union of what a user's roles allow: an adviser their own referrals, a township
(司法所) every referral from its villages (including those it holds because the village has no
adviser, and the overdue and escalated ones), an admin everything. Outside the scope a referral does
not exist for the caller (the staff app answers 404, not 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, Select, and_, false, or_, select

from records.db import transaction
from records.errors import InvalidValue
from records.schema import REFERRAL_STATUSES, advisers, referral_routing, referrals, villages

GROUPS: dict[str, tuple[str, ...]] = {
    "new": ("new",),
    "open": ("accepted", "in_progress", "escalated"),
    "done": ("resolved", "closed"),
}
OPEN = ("new", "accepted", "in_progress", "escalated")


@dataclass(frozen=True)
class Scope:
    adviser_id: int | None = None
    township: str | None = None
    everything: bool = False


@dataclass(frozen=True)
class ReferralItem:
    id: str
    created_at: datetime
    updated_at: datetime
    village_id: int
    village: str
    township: str
    adviser_id: int | None  # None: the township's 司法所 holds it (the village has no adviser)
    adviser_name: str | None
    summary: str
    topic: str | None
    urgent: bool
    status: str
    to_township: bool
    route_reason: str | None
    escalated_at: datetime | None
    resolve_flagged_at: datetime | None

    @property
    def overdue(self) -> bool:
        """Escalated and still not accepted, or flagged for want of resolution and still open."""
        waiting = self.status in ("new", "escalated") and self.escalated_at is not None
        return waiting or (self.status in OPEN and self.resolve_flagged_at is not None)


def base_query() -> Select:
    """Referrals joined with village, adviser and routing (the columns of ReferralItem)."""
    return (
        select(
            referrals.c.id,
            referrals.c.created_at,
            referrals.c.updated_at,
            referrals.c.village_id,
            (villages.c.township + villages.c.name).label("village"),
            villages.c.township,
            referrals.c.adviser_id,
            advisers.c.name.label("adviser_name"),
            referrals.c.summary,
            referrals.c.topic,
            referrals.c.urgent,
            referrals.c.status,
            referral_routing.c.to_township,
            referral_routing.c.reason.label("route_reason"),
            referral_routing.c.escalated_at,
            referral_routing.c.resolve_flagged_at,
        )
        .select_from(
            referrals.join(villages, referrals.c.village_id == villages.c.id)
            .outerjoin(advisers, referrals.c.adviser_id == advisers.c.id)
            .outerjoin(referral_routing, referral_routing.c.referral_id == referrals.c.id)
        )
    )


def overdue_condition() -> ColumnElement[bool]:
    """SQL form of :attr:`ReferralItem.overdue`."""
    return or_(
        and_(referrals.c.status.in_(("new", "escalated")), referral_routing.c.escalated_at.is_not(None)),
        and_(referrals.c.status.in_(OPEN), referral_routing.c.resolve_flagged_at.is_not(None)),
    )


def _within(scope: Scope) -> ColumnElement[bool] | None:
    if scope.everything:
        return None
    parts = []
    if scope.adviser_id is not None:
        parts.append(referrals.c.adviser_id == scope.adviser_id)
    if scope.township:
        parts.append(villages.c.township == scope.township)
    return or_(*parts) if parts else false()


def list_referrals(
    scope: Scope,
    *,
    status: str | None = None,
    village: str | None = None,
    topic: str | None = None,
    engine: Engine | None = None,
) -> list[ReferralItem]:
    """Visible referrals, urgent first then oldest. ``status``: a status, a group
    (new / open / done) or ``overdue``; ``village``: a label (城关镇石桥村) or id."""
    query = base_query()
    condition = _within(scope)
    if condition is not None:
        query = query.where(condition)
    if status:
        if status == "overdue":
            query = query.where(overdue_condition())
        elif status in GROUPS:
            query = query.where(referrals.c.status.in_(GROUPS[status]))
        elif status in REFERRAL_STATUSES:
            query = query.where(referrals.c.status == status)
        else:
            raise InvalidValue(f"status must be a status, a group {tuple(GROUPS)} or 'overdue', not {status!r}")
    if village:
        if village.isdigit():
            query = query.where(referrals.c.village_id == int(village))
        else:
            query = query.where((villages.c.township + villages.c.name) == village)
    if topic:
        query = query.where(referrals.c.topic == topic)
    query = query.order_by(referrals.c.urgent.desc(), referrals.c.created_at, referrals.c.id)
    with transaction(engine, write=False) as conn:
        return [ReferralItem(**row._asdict()) for row in conn.execute(query)]


def find(scope: Scope, referral_id: str, *, engine: Engine | None = None) -> ReferralItem | None:
    """One referral if it is within the scope, else None."""
    query = base_query().where(referrals.c.id == referral_id)
    condition = _within(scope)
    if condition is not None:
        query = query.where(and_(condition))
    with transaction(engine, write=False) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else ReferralItem(**row._asdict())
