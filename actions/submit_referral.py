"""``action_submit_referral``: store the referral for the village's adviser (or, if it has none, its
township's 司法所), or drop it without consent."""

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

FORM_SLOTS = ("referral_village", "referral_phone", "referral_description", "referral_consent")


class ActionSubmitReferral(AnsweringAction):
    def name(self) -> str:
        return "action_submit_referral"

    def failure_events(self, tracker: Tracker) -> list[EventType]:
        return _reset()

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        urgent = bool(tracker.get_slot("referral_urgent"))
        if not tracker.get_slot("referral_consent"):  # an explicit no is respected, urgent or not
            dispatcher.utter_message(response="utter_referral_not_sent")
            return _reset()
        try:
            referral = await asyncio.to_thread(_create, tracker, urgent)
        except Exception as exc:  # noqa: BLE001 - invalid, or neither the database nor the spool took it
            logger.warning("referral not stored: %r", exc, exc_info=not isinstance(exc, records.RecordError))
            dispatcher.utter_message(response="utter_referral_failed")
            return _reset()
        response = "utter_referral_sent_urgent" if urgent else "utter_referral_sent"
        if referral.township is not None:  # the village has no adviser: its township's 司法所 holds it
            response += "_township"
        dispatcher.utter_message(
            response=response,
            village=referral.village,
            adviser=referral.adviser_name or "",
            township=referral.township or "",
            reference=referral.id[:8],
        )
        return _reset()


def _reset() -> list[EventType]:
    """Clear the form for the next time; no referral is on offer any more."""
    return [SlotSet(slot, None) for slot in FORM_SLOTS] + [
        SlotSet("referral_offered", False),
        SlotSet("referral_urgent", False),
    ]


def _create(tracker: Tracker, urgent: bool) -> records.ReferralReceipt:
    return records.write(records.NewReferral(
        village=tracker.get_slot("referral_village"),
        contact_phone=tracker.get_slot("referral_phone"),
        description=tracker.get_slot("referral_description"),
        consent=bool(tracker.get_slot("referral_consent")),
        topic=tracker.get_slot("topic"),
        urgent=urgent,
        consultation_id=tracker.get_slot("consultation_id"),
        sender_id=tracker.sender_id,  # kept as its keyed hash: staff find the conversation by it
    ))
