"""The resident's conversation behind a referral, read from Rasa.

Referrals (``referrals.sender_hash``, also when no consultation preceded the referral) and
consultations keep only a keyed hash of the Rasa sender id (PIPL), so the
conversation is found by hashing the sender ids of the tracker store with the same key
(:func:`records.hash_sender`): the SQL tracker store (``STAFF_TRACKER_DB_URL``), or Rasa's Redis
tracker store when ``STAFF_TRACKER_REDIS_URL`` is set (keys ``<prefix>:tracker:<sender>``, prefix
``STAFF_TRACKER_REDIS_PREFIX``, ``legal`` as in ``endpoints.production.yml``). Its events then come
from Rasa's HTTP API (``RASA_URL`` + ``RASA_TOKEN``) when configured, else from the store itself.
Only user, bot and operator messages are returned (:func:`to_messages`).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from records.privacy import hash_sender
from staff.config import Settings

logger = logging.getLogger(__name__)
_engines: dict[str, Any] = {}
WINDOW_S = 86_400.0


def _tracker_engine(url: str) -> Any:
    if url not in _engines:
        _engines[url] = create_engine(url)
    return _engines[url]


def _redis(settings: Settings) -> Any:
    import redis  # only when the tracker store is Redis

    return redis.Redis.from_url(settings.tracker_redis_url, decode_responses=True)


def _redis_prefix(settings: Settings) -> str:
    return f"{settings.tracker_redis_prefix}:tracker:"


def _find_in_redis(sender_hash: str, settings: Settings) -> str | None:
    prefix = _redis_prefix(settings)
    try:
        for key in _redis(settings).scan_iter(match=f"{prefix}*", count=500):
            sender = key[len(prefix) :]
            if hash_sender(sender) == sender_hash:
                return sender
    except OSError:  # redis' ConnectionError is an OSError
        logger.warning("Redis tracker store not reachable")
    return None


def _events_from_redis(sender: str, settings: Settings) -> list[dict[str, Any]] | None:
    try:
        stored = _redis(settings).get(_redis_prefix(settings) + sender)
    except OSError:
        return None
    return None if stored is None else list(json.loads(stored).get("events") or [])


def find_sender(sender_hash: str, around: datetime, settings: Settings) -> str | None:
    """The raw sender id whose keyed hash is ``sender_hash``, or None.

    In the SQL store only conversations active within a day of ``around`` (the consultation's
    time) are hashed; Redis keeps conversations for 30 days and has no such index.
    """
    if settings.tracker_redis_url:
        return _find_in_redis(sender_hash, settings)
    window = {"lo": around.timestamp() - WINDOW_S, "hi": around.timestamp() + WINDOW_S}
    query = text("SELECT DISTINCT sender_id FROM events WHERE timestamp BETWEEN :lo AND :hi")
    try:
        with _tracker_engine(settings.tracker_db_url).connect() as conn:
            senders = conn.execute(query, window).scalars().all()
    except SQLAlchemyError:
        logger.warning("tracker store not readable at %s", settings.tracker_db_url.split("@")[-1])
        return None
    return next((s for s in senders if hash_sender(s) == sender_hash), None)


def messages(sender_hash: str, around: datetime, settings: Settings) -> list[dict[str, str]] | None:
    """``[{"by": "user"|"bot", "text", "at"}]`` of the conversation; None when unavailable."""
    sender = find_sender(sender_hash, around, settings)
    if sender is None:
        return None
    if settings.rasa_url:
        events = _events_from_api(sender, settings)
    elif settings.tracker_redis_url:
        events = _events_from_redis(sender, settings)
    else:
        events = _events_from_store(sender, settings)
    return None if events is None else to_messages(events)


def to_messages(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """User and bot messages of tracker events; an operator's words are ``by: operator`` (with ``name``)."""
    out = []
    for event in events:
        kind, said = event.get("event"), event.get("text")
        if kind not in ("user", "bot") or not said:
            continue
        message = {"by": kind, "text": str(said), "at": str(event.get("timestamp", ""))}
        operator = (event.get("metadata") or {}).get("operator") if kind == "bot" else None
        if operator:
            message.update(by="operator", name=str(operator))
        out.append(message)
    return out


def _events_from_api(sender: str, settings: Settings) -> list[dict[str, Any]] | None:
    url = f"{settings.rasa_url.rstrip('/')}/conversations/{requests.utils.quote(sender, safe='')}/tracker"
    params = {"include_events": "ALL"}
    if settings.rasa_token:
        params["token"] = settings.rasa_token
    try:
        reply = requests.get(url, params=params, timeout=10)
        reply.raise_for_status()
        return list(reply.json().get("events") or [])
    except (requests.RequestException, ValueError):
        logger.warning("Rasa HTTP API did not give the tracker")
        return None


def _events_from_store(sender: str, settings: Settings) -> list[dict[str, Any]] | None:
    query = text("SELECT data FROM events WHERE sender_id = :s ORDER BY id")
    try:
        with _tracker_engine(settings.tracker_db_url).connect() as conn:
            rows = conn.execute(query, {"s": sender}).scalars().all()
    except SQLAlchemyError:
        return None
    return [json.loads(r) for r in rows]
