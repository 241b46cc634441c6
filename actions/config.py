"""Action server settings: environment variables with documented defaults.

| variable | default | meaning |
|---|---|---|
| ``FAILED_ANSWERS_BEFORE_REFERRAL`` | ``2`` | unconfident answers in a row after which 转人工 is offered too |
| ``HOTLINE_HOURS`` | ``mon-fri 08:30-12:00,14:00-17:30`` | when hotline operators take over chats, China
  time (Asia/Shanghai); format below |
| ``HANDOFF_TIMEOUT_MINUTES`` | ``10`` | minutes a resident waits for an operator (转人工) before the bot
  resumes |
| ``ACTIONS_PRELOAD`` | ``1`` | load the search engine when the action server starts |
| ``ANSWER_LLM_URL`` | empty (off) | base URL of the county's own OpenAI-compatible model server (e.g.
  ``http://127.0.0.1:8000/v1``; ``POST {url}/chat/completions``): answers from the search get a short
  plain-language draft above the verbatim articles when it passes the guard (``knowledge.drafting``) |
| ``ANSWER_LLM_MODEL`` | empty | the ``model`` of the request (needed by Ollama and by servers with several
  models; left out when empty) |
| ``ANSWER_LLM_KEY`` | empty | sent as ``Authorization: Bearer …`` when set; only ever from the environment |
| ``ANSWER_LLM_TIMEOUT`` | ``6`` | seconds the resident may wait for a draft; after that the plain answer goes out |
| ``ANSWER_LLM_MAX_CHARS`` | ``400`` | a longer draft is dropped |

``HOTLINE_HOURS`` is one or more ``DAYS TIMES`` groups separated by ``;``. ``DAYS`` is a day
(``mon`` … ``sun``), a range (``mon-fri``) or a comma list of them (``mon,wed,sat``); ``TIMES`` is a
comma list of ``HH:MM-HH:MM`` spans (end exclusive, ``24:00`` allowed), e.g.
``mon-fri 08:30-12:00,14:00-17:30; sat 09:00-12:00``. Public holidays are not known to it.
A malformed value stops the action server at start with a message saying what is wrong.

The database (``LEGAL_DB_URL``) and the search engine (``KNOWLEDGE_*``) have their own settings in
``records.config`` and ``knowledge.config``; when the bot answers alone (``ANSWER_MIN_SCORE``,
``FAQ_MIN_SIMILARITY``, ``ANSWER_MAX_ARTICLES``, ``ANSWER_SCORE_GAP``) is set in
``knowledge.answers``, which the operators' agent assist shares.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

# Asia/Shanghai has had no daylight saving time since 1991: a fixed offset needs no tz database.
CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class HotlineHours:
    """Weekly opening hours: for each weekday (0 = Monday) the open spans in minutes since midnight."""

    spans: tuple[tuple[tuple[int, int], ...], ...]

    def is_open(self, at: datetime | None = None) -> bool:
        local = (at or datetime.now(CHINA_TIME)).astimezone(CHINA_TIME)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.spans[local.weekday()])

    def describe(self) -> str:
        """The hours as residents read them: 周一至周五 8:30-12:00、14:00-17:30."""
        groups: list[tuple[list[int], tuple[tuple[int, int], ...]]] = []
        for day, spans in enumerate(self.spans):
            if not spans:
                continue
            if groups and groups[-1][1] == spans and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], spans))
        if not groups:
            return "暂无人工服务"
        return "；".join(f"{_days_text(days)} {'、'.join(_span_text(s) for s in spans)}" for days, spans in groups)


def parse_hotline_hours(value: str) -> HotlineHours:
    """Parse the ``HOTLINE_HOURS`` format (see the module docstring); ValueError says what is wrong."""
    week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for group in filter(None, (g.strip() for g in value.split(";"))):
        days_part, _, times_part = group.partition(" ")
        if not times_part.strip():
            raise ValueError(f"HOTLINE_HOURS: {group!r} needs days and times, e.g. 'mon-fri 08:30-12:00'")
        spans = [_parse_span(s.strip(), group) for s in times_part.split(",") if s.strip()]
        for day in _parse_days(days_part.strip().lower(), group):
            week[day].extend(spans)
    return HotlineHours(tuple(tuple(sorted(spans)) for spans in week))


def _parse_days(text: str, group: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"HOTLINE_HOURS: unknown day in {group!r} (use {', '.join(DAYS)})")
        start, end = DAYS.index(first), DAYS.index(last or first)
        if end < start:
            raise ValueError(f"HOTLINE_HOURS: day range {part!r} runs backwards")
        days.extend(range(start, end + 1))
    return days


def _parse_span(text: str, group: str) -> tuple[int, int]:
    match = _SPAN.match(text)
    if not match:
        raise ValueError(f"HOTLINE_HOURS: {text!r} in {group!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or not 0 <= start < end <= 24 * 60:
        raise ValueError(f"HOTLINE_HOURS: {text!r} in {group!r} is not a span within one day")
    return start, end


def _days_text(days: list[int]) -> str:
    if len(days) == 1:
        return DAY_NAMES[days[0]]
    return f"{DAY_NAMES[days[0]]}至{DAY_NAMES[days[-1]]}"


def _span_text(span: tuple[int, int]) -> str:
    (start, end) = span
    return f"{start // 60}:{start % 60:02d}-{end // 60}:{end % 60:02d}"


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


FAILED_ANSWERS_BEFORE_REFERRAL = int(os.environ.get("FAILED_ANSWERS_BEFORE_REFERRAL", "2"))
HOTLINE_HOURS = parse_hotline_hours(os.environ.get("HOTLINE_HOURS", "mon-fri 08:30-12:00,14:00-17:30"))
HANDOFF_TIMEOUT_MINUTES = _float("HANDOFF_TIMEOUT_MINUTES", 10)
PRELOAD = os.environ.get("ACTIONS_PRELOAD", "1") not in ("0", "false", "no")
ANSWER_LLM_URL = os.environ.get("ANSWER_LLM_URL", "").strip().rstrip("/")
ANSWER_LLM_MODEL = os.environ.get("ANSWER_LLM_MODEL", "").strip()
ANSWER_LLM_KEY = os.environ.get("ANSWER_LLM_KEY", "").strip()
ANSWER_LLM_TIMEOUT = _float("ANSWER_LLM_TIMEOUT", 6)
ANSWER_LLM_MAX_CHARS = int(os.environ.get("ANSWER_LLM_MAX_CHARS", "400"))

# Rasa input channel → the channel names kept in statistics.
CHANNELS = {"rest": "rest", "webchat": "web", "socketio": "web", "wechat": "wechat", "hotline": "hotline"}


def channel_of(input_channel: str | None) -> str:
    return CHANNELS.get(input_channel or "rest", "rest")
