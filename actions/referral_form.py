"""``validate_referral_form`` and ``action_ask_referral_consent``: collect what the adviser needs."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

import records

SAME_AS_BEFORE = ("同上", "刚才", "上面", "前面说的", "就是这个")
MIN_DESCRIPTION_CHARS = 4
MAX_DESCRIPTION_CHARS = 2000


class ValidateReferralForm(FormValidationAction):
    def name(self) -> str:
        return "validate_referral_form"

    def validate_referral_village(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        match = records.match_village(str(value or ""))
        if match is None:
            dispatcher.utter_message(text="没有找到这个村。请告诉我乡镇和村的名字，比如“城关镇石桥村”。")
            return {"referral_village": None}
        if match.alternatives:
            options = "、".join(v.label for v in match.candidates[:4])
            dispatcher.utter_message(text=f"您说的是哪一个：{options}？请回复完整的名字。")
            return {"referral_village": None}
        return {"referral_village": match.village.label}

    def validate_referral_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            return {"referral_phone": records.normalize_phone(str(value or ""))}
        except records.InvalidPhone:
            dispatcher.utter_message(
                text="这个号码好像不对。请输入11位手机号，或者带区号的座机号，比如 0571-12345678。"
            )
            return {"referral_phone": None}

    def validate_referral_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        earlier = tracker.get_slot("last_question")
        if earlier and (not text or any(word in text for word in SAME_AS_BEFORE)):
            text = earlier
        if len(text) < MIN_DESCRIPTION_CHARS:
            dispatcher.utter_message(text="请再多说几句您遇到的事情，方便法律顾问提前了解。")
            return {"referral_description": None}
        return {"referral_description": text[:MAX_DESCRIPTION_CHARS]}


class ActionAskReferralConsent(Action):
    """Shows exactly what will be sent before asking for consent."""

    def name(self) -> str:
        return "action_ask_referral_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=(
                "我将把以下信息发给您村的法律顾问：\n"
                f"村：{tracker.get_slot('referral_village')}\n"
                f"电话：{tracker.get_slot('referral_phone')}\n"
                f"情况：{tracker.get_slot('referral_description')}\n"
                "这些信息只给负责您村的法律顾问看，用于联系您。您同意吗？"
            ),
            buttons=[
                {"title": "同意", "payload": "/affirm"},
                {"title": "不同意", "payload": "/deny"},
            ],
        )
        return []
