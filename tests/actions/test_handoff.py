"""转人工 without an operator console: the queue position, the timeout, the hotline hours (HOTLINE_HOURS).

The hours are set through ``actions.config.HOTLINE_HOURS`` (parsed from the setting's format) to a
schedule that is open, or closed, right now in China time.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from action_helpers import recorded, render, run, said, slots

import records
from actions import config
from actions.config import CHINA_TIME, DAYS, parse_hotline_hours
from actions.handoff import CALL_BACK_NOTE, ActionHandoff
from actions.handoff_status import ActionHandoffStatus

ALWAYS = "mon-sun 00:00-24:00"


def closed_today() -> str:
    """A schedule open only on another weekday than today's in China."""
    return f"{DAYS[(datetime.now(CHINA_TIME).weekday() + 3) % 7]} 00:00-24:00"


@pytest.fixture
def open_hours(monkeypatch):
    monkeypatch.setattr(config, "HOTLINE_HOURS", parse_hotline_hours(ALWAYS))


def ask_for_a_human(sender: str):
    tracker = recorded("wage_question", text="转人工")
    tracker.sender_id = sender
    return run(ActionHandoff(), tracker)


def waiting(sender: str, events, minutes_ago: float = 0.0, text: str = "还要等多久"):
    values = slots(events)
    tracker = recorded("wage_question", text=text, handoff_waiting=True, handoff_id=values["handoff_id"],
                       handoff_since=values["handoff_since"] - minutes_ago * 60)
    tracker.sender_id = sender
    return tracker


def test_handoff_in_hours_queues_and_tells_the_position(db, open_hours):
    messages, events = ask_for_a_human("resident-a")
    assert [m["response"] for m in messages] == ["utter_handoff_queued", "utter_handoff_position"]
    assert "周一至周日 0:00-24:00" in render(messages[0])
    assert "第 1 位" in render(messages[1]) and "10 分钟" in render(messages[1])
    values = slots(events)
    assert values["handoff_waiting"] is True and abs(values["handoff_since"] - time.time()) < 60
    assert [h.id for h in records.waiting_handoffs(engine=db)] == [values["handoff_id"]]
    messages, _ = ask_for_a_human("resident-b")
    assert "第 2 位" in render(messages[1])


def test_a_waiting_resident_who_writes_is_told_where_they_stand(db, open_hours):
    _, first = ask_for_a_human("resident-a")
    _, second = ask_for_a_human("resident-b")
    messages, events = run(ActionHandoffStatus(), waiting("resident-b", second, minutes_ago=4))
    assert [m["response"] for m in messages] == ["utter_handoff_position"]
    assert "第 2 位" in render(messages[0]) and "6 分钟" in render(messages[0])
    assert events == []  # still waiting


def test_after_the_timeout_the_bot_resumes_and_the_queue_moves_up(db, open_hours):
    _, first = ask_for_a_human("resident-a")
    _, second = ask_for_a_human("resident-b")
    messages, events = run(ActionHandoffStatus(), waiting("resident-a", first, minutes_ago=10.5))
    assert [m["response"] for m in messages] == ["utter_handoff_timeout"]
    assert slots(events) == {"handoff_waiting": False, "handoff_id": None, "handoff_since": None}
    assert records.open_handoff_for("resident-a", engine=db) is None  # closed
    messages, _ = run(ActionHandoffStatus(), waiting("resident-b", second, minutes_ago=1))
    assert "第 1 位" in render(messages[0])


def test_outside_hotline_hours_the_request_is_noted_and_the_bot_carries_on(db, monkeypatch):
    monkeypatch.setattr(config, "HOTLINE_HOURS", parse_hotline_hours(closed_today()))
    messages, events = ask_for_a_human("night-owl")
    assert [m["response"] for m in messages] == ["utter_handoff_closed_hours"]
    assert "现在不是人工服务时间" in said(messages) and config.HOTLINE_HOURS.describe() in said(messages)
    assert slots(events)["handoff_waiting"] is False
    noted = records.waiting_handoffs(engine=db)
    assert [h.sender_id for h in noted] == ["night-owl"] and noted[0].reason.startswith(CALL_BACK_NOTE)


def test_when_the_hours_end_while_waiting_the_bot_resumes_at_once(db, open_hours, monkeypatch):
    _, events = ask_for_a_human("resident-a")
    monkeypatch.setattr(config, "HOTLINE_HOURS", parse_hotline_hours(closed_today()))
    messages, resumed = run(ActionHandoffStatus(), waiting("resident-a", events, minutes_ago=1))
    assert [m["response"] for m in messages] == ["utter_handoff_closed_hours"]
    assert slots(resumed)["handoff_waiting"] is False
    assert records.open_handoff_for("resident-a", engine=db).status == "waiting"  # call back


def test_an_operator_taking_or_closing_the_handoff_is_followed(db, open_hours):
    _, events = ask_for_a_human("resident-a")
    handoff_id = slots(events)["handoff_id"]
    records.take_handoff(handoff_id, "operator-1", engine=db)
    messages, still = run(ActionHandoffStatus(), waiting("resident-a", events, minutes_ago=20))
    assert [m["response"] for m in messages] == ["utter_handoff_taken"] and still == []
    records.close_handoff(handoff_id, engine=db)
    messages, resumed = run(ActionHandoffStatus(), waiting("resident-a", events, minutes_ago=21))
    assert [m["response"] for m in messages] == ["utter_handoff_ended"]
    assert slots(resumed)["handoff_waiting"] is False


def test_hotline_hours_format():
    hours = parse_hotline_hours("mon-fri 08:30-12:00,14:00-17:30; sat 09:00-12:00")
    monday = datetime(2026, 11, 30, tzinfo=CHINA_TIME)
    at = lambda day, hh, mm: monday + timedelta(days=day, hours=hh, minutes=mm)  # noqa: E731
    assert hours.is_open(at(0, 8, 30)) and hours.is_open(at(4, 17, 29)) and hours.is_open(at(5, 11, 59))
    assert not hours.is_open(at(0, 8, 29)) and not hours.is_open(at(0, 12, 0)) and not hours.is_open(at(5, 14, 0))
    assert not hours.is_open(at(6, 10, 0))
    assert hours.is_open(datetime.fromisoformat("2026-12-01T02:00:00+00:00"))  # 10:00 in China
    assert hours.describe() == "周一至周五 8:30-12:00、14:00-17:30；周六 9:00-12:00"
    assert parse_hotline_hours("mon,wed 00:00-24:00").describe() == "周一 0:00-24:00；周三 0:00-24:00"
    for bad in ("weekdays 8:30-12:00", "mon-fri", "fri-mon 08:00-09:00", "mon 12:00-08:00", "mon 8-12",
                "mon 08:00-25:00"):
        with pytest.raises(ValueError, match="HOTLINE_HOURS"):
            parse_hotline_hours(bad)
