"""Which village a resident means: fuzzy matching of free text against the village list.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rapidfuzz.distance import Hamming, Levenshtein

from records.villages import Village, load_villages, normalise

_VILLAGE_SUFFIXES = ("社区", "居委会", "村")
_TOWNSHIP_SUFFIXES = ("街道", "镇", "乡")
_MIN_SCORE = 60.0
_AMBIGUITY_MARGIN = 5.0
_TOWNSHIP_STEM_PENALTY = 20.0


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
class _Candidate:
    village: Village
    score: float
    start: int
    end: int

    def inside(self, start: int, end: int) -> bool:
        return start <= self.start and self.end <= end and (start, end) != (self.start, self.end)


def match_village(text: str, candidates: Sequence[Village] | None = None) -> VillageMatch | None:
    """The village ``text`` refers to, with alternatives when ambiguous; None if none."""
    normalised = normalise(text)
    if not normalised:
        return None
    pool = load_villages() if candidates is None else tuple(candidates)
    found = [c for v in pool if (c := _score(v, normalised))]
    found = _apply_townships(found, normalised, pool)
    found = [c for c in found if not any(_covers(o, c) for o in found)]
    found = [c for c in found if c.score >= _MIN_SCORE]
    return _best(found, pool)


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
