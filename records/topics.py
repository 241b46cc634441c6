"""The topics of ``legal_question/<key>`` (docs/dialogue.md); records store the Chinese name."""

from __future__ import annotations

from records.errors import InvalidValue

TOPICS: dict[str, str] = {
    "marriage_family": "婚姻家庭",
    "labor": "劳动纠纷",
    "debt": "借贷/债务",
    "traffic": "交通事故",
    "land_housing": "土地/房屋",
    "neighbor": "邻里纠纷",
    "inheritance": "继承",
    "consumer": "消费权益",
    "personal_injury": "人身损害",
    "criminal": "刑事",
    "administrative": "行政",
    "other": "其他",
}
TOPIC_NAMES = frozenset(TOPICS.values())
MIN_TOPIC_CONFIDENCE = 0.4


def topic_key_of(parsed: dict) -> str:
    """The topic key Rasa's response selector gave a parsed message (the bot's tracker message or
    ``/model/parse``) for the ``legal_question`` retrieval intent, else ``other``."""
    selector = (parsed or {}).get("response_selector", {}).get("legal_question", {})
    response = selector.get("response", {})
    key = (response.get("intent_response_key") or "").removeprefix("legal_question/")
    if key in TOPICS and (response.get("confidence") or 0) >= MIN_TOPIC_CONFIDENCE:
        return key
    return "other"


def topic_name(topic: str | None) -> str | None:
    """The Chinese name for a topic name or dialogue key (``labor`` → 劳动纠纷); None stays None."""
    if topic is None:
        return None
    value = topic.strip()
    if value.startswith("legal_question/"):
        value = value.removeprefix("legal_question/")
    if value in TOPIC_NAMES:
        return value
    if value in TOPICS:
        return TOPICS[value]
    raise InvalidValue(f"unknown topic {topic!r}; expected one of {sorted(TOPIC_NAMES)}")
