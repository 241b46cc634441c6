"""The county's villages and their legal advisers (一村一法律顾问).

The list ships as ``records/data/villages.csv`` (columns ``village, township, adviser_name,
adviser_phone``). :func:`match_village` finds the village a resident means, without a database;
:func:`seed_villages` copies the list into the ``villages`` and ``advisers`` tables (idempotent:
new rows are inserted, changed advisers updated, nothing is deleted because referrals point at
villages).

Matching (:func:`match_village`), on text with whitespace and punctuation removed:

========================================  =====
the text contains                         score
========================================  =====
township + village (城关镇石桥村)          100
the village name (石桥村)                   95
the name without 村/社区 (石桥)             90
the name with one character replaced        70
the name (4+ chars) with one character      65
dropped, or the stem (4+ chars) with one
character replaced
========================================  =====

A match inside a longer, at least as good match is discarded (石桥头村 does not also
match 石桥村). A village-like word that is really a township (河口镇) is no village match; a
bare township stem (白沙, also a village) costs 20 points. If the text names a township,
villages of other townships are dropped. Candidates within 5 points of the best are returned
as ``alternatives`` (the match is then ``ambiguous`` and the caller should ask which one);
anything under 60 is no match. ``VillageMatch.exact`` is False for typo matches: confirm them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import Hamming, Levenshtein
from sqlalchemy import Connection, Engine, Select, insert, select, update
from sqlalchemy.exc import IntegrityError

from records.db import transaction
from records.errors import InvalidValue, UnknownVillage
from records.phone import normalize_phone
from records.schema import advisers, villages

VILLAGES_CSV = Path(__file__).resolve().parent / "data" / "villages.csv"
_COLUMNS = ("village", "township", "adviser_name", "adviser_phone")
_VILLAGE_SUFFIXES = ("社区", "居委会", "村")
_TOWNSHIP_SUFFIXES = ("街道", "镇", "乡")
_NOT_WORD = re.compile(r"[\W_]+")
_MIN_SCORE = 60.0
_AMBIGUITY_MARGIN = 5.0
_TOWNSHIP_STEM_PENALTY = 20.0


@dataclass(frozen=True)
class Village:
    name: str
    township: str
    adviser_name: str
    adviser_phone: str

    @property
    def label(self) -> str:
        """Unique display name, e.g. 城关镇石桥村 (village names repeat across townships)."""
        return f"{self.township}{self.name}"


@dataclass(frozen=True)
class VillageMatch:
    village: Village
    score: float
    alternatives: tuple[Village, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return bool(self.alternatives)

    @property
    def exact(self) -> bool:
        """The name (or its stem) was found as typed; below 90 it was a typo: confirm it."""
        return self.score >= 90.0

    @property
    def candidates(self) -> tuple[Village, ...]:
        """The best village followed by the alternatives."""
        return (self.village, *self.alternatives)


@dataclass(frozen=True)
class VillageRecord:
    """A row of the ``villages`` table with its adviser."""

    id: int
    name: str
    township: str
    adviser_id: int | None
    adviser_name: str | None

    @property
    def label(self) -> str:
        return f"{self.township}{self.name}"


@dataclass(frozen=True)
class Adviser:
    id: int
    name: str
    phone: str
    villages: tuple[str, ...]  # labels of the villages served


@dataclass(frozen=True)
class _Candidate:
    village: Village
    score: float
    start: int
    end: int

    def inside(self, start: int, end: int) -> bool:
        return start <= self.start and self.end <= end and (start, end) != (self.start, self.end)


# --- the CSV ---------------------------------------------------------------------------------


def load_villages(path: Path | str | None = None) -> tuple[Village, ...]:
    """The village list from ``path`` (default: the shipped CSV, read once), validated."""
    return _load(Path(path)) if path else _load_shipped()


@lru_cache(maxsize=1)
def _load_shipped() -> tuple[Village, ...]:
    return _load(VILLAGES_CSV)


def _load(path: Path) -> tuple[Village, ...]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = set(_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise InvalidValue(f"{path.name}: missing columns {sorted(missing)}")
        rows = [_village_from_row(row) for row in reader]
    labels = [v.label for v in rows]
    duplicates = {label for label in labels if labels.count(label) > 1}
    if duplicates:
        raise InvalidValue(f"{path.name}: duplicate villages {sorted(duplicates)}")
    return tuple(rows)


def _village_from_row(row: dict[str, str]) -> Village:
    values = {key: (row.get(key) or "").strip() for key in _COLUMNS}
    if not all(values.values()):
        raise InvalidValue(f"incomplete village row {row}")
    return Village(
        name=values["village"],
        township=values["township"],
        adviser_name=values["adviser_name"],
        adviser_phone=normalize_phone(values["adviser_phone"]),
    )


def listed_village(village: str, pool: Sequence[Village] | None = None) -> Village | None:
    """The listed village with this label or unique name (like ``resolve_village``, no database)."""
    pool = load_villages() if pool is None else pool
    key = _normalise(village)
    hits = [v for v in pool if v.label == key] or [v for v in pool if v.name == key]
    return hits[0] if len(hits) == 1 else None


# --- matching --------------------------------------------------------------------------------


def match_village(text: str, candidates: Sequence[Village] | None = None) -> VillageMatch | None:
    """The village ``text`` refers to, with alternatives when ambiguous; None if none."""
    normalised = _normalise(text)
    if not normalised:
        return None
    pool = load_villages() if candidates is None else tuple(candidates)
    found = [c for v in pool if (c := _score(v, normalised))]
    found = _apply_townships(found, normalised, pool)
    found = [c for c in found if not any(_covers(o, c) for o in found)]
    found = [c for c in found if c.score >= _MIN_SCORE]
    return _best(found, pool)


def _normalise(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text or ""))


def _stem(name: str, suffixes: Iterable[str]) -> str | None:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def _score(village: Village, text: str) -> _Candidate | None:
    stem = _stem(village.name, _VILLAGE_SUFFIXES)
    exact = [(village.label, 100.0), (village.name, 95.0)]
    if stem:
        exact.append((stem, 90.0))
    for needle, score in exact:
        at = text.find(needle)
        if at >= 0:
            return _Candidate(village, score, at, at + len(needle))
    return _fuzzy(village, stem, text)


def _fuzzy(village: Village, stem: str | None, text: str) -> _Candidate | None:
    name = village.name
    if len(name) >= 3 and (span := _substituted(name, text)):
        return _Candidate(village, 70.0, *span)
    if len(name) >= 4 and (span := _deleted(name, text)):
        return _Candidate(village, 65.0, *span)
    if stem and len(stem) >= 4 and (span := _substituted(stem, text)):
        return _Candidate(village, 65.0, *span)
    return None


def _substituted(needle: str, text: str) -> tuple[int, int] | None:
    """Span of a window of ``text`` that differs from ``needle`` in exactly one character."""
    n = len(needle)
    for i in range(len(text) - n + 1):
        if Hamming.distance(needle, text[i : i + n], score_cutoff=1) == 1:
            return i, i + n
    return None


def _deleted(needle: str, text: str) -> tuple[int, int] | None:
    """Span of a window of ``text`` that is ``needle`` with one character left out."""
    n = len(needle) - 1
    for i in range(len(text) - n + 1):
        if Levenshtein.distance(needle, text[i : i + n], score_cutoff=1) == 1:
            return i, i + n
    return None


def _township_spans(text: str, pool: Sequence[Village]) -> list[tuple[str, int, int, bool]]:
    """(township, start, end, full name?) for each township named in ``text``."""
    spans = []
    for township in dict.fromkeys(v.township for v in pool):
        stem = _stem(township, _TOWNSHIP_SUFFIXES)
        for needle, full in ((township, True), (stem, False)):
            at = text.find(needle) if needle else -1
            if at >= 0:
                spans.append((township, at, at + len(needle), full))
                break
    return spans


def _covers(outer: _Candidate, inner: _Candidate) -> bool:
    """A longer match at least as good hides a shorter one inside it."""
    return outer.score >= inner.score and inner.inside(outer.start, outer.end)


def _apply_townships(
    found: list[_Candidate], text: str, pool: Sequence[Village]
) -> list[_Candidate]:
    spans = _township_spans(text, pool)
    kept = []
    for c in found:
        covering = [full for _, s, e, full in spans if s <= c.start and c.end <= e]
        if any(covering):
            continue  # e.g. 河口 of 河口镇 is the township, not 河口村
        kept.append(replace(c, score=c.score - _TOWNSHIP_STEM_PENALTY) if covering else c)
    named = {township for township, *_ in spans}
    in_named = [c for c in kept if c.village.township in named]
    return in_named or kept


def _best(found: list[_Candidate], pool: Sequence[Village]) -> VillageMatch | None:
    if not found:
        return None
    order = {v: i for i, v in enumerate(pool)}
    by_village: dict[Village, float] = {}
    for c in found:
        by_village[c.village] = max(c.score, by_village.get(c.village, 0.0))
    ranked = sorted(by_village.items(), key=lambda item: (-item[1], order[item[0]]))
    best, score = ranked[0]
    alternatives = tuple(v for v, s in ranked[1:] if s >= score - _AMBIGUITY_MARGIN)
    return VillageMatch(best, score, alternatives)


# --- the database ----------------------------------------------------------------------------


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
        return [VillageRecord(*row) for row in conn.execute(_village_query())]


def list_advisers(engine: Engine | None = None) -> list[Adviser]:
    """All advisers with the labels of the villages they serve."""
    with transaction(engine, write=False) as conn:
        served: dict[int, list[str]] = {}
        for row in conn.execute(_village_query()):
            if row.adviser_id is not None:
                served.setdefault(row.adviser_id, []).append(f"{row.township}{row.name}")
        rows = conn.execute(select(advisers).order_by(advisers.c.id))
        return [Adviser(r.id, r.name, r.phone, tuple(served.get(r.id, ()))) for r in rows]


def resolve_village(conn: Connection, village: int | str) -> VillageRecord:
    """The village row for an id, a label (城关镇石桥村) or a name that is unique in the county."""
    rows = [VillageRecord(*row) for row in conn.execute(_village_query())]
    if isinstance(village, int) and not isinstance(village, bool):
        hits = [r for r in rows if r.id == village]
    elif isinstance(village, str):
        key = _normalise(village)
        hits = [r for r in rows if r.label == key] or [r for r in rows if r.name == key]
    else:
        raise InvalidValue(f"village must be an id or a name, not {village!r}")
    if len(hits) == 1:
        return hits[0]
    if hits:
        labels = "、".join(r.label for r in hits)
        raise UnknownVillage(f"village {village!r} is ambiguous: {labels}")
    raise UnknownVillage(f"unknown village {village!r}")
