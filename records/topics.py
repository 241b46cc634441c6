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


def nlu_topics(parsed: dict) -> dict[str, float]:
    """The response selector's confidence for each topic of the ``legal_question`` retrieval intent, in
    a parsed message (the bot's tracker message or Rasa's ``/model/parse``); the topic itself is chosen
    with the laws of the articles found (``knowledge.topics.choose_topic``)."""
    selector = (parsed or {}).get("response_selector", {}).get("legal_question", {})
    ranking = selector.get("ranking") or [selector.get("response") or {}]
    found: dict[str, float] = {}
    for entry in ranking:
        key = (entry.get("intent_response_key") or "").removeprefix("legal_question/")
        if key in TOPICS:
            found[key] = max(found.get(key, 0.0), float(entry.get("confidence") or 0.0))
    return found


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
