"""What the actions read from a tracker: the text, topic, channel and the last answer."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.config import channel_of
from records import TOPICS as TOPIC_NAMES

MIN_TOPIC_CONFIDENCE = 0.4


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def topic_key(tracker: Tracker) -> str:
    """The topic the response selector gave the `legal_question` retrieval intent, else 'other'."""
    selector = (tracker.latest_message or {}).get("response_selector", {}).get("legal_question", {})
    response = selector.get("response", {})
    key = (response.get("intent_response_key") or "").removeprefix("legal_question/")
    if key in TOPIC_NAMES and (response.get("confidence") or 0) >= MIN_TOPIC_CONFIDENCE:
        return key
    return "other"


def channel(tracker: Tracker) -> str:
    return channel_of(tracker.get_latest_input_channel())


def sender(tracker: Tracker) -> str:
    return tracker.sender_id or "anonymous"
