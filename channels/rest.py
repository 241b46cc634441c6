"""The REST channel at ``/webhooks/rest/``, with input checks and an honest answer when storage fails.

Register it in ``credentials.yml`` as ``channels.rest.CheckedRestInput:`` instead of Rasa's ``rest:``;
it keeps the name ``rest`` and therefore the paths:

| route | does |
|---|---|
| ``GET /webhooks/rest/`` | ``{"status": "ok"}`` |
| ``POST /webhooks/rest/webhook`` | ``{"sender", "message", "metadata"}`` in, the bot's messages |
| | (``[{"recipient_id", "text", "buttons", ...}]``) out; ``?stream=true`` as in Rasa |

Unlike Rasa's REST channel (which answers anything with 200, stores whatever it gets and returns
``[]`` when handling fails), the webhook answers:

- 429 ``{"error": "rate_limited", "detail", "text"}`` with ``Retry-After`` past the per-address or
  per-sender limit (:mod:`channels.ratelimit`; ``text`` is the polite sentence for the resident), and
  ``{"error": "busy", ...}`` when the resident's earlier messages still hold the conversation longer
  than Rasa waits for its lock (they send faster than they can be answered);
- 400 ``{"error", "detail"}`` for a body ``channels.checks.parse_request`` refuses, 413 for a body
  over ``MAX_BODY_BYTES`` (read no further than that);
- 503 ``{"error": "try_again", "detail", "text"}`` with ``Retry-After`` when the message could not be handled
  or stored (tracker or lock store down, or a custom action's call failed: its server died in the
  middle of it, see :mod:`channels.action_failures`): the conversation keeps nothing of it (an action
  that ran before the failure may have logged it), the client must send it again. Never a 200 with
  no message because an action failed (Rasa's own channel answers ``[]`` then).

It records the channel as ``rest`` whatever the body says. The web chat channel is this channel plus
the chat page (``channels.webchat``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from asyncio import Queue
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel, RestInput
from rasa.core.lock_store import LockError
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import action_failures, action_validation
from channels.checks import MAX_BODY_BYTES, BadRequest, BodyTooLarge, IncomingMessage, parse_request
from channels.ratelimit import RateLimiter, limiter, polite_text
from channels.tracker_stores import describe_error, redact_sender, watching_storage
from channels.wording import domain_text

logger = logging.getLogger(__name__)
# Every Rasa process loads this module (credentials.yml): Rasa's per-call schema re-check goes with it,
# and a failed custom action call makes the message fail (503, send again) instead of an empty answer.
action_validation.install()
action_failures.install()

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
RETRY_AFTER_SECONDS = 10
TRY_AGAIN = {
    "error": "try_again",
    "detail": "the message could not be handled or stored; send it again",
    "text": domain_text("utter_service_busy"),  # for the resident
}


class CheckedRestInput(RestInput):
    """Rasa's REST channel with strict input checks; subclasses add routes in ``add_routes``."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint(f"{self.name()}_{id(self)}", __name__)
        self.add_routes(bp, on_new_message)
        return bp

    def add_routes(self, bp: Blueprint, on_new_message: OnNewMessage) -> None:
        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self.add_webhook(bp, on_new_message)

    def add_webhook(self, bp: Blueprint, on_new_message: OnNewMessage) -> None:
        # stream=True: the handler reads the body itself, so an oversized one is never held whole.
        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            limits = limiter()
            if not await limits.allow_address(client_address(request)):
                return rate_limited_response(limits)
            try:
                body = await _read_body(request)
                incoming, headers = self.identify(request, parse_request(body, sender_optional=self.sender_optional))
            except BadRequest as e:
                return error_response(e.status, e.code, str(e))
            if not await limits.allow_sender(incoming.sender):
                return rate_limited_response(limits)
            if bool_arg(request, "stream", default=False):
                stream = self.stream_response(
                    on_new_message, incoming.text, incoming.sender, self.name(), incoming.metadata
                )
                return response.stream(stream, content_type="text/event-stream", headers=headers)
            collector = CollectingOutputChannel()
            handled = await self._handle(on_new_message, incoming, collector)
            if handled == "busy":
                busy = rate_limited_response(limiter(), "busy")
                busy.headers.update(headers)
                return busy
            if handled != "ok":
                headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
                return response.json(TRY_AGAIN, status=503, headers=headers)
            return response.json(collector.messages, headers=headers)

    # The REST webhook's clients (other systems) choose the sender id; the web chat overrides both.
    sender_optional = False

    def identify(self, request: Request, incoming: IncomingMessage) -> tuple[IncomingMessage, dict[str, str]]:
        """Whose conversation a checked message belongs to, and headers for the answer."""
        return incoming, {}

    async def _handle(self, on_new_message: OnNewMessage, incoming: IncomingMessage, output: OutputChannel) -> str:
        """Hand the message to Rasa: ``ok``, ``busy`` (conversation locked too long) or ``failed``."""
        message = UserMessage(
            incoming.text, output, incoming.sender, input_channel=self.name(), metadata=incoming.metadata
        )
        try:
            with watching_storage() as storage:
                await on_new_message(message)
        except LockError as error:
            if error.__context__ is not None:
                # Rasa raises LockError from inside an ``except`` when the lock store itself failed
                # (Redis unreachable): an outage, answered like any other (503, try again).
                logger.error("%s: the lock store failed (%s)", self.name(), type(error.__context__).__name__)
                return "failed"
            # The resident's earlier messages held the conversation longer than Rasa waits for its
            # lock: they send faster than they are answered, a 429 like the rate limit (not a 503).
            logger.warning(
                "%s: %s sent again before the earlier messages were answered",
                self.name(),
                redact_sender(incoming.sender),
            )
            return "busy"
        except Exception as error:  # noqa: BLE001 - whatever failed, the client is told to retry
            # Neither the text nor the raw sender id: both may carry personal data.
            logger.error(
                "%s: handling a message from %s failed (%s)",
                self.name(),
                redact_sender(incoming.sender),
                describe_error(error, incoming.sender),
            )
            logger.debug("traceback of the failure above", exc_info=True)
            return "failed"
        return "failed" if storage.failed else "ok"

    def stream_response(
        self,
        on_new_message: OnNewMessage,
        text: str,
        sender_id: str,
        input_channel: str,
        metadata: dict[str, Any] | None,
    ) -> Callable[[Any], Awaitable[None]]:
        """Stream the bot's messages one JSON line each; a failure ends the stream with ``TRY_AGAIN``.

        Rasa's version never ends the stream when handling raises.
        """
        incoming = IncomingMessage(sender_id, text, metadata)

        async def stream(resp: Any) -> None:
            queue: Queue = Queue()
            done = object()

            async def handle() -> None:
                handled = await self._handle(on_new_message, incoming, QueueOutputChannel(queue))
                if handled != "ok":
                    await queue.put(TRY_AGAIN)
                await queue.put(done)

            task = asyncio.ensure_future(handle())
            while (item := await queue.get()) is not done:
                await resp.write(json.dumps(item) + "\n")
            await task

        return stream


async def _read_body(request: Request) -> bytes:
    """The request body, refusing (413) as soon as it is longer than ``MAX_BODY_BYTES``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    while (chunk := await request.stream.read()) is not None:
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()  # Sanic discards the rest of the body after the response
        chunks.append(chunk)
    return b"".join(chunks)


def error_response(status: int, code: str, detail: str) -> HTTPResponse:
    return response.json({"error": code, "detail": detail}, status=status)


def client_address(request: Request) -> str:
    """The client's address: the forwarded one when Sanic trusts the proxy (``SANIC_PROXIES_COUNT``)."""
    return request.remote_addr or request.ip or "unknown"


def rate_limited_response(limits: RateLimiter, code: str = "rate_limited") -> HTTPResponse:
    """429 with the resident-facing text (``text``) next to the machine-readable error."""
    body = {
        "error": code,
        "detail": f"too many messages; try again in {limits.limits.window} seconds",
        "text": polite_text(),
    }
    return response.json(body, status=429, headers={"Retry-After": str(limits.limits.window)})
