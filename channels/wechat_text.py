"""The bot's messages as WeChat texts: buttons as numbered choices, long answers split in order.

WeChat shows no buttons in a text message, so a message's buttons become lines ``1. 同意`` and the
resident answers with the digit; ``choices`` lists the payloads in that order for the channel to keep.
A WeChat text carries at most ``MAX_TEXT_BYTES`` bytes of UTF-8. An answer is split only between
paragraphs (blank lines), and every quoted article is one paragraph (``actions/reply.py``), so a
citation is never cut; only a single paragraph longer than the limit is cut, at a sentence end.
Consecutive short messages share one text, so that a short exchange fits the passive reply.

The wording the channel sends on its own (the bot never sees an image, a location or an empty
message) lives in ``domain.yml`` like every resident-facing text: the responses named in
``CHANNEL_RESPONSES``, each with a ``channel: wechat`` variant where WeChat needs other words. The
channel reads them from the domain of the model Rasa has loaded (:func:`response_text`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_BYTES = 2000  # WeChat's documented limit is 2048 bytes; keep a margin
# What the channel says itself → the domain response that holds the words.
CHANNEL_RESPONSES = {
    "unsupported": "utter_wechat_unsupported_message",  # image, location, video, link, file …
    "voice_not_recognized": "utter_wechat_voice_not_recognized",
    "empty": "utter_wechat_empty_message",
    "choices_hint": "utter_wechat_choices_hint",  # under numbered choices
    "busy": "utter_service_busy",  # the message could not be handled (a failed action, a store down)
}
SENTENCE_ENDS = "。！？；\n"


@dataclass
class Outgoing:
    texts: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)  # button payloads, choice 1 first


def response_text(
    responses: Mapping[str, Sequence[Mapping[str, Any]]], name: str, channel: str = "wechat"
) -> str | None:
    """The text of the domain response ``name``: its ``channel`` variant, else its plain one."""
    variants = responses.get(name) or []
    for wanted in (channel, None):
        for variant in variants:
            if variant.get("channel") == wanted and variant.get("text"):
                return str(variant["text"])
    return None


def render(messages: list[dict[str, Any]], max_bytes: int = MAX_TEXT_BYTES, hint: str = "") -> Outgoing:
    """The collected bot messages (``CollectingOutputChannel.messages``) as WeChat texts.

    ``hint``: the line under numbered choices (``utter_wechat_choices_hint``)."""
    out = Outgoing()
    paragraphs: list[str] = []
    for message in messages:
        text = (message.get("text") or "").strip()
        if text:
            paragraphs.extend(p.strip() for p in text.split("\n\n") if p.strip())
        buttons = [b for b in message.get("buttons") or [] if b.get("payload")]
        if buttons:
            lines = []
            for button in buttons:
                out.choices.append(str(button["payload"]))
                lines.append(f"{len(out.choices)}. {button.get('title') or button['payload']}")
            paragraphs.append("\n".join(lines) + (f"\n{hint}" if hint else ""))
    out.texts = pack(paragraphs, max_bytes)
    return out


def pack(paragraphs: list[str], max_bytes: int) -> list[str]:
    """Join paragraphs into as few texts of at most ``max_bytes`` as possible, keeping the order."""
    texts: list[str] = []
    current = ""
    for paragraph in paragraphs:
        for piece in _cut(paragraph, max_bytes):
            joined = f"{current}\n\n{piece}" if current else piece
            if _size(joined) <= max_bytes:
                current = joined
            else:
                texts.append(current)
                current = piece
    if current:
        texts.append(current)
    return texts


def choice_payload(text: str, choices: list[str]) -> str | None:
    """The payload a resident picked by answering ``1``, ``２``, ``3.`` …; None if not a choice."""
    normalized = unicodedata.normalize("NFKC", text).strip().rstrip(".、")
    if not normalized.isdigit():
        return None
    index = int(normalized)
    return choices[index - 1] if 1 <= index <= len(choices) else None


def _cut(paragraph: str, max_bytes: int) -> list[str]:
    """A paragraph longer than the limit, cut after the last sentence end that fits."""
    pieces = []
    rest = paragraph
    while _size(rest) > max_bytes:
        head = rest.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")
        end = max(head.rfind(c) for c in SENTENCE_ENDS)
        cut = end + 1 if end > 0 else len(head)
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
