"""``validate_referral_form``: check what the adviser needs — village, phone, description, consent.

The form asks for consent with the domain response ``utter_ask_referral_consent``, which shows the
collected slots, so the resident sees exactly what will be sent.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

import records
from actions.tracker_info import latest_text

logger = logging.getLogger(__name__)

SAME_AS_BEFORE = ("同上", "刚才", "上面", "前面说的", "就是这个")
MIN_DESCRIPTION_CHARS = 4
MAX_DESCRIPTION_CHARS = 2000

# Consent counts only from the buttons (payload /affirm, /deny) or one of these plain words: NLU also
# labels "行吧我考虑下" or a long story as affirm, and that must not send anyone's phone number.
CONSENT_BUTTONS = {"/affirm": True, "/deny": False}
PLAIN_YES = frozenset("同意 我同意 同意发送 可以发送 是 是的 对 对的 好 好的 可以 行 愿意 没问题 嗯 ok yes".split())
PLAIN_NO = frozenset("不同意 我不同意 不 不是 不行 不好 不可以 不要 不用 不用了 不愿意 别发 否 算了 no".split())
_NOISE = re.compile(r"[\s\W_]+")
_PARTICLES = "啊呀哈啦嘛呢"


def plain_consent(text: str) -> bool | None:
    """True / False for a consent button or a plain yes / no word; None for anything else."""
    text = unicodedata.normalize("NFKC", text or "").strip().lower()
    if text in CONSENT_BUTTONS:
        return CONSENT_BUTTONS[text]
    word = _NOISE.sub("", text).rstrip(_PARTICLES)
    if word in PLAIN_YES:
        return True
    if word in PLAIN_NO:
        return False
    return None


class ValidateReferralForm(FormValidationAction):
    def name(self) -> str:
        return "validate_referral_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return await super().run(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - the resident still gets an answer, and the form asks again
            logger.exception("validating the referral form failed")
            dispatcher.utter_message(response="utter_technical_problem")
            requested = tracker.get_slot("requested_slot")
            return [SlotSet(requested, None)] if requested else []

    def validate_referral_village(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        match = records.match_village(str(value or ""))
        if match is None:
            dispatcher.utter_message(response="utter_village_not_found")
            return {"referral_village": None}
        if match.alternatives:
            options = "、".join(v.label for v in match.candidates[:4])
            dispatcher.utter_message(response="utter_village_which", options=options)
            return {"referral_village": None}
        return {"referral_village": match.village.label}

    def validate_referral_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        try:
            return {"referral_phone": records.normalize_phone(str(value or ""))}
        except records.InvalidPhone:
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"referral_phone": None}

    def validate_referral_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        earlier = tracker.get_slot("last_question")
        if earlier and (not text or any(word in text for word in SAME_AS_BEFORE)):
            text = earlier
        if len(text) < MIN_DESCRIPTION_CHARS:
            dispatcher.utter_message(response="utter_description_too_short")
            return {"referral_description": None}
        return {"referral_description": text[:MAX_DESCRIPTION_CHARS]}

    def validate_referral_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the affirm / deny the slot mapping read only when the reply was a button or a plain word."""
        said = plain_consent(latest_text(tracker))
        if said is None or said != bool(value):
            dispatcher.utter_message(response="utter_consent_unclear")
            return {"referral_consent": None}
        return {"referral_consent": said}
