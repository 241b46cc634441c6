"""``action_handoff``: 转人工 — queue the conversation for a hotline operator and pause the bot."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType
from rasa_sdk.executor import CollectingDispatcher

import records
from actions import config
from actions.tracker_info import channel, latest_text, sender

logger = logging.getLogger(__name__)


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        position = await _enqueue(tracker)
        where = f"您前面还有 {position - 1} 位。" if position and position > 1 else ""
        dispatcher.utter_message(
            text=(
                f"好的，正在为您转接人工服务，请稍等。{where}"
                f"人工服务时间是{config.HOTLINE_HOURS}；不在这个时间的话，工作人员上班后会第一时间回复您，"
                "急事也可以直接拨打 12348 公共法律服务热线。遇到危险请马上拨打 110。"
            )
        )
        return [ConversationPaused()]


async def _enqueue(tracker: Tracker) -> int | None:
    try:
        new = records.NewHandoff(sender(tracker), channel(tracker), latest_text(tracker)[:200] or None)
        handoff = await asyncio.to_thread(records.write, new)
        return await asyncio.to_thread(records.queue_position, handoff.id)
    except Exception:  # noqa: BLE001 - the resident is still told what happens next
        logger.exception("could not queue handoff")
        return None
