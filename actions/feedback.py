"""``action_record_feedback``: 有帮助 / 没帮助 for the last answer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records
from actions.answering import AnsweringAction

logger = logging.getLogger(__name__)


class ActionRecordFeedback(AnsweringAction):
    def name(self) -> str:
        return "action_record_feedback"

    def failure_events(self, tracker: Tracker) -> list[EventType]:
        return [SlotSet("helpful", None), SlotSet("referral_offered", False)]

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        helpful = _helpful(tracker)
        consultation_id = tracker.get_slot("consultation_id")
        if helpful is None or not consultation_id:
            dispatcher.utter_message(response="utter_feedback_thanks")
            return [SlotSet("referral_offered", False)]
        await _store(consultation_id, helpful)
        if helpful:
            dispatcher.utter_message(response="utter_feedback_glad")
            return [SlotSet("helpful", None), SlotSet("referral_offered", False)]
        dispatcher.utter_message(response="utter_feedback_sorry")
        return [SlotSet("helpful", None), SlotSet("referral_offered", True)]


def _helpful(tracker: Tracker) -> bool | None:
    value = tracker.get_slot("helpful") or next(tracker.get_latest_entity_values("helpful"), None)
    try:
        return records.parse_helpful(value) if value is not None else None
    except records.RecordError:
        return None


async def _store(consultation_id: str, helpful: bool) -> None:
    try:
        await asyncio.to_thread(records.write, records.NewFeedback(consultation_id, helpful))
    except Exception:  # noqa: BLE001
        logger.exception("could not store feedback")
