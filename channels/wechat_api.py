"""WeChat's customer-service message API: the shared access token and sending one text message.

``GET {base}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…`` gives
``{"access_token", "expires_in"}``; ``POST {base}/cgi-bin/message/custom/send?access_token=…`` with
``{"touser", "msgtype": "text", "text": {"content"}}`` answers ``{"errcode": 0}`` when sent.

The token is kept in the shared store (one per account, not per process) and fetched again
``TOKEN_MARGIN`` seconds before it expires, and at once when WeChat calls it invalid or expired.
A 5xx, a network error or WeChat's "system busy" is retried with exponential back-off; other
error codes (the resident unfollowed, the 48-hour window closed) are final.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

import aiohttp

from channels.wechat_store import SharedStore

logger = logging.getLogger(__name__)

TOKEN_KEY = "access_token"
TOKEN_LOCK_KEY = "access_token_refresh"
TOKEN_MARGIN = 300.0  # seconds before expiry at which a token counts as expired
INVALID_TOKEN_CODES = {40001, 40014, 42001}  # invalid credential, invalid token, token expired
BUSY_CODES = {-1, 45009}  # system busy, API frequency limit: worth another try later
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)


class Sent(Enum):
    OK = "ok"
    RETRY_LATER = "retry_later"  # transient failure after all attempts: keep the message
    REJECTED = "rejected"  # WeChat refuses this message for good


class TransientError(Exception):
    """A failure worth retrying (5xx, network, system busy)."""


@dataclass
class CustomerServiceAPI:
    base_url: str
    app_id: str
    secret: str
    store: SharedStore
    attempts: int = 4
    backoff: float = 0.5  # seconds before the 2nd attempt; doubles each time

    async def send_text(self, openid: str, content: str) -> Sent:
        """Send one text message, with retries; never raises."""
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        delay = self.backoff
        refreshed = False
        attempt = 0
        while attempt < self.attempts:
            attempt += 1
            try:
                token = await self.access_token(force_refresh=False)
                code, message = await self._post_json("/cgi-bin/message/custom/send", token, payload)
                if code == 0:
                    return Sent.OK
                if code in INVALID_TOKEN_CODES and not refreshed:
                    logger.warning("wechat: access token refused (%s), fetching a new one", code)
                    await self.access_token(force_refresh=True, stale=token)
                    refreshed = True
                    attempt -= 1  # a refused token is not a failed attempt
                    continue
                if code not in BUSY_CODES and code not in INVALID_TOKEN_CODES:
                    logger.error("wechat: customer-service message rejected: %s %s", code, message)
                    return Sent.REJECTED
                raise TransientError(f"errcode {code}: {message}")
            except (TimeoutError, TransientError, aiohttp.ClientError, ValueError) as e:
                logger.warning("wechat: sending failed (attempt %d/%d): %s", attempt, self.attempts, e)
            if attempt < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        return Sent.RETRY_LATER

    async def access_token(self, force_refresh: bool, stale: str | None = None) -> str:
        """The shared token; fetched by one process at a time when missing, expiring or refused."""
        for _ in range(50):
            cached = await self.store.get(TOKEN_KEY)
            if cached and not (force_refresh and cached == stale):
                return cached
            if await self.store.claim(TOKEN_LOCK_KEY, ttl=15):
                try:
                    return await self._fetch_token()
                finally:
                    await self.store.delete(TOKEN_LOCK_KEY)
            await asyncio.sleep(0.2)  # another process is fetching it
        raise TransientError("timed out waiting for another process to fetch the access token")

    async def _fetch_token(self) -> str:
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        url = self.base_url + "/cgi-bin/token"
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session, session.get(url, params=params) as response:
            data = await _json(response)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise TransientError(f"no access token: {data.get('errcode')} {data.get('errmsg')}")
        expires_in = float(data.get("expires_in", 7200))
        await self.store.put(TOKEN_KEY, token, ttl=max(1.0, expires_in - TOKEN_MARGIN))
        logger.info("wechat: fetched a new access token (valid %.0f s)", expires_in)
        return token

    async def _post_json(self, path: str, token: str, payload: dict[str, Any]) -> tuple[int, str]:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        async with (
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session,
            session.post(
                self.base_url + path,
                params={"access_token": token},
                data=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
            ) as response,
        ):
            data = await _json(response)
        return int(data.get("errcode", 0)), str(data.get("errmsg", ""))


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    if response.status != 200:  # WeChat answers errors with 200 and an errcode; others are outages
        raise TransientError(f"HTTP {response.status}")
    data = json.loads(await response.read())
    if not isinstance(data, dict):
        raise ValueError("WeChat answered something other than a JSON object")
    return data
