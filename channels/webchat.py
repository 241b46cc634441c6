"""The resident's web chat: the chat page and a REST-style webhook under ``/webhooks/webchat/``.

Register it in ``credentials.yml`` as ``channels.webchat.WebChatInput:`` and start Rasa from the
repo root with the repo root on ``PYTHONPATH``.

| route | does |
|---|---|
| ``GET /webhooks/webchat/`` | the chat page (``static/webchat.html``) |
| ``GET /webhooks/webchat/static/<name>`` | the page's script and style sheet |
| ``GET /webhooks/webchat/health`` | ``{"status": "ok"}`` |
| ``POST /webhooks/webchat/webhook`` | the REST channel's webhook (``channels.rest``): same body, |
| | same checks and answers (400/413/503), the channel recorded as ``webchat``; the sender is the |
| | cookie's conversation (``channels.webchat_identity``), a ``sender`` in the body must match it (403) |
| ``GET /webhooks/webchat/events`` | server-sent events: messages added to the cookie's conversation |
| | from outside a reply (an operator's words, a referral accepted), from ``Last-Event-ID`` or ``?after=`` |

The page gets its conversation cookie with the page itself. Messages the staff app adds to a
conversation (``metadata.push`` on a bot event, see ``staff/rasa_api.py``) are not part of any
webhook answer; the page receives them from ``/events``, which reads them from the tracker store, so
a resident who was away sees what they missed when they come back, and any Rasa process behind a
load balancer can serve the stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import webchat_identity as identity
from channels.checks import BadRequest, IncomingMessage
from channels.rest import CheckedRestInput, OnNewMessage, error_response

logger = logging.getLogger(__name__)
STREAM_POLL_SECONDS = 1.5
STREAM_KEEPALIVE_SECONDS = 15.0

STATIC_DIR = Path(__file__).resolve().parent / "static"

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


class WebChatInput(CheckedRestInput):
    """The checked REST channel plus the chat page, with server-issued conversation ids."""

    sender_optional = True

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def identify(self, request: Request, incoming: IncomingMessage) -> tuple[IncomingMessage, dict[str, str]]:
        sender = identity.sender_of(request.cookies.get(identity.COOKIE))
        if sender is None:
            if incoming.sender:  # a client-chosen id: it could be anyone's conversation
                raise BadRequest("wrong_sender", "open the chat page first: it starts your conversation", 403)
            sender = identity.new_sender()
            return replace(incoming, sender=sender), {"Set-Cookie": _cookie(request, sender)}
        if incoming.sender and incoming.sender != sender:
            raise BadRequest("wrong_sender", "this is not your conversation", 403)
        return replace(incoming, sender=sender), {}

    def add_routes(self, bp: Blueprint, on_new_message: OnNewMessage) -> None:
        page = _read_static("webchat.html")
        assets = {name: _read_static(name) for name in ASSET_TYPES if (STATIC_DIR / name).exists()}

        @bp.route("", methods=["GET"], strict_slashes=True)
        async def page_without_slash(request: Request) -> HTTPResponse:
            # The page loads its assets and posts to relative URLs, so it must end with a slash.
            # A relative Location keeps working behind a reverse proxy that adds a path prefix.
            return response.redirect(request.path.rsplit("/", 1)[-1] + "/", status=301)

        @bp.route("/", methods=["GET"], strict_slashes=True)
        async def chat_page(request: Request) -> HTTPResponse:
            result = _static_response(page, "text/html; charset=utf-8")
            if identity.sender_of(request.cookies.get(identity.COOKIE)) is None:
                result.headers["Set-Cookie"] = _cookie(request, identity.new_sender())
            return result

        @bp.route("/events", methods=["GET"])
        async def events(request: Request) -> HTTPResponse:
            sender = identity.sender_of(request.cookies.get(identity.COOKIE))
            if sender is None:
                return error_response(401, "no_conversation", "open the chat page first")
            after = _float(request.headers.get("last-event-id") or request.args.get("after"))
            store = request.app.ctx.agent.tracker_store
            return response.stream(
                _pushed_messages(store, sender, after),
                content_type="text/event-stream; charset=utf-8",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )

        @bp.route("/static/<name>", methods=["GET"])
        async def asset(request: Request, name: str) -> HTTPResponse:
            if name not in assets:
                return error_response(404, "not_found", f"no asset named {name!r}")
            return _static_response(assets[name], ASSET_TYPES[name])

        @bp.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self.add_webhook(bp, on_new_message)


def _cookie(request: Request, sender: str) -> str:
    secure = request.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"
    return identity.set_cookie_header(sender, secure)


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def pushed_since(events: list[Any], after: float) -> list[tuple[float, dict[str, Any]]]:
    """Bot messages added from outside a reply (``metadata.push``) later than ``after``, oldest first."""
    out = []
    for event in events:
        metadata = getattr(event, "metadata", None) or {}
        if getattr(event, "type_name", "") != "bot" or not metadata.get("push") or event.timestamp <= after:
            continue
        data = getattr(event, "data", None) or {}
        message = {"text": event.text or "", "buttons": data.get("buttons") or [], "kind": metadata.get("kind")}
        if metadata.get("operator"):
            message["operator"] = metadata["operator"]
        out.append((event.timestamp, message))
    return out


def _pushed_messages(store: Any, sender: str, after: float) -> Any:
    async def stream(resp: Any) -> None:
        last, idle = after, 0.0
        await resp.write("retry: 3000\n\n")
        while True:
            try:
                tracker = await store.retrieve(sender)
            except Exception:  # noqa: BLE001 - the store may be down for a moment; the page waits
                logger.warning("webchat: tracker store not readable for the event stream")
                tracker = None
            fresh = pushed_since(list(tracker.events), last) if tracker is not None else []
            for stamp, message in fresh:
                await resp.write(f"id: {stamp!r}\nevent: message\ndata: {json.dumps(message, ensure_ascii=False)}\n\n")
                last, idle = stamp, 0.0
            if idle >= STREAM_KEEPALIVE_SECONDS:
                await resp.write(": keep-alive\n\n")
                idle = 0.0
            await asyncio.sleep(STREAM_POLL_SECONDS)
            idle += STREAM_POLL_SECONDS

    return stream


def _read_static(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def _static_response(body: bytes, content_type: str) -> HTTPResponse:
    return response.raw(body, content_type=content_type, headers=SECURITY_HEADERS)
