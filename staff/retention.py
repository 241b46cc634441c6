"""Retention of Rasa's conversations (transcripts), run with the records' retention.

:func:`run_retention` anonymises the records (:func:`records.retention.apply_retention`) and
deletes from Rasa's tracker store what is older than ``RETENTION_DAYS``:

- SQL tracker store (``STAFF_TRACKER_DB_URL``): every conversation whose last event is older than
  the cut-off, and in conversations still going on, the old events before their latest session
  start (Rasa only replays events from the last ``session_started`` on, so the tracker stays valid);
- Redis tracker store (``STAFF_TRACKER_REDIS_URL``): every conversation whose last event is older
  than the cut-off (``record_exp`` in ``endpoints.production.yml`` also lets Redis expire them 30
  days after the last message).

The staff app's scheduler calls it once a day (the lease makes it one process); ``python -m staff
retention`` runs it by hand.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from records.retention import Retained, apply_retention, cutoff
from staff.config import Settings

logger = logging.getLogger(__name__)

_INACTIVE = text(
    "DELETE FROM events WHERE sender_id IN "
    "(SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cut)"
)
# Old sessions of conversations that go on: everything old before the latest session start.
_OLD_SESSIONS = text(
    "DELETE FROM events WHERE timestamp < :cut AND id < "
    "(SELECT MAX(e2.id) FROM events e2 WHERE e2.sender_id = events.sender_id AND e2.type_name = 'session_started')"
)


@dataclass(frozen=True)
class RetentionRun:
    records: Retained
    tracker_events: int  # SQL store: events deleted
    tracker_conversations: int  # Redis store: conversations deleted


def run_retention(settings: Settings, now: datetime | None = None) -> RetentionRun:
    """Records and tracker store older than ``settings.retention_days``; see the module."""
    done = apply_retention(settings.retention_days, now=now)
    before = cutoff(settings.retention_days, now)
    if before is None:
        return RetentionRun(done, 0, 0)
    if settings.tracker_redis_url:
        return RetentionRun(done, 0, _purge_redis(settings, before.timestamp()))
    return RetentionRun(done, _purge_sql(settings.tracker_db_url, before.timestamp()), 0)


def _purge_sql(url: str, cut: float) -> int:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return 0  # no conversation yet; connecting would create an empty file
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return conn.execute(_INACTIVE, {"cut": cut}).rowcount + conn.execute(_OLD_SESSIONS, {"cut": cut}).rowcount
    except SQLAlchemyError as error:  # no tracker store yet (fresh machine) or unreachable
        logger.warning("tracker store retention skipped: %s", type(error).__name__)
        return 0
    finally:
        engine.dispose()


def _purge_redis(settings: Settings, cut: float) -> int:
    import redis  # only when the tracker store is Redis

    client = redis.Redis.from_url(settings.tracker_redis_url, decode_responses=True)
    prefix = f"{settings.tracker_redis_prefix}:tracker:"
    gone = 0
    try:
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            stored = client.get(key)
            if stored is None:
                continue
            try:
                events = json.loads(stored).get("events") or []
                last = max((float(e.get("timestamp") or 0) for e in events), default=0.0)
            except (ValueError, AttributeError, TypeError):
                continue  # not a tracker we understand: leave it
            if last < cut:
                gone += client.delete(key)
    except OSError:  # redis' ConnectionError is an OSError
        logger.warning("Redis tracker store not reachable; retention skipped there")
    finally:
        client.close()
    return gone
