"""``action_handoff``: 转人工 — queue the conversation for a hotline operator and tell the resident where they stand.

During ``HOTLINE_HOURS`` the conversation waits (slot ``handoff_waiting``): ``action_handoff_status``
answers each message with the queue position until an operator takes over or
``HANDOFF_TIMEOUT_MINUTES`` pass. Outside those hours the request is queued for the operators as a
call-back request, the resident is told so, and the bot carries on at once.

The operator console takes a conversation over through Rasa's HTTP API (it pauses it); the bot
never pauses a conversation itself, so a resident is never left without a reply.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records
from actions import config
from actions.answering import AnsweringAction
from actions.tracker_info import channel, latest_text, sender

logger = logging.getLogger(__name__)

CALL_BACK_NOTE = "非人工服务时间，请求回电"  # marks a request left outside hotline hours, for the operators


class ActionHandoff(AnsweringAction):
    def name(self) -> str:
        return "action_handoff"

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)[:200]
        hours = config.HOTLINE_HOURS.describe()
        if not config.HOTLINE_HOURS.is_open():
            await _enqueue(tracker, f"{CALL_BACK_NOTE}：{text}" if text else CALL_BACK_NOTE)
            dispatcher.utter_message(response="utter_handoff_closed_hours", hours=hours)
            return stop_waiting()
        handoff_id = await _enqueue(tracker, text or None)
        dispatcher.utter_message(response="utter_handoff_queued", hours=hours)
        await tell_position(dispatcher, handoff_id, config.HANDOFF_TIMEOUT_MINUTES)
        return [
            SlotSet("handoff_waiting", True),
            SlotSet("handoff_id", handoff_id),
            SlotSet("handoff_since", time.time()),
        ]


def stop_waiting() -> list[EventType]:
    """The bot answers again: clear the waiting slots."""
    return [SlotSet("handoff_waiting", False), SlotSet("handoff_id", None), SlotSet("handoff_since", None)]


async def tell_position(dispatcher: CollectingDispatcher, handoff_id: str | None, minutes_left: float) -> None:
    """Position in the queue and the longest wait before the bot resumes (position unknown: just the wait)."""
    minutes = max(1, math.ceil(minutes_left))
    position = await _position(handoff_id)
    if position is None:
        dispatcher.utter_message(response="utter_handoff_waiting", minutes=minutes)
    else:
        dispatcher.utter_message(response="utter_handoff_position", position=position, minutes=minutes)


async def _enqueue(tracker: Tracker, reason: str | None) -> str | None:
    """The queued handoff's id; None if neither the database nor the spool took it (logged)."""
    try:
        new = records.NewHandoff(sender(tracker), channel(tracker), reason)
        handoff = await asyncio.to_thread(records.write, new)
        return handoff.id
    except Exception:  # noqa: BLE001 - the resident is still told what happens next
        logger.exception("could not queue handoff")
        return None


async def _position(handoff_id: str | None) -> int | None:
    if handoff_id is None:
        return None
    try:
        return await asyncio.to_thread(records.queue_position, handoff_id)
    except Exception:  # noqa: BLE001 - spooled (not in the database yet) or the database is down
        logger.warning("queue position of handoff %s unknown", handoff_id, exc_info=True)
        return None
