"""Resident-facing sentences the channels send themselves, read from ``domain.yml`` responses.

Some answers are given before or instead of the dialogue (too many messages, the message could not
be handled); their wording still lives in ``domain.yml`` with the rest (``utter_rate_limited``,
``utter_service_busy``), read from the file so that no retraining is needed to change it.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)

DOMAIN_FILE = Path(__file__).resolve().parents[1] / "domain.yml"
# Used only if domain.yml cannot be read (the server would not have started without it).
FALLBACK_TEXT = "请稍后再试。急事请拨打12348公共法律服务热线。"


@cache
def domain_text(response: str, channel: str = "") -> str:
    """The text of ``response`` (its ``channel`` variant when there is one)."""
    try:
        import yaml  # both environments ship PyYAML

        variants = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["responses"][response]
    except (OSError, KeyError, TypeError, ValueError) as error:
        logger.warning("%s not readable from domain.yml (%s)", response, error)
        return FALLBACK_TEXT
    default = next((v["text"] for v in variants if not v.get("channel")), FALLBACK_TEXT)
    return next((v["text"] for v in variants if channel and v.get("channel") == channel), default)
