"""What the actions read from a tracker: the text, topic, channel and the last answer."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.config import channel_of
from records.topics import nlu_topics as parsed_topics


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def nlu_topics(tracker: Tracker) -> dict[str, float]:
    """The response selector's confidence for each topic of the `legal_question` retrieval intent."""
    return parsed_topics(tracker.latest_message or {})


def channel(tracker: Tracker) -> str:
    return channel_of(tracker.get_latest_input_channel())


def sender(tracker: Tracker) -> str:
    return tracker.sender_id or "anonymous"
