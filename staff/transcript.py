"""The resident's conversation behind a referral, read from Rasa.

Referrals and consultations keep only a keyed hash of the Rasa sender id (PIPL), so the
conversation is found by hashing the sender ids of the tracker store with the same key
(:func:`records.hash_sender`). Its events then come from Rasa's HTTP API
(``RASA_URL`` + ``RASA_TOKEN``) when configured, else straight from the SQL tracker store.
Only user and bot messages are returned.
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


def find_sender(sender_hash: str, around: datetime, settings: Settings) -> str | None:
    """The raw sender id whose keyed hash is ``sender_hash``, or None.

    Only conversations active within a day of ``around`` (the consultation's time) are hashed.
    """
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
    events = _events_from_api(sender, settings) if settings.rasa_url else _events_from_store(sender, settings)
    if events is None:
        return None
    out = []
    for event in events:
        kind, said = event.get("event"), event.get("text")
        if kind in ("user", "bot") and said:
            out.append({"by": kind, "text": str(said), "at": str(event.get("timestamp", ""))})
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
