"""What the actions read from a tracker: the text, topic, channel and the last answer."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.config import channel_of
from records import TOPICS as TOPIC_NAMES


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def nlu_topics(tracker: Tracker) -> dict[str, float]:
    """The response selector's confidence for each topic of the `legal_question` retrieval intent."""
    selector = (tracker.latest_message or {}).get("response_selector", {}).get("legal_question", {})
    ranking = selector.get("ranking") or [selector.get("response") or {}]
    found: dict[str, float] = {}
    for entry in ranking:
        key = (entry.get("intent_response_key") or "").removeprefix("legal_question/")
        if key in TOPIC_NAMES:
            found[key] = max(found.get(key, 0.0), float(entry.get("confidence") or 0.0))
    return found


def channel(tracker: Tracker) -> str:
    return channel_of(tracker.get_latest_input_channel())


def sender(tracker: Tracker) -> str:
    return tracker.sender_id or "anonymous"
