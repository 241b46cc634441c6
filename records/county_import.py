"""Write a validated county list (villages, townships' 司法所, advisers) in one transaction.

The rows are checked by the caller (the staff app's importer names the row and column of each
problem); here they are applied all or nothing. Advisers are matched by phone, villages by
township + name; a village listed with several advisers gets the first as its adviser and the
others in ``village_advisers``. Nothing is deleted: referrals point at villages and advisers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, insert, select, update

from records.db import transaction
from records.schema import adviser_profiles, township_offices, village_advisers, villages
from records.village_db import _upsert_advisers, _upsert_villages
from records.villages import Village


@dataclass(frozen=True)
class CountyRow:
    township: str
    village: str
    adviser_name: str
    adviser_phone: str  # normalised
    adviser_email: str | None = None
    office: str | None = None
    office_email: str | None = None


def apply(rows: Sequence[CountyRow], *, engine: Engine | None = None) -> int:
    """Insert or update everything in ``rows``; returns the number of new villages."""
    entries = [Village(r.village, r.township, r.adviser_name, r.adviser_phone) for r in rows]
    first: dict[tuple[str, str], Village] = {}
    for entry in entries:
        first.setdefault((entry.township, entry.name), entry)
    with transaction(engine) as conn:
        adviser_ids = _upsert_advisers(conn, entries)
        added = _upsert_villages(conn, list(first.values()), adviser_ids)
        village_ids = {(r.township, r.name): r.id for r in conn.execute(select(villages))}
        for entry in entries:
            if first[(entry.township, entry.name)] is entry:
                continue
            pair = {
                "village_id": village_ids[(entry.township, entry.name)],
                "adviser_id": adviser_ids[entry.adviser_phone],
            }
            if not conn.execute(select(village_advisers).filter_by(**pair)).first():
                conn.execute(insert(village_advisers).values(**pair))
        for r in rows:
            if r.adviser_email:
                _upsert(conn, adviser_profiles, "adviser_id", adviser_ids[r.adviser_phone], {"email": r.adviser_email})
            if r.office:
                _upsert(conn, township_offices, "township", r.township, {"office": r.office, "email": r.office_email})
    return added


def _upsert(conn: Connection, table: Table, key: str, value: object, values: dict[str, object]) -> None:
    changed = conn.execute(update(table).where(table.c[key] == value).values(**values)).rowcount
    if not changed:
        conn.execute(insert(table).values({key: value, **values}))
