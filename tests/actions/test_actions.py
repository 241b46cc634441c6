"""Custom actions run on trackers recorded from the real Rasa server (tests/actions/trackers/).

Each test loads a recorded tracker, runs the action as the action server would (questions searched by
a small real engine, see conftest.py), and checks what the resident reads (the domain responses,
filled in), the events returned and what landed in a temporary records database.
"""

from __future__ import annotations

import re

import pytest
from action_helpers import DOMAIN, buttons, recorded, render, rows, run, said, slots
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records
from actions.answer_question import ActionAnswerQuestion
from actions.emergency import ActionEmergency
from actions.feedback import ActionRecordFeedback
from actions.referral_form import ValidateReferralForm
from actions.submit_referral import ActionSubmitReferral
from knowledge.config import REPO_ROOT
from knowledge.corpus import in_force, load_corpus
from records.schema import consultations, referrals, villages

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("small_engine")]
CORPUS = {(a.law, a.article_cn): a.text for a in in_force(load_corpus([REPO_ROOT / "knowledge" / "data" / "laws"]))}
QUOTE = re.compile(r"《(?P<law>[^》]+)》(?P<article>第[零一二三四五六七八九十百千]+条)：(?P<text>.+?)(?=\n\n|$)", re.S)


def test_legal_question_is_answered_with_verbatim_articles_and_logged(db, small_engine):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question"))
    assert [m["response"] for m in messages][1:] == ["utter_next_step_labor", "utter_disclaimer"]
    answer = render(messages[0])
    quotes = list(QUOTE.finditer(answer))
    assert 1 <= len(quotes) <= 3
    for quote in quotes:
        assert CORPUS[(quote["law"], quote["article"])] == quote["text"].strip()
    if messages[0]["response"] != "utter_faq_answer":
        assert answer.startswith("关于拖欠工资和打工用工的问题，法律是这样规定的：")
    text = said(messages)
    assert "仲裁" in text and "不是针对您个案的法律意见" in text
    assert [b["payload"] for b in buttons(messages[0])][:2] == ['/feedback{"helpful": "yes"}',
                                                               '/feedback{"helpful": "no"}']
    values = slots(events)
    assert values["topic"] == "劳动纠纷" and values["referral_offered"] is False
    logged = rows(db, consultations)
    assert len(logged) == 1 and logged[0]["id"] == values["consultation_id"]
    assert logged[0]["outcome"] in ("answered", "faq") and logged[0]["articles"] == values["cited_articles"]
    cited = [small_engine.articles[small_engine.by_id[i]] for i in values["cited_articles"]]
    assert [(q["law"], q["article"]) for q in quotes] == [(a.law, a.article_cn) for a in cited]


def test_every_response_an_action_names_exists_and_is_filled(db):
    """Each topic has its lead and next step; every variable of the answer is passed by the action."""
    for topic in records.TOPICS:
        assert f"utter_legal_question/{topic}" in DOMAIN["responses"]
        assert f"utter_next_step_{topic}" in DOMAIN["responses"]
    messages, _ = run(ActionAnswerQuestion(), recorded("wage_question", text="老板欠我30万工资，我要起诉他"))
    assert all("{" not in render(m) for m in messages)


def test_wechat_gets_shorter_wording_with_the_choices_last(db):
    """The same dispatched messages, as Rasa renders them for the WeChat output channel (name "wechat")."""
    messages, _ = run(ActionAnswerQuestion(), recorded("wage_question"))
    wechat = [buttons(m, "wechat") for m in messages]
    assert [bool(b) for b in wechat] == [False, False, True]
    assert len(render(messages[-1], channel="wechat")) < len(render(messages[-1]))
    assert QUOTE.search(render(messages[0], channel="wechat"))


def test_personal_numbers_are_redacted_in_the_log(db):
    text = "我电话13812345678，身份证110101199003071234，老板拖欠我工资不给怎么办"
    run(ActionAnswerQuestion(), recorded("wage_question", text=text))
    question = rows(db, consultations)[0]["question"]
    assert "13812345678" not in question and "110101199003071234" not in question
    assert "老板拖欠我工资" in question


def test_large_sums_and_lawsuits_get_a_referral_offer(db):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question", text="老板欠我30万工资，我要起诉他"))
    assert messages[-1]["response"] == "utter_offer_referral"
    offer = render(messages[-1])
    assert "法律顾问" in offer and "涉及诉讼或仲裁程序" in offer and "涉及金额较大" in offer
    assert [b["payload"] for b in buttons(messages[-1])] == ["/affirm", "/deny"]
    assert slots(events)["referral_offered"] is True
    assert rows(db, consultations)[0]["outcome"] == "referred"


@pytest.mark.parametrize("text", ["今天天气怎么样", "asdkjh qwe zxc"])
def test_unanswerable_text_gets_no_articles_but_a_referral_offer(db, text):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question", text=text))
    assert [m["response"] for m in messages] == ["utter_unsure_answer"]
    assert "《" not in said(messages) and "法律顾问" in said(messages)
    assert slots(events)["referral_offered"] is True and slots(events)["failed_answers"] == 1
    assert rows(db, consultations)[0]["outcome"] == "fallback"


def test_repeated_unanswerable_questions_also_offer_a_human(db):
    tracker = recorded("wage_question", text="asdkjh qwe zxc", failed_answers=1.0)
    messages, events = run(ActionAnswerQuestion(), tracker)
    assert "/request_human" in [b["payload"] for m in messages for b in buttons(m)]
    assert slots(events)["failed_answers"] == 2


def test_empty_text_gets_the_default_reply(db):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question", text="😀😀"))
    assert [m["response"] for m in messages] == ["utter_default"]
    assert events == [SlotSet("referral_offered", False)]


def test_unhelpful_feedback_is_stored_and_offers_the_adviser(db):
    tracker = recorded("feedback_unhelpful")
    consultation_id = tracker.get_slot("consultation_id")
    records.write(records.NewConsultation(id=consultation_id, sender_id=tracker.sender_id, channel="rest",
                                          question="邻居家的树倒了砸坏了我家的车", outcome="answered"), engine=db)
    messages, events = run(ActionRecordFeedback(), tracker)
    assert records.get_feedback(consultation_id, engine=db).helpful is False
    assert "法律顾问" in said(messages)
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
    confirmation = said(messages)
    assert "城关镇石桥村" in confirmation and stored[0]["id"][:8] in confirmation
    assert "2个工作日" in confirmation
    assert slots(events)["referral_phone"] is None  # the form is cleared for the next time


def test_a_village_without_adviser_is_sent_to_the_township_office(db):
    with db.begin() as conn:  # 石桥村 loses its adviser
        conn.execute(villages.update().where(villages.c.name == "石桥村").values(adviser_id=None))
    tracker = recorded("referral_before_consent", referral_consent=True)
    messages, _ = run(ActionSubmitReferral(), tracker)
    stored = rows(db, referrals)
    assert len(stored) == 1 and stored[0]["adviser_id"] is None
    assert stored[0]["sender_hash"] == records.hash_sender(tracker.sender_id)  # finds the conversation
    confirmation = said(messages)
    assert "城关镇司法所" in confirmation and stored[0]["id"][:8] in confirmation
    assert "法律顾问" in confirmation and "None" not in confirmation


def test_urgent_referral_is_confirmed_as_urgent(db):
    tracker = recorded("referral_before_consent", referral_consent=True, referral_urgent=True)
    messages, _ = run(ActionSubmitReferral(), tracker)
    assert rows(db, referrals)[0]["urgent"] is True
    assert "尽快" in said(messages) and "2个工作日" not in said(messages)


def test_referral_without_consent_is_not_stored(db):
    messages, _ = run(ActionSubmitReferral(), recorded("referral_before_consent", referral_consent=False))
    assert rows(db, referrals) == []
    assert "不会发送" in said(messages)


def test_referral_is_kept_when_the_database_is_down(db, tmp_path, monkeypatch):
    monkeypatch.setenv("LEGAL_DB_URL", f"sqlite:///{tmp_path / 'missing-dir' / 'x' / 'legal.db'}")
    messages, _ = run(ActionSubmitReferral(), recorded("referral_before_consent", referral_consent=True))
    assert "城关镇石桥村" in said(messages)
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
    assert [m["response"] for m in dispatcher.messages] == [  # one polite correction per rejected value
        "utter_village_not_found", "utter_phone_invalid", "utter_description_too_short"]


def test_consent_question_shows_what_will_be_sent():
    tracker = recorded("referral_before_consent")
    question = render({"response": "utter_ask_referral_consent"}, tracker)
    assert "城关镇石桥村" in question and "13812345678" in question and "包工头欠我们八个人的工资" in question
    assert [b["payload"] for b in buttons({"response": "utter_ask_referral_consent"})] == ["/affirm", "/deny"]


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


def test_an_approved_operator_entry_is_answered_first_without_rebuilding(db, small_engine, monkeypatch):
    from actions import services
    from records import knowledge_entries

    monkeypatch.setattr(services, "ENTRIES_TTL_S", 0.0)  # read the entries on every question
    tracker = recorded("wage_question")
    question = tracker.latest_message["text"]
    answer = "拖欠工资可以先向劳动保障监察机构投诉，也可以申请劳动仲裁。"
    entry = knowledge_entries.propose(question, answer, ["劳动合同法-30"], "lin", engine=db)
    messages, _ = run(ActionAnswerQuestion(), tracker)
    assert answer not in render(messages[0])  # proposed, not approved: not used
    knowledge_entries.review(entry.id, True, "bureau", engine=db)
    messages, events = run(ActionAnswerQuestion(), tracker)
    lead = render(messages[0])
    assert messages[0]["response"] == "utter_faq_answer" and lead.startswith(answer)
    assert "《中华人民共和国劳动合同法》第三十条：" + CORPUS[("中华人民共和国劳动合同法", "第三十条")] in lead
    assert slots(events)["cited_articles"] == ["劳动合同法-30"]
