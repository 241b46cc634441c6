"""``action_answer_question``: answer a legal question from the law, or refer when unsure."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records
from actions import config, reply, triage
from actions.emergency import emergency_events
from actions.services import search_engine
from actions.tracker_info import channel, latest_text, sender, topic_key
from knowledge import EmptyQueryError
from knowledge.engine import Consultation

logger = logging.getLogger(__name__)


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        if triage.is_emergency(text):
            return await emergency_events(dispatcher, tracker)
        try:
            found = await asyncio.to_thread(search_engine().consult, text, config.ANSWER_MAX_ARTICLES)
        except EmptyQueryError:
            dispatcher.utter_message(response="utter_default")
            return [SlotSet("referral_offered", False)]
        topic = topic_key(tracker)
        if not _confident(found):
            return await _refer_instead(dispatcher, tracker, found, topic)
        return await _answer(dispatcher, tracker, domain, found, topic)


def _confident(found: Consultation) -> bool:
    return bool(found.hits) and found.hits[0].score >= config.ANSWER_MIN_SCORE


def _faq_hits(found: Consultation) -> list:
    """The articles a closely matching, fully grounded FAQ answer cites; empty when none fits."""
    match = found.faq
    if not (match and match.entry.fully_grounded and match.similarity >= config.FAQ_MIN_SIMILARITY):
        return []
    cited = (search_engine().hit(article_id) for article_id in match.entry.cites)
    return [h for h in cited if h is not None][: config.ANSWER_MAX_ARTICLES]


async def _answer(dispatcher, tracker, domain, found: Consultation, topic: str) -> list[EventType]:
    faq_hits = _faq_hits(found)
    if faq_hits:
        hits = faq_hits
        text, outcome = reply.faq_answer(found.faq.entry.answer, hits, topic), "faq"
    else:
        hits = found.hits
        text, outcome = reply.article_answer(_lead(domain, topic), hits, topic), "answered"
    reasons = triage.complexity_reasons(latest_text(tracker))
    consultation_id = await _log(tracker, topic, hits, "referred" if reasons else outcome, found)
    dispatcher.utter_message(text=text, buttons=reply.FEEDBACK_BUTTONS)
    events: list[EventType] = [
        SlotSet("topic", records.topic_name(topic)),
        SlotSet("last_question", latest_text(tracker)),
        SlotSet("cited_articles", [h.id for h in hits]),
        SlotSet("consultation_id", consultation_id),
        SlotSet("failed_answers", 0.0),
        SlotSet("referral_offered", bool(reasons)),  # the rules read it after every answer
    ]
    if reasons:
        dispatcher.utter_message(text=reply.complex_note(reasons), buttons=reply.REFERRAL_BUTTONS)
    return events


async def _refer_instead(dispatcher, tracker, found: Consultation, topic: str) -> list[EventType]:
    failed = (tracker.get_slot("failed_answers") or 0.0) + 1
    consultation_id = await _log(tracker, topic, [], "fallback", found)
    buttons = reply.REFERRAL_BUTTONS
    if failed >= config.FAILED_ANSWERS_BEFORE_REFERRAL:  # going in circles: offer a person right now too
        buttons = [*buttons, reply.HUMAN_BUTTON]
    dispatcher.utter_message(text=reply.unsure_answer(), buttons=buttons)
    return [
        SlotSet("topic", records.topic_name(topic)),
        SlotSet("last_question", latest_text(tracker)),
        SlotSet("cited_articles", []),
        SlotSet("consultation_id", consultation_id),
        SlotSet("failed_answers", failed),
        SlotSet("referral_offered", True),
    ]


def _lead(domain: dict[str, Any], topic: str) -> str:
    variants = domain.get("responses", {}).get(f"utter_legal_question/{topic}") or []
    return variants[0].get("text", "") if variants else "根据您说的情况，相关的法律规定是："


async def _log(tracker: Tracker, topic: str, hits, outcome: str, found: Consultation) -> str | None:
    """Store the consultation; a database failure must not cost the resident the answer."""
    try:
        consultation = records.NewConsultation(
            sender_id=sender(tracker),
            channel=channel(tracker),
            question=latest_text(tracker),
            outcome=outcome,
            topic=topic,
            articles=[h.id for h in hits],
            confidence=found.hits[0].score if found.hits else None,
        )
        return (await asyncio.to_thread(records.write, consultation)).id
    except Exception:  # noqa: BLE001 - logged; the answer still goes out
        logger.exception("could not log consultation")
        return None
