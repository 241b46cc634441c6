"""The topic logged with a consultation: the NLU's topic combined with the laws of the articles found,
and the choice of the articles quoted (knowledge/topics.py, knowledge/answers.py)."""

from __future__ import annotations

import copy
import json

import pytest
from action_helpers import TRACKERS, rows, run, slots
from rasa_sdk import Tracker

import records
from actions.answer_question import ActionAnswerQuestion
from knowledge import Hit, topics
from knowledge.answers import choose_articles
from records.schema import consultations


def hit(article_id: str, score: float = 0.8, law: str = "") -> Hit:
    return Hit(article_id, law or article_id.rpartition("-")[0], "", "第一条", "…", score, score, "law", "national")


@pytest.mark.parametrize(
    ("article_id", "topic"),
    [
        ("劳动合同法-82", "labor"),
        ("保障农民工工资支付条例-53", "labor"),
        ("民法典-1079", "marriage_family"),
        ("民法典-1127", "inheritance"),
        ("民法典-1208", "traffic"),
        ("民法典-291", "neighbor"),
        ("民法典-679", "debt"),
        ("民法典-5", None),  # the general part says nothing about the topic
        ("法律援助法-31", None),
        ("道路交通事故损害赔偿司法解释-1", "traffic"),
        ("民法典婚姻家庭编解释（一）-2", "marriage_family"),
    ],
)
def test_articles_map_to_the_topic_of_their_law(article_id: str, topic: str | None) -> None:
    assert topics.article_topic(article_id) == topic


def test_the_laws_found_outvote_a_wrong_nlu_topic_and_a_sure_nlu_wins_when_they_say_nothing() -> None:
    labor_hits = [hit("劳动合同法-30"), hit("劳动法-50"), hit("保障农民工工资支付条例-3")]
    assert topics.choose_topic({"neighbor": 0.6, "labor": 0.2}, labor_hits, records.TOPICS) == "labor"
    general_hits = [hit("民法典-5"), hit("法律援助法-31")]
    assert topics.choose_topic({"neighbor": 0.9}, general_hits, records.TOPICS) == "neighbor"
    assert topics.choose_topic({}, general_hits, records.TOPICS) == "other"
    assert topics.choose_topic({"other": 0.9}, [], records.TOPICS) == "other"


def test_quoted_articles_leave_out_weak_ones() -> None:
    hits = [hit("劳动合同法-30", 0.80), hit("劳动法-50", 0.79), hit("保障农民工工资支付条例-53", 0.70)]
    assert [h.id for h in choose_articles(hits, 3, 0.05)] == ["劳动合同法-30", "劳动法-50"]
    assert [h.id for h in choose_articles(hits, 1, 1.0)] == ["劳动合同法-30"]
    assert choose_articles([], 3, 0.05) == []
    pointer = Hit("保障农民工工资支付条例-53", "保障农民工工资支付条例", "", "第五十三条",
                  "违反本条例规定拖欠农民工工资的，依照有关法律规定执行。", 0.92, 0.92, "regulation", "national")
    assert [h.id for h in choose_articles([pointer, *hits], 2, 1.0)] == ["劳动合同法-30", "劳动法-50"]


@pytest.mark.model
@pytest.mark.usefixtures("small_engine")
def test_the_logged_topic_follows_the_laws_when_the_nlu_is_wrong(db) -> None:
    """A recorded wage question whose response selector is made to say 邻里纠纷: the articles found
    are all wage and labour law, so the consultation is logged (and answered) as 劳动纠纷."""
    state = copy.deepcopy(json.loads((TRACKERS / "wage_question.json").read_text(encoding="utf-8")))
    selector = state["latest_message"]["response_selector"]["legal_question"]
    selector["response"]["intent_response_key"] = "legal_question/neighbor"
    selector["ranking"] = [{"confidence": 0.55, "intent_response_key": "legal_question/neighbor"},
                           {"confidence": 0.30, "intent_response_key": "legal_question/labor"}]
    messages, events = run(ActionAnswerQuestion(), Tracker.from_dict(state))
    assert slots(events)["topic"] == "劳动纠纷"
    assert rows(db, consultations)[0]["topic"] == "劳动纠纷"
    assert "utter_next_step_labor" in [m.get("response") for m in messages]
