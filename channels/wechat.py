"""Residents on WeChat: the official account (公众号) message protocol as a Rasa input channel.

Registered in ``credentials.yml`` as ``channels.wechat.WeChatInput:``; it is active when
``WECHAT_TOKEN`` (and the rest of ``channels.wechat_settings``) is set, else its routes answer 404.
The server URL to enter in the official account is ``https://HOST/webhooks/wechat/webhook``.

| route | does |
|---|---|
| ``GET /webhooks/wechat/webhook`` | URL verification: echoes ``echostr`` when the signature verifies |
| ``POST /webhooks/wechat/webhook`` | a message or event, plaintext or safe mode (``encrypt_type=aes``) |

Every POST is checked before anything reaches the bot: body size, timestamp (at most
``WECHAT_MAX_AGE`` seconds off), ``signature`` (SHA1 of the sorted token, timestamp and nonce),
then, in safe mode, ``msg_signature`` and the AppID inside the decrypted message (wechatpy).
Any failure is a 403 (413 for a big body, 400 for XML that is not a WeChat message).

A message is claimed by its ``MsgId`` (events: sender + CreateTime) in the shared store in two
phases, so that a WeChat retry, even one sent to another process, never reaches the bot twice and
yet a message is not lost when its first delivery dies half-way:

1. *claimed*, with a lease of ``WECHAT_CLAIM_LEASE`` seconds (default: the reply window + 1 s);
2. *answered*, for a day, once the reply has left (passively, or handed to the customer-service
   delivery when the answer is ``success``).

A retry that finds the message answered gets ``success``; one that finds a live claim waits for
it to turn into *answered* or to expire (a process that crashed after claiming), and then
processes the message itself; a failure while handling releases the claim at once. WeChat sends
its retries 5 s apart and only when it had no answer, and the channel answers within the reply
window, so an expired lease means the first delivery is gone.

The bot's reply goes back passively when it is ready within ``WECHAT_REPLY_WINDOW`` (counted from
the request's arrival) and fits one text; otherwise the channel answers ``success`` and sends the
texts through the customer-service API (``channels.wechat_delivery``). Buttons become numbered
choices (``channels.wechat_text``); the resident's payloads are kept per OpenID in the shared store
so that a digit picks one. While the shared store is unreachable the channel keeps its state in
process memory (``channels.wechat_store.FallbackStore``) instead of failing.

The texts the channel sends itself (unsupported message types, an unrecognised voice message, an
empty text, the hint under numbered choices) are domain responses (``wechat_text.CHANNEL_RESPONSES``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from channels import wechat_text, wechat_xml
from channels.ratelimit import limiter, polite_text
from channels.tracker_stores import watching_storage
from channels.wechat_api import CustomerServiceAPI
from channels.wechat_delivery import Delivery, pseudonym
from channels.wechat_settings import WeChatSettings
from channels.wechat_store import SharedStore, store_from_env

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

MAX_BODY_BYTES = 32 * 1024  # a WeChat message is a few hundred bytes; encrypted, a few KB
MAX_TEXT_CHARS = 2000
DEDUP_TTL = 24 * 3600.0  # WeChat retries within ~15 s; a day also covers replayed captures
CHOICES_TTL = 24 * 3600.0
ANSWERED = "answered"  # the second phase of a message's claim (the first holds "1")
CLAIM_POLL_S = 0.2

# Menu CLICK keys (set them in the account's custom menu) → the intent the bot receives.
MENU_KEYS = {
    "ASK_QUESTION": "/greet",  # the greeting invites the question
    "FIND_ADVISER": "/request_adviser",
    "HUMAN": "/request_human",  # 转人工
    "HOTLINE_12348": "/contact_info",
}


class WeChatOutput(CollectingOutputChannel):
    """Collects the bot's messages; its name selects the ``channel: wechat`` response variants."""

    @classmethod
    def name(cls) -> str:
        return "wechat"


class WeChatPush(OutputChannel):
    """Sends each message at once through the customer-service API (``Delivery``: in order, retried)."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery

    @classmethod
    def name(cls) -> str:
        return "wechat"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        texts = wechat_text.render([message]).texts
        if texts:
            await self.delivery.deliver(recipient_id, texts)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(WeChatSettings.from_env(credentials))

    def __init__(self, settings: WeChatSettings | None) -> None:
        self.settings = settings
        self.server: WeChatServer | None = None

    def get_output_channel(self) -> OutputChannel | None:
        """Where messages added from outside a reply go (an operator's words, a referral notice):
        the customer-service API (Rasa's ``output_channel=latest`` for a WeChat conversation)."""
        return WeChatPush(self.server.delivery) if self.server is not None else None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint(f"wechat_{id(self)}", __name__)
        if self.settings is None:

            @bp.route("/webhook", methods=["GET", "POST"])
            async def not_configured(request: Request) -> HTTPResponse:
                return response.json({"error": "not_configured", "detail": "WECHAT_TOKEN is not set"}, 404)

            return bp

        server = self.server = WeChatServer(self.settings, store_from_env(), on_new_message)

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            try:
                server.check_request(request)
            except Refused as e:
                return response.text(str(e), status=e.status)
            return response.text(request.args.get("echostr", ""))

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                return await server.receive(request)
            except Refused as e:
                logger.warning("wechat: request refused (%d): %s", e.status, e)
                return response.text(str(e), status=e.status)

        @bp.listener("after_server_start")
        async def start_retries(app: Any, loop: Any) -> None:
            server.app = app  # its agent's domain holds the channel's wording
            app.add_task(server.retry_forever())

        return bp


class WeChatServer:
    """Checks, decodes and answers WeChat's requests; one per Rasa process."""

    def __init__(self, settings: WeChatSettings, store: SharedStore, on_new_message: OnNewMessage) -> None:
        self.settings = settings
        self.store = store
        self.on_new_message = on_new_message
        self.crypto = WeChatCrypto(settings.token, settings.aes_key, settings.app_id) if settings.aes_key else None
        api = CustomerServiceAPI(
            settings.api_base, settings.app_id, settings.secret, store, attempts=settings.send_attempts
        )
        self.delivery = Delivery(api)
        self.app: Any = None  # the Sanic app, once started: ``app.ctx.agent`` is Rasa's agent
        self._tasks: set[asyncio.Task] = set()  # background work, kept referenced until done

    def check_request(self, request: Request) -> None:
        """Timestamp and ``signature`` of any request from WeChat; raises ``Refused``."""
        timestamp = request.args.get("timestamp", "")
        nonce = request.args.get("nonce", "")
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            raise Refused(403, "missing or invalid timestamp") from None
        if age > self.settings.max_age:
            raise Refused(403, "stale timestamp")
        try:
            check_signature(self.settings.token, request.args.get("signature", ""), timestamp, nonce)
        except InvalidSignatureException:
            raise Refused(403, "invalid signature") from None

    async def receive(self, request: Request) -> HTTPResponse:
        arrived = time.monotonic()
        self.app = request.app
        if len(request.body) > MAX_BODY_BYTES:
            raise Refused(413, "request body too large")
        self.check_request(request)
        envelope = _parse(request.body)
        encrypted = request.args.get("encrypt_type") == "aes"
        message = self._decrypt(envelope, request) if encrypted else envelope
        if not message.get("FromUserName") or not message.get("MsgType"):
            raise Refused(400, "not a WeChat message")
        reply = await self.handle(message, arrived)
        if reply is None:
            return response.text("success")
        xml = wechat_xml.text_reply(message["FromUserName"], message.get("ToUserName", ""), reply)
        if encrypted and self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, request.args.get("nonce", ""), request.args.get("timestamp"))
        return response.text(xml, content_type="application/xml; charset=utf-8")

    def _decrypt(self, envelope: dict[str, str], request: Request) -> dict[str, str]:
        if self.crypto is None:
            raise Refused(403, "encrypted message but WECHAT_AES_KEY is not set")
        if not envelope.get("Encrypt"):
            raise Refused(400, "encrypted message without <Encrypt>")
        try:
            inner = self.crypto.decrypt_message(
                envelope,
                request.args.get("msg_signature", ""),
                request.args.get("timestamp", ""),
                request.args.get("nonce", ""),
            )
        except InvalidSignatureException:
            raise Refused(403, "invalid msg_signature") from None
        except InvalidAppIdException:
            raise Refused(403, "message for another AppID") from None
        except Exception:  # noqa: BLE001 - bad base64, padding or length: a broken envelope
            raise Refused(400, "undecryptable message") from None
        return _parse(inner)

    async def handle(self, message: dict[str, str], arrived: float | None = None) -> str | None:
        """Answer one verified message: the passive reply text, or None for ``success``.

        ``arrived``: ``time.monotonic()`` when the request came in (the reply window counts from it).
        """
        arrived = time.monotonic() if arrived is None else arrived
        openid = message["FromUserName"]
        key = message.get("MsgId") or f"{openid}:{message.get('CreateTime', '')}:{message.get('Event', '')}"
        claim = f"msg:{key}"
        if not await self._claim(claim):
            logger.info("wechat: duplicate delivery from %s ignored", pseudonym(openid))
            return None
        try:
            if not await limiter().allow_sender(openid):  # after the claim: a retry is not counted twice
                reply: str | None = polite_text("wechat")
                await self.store.put(claim, ANSWERED, DEDUP_TTL)
                return reply
            text, polite_reply = await self._text_for(message, openid)
            reply = polite_reply if text is None else await self._ask_bot(openid, text, message["MsgType"], arrived)
        except Exception:
            await self.store.delete(claim)  # failed before answering: WeChat's retry is processed
            raise
        await self.store.put(claim, ANSWERED, DEDUP_TTL)
        return reply

    async def _claim(self, key: str) -> bool:
        """Phase one: True if this delivery may process the message (see the module)."""
        lease = self.settings.claim_lease
        deadline = time.monotonic() + lease
        while True:
            if await self.store.claim(key, lease):
                return True
            state = await self.store.get(key)
            if state == ANSWERED or time.monotonic() >= deadline:
                return False
            if state is not None:  # another delivery is at work: wait for its answer or its end
                await asyncio.sleep(CLAIM_POLL_S)

    def _wording(self, purpose: str) -> str | None:
        """The channel's own text for ``purpose`` from the loaded model's domain."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        responses = getattr(getattr(agent, "domain", None), "responses", None) or {}
        name = wechat_text.CHANNEL_RESPONSES[purpose]
        text = wechat_text.response_text(responses, name)
        if text is None:
            logger.error("wechat: the domain has no response %s; answering without it", name)
        return text

    async def _text_for(self, message: dict[str, str], openid: str) -> tuple[str | None, str | None]:
        """What the bot receives, or (None, the channel's own reply or None)."""
        kind = message["MsgType"]
        if kind == "text":
            content = message.get("Content", "").strip()[:MAX_TEXT_CHARS]
            if not content:
                return None, self._wording("empty")
            choices = await self._choices(openid)
            return wechat_text.choice_payload(content, choices) or content, None
        if kind == "voice":
            recognized = message.get("Recognition", "").strip()[:MAX_TEXT_CHARS]
            return (recognized, None) if recognized else (None, self._wording("voice_not_recognized"))
        if kind == "event":
            event = message.get("Event", "").lower()
            if event == "subscribe":
                return "/greet", None
            if event == "click" and message.get("EventKey") in MENU_KEYS:
                return MENU_KEYS[message["EventKey"]], None
            return None, None  # unsubscribe, VIEW, location reports …: nothing to say
        return None, self._wording("unsupported")

    async def _ask_bot(self, openid: str, text: str, kind: str, arrived: float) -> str | None:
        output = WeChatOutput()
        user_message = UserMessage(text, output, openid, input_channel="wechat", metadata={"wechat_msg_type": kind})
        bot = asyncio.ensure_future(self._run_bot(user_message, output))
        window = max(0.0, self.settings.reply_window - (time.monotonic() - arrived))
        try:
            messages = await asyncio.wait_for(asyncio.shield(bot), timeout=window)
        except TimeoutError:
            self._background(self._deliver_when_done(openid, bot))
            return None
        texts = await self._prepare(openid, messages)
        if len(texts) == 1:
            return texts[0]
        if texts:  # several texts: all through the API, so that they arrive in order
            self._background(self.delivery.deliver(openid, texts))
        return None

    async def _run_bot(self, message: UserMessage, output: WeChatOutput) -> list[dict[str, Any]]:
        try:
            with watching_storage() as storage:
                await self.on_new_message(message)
        except Exception:  # noqa: BLE001 - the resident still gets what the bot said so far
            logger.exception("wechat: handling a message from %s failed", pseudonym(message.sender_id))
            return output.messages or [{"text": self._wording("busy") or ""}]  # said nothing: not nothing
        if storage.failed:
            # A custom action's call failed or the conversation could not be stored: nothing of the
            # message was kept, and WeChat will not send it again (it got an answer): ask the resident.
            return [{"text": self._wording("busy") or ""}]
        return output.messages

    async def _deliver_when_done(self, openid: str, bot: asyncio.Future) -> None:
        texts = await self._prepare(openid, await bot)
        if texts:
            await self.delivery.deliver(openid, texts)

    async def _prepare(self, openid: str, messages: list[dict[str, Any]]) -> list[str]:
        outgoing = wechat_text.render(messages, hint=self._wording("choices_hint") or "")
        if outgoing.choices:
            await self.store.put(f"choices:{openid}", json.dumps(outgoing.choices), CHOICES_TTL)
        elif outgoing.texts:
            await self.store.delete(f"choices:{openid}")  # a digit no longer picks an old button
        return outgoing.texts

    async def _choices(self, openid: str) -> list[str]:
        stored = await self.store.get(f"choices:{openid}")
        return json.loads(stored) if stored else []

    def _background(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def retry_forever(self) -> None:
        """Send queued messages again every ``retry_interval`` seconds, for the process's life."""
        while True:
            await asyncio.sleep(self.settings.retry_interval)
            try:
                await self.delivery.retry_pending()
            except Exception:  # noqa: BLE001 - the store may be down; try again next round
                logger.exception("wechat: retrying queued messages failed")


def _parse(body: bytes | str) -> dict[str, str]:
    try:
        return wechat_xml.parse(body)
    except wechat_xml.XmlError as e:
        raise Refused(400, str(e)) from None
