"""How an answer is sent: the lead with the verbatim articles, the next step for the topic, the disclaimer.

The wording lives in ``domain.yml`` (responses ``utter_legal_question/<topic>``, ``utter_faq_answer``,
``utter_next_step_<topic>``, ``utter_disclaimer``); this module chooses the articles worth quoting
(``choose_articles``), the responses, and passes the articles, quoted from the corpus, as the
``articles`` variable. The bot's actions and anything else that composes an answer use it.
"""

from __future__ import annotations

import re

from rasa_sdk.executor import CollectingDispatcher

from knowledge import Hit


def quote(hit: Hit) -> str:
    """《law》第X条：the article's text, verbatim."""
    return f"{hit.citation}：{hit.text}"


# An article that only points elsewhere (违反本条例规定拖欠农民工工资的，依照有关法律规定执行。) decides
# nothing for the resident, however close its words are to the question: it is never quoted.
_POINTER_ONLY = re.compile(
    r"^[^。；]{0,40}?(依照|按照)(有关法律|该法律|其他法律)[^。；]{0,16}?(执行|处理|处罚|办理)。?$"
)


def points_elsewhere(hit: Hit) -> bool:
    return bool(_POINTER_ONLY.match(hit.text.strip()))


def choose_articles(hits: list[Hit], max_articles: int, score_gap: float) -> list[Hit]:
    """The articles worth quoting, best first: at most ``max_articles``, none that only points to
    other laws, none scoring more than ``score_gap`` below the best quoted (a weak second article
    misleads more than it helps). Settings and their measurement: benchmarks/answer_precision.py."""
    useful = [h for h in hits if not points_elsewhere(h)]
    if not useful:
        return []
    floor = useful[0].score - score_gap
    return [h for h in useful[:max_articles] if h.score >= floor]


def send_answer(dispatcher: CollectingDispatcher, hits: list[Hit], topic: str, faq_answer: str | None) -> None:
    """The answer from the law: a curated FAQ answer or the topic's lead, then the articles it rests on.

    ``topic`` is a key of ``records.TOPICS`` (``topics.choose_topic`` gives ``other`` when nothing points to one).
    """
    articles = "\n\n".join(quote(h) for h in hits)
    if faq_answer:
        dispatcher.utter_message(response="utter_faq_answer", answer=faq_answer.strip(), articles=articles)
    else:
        dispatcher.utter_message(response=f"utter_legal_question/{topic}", articles=articles)
    dispatcher.utter_message(response=f"utter_next_step_{topic}")
    dispatcher.utter_message(response="utter_disclaimer")


# Used by actions/emergency.py until its wording moves into the domain (utter_unsure_answer and
# utter_offer_referral carry the same buttons there).
REFERRAL_BUTTONS = [
    {"title": "是，帮我联系", "payload": "/affirm"},
    {"title": "不用了", "payload": "/deny"},
]
