"""The input checks every webhook of ours applies before Rasa sees a message (``parse_request``).

A message Rasa accepts is written to the tracker store: the sender id goes into an SQL column or a
Redis key as it is, the text and metadata into the stored events. Text that UTF-8 cannot encode
(a lone surrogate such as ``"\\ud800"``, which JSON allows) or that a database refuses (NUL) made
the tracker store fail, so it is refused here with a 400 before anything is stored. The checks are
plain Python (no Rasa import) so that the unit tests can run them in the app environment.

| field | rule |
|---|---|
| body | at most ``MAX_BODY_BYTES``; UTF-8 JSON object; no ``NaN``/``Infinity`` |
| ``sender`` | string, 1–``MAX_SENDER_CHARS`` printable characters, not blank (the web chat: optional) |
| ``message`` | string, not blank, at most ``MAX_MESSAGE_CHARS``, storable text; stripped |
| ``metadata`` | absent, ``null`` or an object: storable keys and strings, nested at most |
| | ``MAX_METADATA_DEPTH`` deep, at most ``MAX_METADATA_BYTES`` as JSON |

Other fields (e.g. Rasa's ``input_channel``) are ignored: each channel records its own name.
Rate limits per client address and per sender come next to these checks (:mod:`channels.ratelimit`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_BODY_BYTES = 64 * 1024  # a 5,000-character message fits even when every character is \u-escaped
MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 128
MAX_METADATA_BYTES = 4096  # metadata is stored with every message of the conversation
MAX_METADATA_DEPTH = 4


class BadRequest(ValueError):
    """Input a webhook refuses; ``code`` is machine-readable, the message explains it."""

    def __init__(self, code: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status


class BodyTooLarge(BadRequest):
    def __init__(self) -> None:
        super().__init__("body_too_large", f"request body must be at most {MAX_BODY_BYTES} bytes", 413)


@dataclass(frozen=True)
class IncomingMessage:
    sender: str
    text: str
    metadata: dict[str, Any] | None


def parse_request(body: bytes, *, sender_optional: bool = False) -> IncomingMessage:
    """Validate a webhook body: a JSON object with a sender, a message and optional metadata.

    ``sender_optional``: a missing ``sender`` is ``""`` (the web chat knows its sender from a cookie).
    """
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        # ValueError covers bad UTF-8, bad JSON, NaN/Infinity and integers too long to convert.
        raise BadRequest("invalid_json", "request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("invalid_json", "request body must be a JSON object")
    return IncomingMessage(
        sender="" if sender_optional and data.get("sender") is None else _sender(data.get("sender")),
        text=_text(data.get("message")),
        metadata=_metadata(data.get("metadata")),
    )


def is_storable(text: str) -> bool:
    """Whether every store can keep ``text``: encodable as UTF-8 and free of NUL."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _sender(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("invalid_sender", "'sender' must be a non-empty string")
    if len(value) > MAX_SENDER_CHARS:
        raise BadRequest("invalid_sender", f"'sender' must have at most {MAX_SENDER_CHARS} chars")
    # isprintable() is False for control characters (NUL included), lone surrogates, line and
    # paragraph separators and format characters: nothing an id needs, all trouble in a key.
    if not value.isprintable():
        raise BadRequest("invalid_sender", "'sender' must be printable text")
    return value


def _text(value: Any) -> str:
    if value is None:
        raise BadRequest("missing_message", "'message' is required")
    if not isinstance(value, str):
        raise BadRequest("invalid_message", "'message' must be a string")
    if not value.strip():
        raise BadRequest("empty_message", "'message' must not be empty")
    if len(value) > MAX_MESSAGE_CHARS:
        raise BadRequest("message_too_long", f"'message' must be at most {MAX_MESSAGE_CHARS} characters")
    if not is_storable(value):
        raise BadRequest("invalid_message", "'message' must be text (no NUL, no lone surrogates)")
    return value.strip()


def _metadata(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("invalid_metadata", "'metadata' must be a JSON object")
    _check_metadata_value(value, depth=1)
    if len(json.dumps(value, ensure_ascii=False).encode("utf-8")) > MAX_METADATA_BYTES:
        raise BadRequest("invalid_metadata", f"'metadata' must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return value


def _check_metadata_value(value: Any, depth: int) -> None:
    if isinstance(value, str):
        if not is_storable(value):
            raise BadRequest("invalid_metadata", "'metadata' strings must be text (no NUL, no lone surrogates)")
        return
    if not isinstance(value, dict | list):
        return  # numbers, booleans and null are stored as JSON as they are
    if depth > MAX_METADATA_DEPTH:
        raise BadRequest("invalid_metadata", f"'metadata' must be nested at most {MAX_METADATA_DEPTH} deep")
    pairs = value.items() if isinstance(value, dict) else (("", item) for item in value)
    for key, item in pairs:
        _check_metadata_value(key, depth)
        _check_metadata_value(item, depth + 1)
