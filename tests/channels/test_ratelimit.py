"""Rate limits: per key and window, shared by processes through the real Redis, local when Redis is down."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from channels.ratelimit import Limits, RateLimiter, polite_text

REDIS_URL = "redis://127.0.0.1:6379/3"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _limits(redis_url: str = "", sender: int = 3, address: int = 5) -> Limits:
    return Limits(per_sender=sender, per_address=address, window=60, redis_url=redis_url)


async def _allowed(limiter: RateLimiter, sender: str, times: int) -> list[bool]:
    return [await limiter.allow_sender(sender) for _ in range(times)]


def test_in_process_limit_per_sender_and_window() -> None:
    clock = Clock()
    limiter = RateLimiter(_limits(), clock=clock)
    assert asyncio.run(_allowed(limiter, "a", 4)) == [True, True, True, False]
    assert asyncio.run(_allowed(limiter, "b", 1)) == [True]  # another sender has its own count
    clock.now += 60
    assert asyncio.run(_allowed(limiter, "a", 1)) == [True]  # a new window


def test_address_limit_is_separate_from_sender_limit() -> None:
    limiter = RateLimiter(_limits(sender=1, address=2))

    async def scenario() -> list[bool]:
        same = "10.0.0.7"
        return [await limiter.allow_address(same) for _ in range(3)] + [await limiter.allow_sender(same)]

    assert asyncio.run(scenario()) == [True, True, False, True]


def test_zero_switches_a_limit_off() -> None:
    limiter = RateLimiter(_limits(sender=0, address=0))
    assert all(asyncio.run(_allowed(limiter, "a", 50)))


@pytest.mark.redis
def test_processes_share_the_count_through_redis() -> None:
    sender = f"shared-{uuid.uuid4().hex}"

    async def scenario() -> list[bool]:
        # Two limiters with their own connections, as two Rasa processes have.
        first, second = RateLimiter(_limits(REDIS_URL)), RateLimiter(_limits(REDIS_URL))
        results = []
        for limiter in (first, second, first, second):
            results.append(await limiter.allow_sender(sender))
        return results

    assert asyncio.run(scenario()) == [True, True, True, False]


def test_redis_down_counts_in_process() -> None:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = RateLimiter(_limits(f"redis://127.0.0.1:{port}/0"))
    assert asyncio.run(_allowed(limiter, "a", 4)) == [True, True, True, False]


def test_polite_text_comes_from_the_domain() -> None:
    web, wechat = polite_text(), polite_text("wechat")
    assert "12348" in web and "12348" in wechat and web != wechat
    assert polite_text("unknown-channel") == web


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT_SENDER", "7")
    monkeypatch.setenv("RASA_ENDPOINTS", "endpoints.production.yml")
    monkeypatch.setenv("REDIS_HOST", "redis-host")
    monkeypatch.delenv("RATE_LIMIT_REDIS_URL", raising=False)
    limits = Limits.from_env()
    assert limits.per_sender == 7 and limits.redis_url == "redis://redis-host:6379/3"
    monkeypatch.setenv("RASA_ENDPOINTS", "endpoints.yml")
    assert Limits.from_env().redis_url == ""
