"""How an answer is sent: the lead with the verbatim articles, the next step for the topic, the disclaimer.

The wording lives in ``domain.yml`` (responses ``utter_legal_question/<topic>``, ``utter_faq_answer``,
``utter_next_step_<topic>``, ``utter_disclaimer``); which responses carry an answer, with the articles
quoted from the corpus as the ``articles`` variable, is ``knowledge.answers.answer_responses`` (the
operators' agent assist fills the same ones); this module sends them.
"""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from knowledge import Hit
from knowledge.answers import answer_responses, quote

__all__ = ["REFERRAL_BUTTONS", "quote", "send_answer"]


def send_answer(dispatcher: CollectingDispatcher, hits: list[Hit], topic: str, faq_answer: str | None) -> None:
    """The answer from the law: a written (FAQ or operator) answer or the topic's lead, then the articles.

    ``topic`` is a key of ``records.TOPICS`` (``knowledge.topics.choose_topic`` gives ``other`` when
    nothing points to one). Which responses carry the answer is ``knowledge.answers.answer_responses``.
    """
    for response, values in answer_responses(hits, topic, faq_answer):
        dispatcher.utter_message(response=response, **values)


# Used by actions/emergency.py until its wording moves into the domain (utter_unsure_answer and
# utter_offer_referral carry the same buttons there).
REFERRAL_BUTTONS = [
    {"title": "是，帮我联系", "payload": "/affirm"},
    {"title": "不用了", "payload": "/deny"},
]
