"""Delivering replies that cannot go back passively: in order, retried, and never dropped silently.

``deliver`` sends a resident's messages one after another through the customer-service API. When
WeChat stays unreachable after the API client's retries, the unsent rest is queued in the shared
store and ``retry_pending`` (run every ``WECHAT_RETRY_INTERVAL`` seconds by the channel in each
process) sends it later; the failure is logged with the resident pseudonymised.
"""

from __future__ import annotations

import hashlib
import json
import logging

from channels.wechat_api import CustomerServiceAPI, Sent

logger = logging.getLogger(__name__)

PENDING_QUEUE = "pending"


def pseudonym(openid: str) -> str:
    """A short stable tag for logs: never log a resident's OpenID itself."""
    return "wx-" + hashlib.sha256(openid.encode("utf-8")).hexdigest()[:10]


class Delivery:
    def __init__(self, api: CustomerServiceAPI) -> None:
        self.api = api

    async def deliver(self, openid: str, texts: list[str]) -> bool:
        """Send ``texts`` in order; queue what could not be sent yet. True when all were sent."""
        for i, text in enumerate(texts):
            sent = await self.api.send_text(openid, text)
            if sent is Sent.REJECTED:
                logger.error("wechat: WeChat refused a message to %s; it is dropped", pseudonym(openid))
                continue
            if sent is Sent.RETRY_LATER:
                rest = texts[i:]
                await self.api.store.push(PENDING_QUEUE, json.dumps({"to": openid, "texts": rest}))
                logger.error(
                    "wechat: could not reach WeChat for %s; %d message(s) queued for a later retry",
                    pseudonym(openid),
                    len(rest),
                )
                return False
        return True

    async def retry_pending(self, limit: int = 100) -> int:
        """Try the queued messages once more; return how many batches were delivered."""
        delivered = 0
        for _ in range(limit):
            raw = await self.api.store.pop(PENDING_QUEUE)
            if raw is None:
                break
            item = json.loads(raw)
            if await self.deliver(item["to"], item["texts"]):
                delivered += 1
                logger.info("wechat: queued messages delivered to %s", pseudonym(item["to"]))
            else:
                break  # WeChat is still down: deliver() queued them again
        return delivered
