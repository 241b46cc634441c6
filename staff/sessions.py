"""Login sessions: an opaque random cookie value, its SHA-256 as the key, a CSRF token beside it.

Kept in Redis when ``REDIS_URL`` is set (expiry by TTL), otherwise in the database
(:mod:`records.staff_sessions`), so the embedded default needs no service.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from records import staff_sessions


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionStore:
    """Database sessions; :class:`RedisSessionStore` has the same methods."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime

    async def create(self, user_id: int) -> tuple[str, str]:
        """A new session: (cookie value, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + self.lifetime
        await asyncio.to_thread(staff_sessions.create, _key(token), user_id, csrf, expires)
        return token, csrf

    async def get(self, token: str) -> tuple[int, str] | None:
        return await asyncio.to_thread(staff_sessions.get, _key(token), datetime.now(UTC))

    async def delete(self, token: str) -> None:
        await asyncio.to_thread(staff_sessions.remove, _key(token))

    async def delete_user(self, user_id: int) -> None:
        await asyncio.to_thread(staff_sessions.remove_for_user, user_id)


class RedisSessionStore(SessionStore):
    def __init__(self, lifetime: timedelta, url: str) -> None:
        super().__init__(lifetime)
        import redis.asyncio as redis_asyncio  # only needed when Redis is configured

        self.redis = redis_asyncio.from_url(url, decode_responses=True)

    async def create(self, user_id: int) -> tuple[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        key, ttl = f"staff:session:{_key(token)}", int(self.lifetime.total_seconds())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"user_id": user_id, "csrf": csrf})
            pipe.expire(key, ttl)
            pipe.sadd(f"staff:user-sessions:{user_id}", key)
            pipe.expire(f"staff:user-sessions:{user_id}", ttl)
            await pipe.execute()
        return token, csrf

    async def get(self, token: str) -> tuple[int, str] | None:
        data = await self.redis.hgetall(f"staff:session:{_key(token)}")
        if not data:
            return None
        return int(data["user_id"]), data["csrf"]

    async def delete(self, token: str) -> None:
        await self.redis.delete(f"staff:session:{_key(token)}")

    async def delete_user(self, user_id: int) -> None:
        keys = await self.redis.smembers(f"staff:user-sessions:{user_id}")
        if keys:
            await self.redis.delete(*keys)
        await self.redis.delete(f"staff:user-sessions:{user_id}")


def make_store(lifetime: timedelta, redis_url: str) -> SessionStore:
    return RedisSessionStore(lifetime, redis_url) if redis_url else SessionStore(lifetime)
