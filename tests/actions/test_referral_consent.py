"""Referral consent comes only from the consent buttons or a plain yes / no word (docs/dialogue.md).

The tracker is the one recorded at the consent question, plus the resident's reply and the slot
value Rasa's ``from_intent`` mapping read from it; ``validate_referral_form`` runs as Rasa calls it.
"""

from __future__ import annotations

import copy
import json

import pytest
from action_helpers import TRACKERS, run
from rasa_sdk import Tracker

from actions.referral_form import ValidateReferralForm, plain_consent


def consent_reply(text: str, intent: str) -> Tracker:
    state = json.loads((TRACKERS / "referral_before_consent.json").read_text(encoding="utf-8"))
    parse = {**copy.deepcopy(state["latest_message"]), "text": text, "intent": {"name": intent, "confidence": 0.9}}
    state["events"] += [
        {"event": "user", "text": text, "parse_data": parse},
        {"event": "slot", "name": "referral_consent", "value": intent == "affirm"},
    ]
    state["latest_message"] = parse
    state["slots"]["referral_consent"] = intent == "affirm"
    return Tracker.from_dict(state)


@pytest.mark.parametrize(("text", "intent", "value"), [
    ("/affirm", "affirm", True), ("/deny", "deny", False), ("同意", "affirm", True), ("好的！", "affirm", True),
    ("可以啊", "affirm", True), ("不同意", "deny", False), ("不用了。", "deny", False),
])
def test_buttons_and_plain_words_set_consent(text, intent, value):
    messages, events = run(ValidateReferralForm(), consent_reply(text, intent))
    assert messages == []
    assert [(e["name"], e["value"]) for e in events if e["event"] == "slot"] == [("referral_consent", value)]


@pytest.mark.parametrize(("text", "intent"), [
    ("行吧我考虑下", "affirm"),
    ("是这样的，包工头说过年前一定给钱，我想再等等看他给不给", "affirm"),
    ("啥意思", "affirm"),
    ("不是，我想先问问别的", "deny"),
])
def test_anything_else_labelled_affirm_or_deny_asks_again(text, intent):
    messages, events = run(ValidateReferralForm(), consent_reply(text, intent))
    assert [m["response"] for m in messages] == ["utter_consent_unclear"]
    assert [(e["name"], e["value"]) for e in events if e["event"] == "slot"] == [("referral_consent", None)]


def test_plain_consent_words():
    assert plain_consent("  ＯＫ ") is True and plain_consent("嗯") is True and plain_consent("是的呀") is True
    assert plain_consent("算了") is False and plain_consent("别发") is False
    assert plain_consent("同意吗") is None and plain_consent("") is None and plain_consent("/affirm extra") is None
