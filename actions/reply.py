"""How an answer is sent: the lead with the verbatim articles, the next step for the topic, the disclaimer.

The wording lives in ``domain.yml`` (responses ``utter_legal_question/<topic>``, ``utter_faq_answer``,
``utter_next_step_<topic>``, ``utter_disclaimer``); this module only chooses the responses and passes
the articles, quoted from the corpus, as the ``articles`` variable.
"""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from knowledge import Hit


def quote(hit: Hit) -> str:
    """《law》第X条：the article's text, verbatim."""
    return f"{hit.citation}：{hit.text}"


def send_answer(dispatcher: CollectingDispatcher, hits: list[Hit], topic: str, faq_answer: str | None) -> None:
    """The answer from the law: a curated FAQ answer or the topic's lead, then the articles it rests on.

    ``topic`` is a key of ``records.TOPICS`` (``tracker_info.topic_key`` gives ``other`` for anything else).
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
