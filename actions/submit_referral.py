"""``action_submit_referral``: store the referral for the village's adviser, or drop it without consent."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records

logger = logging.getLogger(__name__)

FORM_SLOTS = ("referral_village", "referral_phone", "referral_description", "referral_consent")


class ActionSubmitReferral(Action):
    def name(self) -> str:
        return "action_submit_referral"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS] + [
            SlotSet("referral_offered", False),
            SlotSet("referral_urgent", False),
        ]
        urgent = bool(tracker.get_slot("referral_urgent"))
        if not tracker.get_slot("referral_consent"):  # an explicit no is respected, urgent or not
            dispatcher.utter_message(
                text="好的，信息不会发送。您也可以随时拨打12348，或者直接去村委会找法律顾问。"
            )
            return reset
        try:
            referral = await asyncio.to_thread(_create, tracker, urgent)
        except records.RecordError as exc:
            logger.warning("referral rejected: %s", exc)
            dispatcher.utter_message(text="抱歉，信息没能提交成功。请拨打12348，工作人员会帮您登记。")
            return reset
        adviser = f"的法律顾问{referral.adviser_name}" if referral.adviser_name else "的法律顾问"
        dispatcher.utter_message(
            text=(
                f"已经转给{referral.village}{adviser}，"
                f"{'会尽快' if urgent else '一般会在2个工作日内'}打电话联系您。"
                f"登记编号：{referral.id[:8]}。有急事请拨打12348。"
            )
        )
        return reset


def _create(tracker: Tracker, urgent: bool) -> records.ReferralReceipt:
    return records.write(records.NewReferral(
        village=tracker.get_slot("referral_village"),
        contact_phone=tracker.get_slot("referral_phone"),
        description=tracker.get_slot("referral_description"),
        consent=bool(tracker.get_slot("referral_consent")),
        topic=tracker.get_slot("topic"),
        urgent=urgent,
        consultation_id=tracker.get_slot("consultation_id"),
    ))
