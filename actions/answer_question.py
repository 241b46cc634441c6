"""``action_answer_question``: answer a legal question from the law, or refer when unsure."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records
from actions import config, reply, topics, triage
from actions.answering import AnsweringAction
from actions.emergency import emergency_events
from actions.services import search_engine
from actions.tracker_info import channel, latest_text, nlu_topics, sender
from knowledge import EmptyQueryError, Hit
from knowledge.engine import Consultation

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
            found, faq_hits = await asyncio.to_thread(_search, text)
        except EmptyQueryError:
            dispatcher.utter_message(response="utter_default")
            return [SlotSet("referral_offered", False)]
        except Exception:  # noqa: BLE001 - model or index unavailable: say so, offer a person
            logger.exception("search failed")
            dispatcher.utter_message(response="utter_search_unavailable")
            return [SlotSet("referral_offered", True)]
        # The NLU's topic and the laws of the articles found: what statistics and next steps use.
        topic = topics.choose_topic(nlu_topics(tracker), found.hits, records.TOPICS)
        quoted = faq_hits or _quoted(found)
        if not (quoted and _confident(found)):
            return await _refer_instead(dispatcher, tracker, found, topic)
        return await _answer(dispatcher, tracker, found, quoted, "faq" if faq_hits else "answered", topic)

    def failure_events(self, tracker: Tracker) -> list[EventType]:
        return [SlotSet("referral_offered", False)]


def _search(text: str) -> tuple[Consultation, list[Hit]]:
    engine = search_engine()
    # Deeper than what is quoted: the topic reads the laws of the best few, and an article that only
    # points elsewhere leaves room for the next.
    found = engine.consult(text, max(config.ANSWER_MAX_ARTICLES + 2, topics.WEIGHTS.law_vote_depth))
    return found, _faq_hits(found, engine)


def _quoted(found: Consultation) -> list[Hit]:
    return reply.choose_articles(found.hits, config.ANSWER_MAX_ARTICLES, config.ANSWER_SCORE_GAP)


def _confident(found: Consultation) -> bool:
    return bool(found.hits) and found.hits[0].score >= config.ANSWER_MIN_SCORE


def _faq_hits(found: Consultation, engine) -> list[Hit]:
    """The articles a closely matching, fully grounded FAQ answer cites; empty when none fits."""
    match = found.faq
    if not (match and match.entry.fully_grounded and match.similarity >= config.FAQ_MIN_SIMILARITY):
        return []
    cited = (engine.hit(article_id) for article_id in match.entry.cites)
    return [h for h in cited if h is not None][: config.ANSWER_MAX_ARTICLES]


async def _answer(
    dispatcher, tracker, found: Consultation, hits: list[Hit], outcome: str, topic: str
) -> list[EventType]:
    reply.send_answer(dispatcher, hits, topic, found.faq.entry.answer if outcome == "faq" else None)
    reasons = triage.complexity_reasons(latest_text(tracker))
    consultation_id = await _log(tracker, topic, hits, "referred" if reasons else outcome, found)
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


async def _refer_instead(dispatcher, tracker, found: Consultation, topic: str) -> list[EventType]:
    failed = (tracker.get_slot("failed_answers") or 0.0) + 1
    consultation_id = await _log(tracker, topic, [], "fallback", found)
    dispatcher.utter_message(response="utter_unsure_answer")
    if failed >= config.FAILED_ANSWERS_BEFORE_REFERRAL:  # going in circles: offer a person right now too
        dispatcher.utter_message(response="utter_offer_human")
    return [
        SlotSet("topic", records.topic_name(topic)),
        SlotSet("last_question", latest_text(tracker)),
        SlotSet("cited_articles", []),
        SlotSet("consultation_id", consultation_id),
        SlotSet("failed_answers", failed),
        SlotSet("referral_offered", True),
    ]


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
