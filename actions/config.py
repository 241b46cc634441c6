"""Action server settings: environment variables with documented defaults.

| variable | default | meaning |
|---|---|---|
| ``ANSWER_MIN_SCORE`` | ``0.66`` | fused score of the best article below which the bot does not answer alone
  (calibrated by ``benchmarks/answer_threshold.py``) |
| ``FAQ_MIN_SIMILARITY`` | ``0.92`` | question similarity above which a curated FAQ answer is given
  (checked by ``benchmarks/answer_threshold.py``) |
| ``ANSWER_MAX_ARTICLES`` | ``3`` | articles quoted in one answer |
| ``FAILED_ANSWERS_BEFORE_REFERRAL`` | ``2`` | unconfident answers in a row after which 转人工 is offered too |
| ``HOTLINE_HOURS`` | ``工作日 8:30-12:00、14:00-17:30`` | when hotline operators take over chats |
| ``ACTIONS_PRELOAD`` | ``1`` | load the search engine when the action server starts |

The database (``LEGAL_DB_URL``) and the search engine (``KNOWLEDGE_*``) have their own settings in
``records.config`` and ``knowledge.config``.
"""

from __future__ import annotations

import os


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


ANSWER_MIN_SCORE = _float("ANSWER_MIN_SCORE", 0.66)
FAQ_MIN_SIMILARITY = _float("FAQ_MIN_SIMILARITY", 0.92)
ANSWER_MAX_ARTICLES = int(os.environ.get("ANSWER_MAX_ARTICLES", "3"))
FAILED_ANSWERS_BEFORE_REFERRAL = int(os.environ.get("FAILED_ANSWERS_BEFORE_REFERRAL", "2"))
HOTLINE_HOURS = os.environ.get("HOTLINE_HOURS", "工作日 8:30-12:00、14:00-17:30")
PRELOAD = os.environ.get("ACTIONS_PRELOAD", "1") not in ("0", "false", "no")

# Rasa input channel → the channel names kept in statistics.
CHANNELS = {"rest": "rest", "webchat": "web", "socketio": "web", "wechat": "wechat", "hotline": "hotline"}


def channel_of(input_channel: str | None) -> str:
    return CHANNELS.get(input_channel or "rest", "rest")
