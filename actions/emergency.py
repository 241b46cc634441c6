"""``action_emergency``: danger now → the right numbers first (119 / 120 / 110 / 122 / 12338 / 12356).

One short first message starts with the numbers for every kind of danger found, then a line per
kind; the second gives brief safety advice per kind; then the operator is alerted and an urgent
referral offered. The kinds come from the ``emergency_kind`` entities set by the NLU component
(``rasa_components.emergency``), else from the same rules (``safety``) run here on the text, else
110 / 120 for a danger the classifier recognised but the rules do not name. Wording: the
``utter_emergency_*`` responses in domain.yml.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import records
import safety
from actions.reply import REFERRAL_BUTTONS
from actions.tracker_info import channel, latest_text, sender
from safety.emergency import UNSPECIFIED

logger = logging.getLogger(__name__)

KIND_ENTITY = "emergency_kind"
DOMAIN_FILE = Path(__file__).resolve().parents[1] / "domain.yml"


class ActionEmergency(Action):
    def name(self) -> str:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return await emergency_events(dispatcher, tracker, domain)


def emergency_kinds(tracker: Tracker) -> tuple[str, ...]:
    """The kinds of danger in the latest message: NLU entities, else the rules, else unspecified."""
    message = tracker.latest_message or {}
    found = {e.get("value") for e in message.get("entities") or [] if e.get("entity") == KIND_ENTITY}
    kinds = tuple(k for k in safety.KINDS if k in found)
    return kinds or safety.detect(latest_text(tracker)).kinds or (UNSPECIFIED,)


def emergency_messages(kinds: tuple[str, ...], responses: dict[str, Any]) -> tuple[str, str, str]:
    """The call message (numbers first, then one line per kind), the safety advice and the follow-up."""

    def text(name: str) -> str:
        variants = responses.get(name) or [{}]
        return variants[0].get("text") or ""

    numbers = "、".join(safety.numbers_for(kinds))
    header = text("utter_emergency_call").replace("{numbers}", numbers) or f"🚨 {numbers}"
    call = "\n".join([header, *filter(None, (text(f"utter_emergency_call_{k}") for k in kinds))])
    advice = "\n".join(filter(None, (text(f"utter_emergency_advice_{k}") for k in kinds)))
    return call, advice, text("utter_emergency_follow_up")


@functools.cache
def _file_responses() -> dict[str, Any]:
    """The responses of domain.yml, for callers that have no domain at hand."""
    return yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8")).get("responses", {})


async def emergency_events(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any] | None = None
) -> list[EventType]:
    """Send the emergency numbers first, then advice, alert an operator and offer an urgent referral."""
    text = latest_text(tracker)
    kinds = emergency_kinds(tracker)
    responses = (domain or {}).get("responses") or _file_responses()
    call, advice, follow_up = emergency_messages(kinds, responses)
    dispatcher.utter_message(text=call)
    if advice:
        dispatcher.utter_message(text=advice)
    await _alert_operator(tracker, text, kinds)
    dispatcher.utter_message(text=follow_up, buttons=REFERRAL_BUTTONS)
    return [SlotSet("referral_urgent", True), SlotSet("referral_offered", True)]


async def _alert_operator(tracker: Tracker, text: str, kinds: tuple[str, ...]) -> None:
    """Queue the conversation for an operator and log it; failures are logged, never shown."""
    try:
        reason = f"紧急（{'、'.join(safety.KIND_NAMES[k] for k in kinds)}）：{text[:200]}"
        alert = records.NewHandoff(sender(tracker), channel(tracker), reason, kind="emergency")
        await asyncio.to_thread(records.write, alert)
        await asyncio.to_thread(records.write, records.NewConsultation(
            sender_id=sender(tracker), channel=channel(tracker), question=text, outcome="emergency",
        ))
    except Exception:  # noqa: BLE001
        logger.exception("could not record emergency")
