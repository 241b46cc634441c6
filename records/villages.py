"""The county's villages and their legal advisers (一村一法律顾问), as the shipped list gives them.

The list ships as ``records/data/villages.csv`` (columns ``village, township, adviser_name,
adviser_phone``). This module reads it and holds the two things every other village module
shares: a village's display name (:attr:`Place.label`, e.g. 城关镇石桥村: village names repeat
across townships) and the lookup of a village by id, label or unique name (:func:`find_village`),
used on the list and on the ``villages`` table alike. Free-text matching is in
:mod:`records.village_match`, the tables in :mod:`records.village_db`.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from records.errors import InvalidValue, UnknownVillage
from records.phone import normalize_phone

VILLAGES_CSV = Path(__file__).resolve().parent / "data" / "villages.csv"
_COLUMNS = ("village", "township", "adviser_name", "adviser_phone")
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Place:
    """A village of a township: what the list and the ``villages`` table have in common."""

    name: str
    township: str

    @property
    def label(self) -> str:
        """Unique display name, e.g. 城关镇石桥村."""
        return f"{self.township}{self.name}"


@dataclass(frozen=True)
class Village(Place):
    """A village of the shipped list with its adviser."""

    adviser_name: str
    adviser_phone: str


P = TypeVar("P", bound=Place)


def load_villages(path: Path | str | None = None) -> tuple[Village, ...]:
    """The village list from ``path`` (default: the shipped CSV, read once), validated."""
    return _load(Path(path)) if path else _load_shipped()


def find_village(village: int | str, places: Sequence[P]) -> P:
    """The place with this id (places with an ``id``), label or unique name; raises UnknownVillage."""
    if isinstance(village, int) and not isinstance(village, bool):
        hits = [p for p in places if getattr(p, "id", None) == village]
    elif isinstance(village, str):
        key = normalise(village)
        hits = [p for p in places if p.label == key] or [p for p in places if p.name == key]
    else:
        raise InvalidValue(f"village must be an id or a name, not {village!r}")
    if len(hits) == 1:
        return hits[0]
    if hits:
        labels = "、".join(p.label for p in hits)
        raise UnknownVillage(f"village {village!r} is ambiguous: {labels}")
    raise UnknownVillage(f"unknown village {village!r}")


def normalise(text: str) -> str:
    """``text`` in NFKC with whitespace and punctuation removed (how names are compared)."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text or ""))


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
