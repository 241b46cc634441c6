"""``action_handoff_status``: a resident waiting for an operator (转人工) writes — say where they stand, or resume.

While ``handoff_waiting`` is set the rules send every message here except an emergency. The bot
resumes (and closes the handoff record) when ``HANDOFF_TIMEOUT_MINUTES`` have passed without an
operator; when the hotline hours end meanwhile it resumes at once and leaves the request queued as a
call-back request; when an operator closed the handoff it resumes too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

import records
from actions import config
from actions.answering import AnsweringAction
from actions.handoff import stop_waiting, tell_position
from actions.tracker_info import sender

logger = logging.getLogger(__name__)


class ActionHandoffStatus(AnsweringAction):
    def name(self) -> str:
        return "action_handoff_status"

    def failure_events(self, tracker: Tracker) -> list[EventType]:
        return stop_waiting()  # never leave a resident stuck in a queue the bot cannot read

    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        handoff_id = tracker.get_slot("handoff_id")
        status = await _status(sender(tracker), handoff_id)
        if status == "closed":  # an operator finished, or the request was withdrawn
            dispatcher.utter_message(response="utter_handoff_ended")
            return stop_waiting()
        if status == "taken":
            dispatcher.utter_message(response="utter_handoff_taken")
            return []
        if not config.HOTLINE_HOURS.is_open():
            dispatcher.utter_message(response="utter_handoff_closed_hours", hours=config.HOTLINE_HOURS.describe())
            return stop_waiting()  # the handoff stays queued: the operators call back when they start
        since = tracker.get_slot("handoff_since")
        waited = (time.time() - since) / 60 if since else config.HANDOFF_TIMEOUT_MINUTES
        if waited >= config.HANDOFF_TIMEOUT_MINUTES:
            await _close(handoff_id)
            dispatcher.utter_message(response="utter_handoff_timeout")
            return stop_waiting()
        await tell_position(dispatcher, handoff_id, config.HANDOFF_TIMEOUT_MINUTES - waited)
        return []


async def _status(sender_id: str, handoff_id: str | None) -> str | None:
    """waiting / taken / closed, or None when unknown (spooled, or the database is down)."""
    if not handoff_id:
        return None
    try:
        handoff = await asyncio.to_thread(records.open_handoff_for, sender_id)
        if handoff is not None and handoff.id == handoff_id:
            return handoff.status
        await asyncio.to_thread(records.queue_position, handoff_id)  # UnknownHandoff if not stored yet
        return "closed"
    except Exception:  # noqa: BLE001 - unknown: the timeout still applies
        logger.warning("status of handoff %s unknown", handoff_id, exc_info=True)
        return None


async def _close(handoff_id: str | None) -> None:
    """Take the resident out of the queue, so the positions behind them move up."""
    if not handoff_id:
        return
    try:
        await asyncio.to_thread(records.close_handoff, handoff_id)
    except Exception:  # noqa: BLE001 - a spooled handoff is closed by nobody; the operators see its age
        logger.warning("could not close handoff %s", handoff_id, exc_info=True)
