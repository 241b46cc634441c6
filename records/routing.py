"""Who receives a referral, and the follow-up state of each referral (service level).

Routing rules (the county's 一村一法律顾问 arrangement):

- the village's adviser receives it; a village served by several advisers (``villages.adviser_id``
  plus ``village_advisers``) gives it to the one with the fewest open referrals (then lowest id);
- an adviser whose ``adviser_profiles.absent_until`` lies ahead is skipped; with no adviser left
  the township's 司法所 holds it (``to_township``); the referral keeps the village's adviser when
  they are only absent, and has no adviser at all (``referrals.adviser_id`` NULL) when the village
  has none;
- an urgent referral goes to the adviser *and* the 司法所 at once.

``referral_routing`` keeps, per referral, the township, whether the 司法所 holds or shares it,
why, and when it was notified, escalated (not accepted in time) and flagged (not resolved in time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from records.db import transaction
from records.errors import UnknownVillage
from records.schema import (
    adviser_profiles,
    referral_routing,
    referrals,
    utcnow,
    village_advisers,
    villages,
)

OPEN = ("new", "accepted", "in_progress", "escalated")


@dataclass(frozen=True)
class Route:
    adviser_id: int | None  # None: nobody available, the 司法所 holds it
    township: str
    to_township: bool
    reason: str  # village | fewest_open | no_adviser | adviser_absent | urgent


def route(
    conn: Connection,
    village_id: int,
    *,
    urgent: bool = False,
    now: datetime | None = None,
    exclude: str | None = None,
) -> Route:
    """The route of a new referral from ``village_id`` (inside the caller's transaction).

    ``exclude``: a referral not to count as open (the one being routed, once inserted).
    """
    now = now or utcnow()
    row = conn.execute(
        select(villages.c.township, villages.c.adviser_id).where(villages.c.id == village_id)
    ).one_or_none()
    if row is None:
        raise UnknownVillage(f"unknown village {village_id!r}")
    extra = conn.execute(
        select(village_advisers.c.adviser_id).where(village_advisers.c.village_id == village_id)
    ).scalars()
    candidates = sorted({a for a in (row.adviser_id, *extra) if a is not None})
    available = _available(conn, candidates, now)
    if not available:
        reason = "adviser_absent" if candidates else "no_adviser"
        return Route(None, row.township, True, reason)
    chosen = available[0] if len(available) == 1 else _fewest_open(conn, available, exclude)
    if urgent:
        return Route(chosen, row.township, True, "urgent")
    return Route(chosen, row.township, False, "village" if len(available) == 1 else "fewest_open")


def record(conn: Connection, referral_id: str, chosen: Route) -> None:
    """Keep how a just-stored referral was routed (inside the storing transaction)."""
    conn.execute(
        insert(referral_routing).values(
            referral_id=referral_id,
            township=chosen.township,
            to_township=chosen.to_township,
            reason=chosen.reason,
        )
    )


def record_new(conn: Connection, referral_id: str, *, now: datetime | None = None) -> None:
    """Keep the route of a referral just inserted in this transaction (the hook of the writer)."""
    row = conn.execute(
        select(referrals.c.village_id, referrals.c.adviser_id, referrals.c.urgent).where(referrals.c.id == referral_id)
    ).one()
    chosen = route(conn, row.village_id, urgent=bool(row.urgent), now=now, exclude=referral_id)
    if row.adviser_id is not None and chosen.adviser_id is not None and chosen.adviser_id != row.adviser_id:
        # An adviser chosen by the caller (an urgent one is still shared with the 司法所).
        chosen = Route(row.adviser_id, chosen.township, chosen.to_township, "urgent" if row.urgent else "assigned")
    record(conn, referral_id, chosen)


def backfill(*, engine: Engine | None = None) -> int:
    """Add the routing row of referrals stored without one (e.g. before routing existed)."""
    missing = (
        select(referrals.c.id, referrals.c.urgent, villages.c.township)
        .select_from(referrals.join(villages, referrals.c.village_id == villages.c.id))
        .where(~referrals.c.id.in_(select(referral_routing.c.referral_id)))
    )
    with transaction(engine) as conn:
        rows = conn.execute(missing).all()
        for r in rows:
            record(conn, r.id, Route(None, r.township, bool(r.urgent), "urgent" if r.urgent else "village"))
    return len(rows)


def mark(referral_id: str, column: str, at: datetime, *, conn: Connection) -> bool:
    """Set ``notified_at``/``escalated_at``/``resolve_flagged_at`` once; False if already set."""
    target = referral_routing.c[column]
    changed = conn.execute(
        update(referral_routing)
        .where(referral_routing.c.referral_id == referral_id, target.is_(None))
        .values({column: at})
    ).rowcount
    return changed == 1


def _available(conn: Connection, candidates: list[int], now: datetime) -> list[int]:
    if not candidates:
        return []
    absent = conn.execute(
        select(adviser_profiles.c.adviser_id).where(
            adviser_profiles.c.adviser_id.in_(candidates), adviser_profiles.c.absent_until > now
        )
    ).scalars()
    away = set(absent)
    return [a for a in candidates if a not in away]


def _fewest_open(conn: Connection, advisers: list[int], exclude: str | None) -> int:
    counts = dict.fromkeys(advisers, 0)
    query = (
        select(referrals.c.adviser_id, func.count())
        .where(referrals.c.adviser_id.in_(advisers), referrals.c.status.in_(OPEN))
        .group_by(referrals.c.adviser_id)
    )
    if exclude is not None:
        query = query.where(referrals.c.id != exclude)
    for adviser, count in conn.execute(query):
        counts[adviser] = count
    return min(advisers, key=lambda a: (counts[a], a))


def set_absence(adviser_id: int, until: datetime | None, *, engine: Engine | None = None) -> None:
    """Mark an adviser absent until ``until`` (None: present again)."""
    with transaction(engine) as conn:
        changed = conn.execute(
            update(adviser_profiles).where(adviser_profiles.c.adviser_id == adviser_id).values(absent_until=until)
        ).rowcount
        if not changed:
            conn.execute(insert(adviser_profiles).values(adviser_id=adviser_id, absent_until=until))


def absences(now: datetime, *, engine: Engine | None = None) -> dict[int, datetime]:
    """Adviser id → end of absence, for advisers absent at ``now``."""
    query = select(adviser_profiles.c.adviser_id, adviser_profiles.c.absent_until).where(
        adviser_profiles.c.absent_until > now
    )
    with transaction(engine, write=False) as conn:
        return {row.adviser_id: row.absent_until for row in conn.execute(query)}


def add_village_adviser(village_id: int, adviser_id: int, *, engine: Engine | None = None) -> None:
    """A further adviser for a village (several advisers share the village's referrals)."""
    with transaction(engine) as conn:
        exists = conn.execute(
            select(village_advisers).where(
                village_advisers.c.village_id == village_id, village_advisers.c.adviser_id == adviser_id
            )
        ).first()
        if not exists:
            conn.execute(insert(village_advisers).values(village_id=village_id, adviser_id=adviser_id))

