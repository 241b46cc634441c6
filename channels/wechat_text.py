"""The bot's messages as WeChat texts: buttons as numbered choices, long answers split in order.

WeChat shows no buttons in a text message, so a message's buttons become lines ``1. 同意`` and the
resident answers with the digit; ``choices`` lists the payloads in that order for the channel to keep.
A WeChat text carries at most ``MAX_TEXT_BYTES`` bytes of UTF-8. An answer is split only between
paragraphs (blank lines), and every quoted article is one paragraph (``actions/reply.py``), so a
citation is never cut; only a single paragraph longer than the limit is cut, at a sentence end.
Consecutive short messages share one text, so that a short exchange fits the passive reply.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT_BYTES = 2000  # WeChat's documented limit is 2048 bytes; keep a margin
CHOICES_HINT = "（回复数字即可选择）"
SENTENCE_ENDS = "。！？；\n"


@dataclass
class Outgoing:
    texts: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)  # button payloads, choice 1 first


def render(messages: list[dict[str, Any]], max_bytes: int = MAX_TEXT_BYTES) -> Outgoing:
    """The collected bot messages (``CollectingOutputChannel.messages``) as WeChat texts."""
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
            paragraphs.append("\n".join(lines) + "\n" + CHOICES_HINT)
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
