"""Statistics for the justice bureau (司法局) and the annual report: the queries behind the dashboard.

Every figure is for a :class:`Period` — whole local days (``Asia/Shanghai`` by default) from
``start`` to ``end`` inclusive, turned into a UTC interval ``[start 00:00, end+1 00:00)`` so the
``created_at`` indexes are used — and a :class:`StatsScope`: the whole county, or one township
(司法所) and its villages. Consultations are counted by ``consultations.created_at``, referrals by
``referrals.created_at`` and feedback by the rated consultation's ``created_at``, so a township's
figures always add up to the county's.

What is counted as what (the coordinator aligns the operator console with this):

- hotline calls: consultations with ``channel = 'hotline'``;
- answered by the bot: consultations with outcome ``answered`` or ``faq``; "unsure": ``fallback``;
- legal-aid requests: referrals resolved with outcome ``legal_aid``, plus consultations whose
  ``outcome`` is ``legal_aid``, hotline calls the operator marked as legal-aid requests
  (``hotline_calls.legal_aid``) and taken chats closed with outcome ``legal_aid``
  (``handoff_outcomes``), each consultation counted once even if its referral was also sent to
  legal aid;
- disputes sent to mediation: referrals resolved with outcome ``mediated``.

Only aggregates, redacted questions and pseudonymous ids leave this module: no sender hash, no
referral phone number or description (PIPL). SQLAlchemy Core; SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
)

from records.db import get_engine, transaction
from records.errors import InvalidValue
from records.redact import redact
from records.referral_scope import OPEN, base_query, overdue_condition
from records.schema import (
    advisers,
    consultations,
    feedback,
    feedback_callbacks,
    handoff_outcomes,
    hotline_calls,
    referral_events,
    referral_resolutions,
    referral_routing,
    referrals,
    villages,
)

GRAINS = ("day", "week", "month", "year")
BOT_ANSWERED = ("answered", "faq")
UNSURE = "fallback"
UNKNOWN = "未注明"  # no topic / no village
DEFAULT_ZONE = "Asia/Shanghai"
CALLBACKS_ON_SCREEN = 200
SUMMARY_THREADS = 4  # connections one summary uses at once (PostgreSQL runs its queries in parallel)
MAX_DAYS = 366 * 10


@dataclass(frozen=True)
class Period:
    """Whole local days ``start``..``end`` (inclusive) in ``zone``."""

    start: date
    end: date
    zone: str = DEFAULT_ZONE

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidValue(f"period ends ({self.end}) before it starts ({self.start})")
        if (self.end - self.start).days > MAX_DAYS:
            raise InvalidValue("period longer than ten years")
        try:
            ZoneInfo(self.zone)
        except (ValueError, KeyError) as exc:
            raise InvalidValue(f"unknown time zone {self.zone!r}") from exc

    @classmethod
    def parse(cls, start: str, end: str, zone: str = DEFAULT_ZONE) -> Period:
        """From ``YYYY-MM-DD`` texts; bad input raises :class:`InvalidValue`."""
        try:
            return cls(date.fromisoformat(start.strip()), date.fromisoformat(end.strip()), zone)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, InvalidValue):
                raise
            raise InvalidValue("dates must be YYYY-MM-DD") from None

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC interval ``[first midnight, midnight after the last day)``."""
        zone = ZoneInfo(self.zone)
        first = datetime.combine(self.start, time(), zone).astimezone(UTC)
        after = datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return first, after

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before (a year before, for a calendar year)."""
        if self.start.month == 1 and self.start.day == 1 and self.end == date(self.start.year, 12, 31):
            return Period(date(self.start.year - 1, 1, 1), date(self.start.year - 1, 12, 31), self.zone)
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.zone)


@dataclass(frozen=True)
class StatsScope:
    """The whole county (``township=None``) or one township's villages."""

    township: str | None = None

    @property
    def label(self) -> str:
        return self.township or "全县"


# --- helpers -----------------------------------------------------------------------------------


def _in_period(column: Any, period: Period) -> ColumnElement[bool]:
    first, after = period.bounds
    return and_(column >= first, column < after)


def _township_villages(township: str) -> Select:
    return select(villages.c.id).where(villages.c.township == township)


def _consultation_filter(period: Period, scope: StatsScope) -> ColumnElement[bool]:
    condition = _in_period(consultations.c.created_at, period)
    if scope.township is not None:
        condition = and_(condition, consultations.c.village_id.in_(_township_villages(scope.township)))
    return condition


def _referral_filter(period: Period, scope: StatsScope) -> ColumnElement[bool]:
    condition = _in_period(referrals.c.created_at, period)
    if scope.township is not None:
        condition = and_(condition, referrals.c.village_id.in_(_township_villages(scope.township)))
    return condition


def local_bucket(column: Any, grain: str, period: Period, dialect: str) -> ColumnElement[Any]:
    """The first local day of ``column``'s day/week (Monday)/month/year: ``YYYY-MM-DD`` text on
    SQLite, a local midnight timestamp on PostgreSQL (formatted per group, not per row; see
    :func:`bucket_text`)."""
    if grain not in GRAINS:
        raise InvalidValue(f"grain must be one of {GRAINS}")
    if dialect == "postgresql":
        return func.date_trunc(grain, func.timezone(period.zone, column))
    # SQLite keeps naive UTC text; shift by the zone's offset. Asia/Shanghai has had no daylight
    # saving since 1991, so one offset holds for the whole period (checked below for other zones).
    zone = ZoneInfo(period.zone)
    first, after = period.bounds
    offset = first.astimezone(zone).utcoffset()
    if offset != (after - timedelta(seconds=1)).astimezone(zone).utcoffset():
        raise InvalidValue(f"{period.zone} changes its UTC offset within the period; use PostgreSQL")
    assert offset is not None
    local = func.datetime(column, f"{int(offset.total_seconds())} seconds")
    if grain == "day":
        return func.date(local)
    if grain == "week":
        return func.date(local, "weekday 0", "-6 days")
    return func.strftime("%Y-%m-01" if grain == "month" else "%Y-01-01", local)


def bucket_text(value: Any) -> str:
    """A bucket of :func:`local_bucket` as ``YYYY-MM-DD``."""
    return value.date().isoformat() if isinstance(value, datetime) else str(value)


def _rows(engine: Engine | None, query: Select) -> list[Any]:
    with transaction(engine, write=False) as conn:
        return list(conn.execute(query))


def _ordered(counts: list[tuple[str | None, int]]) -> dict[str, int]:
    """Largest first, ties by name; None becomes 未注明."""
    merged: Counter[str] = Counter()
    for key, n in counts:
        merged[key if key is not None else UNKNOWN] += int(n)
    return dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0])))


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``)."""
    if not values:
        return None
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- consultations -----------------------------------------------------------------------------

_COLUMNS = {
    "topic": consultations.c.topic,
    "channel": consultations.c.channel,
    "outcome": consultations.c.outcome,
    "village_id": consultations.c.village_id,
}
CUBE = ("topic", "channel", "outcome", "village_id", "bucket")


def consultation_counts(
    period: Period,
    scope: StatsScope = StatsScope(),
    keys: tuple[str, ...] = CUBE,
    *,
    grain: str = "month",
    engine: Engine | None = None,
) -> dict[str, dict[Any, int]]:
    """Consultation counts per value of each of ``keys`` (``bucket``: the local day/week/month/year).

    On PostgreSQL one scan answers every key (``GROUPING SETS``), which keeps the yearly dashboard
    within its time budget at a million rows; SQLite runs one ``GROUP BY`` per key.
    """
    engine = engine or get_engine()
    unknown = set(keys) - set(CUBE)
    if unknown:
        raise InvalidValue(f"unknown breakdown {sorted(unknown)}")
    columns = [_COLUMNS[k].label(k) for k in keys if k != "bucket"]
    if "bucket" in keys:
        columns.append(local_bucket(consultations.c.created_at, grain, period, engine.dialect.name).label("bucket"))
    rows = select(*columns).where(_consultation_filter(period, scope)).subquery()
    out: dict[str, dict[Any, int]] = {k: {} for k in keys}
    if engine.dialect.name == "postgresql" and len(keys) > 1:
        cols = [rows.c[k] for k in keys]
        query = select(*cols, func.grouping(*cols), func.count()).group_by(func.grouping_sets(*cols))
        full = (1 << len(keys)) - 1
        which = {full ^ (1 << (len(keys) - 1 - i)): i for i in range(len(keys))}
        for row in _rows(engine, query):
            i = which[row[-2]]
            out[keys[i]][row[i]] = int(row[-1])
    else:
        for key in keys:
            for value, n in _rows(engine, select(rows.c[key], func.count()).group_by(rows.c[key])):
                out[key][value] = int(n)
    if "bucket" in out:
        out["bucket"] = {bucket_text(k): n for k, n in out["bucket"].items()}
    return out


def _village_names(engine: Engine | None) -> dict[int, tuple[str, str]]:
    """Village id → (township, label)."""
    query = select(villages.c.id, villages.c.township, villages.c.name)
    return {r.id: (r.township, r.township + r.name) for r in _rows(engine, query)}


def _named(key: str, counts: dict[str, dict[Any, int]], names: dict[int, tuple[str, str]]) -> dict[str, int]:
    """One breakdown of :func:`consultation_counts`, villages named (``names``), largest first."""
    if key in ("township", "village"):
        part = 0 if key == "township" else 1
        pairs = [(names[v][part] if v in names else None, n) for v, n in counts["village_id"].items()]
        return _ordered(pairs)
    return _ordered(list(counts[key].items()))


def consultations_by(
    key: str, period: Period, scope: StatsScope = StatsScope(), *, engine: Engine | None = None
) -> dict[str, int]:
    """Counts by ``topic``, ``channel``, ``outcome``, ``township`` or ``village`` (label 城关镇石桥村)."""
    if key not in ("topic", "channel", "outcome", "township", "village"):
        raise InvalidValue(f"unknown breakdown {key!r}")
    column = "village_id" if key in ("township", "village") else key
    names = _village_names(engine) if column == "village_id" else {}
    return _named(key, consultation_counts(period, scope, (column,), engine=engine), names)


def consultations_over_time(
    grain: str, period: Period, scope: StatsScope = StatsScope(), *, engine: Engine | None = None
) -> dict[str, int]:
    """Consultations per local day / week / month / year (first day of the bucket → count), in
    order, with the empty buckets of the period as 0 (a trend line must not skip quiet days)."""
    counts = consultation_counts(period, scope, ("bucket",), grain=grain, engine=engine)["bucket"]
    return _filled(counts, grain, period)


def buckets(grain: str, period: Period) -> list[str]:
    """The first days of every day/week (Monday)/month/year the period touches, as ``YYYY-MM-DD``."""
    if grain == "day":
        first, step = period.start, None
    elif grain == "week":
        first, step = period.start - timedelta(days=period.start.weekday()), None
    elif grain == "month":
        first, step = period.start.replace(day=1), "month"
    elif grain == "year":
        first, step = period.start.replace(month=1, day=1), "year"
    else:
        raise InvalidValue(f"grain must be one of {GRAINS}")
    out = []
    day = first
    while day <= period.end:
        out.append(day.isoformat())
        if step is None:
            day += timedelta(days=7 if grain == "week" else 1)
        elif step == "month":
            day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        else:
            day = date(day.year + 1, 1, 1)
    return out


def _filled(counts: dict[str, int], grain: str, period: Period) -> dict[str, int]:
    return {key: counts.get(key, 0) for key in sorted(set(buckets(grain, period)) | set(counts))}


_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def unsure_questions(
    period: Period, scope: StatsScope = StatsScope(), *, limit: int = 50, engine: Engine | None = None
) -> list[dict[str, Any]]:
    """The questions the bot was unsure about (outcome ``fallback``), redacted, grouped.

    Questions that differ only in spacing and punctuation are one group, shown by its most
    frequent wording; most frequent groups first.
    """
    query = (
        select(consultations.c.question, func.count(), func.max(consultations.c.topic))
        .where(_consultation_filter(period, scope), consultations.c.outcome == UNSURE)
        .group_by(consultations.c.question)
    )
    groups: dict[str, dict[str, Any]] = {}
    for question, n, topic in _rows(engine, query):
        text = redact(question or "").strip()  # stored redacted; masked again in case rules grew
        key = _NOISE.sub("", text).lower() or text
        group = groups.setdefault(key, {"question": text, "count": 0, "topic": topic, "_best": 0})
        group["count"] += int(n)
        if int(n) > group["_best"]:
            group.update(question=text, _best=int(n), topic=topic or group["topic"])
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["question"]))[:limit]
    return [{"question": g["question"], "count": g["count"], "topic": g["topic"] or UNKNOWN} for g in ordered]


def _consultation_legal_aid() -> ColumnElement[bool]:
    """A consultation that asked for legal aid: its outcome says so, an operator marked the call
    (``hotline_calls.legal_aid``) or closed a taken chat with outcome ``legal_aid``."""
    marked_calls = select(hotline_calls.c.consultation_id).where(hotline_calls.c.legal_aid == true())
    closed_chats = select(handoff_outcomes.c.consultation_id).where(
        handoff_outcomes.c.outcome == "legal_aid", handoff_outcomes.c.consultation_id.is_not(None)
    )
    return or_(
        consultations.c.outcome == "legal_aid",
        consultations.c.id.in_(marked_calls),
        consultations.c.id.in_(closed_chats),
    )


def legal_aid_requests(period: Period, scope: StatsScope = StatsScope(), *, engine: Engine | None = None) -> int:
    """Referrals resolved as legal aid plus consultations marked as legal-aid requests (see the module)."""
    engine = engine or get_engine()
    flagged_ids = select(consultations.c.id).where(_consultation_filter(period, scope), _consultation_legal_aid())
    flagged = select(func.count()).select_from(flagged_ids.subquery())
    by_referral = (
        select(func.count())
        .select_from(referrals.join(referral_resolutions, referral_resolutions.c.referral_id == referrals.c.id))
        .where(
            _referral_filter(period, scope),
            referral_resolutions.c.outcome == "legal_aid",
            or_(referrals.c.consultation_id.is_(None), referrals.c.consultation_id.not_in(flagged_ids)),
        )
    )
    with transaction(engine, write=False) as conn:
        return int(conn.execute(flagged).scalar_one()) + int(conn.execute(by_referral).scalar_one())


# --- referrals ---------------------------------------------------------------------------------


def referrals_by(
    key: str, period: Period, scope: StatsScope = StatsScope(), *, engine: Engine | None = None
) -> dict[str, int]:
    """Referral counts by ``status``, resolution ``outcome`` (未办结 when not resolved), ``topic`` or ``village``."""
    where = _referral_filter(period, scope)
    if key == "status":
        query = select(referrals.c.status, func.count()).where(where).group_by(referrals.c.status)
    elif key == "topic":
        query = select(referrals.c.topic, func.count()).where(where).group_by(referrals.c.topic)
    elif key == "outcome":
        outcome = func.coalesce(referral_resolutions.c.outcome, "未办结")
        query = (
            select(outcome, func.count())
            .select_from(
                referrals.outerjoin(referral_resolutions, referral_resolutions.c.referral_id == referrals.c.id)
            )
            .where(where)
            .group_by(outcome)
        )
    elif key == "village":
        label = villages.c.township + villages.c.name
        query = (
            select(label, func.count())
            .select_from(referrals.join(villages, villages.c.id == referrals.c.village_id))
            .where(where)
            .group_by(label)
        )
    else:
        raise InvalidValue(f"unknown breakdown {key!r}")
    return _ordered([(r[0], r[1]) for r in _rows(engine, query)])


def referrals_per_adviser(
    period: Period, scope: StatsScope = StatsScope(), *, engine: Engine | None = None
) -> list[dict[str, Any]]:
    """Per adviser: referrals received, still open, resolved/closed, overdue now."""
    open_ = func.sum(case((referrals.c.status.in_(OPEN), 1), else_=0))
    done = func.sum(case((referrals.c.status.in_(("resolved", "closed")), 1), else_=0))
    late = func.sum(case((overdue_condition(), 1), else_=0))
    query = (
        select(advisers.c.name, func.count(), open_, done, late)
        .select_from(
            referrals.join(advisers, advisers.c.id == referrals.c.adviser_id).outerjoin(
                referral_routing, referral_routing.c.referral_id == referrals.c.id
            )
        )
        .where(_referral_filter(period, scope))
        .group_by(advisers.c.id, advisers.c.name)
    )
    rows = [
        {"adviser": r[0], "total": int(r[1]), "open": int(r[2] or 0), "done": int(r[3] or 0), "overdue": int(r[4] or 0)}
        for r in _rows(engine, query)
    ]
    return sorted(rows, key=lambda r: (-r["total"], r["adviser"]))


def referral_times(
    period: Period, scope: StatsScope = StatsScope(), *, engine: Engine | None = None
) -> dict[str, dict[str, Any]]:
    """Hours from a referral's creation to its first acceptance / first resolution (or closing):
    median, 90th percentile and how many referrals got there."""
    events = referral_events.c
    accepted = func.min(case((events.to_status == "accepted", events.at)))
    resolved = func.min(case((events.to_status.in_(("resolved", "closed")), events.at)))
    query = (
        select(referrals.c.created_at, accepted, resolved)
        .select_from(referrals.join(referral_events, events.referral_id == referrals.c.id))
        .where(_referral_filter(period, scope), events.to_status.in_(("accepted", "resolved", "closed")))
        .group_by(referrals.c.id, referrals.c.created_at)
    )
    hours: dict[str, list[float]] = {"accept": [], "resolve": []}
    for created, first_accept, first_resolve in _rows(engine, query):
        for name, at in (("accept", first_accept), ("resolve", first_resolve)):
            if at is not None:
                hours[name].append(max((at - created).total_seconds(), 0) / 3600)
    return {
        name: {
            "n": len(values),
            "median_hours": _round(percentile(values, 0.5)),
            "p90_hours": _round(percentile(values, 0.9)),
        }
        for name, values in hours.items()
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def overdue_referrals(
    period: Period, scope: StatsScope = StatsScope(), *, limit: int = 500, engine: Engine | None = None
) -> list[dict[str, Any]]:
    """Referrals from the period that are overdue now (not accepted after escalation, or flagged for
    want of resolution and still open), oldest first. Redacted summary only, never the phone."""
    query = (
        base_query()
        .where(_referral_filter(period, scope), overdue_condition())
        .order_by(referrals.c.created_at, referrals.c.id)
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "created_at": r.created_at,
            "village": r.village,
            "adviser": r.adviser_name,
            "topic": r.topic or UNKNOWN,
            "status": r.status,
            "summary": redact(r.summary),
        }
        for r in _rows(engine, query)
    ]


# --- satisfaction ------------------------------------------------------------------------------


def _rated(period: Period, scope: StatsScope) -> ColumnElement[bool]:
    return _consultation_filter(period, scope)


def satisfaction_by_topic(
    period: Period, scope: StatsScope = StatsScope(), *, engine: Engine | None = None
) -> list[dict[str, Any]]:
    """Helpful / not helpful per topic of the rated consultation, and how many bad ratings were
    called back."""
    helpful = func.sum(case((feedback.c.helpful == true(), 1), else_=0))
    called = func.count(feedback_callbacks.c.consultation_id)
    query = (
        select(consultations.c.topic, helpful, func.count(), called)
        .select_from(
            feedback.join(consultations, consultations.c.id == feedback.c.consultation_id).outerjoin(
                feedback_callbacks, feedback_callbacks.c.consultation_id == feedback.c.consultation_id
            )
        )
        .where(_rated(period, scope))
        .group_by(consultations.c.topic)
    )
    rows = []
    for topic, yes, n, back in _rows(engine, query):
        yes, n = int(yes or 0), int(n)
        rows.append(
            {
                "topic": topic or UNKNOWN,
                "helpful": yes,
                "unhelpful": n - yes,
                "rate": _rate(yes, n),
                "called_back": back,
            }
        )
    return sorted(rows, key=lambda r: (-(r["helpful"] + r["unhelpful"]), r["topic"]))


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def callback_list(
    period: Period,
    scope: StatsScope = StatsScope(),
    *,
    pending_only: bool = False,
    limit: int | None = None,
    engine: Engine | None = None,
) -> list[dict[str, Any]]:
    """Every bad rating of the period (the 12348 standard calls each one back), oldest first, with
    whether and by whom it was called back. The question is redacted; the resident is reached
    through the conversation (consultation id), never a number shown here."""
    query = (
        select(
            consultations.c.id,
            consultations.c.created_at,
            consultations.c.channel,
            consultations.c.topic,
            (villages.c.township + villages.c.name).label("village"),
            consultations.c.question,
            feedback.c.created_at.label("rated_at"),
            feedback_callbacks.c.at.label("called_back_at"),
            feedback_callbacks.c.by.label("called_back_by"),
        )
        .select_from(
            feedback.join(consultations, consultations.c.id == feedback.c.consultation_id)
            .outerjoin(villages, villages.c.id == consultations.c.village_id)
            .outerjoin(feedback_callbacks, feedback_callbacks.c.consultation_id == consultations.c.id)
        )
        .where(_rated(period, scope), feedback.c.helpful == literal(False))
        .order_by(consultations.c.created_at, consultations.c.id)
    )
    if pending_only:
        query = query.where(feedback_callbacks.c.consultation_id.is_(None))
    if limit is not None:
        query = query.limit(limit)
    return [
        {
            "consultation_id": r.id,
            "created_at": r.created_at,
            "channel": r.channel,
            "topic": r.topic or UNKNOWN,
            "village": r.village or UNKNOWN,
            "question": redact(r.question),
            "called_back_at": r.called_back_at,
            "called_back_by": r.called_back_by,
        }
        for r in _rows(engine, query)
    ]


# --- the whole picture -------------------------------------------------------------------------


def referral_totals(
    period: Period, scope: StatsScope = StatsScope(), *, engine: Engine | None = None
) -> dict[str, int]:
    """Referrals of the period: how many, how many resolved or closed, how many mediated."""
    outcome = referral_resolutions.c.outcome
    query = (
        select(
            func.count(),
            func.sum(case((referrals.c.status.in_(("resolved", "closed")), 1), else_=0)),
            func.sum(case((outcome == "mediated", 1), else_=0)),
        )
        .select_from(referrals.outerjoin(referral_resolutions, referral_resolutions.c.referral_id == referrals.c.id))
        .where(_referral_filter(period, scope))
    )
    total, resolved, mediated = _rows(engine, query)[0]
    return {"referrals_total": int(total), "referrals_resolved": int(resolved or 0), "mediated": int(mediated or 0)}


def headline(
    period: Period,
    scope: StatsScope = StatsScope(),
    *,
    parts: dict[str, Any] | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """The few numbers of a report's first paragraph (also used for the previous period).

    ``parts`` holds what the caller computed already: ``counts`` (of :func:`consultation_counts`,
    with channel and outcome), ``satisfaction``, ``referrals`` (:func:`referral_totals`),
    ``legal_aid``.
    """
    engine = engine or get_engine()
    parts = dict(parts or {})
    if "counts" not in parts:
        parts["counts"] = consultation_counts(period, scope, ("channel", "outcome"), engine=engine)
    if "satisfaction" not in parts:
        parts["satisfaction"] = satisfaction_by_topic(period, scope, engine=engine)
    if "referrals" not in parts:
        parts["referrals"] = referral_totals(period, scope, engine=engine)
    if "legal_aid" not in parts:
        parts["legal_aid"] = legal_aid_requests(period, scope, engine=engine)
    counts, satisfaction = parts["counts"], parts["satisfaction"]
    total = sum(counts["outcome"].values())
    answered = sum(n for k, n in counts["outcome"].items() if k in BOT_ANSWERED)
    yes = sum(r["helpful"] for r in satisfaction)
    rated = yes + sum(r["unhelpful"] for r in satisfaction)
    return {
        "consultations_total": total,
        "bot_answered": answered,
        "bot_answered_rate": _rate(answered, total),
        "hotline_calls": counts["channel"].get("hotline", 0),
        **parts["referrals"],
        "legal_aid_requests": parts["legal_aid"],
        "feedback": {"helpful": yes, "unhelpful": rated - yes, "helpful_rate": _rate(yes, rated)},
    }


def summary(
    period: Period,
    scope: StatsScope = StatsScope(),
    *,
    grain: str | None = None,
    callbacks: str = "all",
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Every figure of the dashboard and the report, JSON-ready (times as ISO text).

    ``callbacks="all"`` lists every bad rating of the period (exports, the report); ``"pending"``
    only the first ``CALLBACKS_ON_SCREEN`` not yet called back (the dashboard's work list).

    ``grain`` of the trend defaults to day for up to 62 days, week up to a half-year, else month.
    The queries are independent and run on a few connections at once (see ``SUMMARY_THREADS``).
    """
    engine = engine or get_engine()
    grain = grain or ("day" if period.days <= 62 else "week" if period.days <= 184 else "month")
    if callbacks not in ("all", "pending"):
        raise InvalidValue("callbacks must be 'all' or 'pending'")
    pending = callbacks == "pending"
    before = period.previous()
    tasks: dict[str, Callable[[], Any]] = {
        "counts": lambda: consultation_counts(period, scope, CUBE, grain=grain, engine=engine),
        "satisfaction": lambda: satisfaction_by_topic(period, scope, engine=engine),
        "callbacks": lambda: callback_list(
            period, scope, pending_only=pending, limit=CALLBACKS_ON_SCREEN if pending else None, engine=engine
        ),
        "referrals": lambda: referral_totals(period, scope, engine=engine),
        "legal_aid": lambda: legal_aid_requests(period, scope, engine=engine),
        "before_counts": lambda: consultation_counts(before, scope, ("channel", "outcome"), engine=engine),
        "before_satisfaction": lambda: satisfaction_by_topic(before, scope, engine=engine),
        "before_referrals": lambda: referral_totals(before, scope, engine=engine),
        "before_legal_aid": lambda: legal_aid_requests(before, scope, engine=engine),
        "unsure": lambda: unsure_questions(period, scope, engine=engine),
        "times": lambda: referral_times(period, scope, engine=engine),
        "by_status": lambda: referrals_by("status", period, scope, engine=engine),
        "by_outcome": lambda: referrals_by("outcome", period, scope, engine=engine),
        "by_village": lambda: referrals_by("village", period, scope, engine=engine),
        "by_adviser": lambda: referrals_per_adviser(period, scope, engine=engine),
        "overdue": lambda: overdue_referrals(period, scope, engine=engine),
        "villages": lambda: _village_names(engine),
    }
    with ThreadPoolExecutor(max_workers=SUMMARY_THREADS, thread_name_prefix="stats") as pool:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        got = {name: future.result() for name, future in futures.items()}
    counts = got["counts"]
    out = headline(period, scope, parts=got, engine=engine)
    earlier = {k.removeprefix("before_"): v for k, v in got.items() if k.startswith("before_")}
    previous = headline(before, scope, parts=earlier, engine=engine)
    out.update(
        period={"from": period.start.isoformat(), "to": period.end.isoformat(), "zone": period.zone},
        scope=scope.label,
        grain=grain,
        over_time=_filled(counts["bucket"], grain, period),
        **{f"by_{key}": _named(key, counts, got["villages"]) for key in ("topic", "channel", "outcome")},
        by_township=_named("township", counts, got["villages"]),
        by_village=_named("village", counts, got["villages"]),
        unsure_questions=got["unsure"],
        referrals_by_status=got["by_status"],
        referrals_by_outcome=got["by_outcome"],
        referrals_by_village=got["by_village"],
        referrals_by_adviser=got["by_adviser"],
        referral_times=got["times"],
        overdue=[_jsonable(r) for r in got["overdue"]],
        satisfaction_by_topic=got["satisfaction"],
        callbacks=[_jsonable(r) for r in got["callbacks"]],
        callbacks_pending=out["feedback"]["unhelpful"] - sum(r["called_back"] for r in got["satisfaction"]),
        previous=previous | {"period": {"from": before.start.isoformat(), "to": before.end.isoformat()}},
    )
    return out


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
