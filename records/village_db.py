"""The ``villages`` and ``advisers`` tables: seeding them from the village list, and reading them.

:func:`seed_villages` copies the list (:func:`records.villages.load_villages`) into the tables,
idempotently: new rows are inserted, changed advisers updated, nothing is deleted because
referrals point at villages. :func:`resolve_village` finds a row the way
:func:`records.villages.find_village` finds a listed village.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Select, insert, select, update
from sqlalchemy.exc import IntegrityError

from records.db import transaction
from records.schema import advisers, villages
from records.villages import Place, Village, find_village, load_villages


@dataclass(frozen=True)
class VillageRecord(Place):
    """A row of the ``villages`` table with its adviser."""

    id: int
    adviser_id: int | None
    adviser_name: str | None


@dataclass(frozen=True)
class Adviser:
    id: int
    name: str
    phone: str
    villages: tuple[str, ...]  # labels of the villages served


def seed_villages(engine: Engine | None = None, entries: Sequence[Village] | None = None) -> int:
    """Insert or update advisers and villages from the list; returns the number of new villages."""
    entries = load_villages() if entries is None else tuple(entries)
    try:
        return _seed(engine, entries)
    except IntegrityError:
        # Another process seeded the same rows concurrently; a second pass sees them.
        return _seed(engine, entries)


def _seed(engine: Engine | None, entries: Sequence[Village]) -> int:
    with transaction(engine) as conn:
        adviser_ids = _upsert_advisers(conn, entries)
        return _upsert_villages(conn, entries, adviser_ids)


def _upsert_advisers(conn: Connection, entries: Sequence[Village]) -> dict[str, int]:
    wanted = {entry.adviser_phone: entry.adviser_name for entry in entries}
    existing = {row.phone: row for row in conn.execute(select(advisers))}
    ids: dict[str, int] = {}
    for phone, name in wanted.items():
        row = existing.get(phone)
        if row is None:
            statement = insert(advisers).values(name=name, phone=phone).returning(advisers.c.id)
            ids[phone] = conn.execute(statement).scalar_one()
            continue
        ids[phone] = row.id
        if row.name != name:
            conn.execute(update(advisers).where(advisers.c.id == row.id).values(name=name))
    return ids


def _upsert_villages(
    conn: Connection, entries: Sequence[Village], adviser_ids: dict[str, int]
) -> int:
    existing = {(row.township, row.name): row for row in conn.execute(select(villages))}
    added = 0
    for entry in entries:
        adviser_id = adviser_ids[entry.adviser_phone]
        row = existing.get((entry.township, entry.name))
        if row is None:
            conn.execute(
                insert(villages).values(
                    name=entry.name, township=entry.township, adviser_id=adviser_id
                )
            )
            added += 1
        elif row.adviser_id != adviser_id:
            conn.execute(
                update(villages).where(villages.c.id == row.id).values(adviser_id=adviser_id)
            )
    return added


def _village_query() -> Select:
    return (
        select(
            villages.c.id,
            villages.c.name,
            villages.c.township,
            villages.c.adviser_id,
            advisers.c.name.label("adviser_name"),
        )
        .select_from(villages.outerjoin(advisers, villages.c.adviser_id == advisers.c.id))
        .order_by(villages.c.id)
    )


def list_villages(engine: Engine | None = None) -> list[VillageRecord]:
    """All villages in the database with their advisers, in insertion order."""
    with transaction(engine, write=False) as conn:
        return _village_rows(conn)


def list_advisers(engine: Engine | None = None) -> list[Adviser]:
    """All advisers with the labels of the villages they serve."""
    with transaction(engine, write=False) as conn:
        served: dict[int, list[str]] = {}
        for village in _village_rows(conn):
            if village.adviser_id is not None:
                served.setdefault(village.adviser_id, []).append(village.label)
        rows = conn.execute(select(advisers).order_by(advisers.c.id))
        return [Adviser(r.id, r.name, r.phone, tuple(served.get(r.id, ()))) for r in rows]


def resolve_village(conn: Connection, village: int | str) -> VillageRecord:
    """The village row for an id, a label (城关镇石桥村) or a name that is unique in the county."""
    return find_village(village, _village_rows(conn))


def _village_rows(conn: Connection) -> list[VillageRecord]:
    return [VillageRecord(**row._asdict()) for row in conn.execute(_village_query())]
