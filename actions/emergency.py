"""``action_emergency``: danger now → 110 / 120 at once (12338 for domestic violence), operator alerted."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records
from actions import triage
from actions.reply import REFERRAL_BUTTONS
from actions.tracker_info import channel, latest_text, sender

logger = logging.getLogger(__name__)

EMERGENCY_TEXT = (
    "🚨 如果您或他人正面临危险，请马上拨打 110 报警；有人受伤请马上拨打 120 急救。"
    "先离开危险的地方，到安全的人多的地方去。"
)
DOMESTIC_TEXT = "遇到家庭暴力，还可以拨打妇女维权热线 12338；事后可以向法院申请人身安全保护令。"
SELF_HARM_TEXT = "如果您感到活不下去了，请马上告诉身边的人，或拨打 120；您不是一个人，我们愿意帮您。"
FOLLOW_UP_TEXT = "我已经通知值班工作人员优先处理。等您安全了，告诉我您在哪个村和联系电话，村法律顾问会尽快联系您。"


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await emergency_events(dispatcher, tracker)


async def emergency_events(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Send the emergency numbers first, then alert an operator and offer an urgent referral."""
    text = latest_text(tracker)
    dispatcher.utter_message(text=EMERGENCY_TEXT)
    if triage.is_domestic(text):
        dispatcher.utter_message(text=DOMESTIC_TEXT)
    if triage.is_self_harm(text):
        dispatcher.utter_message(text=SELF_HARM_TEXT)
    await _alert_operator(tracker, text)
    dispatcher.utter_message(text=FOLLOW_UP_TEXT, buttons=REFERRAL_BUTTONS)
    return [SlotSet("referral_urgent", True), SlotSet("referral_offered", True)]


async def _alert_operator(tracker: Tracker, text: str) -> None:
    """Queue the conversation for an operator and log it; failures are logged, never shown."""
    try:
        reason = f"紧急：{text[:200]}"
        await asyncio.to_thread(records.write, records.NewHandoff(sender(tracker), channel(tracker), reason))
        await asyncio.to_thread(records.write, records.NewConsultation(
            sender_id=sender(tracker), channel=channel(tracker), question=text, outcome="emergency",
        ))
    except Exception:  # noqa: BLE001
        logger.exception("could not record emergency")
