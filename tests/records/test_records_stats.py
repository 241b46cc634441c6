"""records.stats on SQLite and PostgreSQL: every breakdown against figures worked out by hand
(stats_fixture.EXPECTED), Asia/Shanghai day boundaries, township scope, the legal-aid flag and
call-back marks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from stats_fixture import EXPECTED, MARCH, SECRETS, SENDER, seed

import records
from records import audit, callbacks, migrate, stats
from records.errors import InvalidValue, UnknownConsultation
from records.schema import hotline_calls
from records.stats import Period, StatsScope

CHENGGUAN = StatsScope("城关镇")
HEKOU = StatsScope("河口镇")


@pytest.fixture
def ids(engine: Engine) -> dict[str, str]:
    return seed(engine)


def test_consultation_breakdowns_match_the_hand_count(engine: Engine, ids: dict[str, str]) -> None:
    for key in ("topic", "channel", "outcome", "township", "village"):
        got = stats.consultations_by(key, MARCH, engine=engine)
        assert got == EXPECTED[f"by_{key}"], key
        assert list(got) == list(EXPECTED[f"by_{key}"]), f"{key}: largest first, ties by name"
    for grain in ("day", "week", "month"):
        trend = stats.consultations_over_time(grain, MARCH, engine=engine)
        assert {k: n for k, n in trend.items() if n} == EXPECTED[grain], grain
        assert list(trend) == stats.buckets(grain, MARCH), f"{grain}: every bucket, in order"
    assert stats.consultations_over_time("year", MARCH, engine=engine) == {"2026-01-01": 7}
    assert len(stats.buckets("day", MARCH)) == 31 and stats.buckets("week", MARCH)[0] == "2026-02-23"
    assert stats.buckets("week", MARCH)[-1] == "2026-03-30" and len(stats.buckets("week", MARCH)) == 6
    assert stats.buckets("month", Period(date(2025, 11, 15), date(2026, 2, 1))) == [
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]


def test_summary_holds_every_figure(engine: Engine, ids: dict[str, str]) -> None:
    s = stats.summary(MARCH, engine=engine)
    for key in (
        "consultations_total",
        "bot_answered",
        "hotline_calls",
        "by_topic",
        "by_channel",
        "by_outcome",
        "by_township",
        "by_village",
        "referrals_total",
        "referrals_by_status",
        "referrals_by_outcome",
        "referrals_by_village",
        "referrals_by_adviser",
        "referral_times",
        "mediated",
        "referrals_resolved",
        "legal_aid_requests",
    ):
        assert s[key] == EXPECTED[key], key
    assert s["bot_answered_rate"] == round(2 / 7, 4)
    assert s["grain"] == "day" and {k: n for k, n in s["over_time"].items() if n} == EXPECTED["day"]
    assert len(s["over_time"]) == 31
    assert s["feedback"] == {**EXPECTED["feedback"], "helpful_rate": 0.4}
    assert [{k: r[k] for k in ("topic", "helpful", "unhelpful")} for r in s["satisfaction_by_topic"]] == EXPECTED[
        "satisfaction_by_topic"
    ]
    assert [c["consultation_id"] for c in s["callbacks"]] == [ids[n] for n in EXPECTED["callbacks"]]
    assert s["callbacks_pending"] == 3
    assert [o["id"] for o in s["overdue"]] == [ids["r3"], ids["r4"]]
    for key, value in EXPECTED["previous"].items():
        assert s["previous"][key] == value, key
    assert s["previous"]["period"] == {"from": "2026-01-29", "to": "2026-02-28"}
    json.dumps(s)  # JSON-ready


def test_unsure_questions_are_redacted_and_grouped(engine: Engine, ids: dict[str, str]) -> None:
    groups = stats.unsure_questions(MARCH, engine=engine)
    assert len(groups) == 1 and groups[0]["count"] == 2
    assert "鸡被偷" in groups[0]["question"] and "138****5678" in groups[0]["question"]
    dumped = json.dumps(stats.summary(MARCH, engine=engine), ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in dumped
    assert "sender_hash" not in dumped


def test_day_edges_follow_asia_shanghai(engine: Engine, ids: dict[str, str]) -> None:
    # c1 is 23:59:59 on Feb 28 and c9 00:00 on Apr 1 in Shanghai; both are March in UTC.
    assert stats.headline(Period(date(2026, 2, 28), date(2026, 2, 28)), engine=engine)["consultations_total"] == 1
    assert stats.headline(Period(date(2026, 3, 1), date(2026, 3, 1)), engine=engine)["consultations_total"] == 2
    assert stats.headline(Period(date(2026, 3, 31), date(2026, 3, 31)), engine=engine)["consultations_total"] == 1
    assert stats.headline(Period(date(2026, 4, 1), date(2026, 4, 30)), engine=engine)["consultations_total"] == 1
    # The same month in UTC: c2 falls out (Feb 28 16:00 UTC), c9 comes in (Mar 31 16:00 UTC).
    utc = Period(date(2026, 3, 1), date(2026, 3, 31), "UTC")
    days = stats.consultations_over_time("day", utc, engine=engine)
    assert sum(days.values()) == 7 and "2026-02-28" not in days and len(days) == 31
    assert days["2026-03-01"] == 1 and days["2026-03-31"] == 2
    assert stats.consultations_over_time("day", MARCH, engine=engine)["2026-03-31"] == 1


def test_township_sees_only_its_villages(engine: Engine, ids: dict[str, str]) -> None:
    s = stats.summary(MARCH, CHENGGUAN, engine=engine)
    assert s["scope"] == "城关镇"
    assert s["consultations_total"] == 4
    assert s["by_village"] == {"城关镇石桥村": 3, "城关镇东街社区": 1}
    assert s["by_township"] == {"城关镇": 4}
    assert s["referrals_total"] == 2 and s["referrals_by_adviser"][0]["adviser"] == "周明华"
    assert [c["consultation_id"] for c in s["callbacks"]] == [ids["c3"], ids["c6"], ids["c8"]]
    assert s["legal_aid_requests"] == 1 and s["overdue"] == []
    h = stats.summary(MARCH, HEKOU, engine=engine)
    assert h["consultations_total"] == 2 and h["hotline_calls"] == 2
    assert h["callbacks"] == [] and h["feedback"]["helpful"] == 1
    assert [o["id"] for o in h["overdue"]] == [ids["r3"], ids["r4"]]
    assert h["legal_aid_requests"] == 0 and h["unsure_questions"] == []


def test_legal_aid_marked_by_an_operator_is_counted_once(engine: Engine, ids: dict[str, str]) -> None:
    # The operator console marks a logged call as a legal-aid request (hotline_calls.legal_aid).
    with engine.begin() as conn:
        for key in ("c3", "c7"):
            conn.execute(hotline_calls.insert().values(consultation_id=ids[key], operator="op1", legal_aid=True))
    # c3 and c7 marked; r2 (legal aid) came from c3, so it is not counted a second time.
    assert stats.legal_aid_requests(MARCH, engine=engine) == 2
    assert stats.legal_aid_requests(MARCH, HEKOU, engine=engine) == 1


def test_call_back_mark_is_kept_and_audited(engine: Engine, ids: dict[str, str]) -> None:
    assert callbacks.mark_called_back(ids["c6"], "cg-office", "已电话回访，已解释", engine=engine) is True
    assert callbacks.mark_called_back(ids["c6"], "bureau", engine=engine) is False  # the first mark stays
    rows = stats.callback_list(MARCH, engine=engine)
    marked = next(r for r in rows if r["consultation_id"] == ids["c6"])
    assert marked["called_back_by"] == "cg-office" and marked["called_back_at"] is not None
    assert [r["consultation_id"] for r in stats.callback_list(MARCH, pending_only=True, engine=engine)] == [
        ids["c3"],
        ids["c8"],
    ]
    on_screen = stats.summary(MARCH, callbacks="pending", engine=engine)  # the dashboard's work list
    assert [r["consultation_id"] for r in on_screen["callbacks"]] == [ids["c3"], ids["c8"]]
    assert on_screen["callbacks_pending"] == 2 and stats.summary(MARCH, engine=engine)["callbacks_pending"] == 2
    entry = audit.entries(engine=engine)[0]
    assert (entry.actor, entry.action) == ("cg-office", "callback") and ids["c6"] in (entry.detail or "")
    with pytest.raises(UnknownConsultation):
        callbacks.mark_called_back(ids["c2"], "bureau", engine=engine)  # a good rating
    with pytest.raises(UnknownConsultation):
        callbacks.mark_called_back("no-such-id", "bureau", engine=engine)
    assert callbacks.township_of(ids["c6"], engine=engine) == "城关镇"
    assert callbacks.township_of(ids["c5"], engine=engine) is None


def test_bad_periods_are_refused() -> None:
    with pytest.raises(InvalidValue):
        Period.parse("2026-03-31", "2026-03-01")
    with pytest.raises(InvalidValue):
        Period.parse("2026-13-01", "2026-12-31")
    with pytest.raises(InvalidValue):
        Period.parse("2026-01-01", "2026-01-31", "Mars/Olympus")
    assert Period.parse("2026-01-01", "2026-12-31").previous() == Period(date(2025, 1, 1), date(2025, 12, 31))


def test_percentile_is_linear_between_ranks() -> None:
    assert stats.percentile([], 0.5) is None
    assert stats.percentile([5.0], 0.9) == 5.0
    assert stats.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert stats.percentile([10.0, 0.0, 20.0, 30.0, 40.0], 0.9) == pytest.approx(36.0)


def test_upgrade_adds_the_statistics_index_to_an_existing_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_consultations_stats"))
    assert "ix_consultations_stats" not in {ix["name"] for ix in inspect(engine).get_indexes("consultations")}
    migrate.upgrade(engine)  # what init_db does on an old database
    assert "ix_consultations_stats" in {ix["name"] for ix in inspect(engine).get_indexes("consultations")}


def test_forgetting_a_sender_removes_their_call_back_mark(
    engine: Engine, ids: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEGAL_OUTBOX_DIR", str(tmp_path / "outbox"))
    assert callbacks.mark_called_back(ids["c3"], "bureau", engine=engine)
    records.forget_sender(f"{SENDER}-c3", engine=engine)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM feedback_callbacks")).scalar_one()
    assert left == 0
    assert ids["c3"] not in [r["consultation_id"] for r in stats.callback_list(MARCH, engine=engine)]
