"""records.referrals: creation, the status machine, adviser scoping, history, concurrency."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

import records
from records import (
    ConsentRequired,
    InvalidPhone,
    InvalidTransition,
    InvalidValue,
    NewConsultation,
    NewReferral,
    UnknownAdviser,
    UnknownConsultation,
    UnknownReferral,
    UnknownVillage,
    get_referral,
    referral_history,
    referral_scope,
    referrals_for_adviser,
    transition,
)
from records.referrals import TRANSITIONS, Referral
from records.schema import REFERRAL_STATUSES, referral_routing, villages

DESCRIPTION = "老板拖欠工资三个月，我的电话13812345678，身份证110101199003071234"


def _refer(engine: Engine, **overrides: object) -> Referral:
    values: dict[str, object] = {
        "village": "城关镇石桥村",
        "contact_phone": "138-1234-5678",
        "description": DESCRIPTION,
        "consent": True,
        "topic": "labor",
    }
    values.update(overrides)
    receipt = records.write(NewReferral(**values), engine=engine)  # type: ignore[arg-type]
    stored = get_referral(receipt.id, engine=engine)
    assert receipt == records.ReferralReceipt(
        stored.id, pending=False, village=stored.village, adviser_name=stored.adviser_name, urgent=stored.urgent
    )
    return stored


def test_create_referral(
    engine: Engine, village_ids: dict[str, int], adviser_ids: dict[str, int]
) -> None:
    before = datetime.now(UTC)
    referral = _refer(engine)
    assert len(referral.id) == 36 and referral.status == "new"
    assert referral.village_id == village_ids["城关镇石桥村"]
    assert referral.village == "城关镇石桥村"
    assert (referral.adviser_id, referral.adviser_name) == (adviser_ids["周明华"], "周明华")
    assert referral.contact_phone == "13812345678"
    assert referral.description == DESCRIPTION
    assert referral.summary == "老板拖欠工资三个月，我的电话138****5678，身份证110***********1234"
    assert (referral.topic, referral.urgent, referral.consent) == ("劳动纠纷", False, True)
    assert referral.consultation_id is None
    assert before - timedelta(seconds=1) <= referral.created_at == referral.updated_at
    assert get_referral(referral.id, engine=engine) == referral


def test_village_by_id_name_and_adviser_override(
    engine: Engine, village_ids: dict[str, int], adviser_ids: dict[str, int]
) -> None:
    by_id = _refer(engine, village=village_ids["河口镇渡口村"])
    assert (by_id.village, by_id.adviser_name) == ("河口镇渡口村", "郑国强")
    by_name = _refer(engine, village="渡口村")
    assert by_name.village_id == by_id.village_id
    override = _refer(engine, village="渡口村", adviser_id=adviser_ids["刘慧"])
    assert override.adviser_name == "刘慧"


def test_links_to_a_consultation(engine: Engine) -> None:
    consultation = NewConsultation(sender_id="u", channel="wechat", question="欠薪", outcome="referred")
    cid = records.write(consultation, engine=engine).id
    assert _refer(engine, consultation_id=cid).consultation_id == cid
    with pytest.raises(UnknownConsultation):
        _refer(engine, consultation_id="missing")


def test_consent_is_required_unless_urgent(engine: Engine) -> None:
    with pytest.raises(ConsentRequired):
        _refer(engine, consent=False)
    urgent = _refer(engine, consent=False, urgent=True, topic=None)
    assert (urgent.urgent, urgent.consent, urgent.topic) == (True, False, None)
    assert referral_history(urgent.id, engine=engine)[0].note == "urgent"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"contact_phone": "12345"}, InvalidPhone),
        ({"description": "   "}, InvalidValue),
        ({"topic": "税务"}, InvalidValue),
        ({"village": "不存在村"}, UnknownVillage),
        ({"village": "新华村"}, UnknownVillage),
        ({"village": 9999}, UnknownVillage),
        ({"adviser_id": 9999}, UnknownAdviser),
        ({"by": ""}, InvalidValue),
    ],
)
def test_invalid_referrals_are_rejected(
    engine: Engine, overrides: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        _refer(engine, **overrides)


def test_summary_is_given_or_derived_and_bounded(engine: Engine) -> None:
    given = _refer(engine, summary="电话 138 1234 5678 的居民欠薪")
    assert given.summary == "电话 138 **** 5678 的居民欠薪"
    long = _refer(engine, description="欠薪" * 300)
    assert len(long.summary) == 200 and long.summary.endswith("…")
    assert long.description == "欠薪" * 300


def test_full_lifecycle_is_recorded(engine: Engine) -> None:
    referral = _refer(engine)
    steps = [("accepted", "adviser:1", None), ("in_progress", "adviser:1", "已电话联系")]
    steps.append(("resolved", "adviser:1", "调解成功"))
    for status, by, note in steps:
        changed = transition(referral.id, status, by, note, engine=engine)
        assert changed.status == status
        assert changed.updated_at >= changed.created_at
    history = referral_history(referral.id, engine=engine)
    assert [(e.from_status, e.to_status) for e in history] == [
        (None, "new"),
        ("new", "accepted"),
        ("accepted", "in_progress"),
        ("in_progress", "resolved"),
    ]
    assert [e.by for e in history] == ["resident", "adviser:1", "adviser:1", "adviser:1"]
    assert history[2].note == "已电话联系"
    assert all(a.at <= b.at for a, b in itertools.pairwise(history))


def test_escalation_path(engine: Engine) -> None:
    referral = _refer(engine)
    transition(referral.id, "escalated", "adviser:1", "需要律师代理", engine=engine)
    transition(referral.id, "accepted", "bureau:wang", engine=engine)
    assert transition(referral.id, "closed", "bureau:wang", engine=engine).status == "closed"


ILLEGAL = [
    (current, target)
    for current in REFERRAL_STATUSES
    for target in REFERRAL_STATUSES
    if target not in TRANSITIONS[current]
]
PATH_TO = {
    "new": [],
    "accepted": ["accepted"],
    "in_progress": ["accepted", "in_progress"],
    "resolved": ["accepted", "resolved"],
    "closed": ["closed"],
    "escalated": ["escalated"],
}


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transitions_are_rejected(engine: Engine, current: str, target: str) -> None:
    referral = _refer(engine)
    for status in PATH_TO[current]:
        transition(referral.id, status, "adviser:1", engine=engine)
    with pytest.raises(InvalidTransition) as raised:
        transition(referral.id, target, "adviser:1", engine=engine)
    assert (raised.value.current, raised.value.requested) == (current, target)
    assert get_referral(referral.id, engine=engine).status == current
    assert len(referral_history(referral.id, engine=engine)) == len(PATH_TO[current]) + 1


def test_transition_arguments_are_validated(engine: Engine) -> None:
    referral = _refer(engine)
    with pytest.raises(InvalidValue):
        transition(referral.id, "done", "adviser:1", engine=engine)
    with pytest.raises(InvalidValue):
        transition(referral.id, "accepted", " ", engine=engine)
    with pytest.raises(UnknownReferral):
        transition("missing", "accepted", "adviser:1", engine=engine)
    with pytest.raises(UnknownReferral):
        referral_history("missing", engine=engine)


def test_an_adviser_sees_and_changes_only_their_own(
    engine: Engine, adviser_ids: dict[str, int]
) -> None:
    zhou, wu = adviser_ids["周明华"], adviser_ids["吴晓燕"]
    mine = _refer(engine, village="城关镇石桥村")
    theirs = _refer(engine, village="城关镇杨柳村")
    assert [r.id for r in referrals_for_adviser(zhou, engine=engine)] == [mine.id]
    assert [r.id for r in referrals_for_adviser(wu, engine=engine)] == [theirs.id]
    assert get_referral(mine.id, adviser_id=zhou, engine=engine) == mine
    with pytest.raises(UnknownReferral):
        get_referral(theirs.id, adviser_id=zhou, engine=engine)
    with pytest.raises(UnknownReferral):
        transition(theirs.id, "accepted", "adviser:zhou", adviser_id=zhou, engine=engine)
    assert transition(mine.id, "accepted", "adviser:zhou", adviser_id=zhou, engine=engine)
    assert get_referral(theirs.id, engine=engine).status == "new"


def test_adviser_list_order_and_status_filter(engine: Engine, adviser_ids: dict[str, int]) -> None:
    zhou = adviser_ids["周明华"]
    first = _refer(engine)
    second = _refer(engine, village="城关镇东街社区")
    urgent = _refer(engine, urgent=True)
    transition(first.id, "accepted", "adviser:zhou", engine=engine)
    listed = referrals_for_adviser(zhou, engine=engine)
    assert [r.id for r in listed] == [urgent.id, first.id, second.id]
    only_new = referrals_for_adviser(zhou, statuses=("new",), engine=engine)
    assert [r.id for r in only_new] == [urgent.id, second.id]
    with pytest.raises(InvalidValue):
        referrals_for_adviser(zhou, statuses=("open",), engine=engine)
    with pytest.raises(UnknownAdviser):
        referrals_for_adviser(9999, engine=engine)


def test_two_threads_creating_referrals_both_land(
    engine: Engine, adviser_ids: dict[str, int]
) -> None:
    barrier = threading.Barrier(2)
    created: list[Referral] = []
    errors: list[BaseException] = []

    def refer(phone: str) -> None:
        barrier.wait()
        try:
            created.append(_refer(engine, contact_phone=phone))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=refer, args=(p,)) for p in ("13800001111", "13900002222")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    listed = referrals_for_adviser(adviser_ids["周明华"], engine=engine)
    assert {r.contact_phone for r in listed} == {"13800001111", "13900002222"}
    assert {r.id for r in listed} == {r.id for r in created}


def test_many_concurrent_referrals(engine: Engine, adviser_ids: dict[str, int]) -> None:
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def refer(n: int) -> None:
        barrier.wait()
        try:
            for i in range(5):
                _refer(engine, contact_phone=f"1380000{n}{i:03d}")
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=refer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(referrals_for_adviser(adviser_ids["周明华"], engine=engine)) == 40


def test_concurrent_transitions_of_one_referral_one_wins(engine: Engine) -> None:
    referral = _refer(engine)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def accept(n: int) -> None:
        barrier.wait()
        try:
            transition(referral.id, "accepted", f"adviser:{n}", engine=engine)
            outcomes.append("ok")
        except InvalidTransition:
            outcomes.append("rejected")

    threads = [threading.Thread(target=accept, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "rejected", "rejected", "rejected"]
    history = referral_history(referral.id, engine=engine)
    assert [e.to_status for e in history] == ["new", "accepted"]


def _village_without_adviser(engine: Engine) -> int:
    with engine.begin() as conn:
        conn.execute(insert(villages).values(name="新建村", township="城关镇", adviser_id=None))
        return conn.execute(select(villages.c.id).where(villages.c.name == "新建村")).scalar_one()


def test_a_village_without_adviser_goes_to_its_township(engine: Engine, adviser_ids: dict[str, int]) -> None:
    village = _village_without_adviser(engine)
    receipt = records.write(
        NewReferral(village=village, contact_phone="13812345678", description=DESCRIPTION, consent=True),
        engine=engine,
    )
    assert (receipt.pending, receipt.adviser_name, receipt.township) == (False, None, "城关镇")
    stored = get_referral(receipt.id, engine=engine)
    assert (stored.adviser_id, stored.adviser_name) == (None, None)
    assert (stored.village, stored.status) == ("城关镇新建村", "new")
    with engine.connect() as conn:
        route = conn.execute(select(referral_routing).where(referral_routing.c.referral_id == receipt.id)).one()
    assert (route.township, route.to_township, route.reason) == ("城关镇", True, "no_adviser")
    # The township's 司法所 sees it; no adviser does, not even one of the same township.
    office = referral_scope.Scope(township="城关镇")
    assert [i.id for i in referral_scope.list_referrals(office, engine=engine)] == [receipt.id]
    assert referral_scope.find(referral_scope.Scope(township="河口镇"), receipt.id, engine=engine) is None
    zhou = referral_scope.Scope(adviser_id=adviser_ids["周明华"])  # an adviser of the same township
    assert referral_scope.find(zhou, receipt.id, engine=engine) is None
    assert referrals_for_adviser(adviser_ids["周明华"], engine=engine) == []
    with pytest.raises(UnknownReferral):
        get_referral(receipt.id, adviser_id=adviser_ids["周明华"], engine=engine)
    # The office works on it like an adviser would.
    transition(receipt.id, "accepted", "cg-office", engine=engine)
    assert transition(receipt.id, "resolved", "cg-office", engine=engine).status == "resolved"


def test_the_sender_is_kept_only_as_its_keyed_hash(engine: Engine) -> None:
    referral = _refer(engine, sender_id="web-0f3a")
    assert referral.sender_hash == records.hash_sender("web-0f3a") != "web-0f3a"
    assert _refer(engine).sender_hash is None  # e.g. made by staff, not by a resident's conversation
    with pytest.raises(InvalidValue):
        NewReferral(village="城关镇石桥村", contact_phone="13812345678", description="d", consent=True,
                    sender_id="web-0f3a", sender_hash="a" * 64)  # fmt: skip
    with pytest.raises(InvalidValue):
        NewReferral(village="城关镇石桥村", contact_phone="13812345678", description="d", consent=True,
                    sender_hash="not-a-hash")  # fmt: skip
