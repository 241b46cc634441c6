"""Custom actions run on trackers recorded from the real Rasa server (tests/actions/trackers/).

Each test loads a recorded tracker, runs the action as the action server would, and checks what the
resident is told, the events returned and what landed in a temporary records database.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

import records
from actions.answer_question import ActionAnswerQuestion
from actions.emergency import ActionEmergency
from actions.feedback import ActionRecordFeedback
from actions.handoff import ActionHandoff
from actions.referral_form import ValidateReferralForm
from actions.submit_referral import ActionSubmitReferral
from knowledge.config import REPO_ROOT
from knowledge.corpus import load_corpus
from records.schema import consultations, referrals

pytestmark = pytest.mark.model
TRACKERS = Path(__file__).parent / "trackers"
DOMAIN = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
CORPUS = {(a.law, a.article_cn): a.text for a in load_corpus([REPO_ROOT / "knowledge" / "data" / "laws"])}
QUOTE = re.compile(r"《(?P<law>[^》]+)》(?P<article>第[零一二三四五六七八九十百千]+条)：(?P<text>.+?)(?=\n\n|$)", re.S)


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'legal.db'}"
    monkeypatch.setenv("LEGAL_DB_URL", url)
    monkeypatch.setenv("LEGAL_OUTBOX_DIR", str(tmp_path / "outbox"))
    engine = records.get_engine(url)
    records.init_db(engine)
    return engine


def recorded(name: str, **changes) -> Tracker:
    state = json.loads((TRACKERS / f"{name}.json").read_text(encoding="utf-8"))
    state = copy.deepcopy(state)
    if "text" in changes:
        state["latest_message"]["text"] = changes.pop("text")
    state["slots"].update(changes)
    return Tracker.from_dict(state)


def run(action, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def slots(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def rows(engine, table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table))]


def test_legal_question_is_answered_with_verbatim_articles_and_logged(db):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question"))
    answer = messages[0]["text"]
    quotes = list(QUOTE.finditer(answer))
    assert 1 <= len(quotes) <= 3
    for quote in quotes:
        assert CORPUS[(quote["law"], quote["article"])] == quote["text"].strip()
    assert answer.startswith(DOMAIN["responses"]["utter_legal_question/labor"][0]["text"])
    assert "仲裁" in answer and "不是针对您个案的法律意见" in answer
    assert [b["payload"] for b in messages[0]["buttons"]][:2] == ['/feedback{"helpful": "yes"}',
                                                                '/feedback{"helpful": "no"}']
    values = slots(events)
    assert values["topic"] == "劳动纠纷" and values["referral_offered"] is False
    logged = rows(db, consultations)
    assert len(logged) == 1 and logged[0]["id"] == values["consultation_id"]
    assert logged[0]["outcome"] in ("answered", "faq") and logged[0]["articles"] == values["cited_articles"]


def test_personal_numbers_are_redacted_in_the_log(db):
    text = "我电话13812345678，身份证110101199003071234，老板拖欠我工资不给怎么办"
    run(ActionAnswerQuestion(), recorded("wage_question", text=text))
    question = rows(db, consultations)[0]["question"]
    assert "13812345678" not in question and "110101199003071234" not in question
    assert "老板拖欠我工资" in question


def test_large_sums_and_lawsuits_get_a_referral_offer(db):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question", text="老板欠我30万工资，我要起诉他"))
    assert len(messages) == 2 and "法律顾问" in messages[1]["text"]
    assert slots(events)["referral_offered"] is True
    assert rows(db, consultations)[0]["outcome"] == "referred"


@pytest.mark.parametrize("text", ["今天天气怎么样", "asdkjh qwe zxc"])
def test_unanswerable_text_gets_no_articles_but_a_referral_offer(db, text):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question", text=text))
    assert "《" not in messages[0]["text"]
    assert "法律顾问" in messages[0]["text"]
    assert slots(events)["referral_offered"] is True and slots(events)["failed_answers"] == 1
    assert rows(db, consultations)[0]["outcome"] == "fallback"


def test_repeated_unanswerable_questions_also_offer_a_human(db):
    tracker = recorded("wage_question", text="asdkjh qwe zxc", failed_answers=1.0)
    messages, events = run(ActionAnswerQuestion(), tracker)
    assert "/request_human" in [b["payload"] for b in messages[0]["buttons"]]
    assert slots(events)["failed_answers"] == 2


def test_empty_text_gets_the_default_reply(db):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question", text="😀😀"))
    assert messages == [{"response": "utter_default", **{k: v for k, v in messages[0].items()
                                                         if k != "response"}}]
    assert events == [SlotSet("referral_offered", False)]


def test_unhelpful_feedback_is_stored_and_offers_the_adviser(db):
    tracker = recorded("feedback_unhelpful")
    consultation_id = tracker.get_slot("consultation_id")
    records.write(records.NewConsultation(id=consultation_id, sender_id=tracker.sender_id, channel="rest",
                                          question="邻居家的树倒了砸坏了我家的车", outcome="answered"), engine=db)
    messages, events = run(ActionRecordFeedback(), tracker)
    assert records.get_feedback(consultation_id, engine=db).helpful is False
    assert "法律顾问" in messages[0]["text"]
    assert slots(events)["referral_offered"] is True


def test_consented_referral_is_stored_for_the_village_adviser(db):
    messages, events = run(ActionSubmitReferral(), recorded("referral_before_consent", referral_consent=True))
    stored = rows(db, referrals)
    assert len(stored) == 1
    assert stored[0]["contact_phone"] == "13812345678"
    assert stored[0]["description"] == "包工头欠我们八个人的工资两万多块钱"
    assert stored[0]["status"] == "new" and stored[0]["urgent"] is False
    adviser = records.referrals_for_adviser(stored[0]["adviser_id"], engine=db)
    assert [r.id for r in adviser] == [stored[0]["id"]]
    assert "城关镇石桥村" in messages[0]["text"] and stored[0]["id"][:8] in messages[0]["text"]
    assert slots(events)["referral_phone"] is None  # the form is cleared for the next time


def test_referral_without_consent_is_not_stored(db):
    messages, _ = run(ActionSubmitReferral(), recorded("referral_before_consent", referral_consent=False))
    assert rows(db, referrals) == []
    assert "不会发送" in messages[0]["text"]


def test_referral_is_kept_when_the_database_is_down(db, tmp_path, monkeypatch):
    monkeypatch.setenv("LEGAL_DB_URL", f"sqlite:///{tmp_path / 'missing-dir' / 'x' / 'legal.db'}")
    messages, _ = run(ActionSubmitReferral(), recorded("referral_before_consent", referral_consent=True))
    assert "城关镇石桥村" in messages[0]["text"]
    assert records.outbox.pending_count() == 1
    monkeypatch.setenv("LEGAL_DB_URL", str(db.url))
    assert records.outbox.replay(db, any_database=True) == 1
    assert [r["contact_phone"] for r in rows(db, referrals)] == ["13812345678"]


def test_village_phone_and_description_are_validated(db):
    form, tracker, dispatcher = ValidateReferralForm(), recorded("referral_before_consent"), CollectingDispatcher()
    assert form.validate_referral_village("我是石乔村的", dispatcher, tracker, DOMAIN) == {
        "referral_village": "城关镇石桥村"}
    assert form.validate_referral_village("火星村", dispatcher, tracker, DOMAIN) == {"referral_village": None}
    assert form.validate_referral_phone("12345", dispatcher, tracker, DOMAIN) == {"referral_phone": None}
    assert form.validate_referral_phone("+86 139-0000-1111", dispatcher, tracker, DOMAIN) == {
        "referral_phone": "13900001111"}
    assert form.validate_referral_description("嗯", dispatcher, tracker, DOMAIN) == {"referral_description": None}
    assert len(dispatcher.messages) == 3  # one polite correction per rejected value


def test_emergency_gets_110_first_and_alerts_an_operator(db):
    tracker = recorded("emergency")  # 我老公现在拿着刀要砍我，救命 (recorded before the NLU set kinds)
    messages, events = run(ActionEmergency(), tracker)
    assert messages[0]["text"].startswith("🚨 马上拨打 110、12338")
    assert "保护令" in messages[1]["text"]
    assert [b["payload"] for b in messages[2]["buttons"]] == ["/affirm", "/deny"]
    assert slots(events) == {"referral_urgent": True, "referral_offered": True}
    handoffs = records.waiting_handoffs(engine=db)
    assert [h.sender_id for h in handoffs] == [tracker.sender_id]
    assert rows(db, consultations)[0]["outcome"] == "emergency"


def with_kinds(name: str, text: str, kinds: list[str]) -> Tracker:
    """A recorded tracker whose latest message carries the NLU component's emergency_kind entities."""
    tracker = recorded(name, text=text)
    tracker.latest_message["entities"] = [
        {"entity": "emergency_kind", "value": k, "extractor": "EmergencyDetector"} for k in kinds
    ]
    return tracker


@pytest.mark.parametrize(
    ("kinds", "first", "advice"),
    [
        (["fire_trapped"], "🚨 马上拨打 119、120", "湿布"),
        (["traffic", "medical"], "🚨 马上拨打 122、120", "双闪"),
        (["self_harm"], "🚨 马上拨打 110、120、12356", "别一个人待着"),
        (["gas_leak"], "🚨 马上拨打 119", "阀门"),
    ],
)
def test_emergency_numbers_follow_the_kinds_the_nlu_found(db, kinds, first, advice):
    messages, _ = run(ActionEmergency(), with_kinds("emergency", "快来人", kinds))
    assert messages[0]["text"].startswith(first)
    assert advice in messages[1]["text"]


def test_emergency_the_rules_cannot_name_still_gets_110_and_120(db):
    messages, _ = run(ActionEmergency(), recorded("emergency", text="我这边出了点状况"))
    assert messages[0]["text"].startswith("🚨 马上拨打 110、120")


def test_emergency_inside_a_legal_question_is_caught_by_the_safety_net(db):
    messages, _ = run(ActionAnswerQuestion(), recorded("wage_question", text="我不想活了，老板欠钱不给"))
    assert messages[0]["text"].startswith("🚨 马上拨打 110、120、12356")


def test_handoff_pauses_the_conversation_and_queues_it(db):
    tracker = recorded("wage_question", text="转人工")
    messages, events = run(ActionHandoff(), tracker)
    assert events == [ConversationPaused()]
    assert "人工" in messages[0]["text"] and "12348" in messages[0]["text"]
    assert [h.sender_id for h in records.waiting_handoffs(engine=db)] == [tracker.sender_id]
