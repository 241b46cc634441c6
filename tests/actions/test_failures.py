"""Every action answers the resident whatever fails: database down, outbox spool unwritable, engine missing.

The failures are real: ``LEGAL_DB_URL`` names a SQLite file in a directory that does not exist,
``LEGAL_OUTBOX_DIR`` lies under a regular file (so the spool cannot be created), and the search
engine is loaded from an empty model directory.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from action_helpers import DOMAIN, recorded, run, said, slots
from rasa_sdk.executor import CollectingDispatcher

from actions import config, services
from actions.answer_question import ActionAnswerQuestion
from actions.config import parse_hotline_hours
from actions.feedback import ActionRecordFeedback
from actions.handoff import ActionHandoff
from actions.handoff_status import ActionHandoffStatus
from actions.services import use_search_engine
from actions.submit_referral import ActionSubmitReferral

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("small_engine")]


@pytest.fixture
def nothing_stores(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("LEGAL_DB_URL", f"sqlite:///{tmp_path / 'missing' / 'legal.db'}")
    monkeypatch.setenv("LEGAL_OUTBOX_DIR", str(tmp_path / "a-file" / "outbox"))
    monkeypatch.setattr(config, "HOTLINE_HOURS", parse_hotline_hours("mon-sun 00:00-24:00"))


def test_a_referral_that_cannot_be_stored_anywhere_is_not_confirmed(nothing_stores):
    messages, events = run(ActionSubmitReferral(), recorded("referral_before_consent", referral_consent=True))
    assert [m["response"] for m in messages] == ["utter_referral_failed"]
    assert "12348" in said(messages) and "登记编号" not in said(messages)
    assert slots(events)["referral_offered"] is False


def test_answers_feedback_and_handoff_still_reply(nothing_stores):
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question"))
    assert "《" in said(messages) and slots(events)["consultation_id"] is None
    messages, _ = run(ActionRecordFeedback(), recorded("feedback_unhelpful"))
    assert [m["response"] for m in messages] == ["utter_feedback_sorry"]
    messages, events = run(ActionHandoff(), recorded("wage_question", text="转人工"))
    assert [m["response"] for m in messages] == ["utter_handoff_queued", "utter_handoff_waiting"]
    assert slots(events)["handoff_waiting"] is True and slots(events)["handoff_id"] is None
    waiting = recorded("wage_question", text="还要多久", handoff_waiting=True, handoff_id=None,
                       handoff_since=time.time())
    messages, _ = run(ActionHandoffStatus(), waiting)
    assert [m["response"] for m in messages] == ["utter_handoff_waiting"]


def test_an_unloadable_search_engine_gets_an_apology_and_a_person(db, small_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("KNOWLEDGE_MODEL_DIR", str(tmp_path / "no-model"))
    monkeypatch.setenv("KNOWLEDGE_INDEX_DIR", str(tmp_path / "no-index"))
    use_search_engine(None)
    try:
        messages, events = run(ActionAnswerQuestion(), recorded("wage_question"))
    finally:
        use_search_engine(small_engine)
    assert [m["response"] for m in messages] == ["utter_search_unavailable"]
    assert "12348" in said(messages) and slots(events) == {"referral_offered": True}


def test_loading_the_engine_does_not_block_other_conversations(db, small_engine, monkeypatch):
    """While the engine loads (a minute in production), the event loop keeps serving everyone."""

    def slow_load():
        time.sleep(1.0)
        return small_engine

    monkeypatch.setattr(services, "load_engine", slow_load)
    use_search_engine(None)

    async def conversation_and_heartbeat() -> tuple[list[dict], int]:
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0)
        dispatcher = CollectingDispatcher()
        await ActionAnswerQuestion().run(dispatcher, recorded("wage_question"), DOMAIN)
        beat.cancel()
        return dispatcher.messages, ticks

    try:
        messages, ticks = asyncio.run(conversation_and_heartbeat())
    finally:
        use_search_engine(small_engine)
    assert "《" in said(messages)
    assert ticks >= 25, f"the event loop stood still while the engine loaded ({ticks} ticks in > 1 s)"
