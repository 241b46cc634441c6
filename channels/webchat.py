"""The resident's web chat: the chat page and a REST-style webhook under ``/webhooks/webchat/``.

Register it in ``credentials.yml`` as ``channels.webchat.WebChatInput:`` and start Rasa from the
repo root with the repo root on ``PYTHONPATH``.

| route | does |
|---|---|
| ``GET /webhooks/webchat/`` | the chat page (``static/webchat.html``) |
| ``GET /webhooks/webchat/static/<name>`` | the page's script and style sheet |
| ``GET /webhooks/webchat/health`` | ``{"status": "ok"}`` |
| ``POST /webhooks/webchat/webhook`` | as the REST channel: ``{"sender", "message", "metadata"}`` |
| | in, the bot's messages (``[{"recipient_id", "text", "buttons", ...}]``) out |

Unlike the REST channel the webhook answers bad input with a 400 JSON error, requires a sender id
(a shared default conversation would mix residents' chats) and always records the channel as
``webchat`` (clients cannot pick another ``input_channel``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 128
MAX_BODY_BYTES = 64 * 1024  # a 5,000-character message fits even when every character is \u-escaped

ASSET_TYPES = {
    "webchat.js": "application/javascript; charset=utf-8",
    "webchat.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class BadRequest(ValueError):
    """Input the webhook rejects; ``code`` is machine-readable, the message explains it."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class IncomingMessage:
    sender: str
    text: str
    metadata: dict[str, Any] | None


class WebChatInput(RestInput):
    """The REST channel plus the chat page, with strict input checks."""

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint(f"webchat_{id(self)}", __name__)
        page = _read_static("webchat.html")
        assets = {name: _read_static(name) for name in ASSET_TYPES if (STATIC_DIR / name).exists()}

        @bp.route("", methods=["GET"], strict_slashes=True)
        async def page_without_slash(request: Request) -> HTTPResponse:
            # The page loads its assets and posts to relative URLs, so it must end with a slash.
            # A relative Location keeps working behind a reverse proxy that adds a path prefix.
            return response.redirect(request.path.rsplit("/", 1)[-1] + "/", status=301)

        @bp.route("/", methods=["GET"], strict_slashes=True)
        async def chat_page(request: Request) -> HTTPResponse:
            return _static_response(page, "text/html; charset=utf-8")

        @bp.route("/static/<name>", methods=["GET"])
        async def asset(request: Request, name: str) -> HTTPResponse:
            if name not in assets:
                return _error(404, "not_found", f"no asset named {name!r}")
            return _static_response(assets[name], ASSET_TYPES[name])

        @bp.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                incoming = parse_request(request.body)
            except BadRequest as e:
                return _error(400, e.code, str(e))
            if bool_arg(request, "stream", default=False):
                stream = self.stream_response(
                    on_new_message, incoming.text, incoming.sender, self.name(), incoming.metadata
                )
                return response.stream(stream, content_type="text/event-stream")
            return response.json(await self._collect_replies(on_new_message, incoming))

        return bp

    async def _collect_replies(
        self, on_new_message: OnNewMessage, incoming: IncomingMessage
    ) -> list[dict[str, Any]]:
        """The bot's messages; like the REST channel, a failing bot yields what was sent so far."""
        collector = CollectingOutputChannel()
        message = UserMessage(
            incoming.text,
            collector,
            incoming.sender,
            input_channel=self.name(),
            metadata=incoming.metadata,
        )
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            logger.error("webchat: handling a message timed out")
        except Exception:  # noqa: BLE001 - the resident still gets the replies collected so far
            logger.exception("webchat: handling a message failed")
        return collector.messages


def parse_request(body: bytes) -> IncomingMessage:
    """Validate a webhook body: a JSON object with a sender, a message and optional metadata."""
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("body_too_large", f"request body must be at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("invalid_json", "request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise BadRequest("invalid_json", "request body must be a JSON object")
    return IncomingMessage(
        sender=_sender(data.get("sender")),
        text=_text(data.get("message")),
        metadata=_metadata(data.get("metadata")),
    )


def _sender(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("invalid_sender", "'sender' must be a non-empty string")
    if len(value) > MAX_SENDER_CHARS:
        raise BadRequest("invalid_sender", f"'sender' must have at most {MAX_SENDER_CHARS} chars")
    return value


def _text(value: Any) -> str:
    if value is None:
        raise BadRequest("missing_message", "'message' is required")
    if not isinstance(value, str):
        raise BadRequest("invalid_message", "'message' must be a string")
    if not value.strip():
        raise BadRequest("empty_message", "'message' must not be empty")
    if len(value) > MAX_MESSAGE_CHARS:
        raise BadRequest(
            "message_too_long", f"'message' must be at most {MAX_MESSAGE_CHARS} characters"
        )
    return value.strip()


def _metadata(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise BadRequest("invalid_metadata", "'metadata' must be a JSON object")


def _error(status: int, code: str, detail: str) -> HTTPResponse:
    return response.json({"error": code, "detail": detail}, status=status)


def _read_static(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def _static_response(body: bytes, content_type: str) -> HTTPResponse:
    return response.raw(body, content_type=content_type, headers=SECURITY_HEADERS)
