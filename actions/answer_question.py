"""``action_answer_question``: answer a legal question from the law, or refer when unsure."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records
from actions import config, reply, triage
from actions.answering import AnsweringAction
from actions.emergency import emergency_events
from actions.services import approved_entries, search_engine
from actions.tracker_info import channel, latest_text, nlu_topics, sender
from knowledge import EmptyQueryError
from knowledge.answers import Answer, compose
from knowledge.topics import WEIGHTS, choose_topic

logger = logging.getLogger(__name__)


class ActionAnswerQuestion(AnsweringAction):
    def name(self) -> str:
        return "action_answer_question"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        if triage.is_emergency(text):
            return await emergency_events(dispatcher, tracker)
        try:
            # Loading the engine takes a minute: never on the event loop, which serves everyone.
            answer = await asyncio.to_thread(_search, text)
        except EmptyQueryError:
            dispatcher.utter_message(response="utter_default")
            return [SlotSet("referral_offered", False)]
        except Exception:  # noqa: BLE001 - model or index unavailable: say so, offer a person
            logger.exception("search failed")
            dispatcher.utter_message(response="utter_search_unavailable")
            return [SlotSet("referral_offered", True)]
        # The NLU's topic and the laws of the articles found: what statistics and next steps use.
        topic = choose_topic(nlu_topics(tracker), answer.found.hits, records.TOPICS)
        if answer.outcome == "fallback":
            return await _refer_instead(dispatcher, tracker, answer, topic)
        return await _answer(dispatcher, tracker, answer, topic, domain)

    def failure_events(self, tracker: Tracker) -> list[EventType]:
        return [SlotSet("referral_offered", False)]


def _search(text: str) -> Answer:
    """The shared composition (knowledge.answers): approved operator entries first, then FAQ, then search."""
    # Deeper than what is quoted: the topic reads the laws of the best few.
    return compose(search_engine(), text, approved_entries(), top_k=WEIGHTS.law_vote_depth)


async def _answer(dispatcher, tracker, answer: Answer, topic: str, domain: dict[str, Any]) -> list[EventType]:
    hits = answer.hits
    # A written (FAQ, operator) answer needs no draft; the search's articles may get one (off by default).
    draft = await reply.plain_draft(latest_text(tracker), hits, domain) if answer.outcome == "answered" else None
    reply.send_answer(dispatcher, hits, topic, answer.text, draft.text if draft else None)
    outcome = "faq" if answer.outcome in ("faq", "operator") else "answered"
    reasons = triage.complexity_reasons(latest_text(tracker))
    status = draft.status if draft else None
    consultation_id = await _log(tracker, topic, hits, "referred" if reasons else outcome, answer, status)
    events: list[EventType] = [
        SlotSet("topic", records.topic_name(topic)),
        SlotSet("last_question", latest_text(tracker)),
        SlotSet("cited_articles", [h.id for h in hits]),
        SlotSet("consultation_id", consultation_id),
        SlotSet("failed_answers", 0.0),
        SlotSet("referral_offered", bool(reasons)),  # the rules read it after every answer
    ]
    if reasons:
        dispatcher.utter_message(response="utter_offer_referral", reasons="、".join(reasons))
    return events


async def _refer_instead(dispatcher, tracker, answer: Answer, topic: str) -> list[EventType]:
    failed = (tracker.get_slot("failed_answers") or 0.0) + 1
    consultation_id = await _log(tracker, topic, [], "fallback", answer)
    dispatcher.utter_message(response="utter_unsure_answer")
    if failed >= config.FAILED_ANSWERS_BEFORE_REFERRAL:  # going in circles: offer a person right now too
        dispatcher.utter_message(response="utter_offer_human")
        await _queue_for_operator(tracker)
    return [
        SlotSet("topic", records.topic_name(topic)),
        SlotSet("last_question", latest_text(tracker)),
        SlotSet("cited_articles", []),
        SlotSet("consultation_id", consultation_id),
        SlotSet("failed_answers", failed),
        SlotSet("referral_offered", True),
    ]


async def _queue_for_operator(tracker: Tracker) -> None:
    """Show the conversation in the operators' queue (kind ``unsure``): one may step in unasked."""
    try:
        new = records.NewHandoff(sender(tracker), channel(tracker), latest_text(tracker)[:200] or None, kind="unsure")
        await asyncio.to_thread(records.write, new)
    except Exception:  # noqa: BLE001 - the resident was offered a person anyway
        logger.exception("could not queue the conversation for an operator")


async def _log(
    tracker: Tracker, topic: str, hits, outcome: str, answer: Answer, draft: str | None = None
) -> str | None:
    """Store the consultation; a database failure must not cost the resident the answer."""
    try:
        consultation = records.NewConsultation(
            sender_id=sender(tracker),
            channel=channel(tracker),
            question=latest_text(tracker),
            outcome=outcome,
            topic=topic,
            articles=[h.id for h in hits],
            confidence=answer.confidence,
            draft=draft,
        )
        return (await asyncio.to_thread(records.write, consultation)).id
    except Exception:  # noqa: BLE001 - logged; the answer still goes out
        logger.exception("could not log consultation")
        return None
