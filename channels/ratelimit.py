"""Rate limits of the residents' endpoints: per sender and per client address, shared via Redis.

A burst from one resident (or one script posing as many) must not starve everybody else of the
2 cores. Every webhook asks :func:`limiter` before Rasa sees a message: the REST and web chat
webhooks per client address (before the body is read) and per ``sender`` (after the checks of
:mod:`channels.checks`), the WeChat channel per OpenID (WeChat's servers are the only client
address there, so no per-address limit). Over the limit the REST/web chat client gets a 429 with
``Retry-After`` and the polite text ``utter_rate_limited`` of ``domain.yml``; a WeChat resident gets
that text as the passive reply.

Counting is a fixed window per key. With ``RATE_LIMIT_REDIS_URL`` (or, as the production
endpoints do, ``REDIS_HOST``/``REDIS_PORT`` when ``RASA_ENDPOINTS`` names the production file) the
counters live in Redis and every Rasa process shares them; otherwise in this process. When Redis
does not answer, the process counts on its own instead of refusing residents.

=============================  ==============================================================
``RATE_LIMIT_SENDER``          messages per sender per window (``20``; ``0`` switches it off)
``RATE_LIMIT_ADDRESS``         requests per client address per window (``120``; ``0`` = off)
``RATE_LIMIT_WINDOW``          the window in seconds (``60``)
``RATE_LIMIT_REDIS_URL``       e.g. ``redis://127.0.0.1:6379/3``: counters shared by processes
``RATE_LIMIT_REDIS_DB``        the Redis database when derived from ``REDIS_HOST`` (``3``)
=============================  ==============================================================

Behind a proxy the client address is the proxy's unless Sanic trusts ``X-Forwarded-For``: the
production set-up sets ``SANIC_PROXIES_COUNT=1`` (nginx is the one proxy).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from channels.wording import domain_text

logger = logging.getLogger(__name__)

RESPONSE = "utter_rate_limited"
REDIS_TIMEOUT_S = 0.25
LOCAL_MAX_KEYS = 100_000  # in-process counters are dropped wholesale past this (a flood of ids)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


@dataclass(frozen=True)
class Limits:
    per_sender: int
    per_address: int
    window: int
    redis_url: str

    @classmethod
    def from_env(cls) -> Limits:
        redis_url = os.environ.get("RATE_LIMIT_REDIS_URL", "").strip()
        if not redis_url and "production" in os.environ.get("RASA_ENDPOINTS", ""):
            host, port = os.environ.get("REDIS_HOST", "127.0.0.1"), os.environ.get("REDIS_PORT", "6379")
            redis_url = f"redis://{host}:{port}/{_int('RATE_LIMIT_REDIS_DB', 3)}"
        return cls(
            per_sender=_int("RATE_LIMIT_SENDER", 20),
            per_address=_int("RATE_LIMIT_ADDRESS", 120),
            window=max(_int("RATE_LIMIT_WINDOW", 60), 1),
            redis_url=redis_url,
        )


class RateLimiter:
    """Fixed-window counters; ``allow`` is False once a key went over its limit in this window."""

    def __init__(self, limits: Limits, clock: Any = time.time) -> None:
        self.limits = limits
        self.clock = clock
        self._local: dict[str, int] = {}
        self._local_window = -1
        self._redis: Any = None
        if limits.redis_url:
            import redis.asyncio  # only when configured; both environments ship redis-py

            self._redis = redis.asyncio.Redis.from_url(
                limits.redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
            )

    async def allow_sender(self, sender: str) -> bool:
        return await self._allow("s", sender, self.limits.per_sender)

    async def allow_address(self, address: str) -> bool:
        return await self._allow("a", address, self.limits.per_address)

    async def _allow(self, kind: str, key: str, limit: int) -> bool:
        if limit <= 0:
            return True
        window = int(self.clock() // self.limits.window)
        # Hashed: sender ids and addresses are personal data and must not sit in Redis as they are.
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        name = f"ratelimit:{kind}:{digest}:{window}"
        count = await self._count_redis(name) if self._redis is not None else None
        if count is None:
            count = self._count_local(name, window)
        return count <= limit

    async def _count_redis(self, name: str) -> int | None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, self.limits.window * 2)
                count, _ = await pipe.execute()
            return int(count)
        except Exception as error:  # noqa: BLE001 - any Redis failure: count in this process
            logger.warning("rate limit counters in Redis unavailable (%s); counting locally", type(error).__name__)
            return None

    def _count_local(self, name: str, window: int) -> int:
        # A new window makes every old counter stale; a flood of ids must not grow memory unbounded.
        if window != self._local_window or len(self._local) > LOCAL_MAX_KEYS:
            self._local.clear()
            self._local_window = window
        self._local[name] = self._local.get(name, 0) + 1
        return self._local[name]


@cache
def limiter() -> RateLimiter:
    """The process's limiter, configured from the environment on first use."""
    return RateLimiter(Limits.from_env())


def polite_text(channel: str = "") -> str:
    """``utter_rate_limited`` of ``domain.yml`` (its ``channel`` variant when there is one)."""
    return domain_text(RESPONSE, channel)
