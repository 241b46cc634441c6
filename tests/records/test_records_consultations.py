"""records.consultations and records.feedback."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select

import records
from records import (
    InvalidValue,
    NewConsultation,
    NewFeedback,
    UnknownConsultation,
    UnknownVillage,
    get_feedback,
)
from records.consultations import consultations_for_sender, get_consultation
from records.db import transaction
from records.forget import Forgotten
from records.schema import consultations


def _log(engine: Engine, **overrides: object) -> str:
    values: dict[str, object] = {
        "sender_id": "web-user-1",
        "channel": "web",
        "question": "老板拖欠工资三个月怎么办",
        "outcome": "answered",
        "topic": "劳动纠纷",
        "articles": ["劳动合同法-30", "劳动合同法-85"],
        "confidence": 0.82,
    }
    values.update(overrides)
    return records.write(NewConsultation(**values), engine=engine).id  # type: ignore[arg-type]


def test_log_and_read_back(engine: Engine, village_ids: dict[str, int]) -> None:
    before = datetime.now(UTC)
    cid = _log(engine, village="城关镇石桥村")
    stored = get_consultation(cid, engine=engine)
    assert stored.id == cid and len(cid) == 36
    assert before - timedelta(seconds=1) <= stored.created_at <= datetime.now(UTC)
    assert (stored.channel, stored.topic, stored.outcome) == ("web", "劳动纠纷", "answered")
    assert stored.articles == ["劳动合同法-30", "劳动合同法-85"]
    assert stored.confidence == pytest.approx(0.82)
    assert stored.village_id == village_ids["城关镇石桥村"]


def test_question_is_redacted_and_sender_hashed(engine: Engine) -> None:
    cid = _log(engine, sender_id="o6_bmjrPTlm6_2sgVt7hMZOPfL2M", question="我电话13812345678")
    stored = get_consultation(cid, engine=engine)
    assert stored.question == "我电话138****5678"
    assert stored.sender_hash == records.hash_sender("o6_bmjrPTlm6_2sgVt7hMZOPfL2M")
    assert "o6_bmjr" not in stored.sender_hash


def test_optional_fields_and_topic_keys(engine: Engine) -> None:
    cid = _log(engine, topic="labor", articles=[], confidence=None, outcome="fallback")
    stored = get_consultation(cid, engine=engine)
    assert (stored.topic, stored.articles, stored.confidence) == ("劳动纠纷", [], None)
    assert get_consultation(_log(engine, topic=None), engine=engine).topic is None
    legal = _log(engine, topic="legal_question/land_housing")
    assert get_consultation(legal, engine=engine).topic == "土地/房屋"
    assert get_consultation(cid, engine=engine).draft is None  # no plain-language draft asked for
    assert [get_consultation(_log(engine, draft=d), engine=engine).draft for d in ("used", "dropped")] == [
        "used",
        "dropped",
    ]


def test_created_at_may_be_given_in_any_timezone(engine: Engine) -> None:
    beijing = timezone(timedelta(hours=8))
    cid = _log(engine, created_at=datetime(2024, 3, 1, 9, 30, tzinfo=beijing))
    assert get_consultation(cid, engine=engine).created_at == datetime(
        2024, 3, 1, 1, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"channel": "sms"},
        {"outcome": "ok"},
        {"topic": "税务"},
        {"articles": "民法典-1165"},
        {"articles": [1165]},
        {"confidence": "high"},
        {"confidence": math.nan},
        {"confidence": True},
        {"draft": "maybe"},
        {"draft": True},
        {"sender_id": ""},
        {"question": None},
        {"created_at": datetime(2024, 1, 1)},
        {"village": 3.5},
    ],
)
def test_invalid_values_are_rejected(engine: Engine, bad: dict[str, object]) -> None:
    with pytest.raises(InvalidValue):
        _log(engine, **bad)
    with transaction(engine, write=False) as conn:
        assert conn.execute(select(func.count()).select_from(consultations)).scalar() == 0


def test_unknown_or_ambiguous_village(engine: Engine) -> None:
    with pytest.raises(UnknownVillage, match="unknown"):
        _log(engine, village="不存在村")
    with pytest.raises(UnknownVillage, match="ambiguous"):
        _log(engine, village="新华村")
    assert get_consultation(_log(engine, village="石桥村"), engine=engine).village_id is not None


def test_unknown_consultation(engine: Engine) -> None:
    with pytest.raises(UnknownConsultation):
        get_consultation("00000000-0000-0000-0000-000000000000", engine=engine)


def test_consultations_for_sender_and_forget(engine: Engine) -> None:
    first = _log(engine, sender_id="alice", created_at=datetime(2024, 1, 1, tzinfo=UTC))
    second = _log(engine, sender_id="alice", created_at=datetime(2024, 1, 2, tzinfo=UTC))
    other = _log(engine, sender_id="bob")
    records.write(NewFeedback(first, True), engine=engine)
    referral = records.write(
        records.NewReferral(
            village="城关镇石桥村",
            contact_phone="13812345678",
            description="欠薪",
            consent=True,
            consultation_id=first,
        ),
        engine=engine,
    )
    records.write(records.NewHandoff("alice", "web", "转人工"), engine=engine)
    bob = records.write(records.NewHandoff("bob", "web"), engine=engine)
    ids = [c.id for c in consultations_for_sender("alice", engine=engine)]
    assert ids == [first, second]
    gone = records.forget_sender("alice", engine=engine)
    assert gone == Forgotten(consultations=2, feedback=1, handoffs=1, spooled=0)
    assert consultations_for_sender("alice", engine=engine) == []
    assert get_feedback(first, engine=engine) is None
    assert records.open_handoff_for("alice", engine=engine) is None
    assert [h.id for h in records.waiting_handoffs(engine=engine)] == [bob.id]
    assert records.get_referral(referral.id, engine=engine).consultation_id is None
    assert get_consultation(other, engine=engine).id == other


def test_statistics_queries_by_topic_and_month(engine: Engine) -> None:
    for day, topic in [(1, "labor"), (2, "labor"), (3, "debt"), (40, "labor")]:
        _log(engine, topic=topic, created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day))
    january = (consultations.c.created_at >= datetime(2024, 1, 1, tzinfo=UTC)) & (
        consultations.c.created_at < datetime(2024, 2, 1, tzinfo=UTC)
    )
    query = (
        select(consultations.c.topic, func.count())
        .where(january)
        .group_by(consultations.c.topic)
        .order_by(consultations.c.topic)
    )
    with transaction(engine, write=False) as conn:
        assert [tuple(row) for row in conn.execute(query)] == [("借贷/债务", 1), ("劳动纠纷", 2)]


# --- feedback --------------------------------------------------------------------------------


def test_feedback_latest_click_wins(engine: Engine) -> None:
    cid = _log(engine)
    assert get_feedback(cid, engine=engine) is None
    assert records.write(NewFeedback(cid, "yes"), engine=engine) == records.Receipt(cid, pending=False)
    assert get_feedback(cid, engine=engine).helpful is True
    records.write(NewFeedback(cid, "no"), engine=engine)
    stored = get_feedback(cid, engine=engine)
    assert stored is not None and stored.helpful is False and stored.consultation_id == cid


def test_feedback_for_unknown_consultation(engine: Engine) -> None:
    with pytest.raises(UnknownConsultation):
        records.write(NewFeedback("nope", True), engine=engine)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("yes", True),
        ("NO", False),
        ("有帮助", True),
        ("没帮助", False),
    ],
)
def test_parse_helpful(value: bool | str, expected: bool) -> None:
    assert records.parse_helpful(value) is expected


@pytest.mark.parametrize("value", ["maybe", "", 1, None])
def test_parse_helpful_rejects_other_values(value: object) -> None:
    with pytest.raises(InvalidValue):
        records.parse_helpful(value)  # type: ignore[arg-type]


def test_concurrent_first_feedback_clicks(engine: Engine) -> None:
    cid = _log(engine)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def click(helpful: bool) -> None:
        barrier.wait()
        try:
            records.write(NewFeedback(cid, helpful), engine=engine)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert get_feedback(cid, engine=engine) is not None


def test_concurrent_logging(engine: Engine) -> None:
    barrier = threading.Barrier(6)
    ids: list[str] = []

    def log(n: int) -> None:
        barrier.wait()
        for i in range(5):
            ids.append(_log(engine, sender_id=f"user-{n}-{i}"))

    threads = [threading.Thread(target=log, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 30
    with transaction(engine, write=False) as conn:
        assert conn.execute(select(func.count()).select_from(consultations)).scalar() == 30
