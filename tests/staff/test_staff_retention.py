"""Retention in the staff app: the scheduler's daily run anonymises records and clears Rasa's SQL tracker store.

The tracker store is an SQLite file with the table Rasa 3.6's ``SQLTrackerStore`` creates
(``events``); the Redis tracker store is cleared in ``tests/e2e/test_production.py`` against the
real production stack.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

import records
from records.schema import consultations
from staff.config import Settings
from staff.scheduler import Scheduler

# As created by rasa.core.tracker_store.SQLTrackerStore.SQLEvent (Rasa 3.6).
EVENTS_DDL = (
    "CREATE TABLE events (id INTEGER NOT NULL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
)
DAY = 86_400.0


def _tracker(path: Path, now: float) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    rows = []

    def event(sender: str, kind: str, at: float, said: str = "") -> None:
        rows.append({"s": sender, "t": kind, "ts": at, "d": json.dumps({"event": kind, "text": said, "timestamp": at})})

    # An old conversation, long idle.
    event("old-resident", "session_started", now - 400 * DAY)
    event("old-resident", "user", now - 400 * DAY, "老板欠薪")
    # A resident who came back: the old session goes, the current one stays.
    event("returning", "session_started", now - 400 * DAY)
    event("returning", "user", now - 400 * DAY, "离婚")
    event("returning", "session_started", now - 2 * DAY)
    event("returning", "user", now - 2 * DAY, "孩子抚养")
    # A recent conversation.
    event("recent", "session_started", now - DAY)
    event("recent", "user", now - DAY, "你好")
    with engine.begin() as conn:
        conn.execute(text(EVENTS_DDL))
        conn.execute(text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :ts, :d)"), rows)
    engine.dispose()
    return url


def _said(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sender_id, data FROM events ORDER BY id")).all()
    engine.dispose()
    out: dict[str, list[str]] = {}
    for sender, data in rows:
        out.setdefault(sender, []).append(json.loads(data)["text"])
    return out


def test_scheduler_runs_retention_daily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db_url = f"sqlite:///{tmp_path / 'legal.db'}"
    monkeypatch.setenv("LEGAL_DB_URL", db_url)
    monkeypatch.setenv("LEGAL_SENDER_SALT", "retention-salt")
    monkeypatch.delenv("REDIS_URL", raising=False)
    records.init_db(records.get_engine(db_url))
    now = datetime.now(UTC)
    old = records.write(NewQuestion(now - timedelta(days=400)))
    new = records.write(NewQuestion(now - timedelta(days=3)))
    tracker_url = _tracker(tmp_path / "tracker.db", time.time())
    scheduler = Scheduler(Settings(tracker_db_url=tracker_url, retention_days=365, redis_url=""))
    try:
        done = scheduler.run_once(now)
        assert done["anonymised"] == 1 and done["transcripts_deleted"] == 4
        assert _said(tracker_url) == {"returning": ["", "孩子抚养"], "recent": ["", "你好"]}
        with records.get_engine(db_url).connect() as conn:
            questions = dict(conn.execute(select(consultations.c.id, consultations.c.question)).all())
        assert questions[old.id] == "" and questions[new.id] == "老板欠我工资"
        # Not again within the day; again the next day (nothing left to do).
        assert "anonymised" not in scheduler.run_once(now + timedelta(hours=1))
        assert scheduler.run_once(now + timedelta(days=1, minutes=1))["anonymised"] == 0
    finally:
        scheduler.release()
        records.db.dispose_engines()


def NewQuestion(at: datetime) -> records.NewConsultation:  # noqa: N802 - reads like the record it makes
    return records.NewConsultation(
        sender_id="r1", channel="web", question="老板欠我工资", outcome="answered", created_at=at
    )
