"""records.handoffs: the operator queue."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

import records
from records import (
    InvalidTransition,
    InvalidValue,
    NewHandoff,
    UnknownHandoff,
    close_handoff,
    open_handoff_for,
    queue_position,
    take_handoff,
    waiting_handoffs,
)
from records.handoffs import Handoff, get_handoff


def _enqueue(sender_id: str, channel: str, reason: str | None = None, *, engine: Engine) -> Handoff:
    """Write a NewHandoff and read back the handoff its receipt names."""
    receipt = records.write(NewHandoff(sender_id, channel, reason), engine=engine)
    assert receipt.pending is False
    return get_handoff(receipt.id, engine=engine)


def _enqueue_spaced(engine: Engine, senders: list[str]) -> list[Handoff]:
    handoffs = []
    for sender in senders:
        handoffs.append(_enqueue(sender, "web", engine=engine))
        time.sleep(0.002)  # distinct created_at for a deterministic order
    return handoffs


def test_enqueue_and_wait(engine: Engine) -> None:
    handoff = _enqueue("wx-1", "wechat", "要求转人工，电话13812345678", engine=engine)
    assert (handoff.sender_id, handoff.channel, handoff.status) == ("wx-1", "wechat", "waiting")
    assert handoff.reason == "要求转人工，电话138****5678"
    assert handoff.taken_by is None and handoff.closed_at is None
    assert waiting_handoffs(engine=engine) == [handoff]
    assert get_handoff(handoff.id, engine=engine) == handoff


def test_enqueue_twice_returns_the_waiting_one(engine: Engine) -> None:
    first = _enqueue("web-1", "web", engine=engine)
    assert _enqueue("web-1", "web", "again", engine=engine) == first
    assert len(waiting_handoffs(engine=engine)) == 1


def test_queue_order_and_position(engine: Engine) -> None:
    a, b, c = _enqueue_spaced(engine, ["a", "b", "c"])
    assert [h.id for h in waiting_handoffs(engine=engine)] == [a.id, b.id, c.id]
    assert [queue_position(h.id, engine=engine) for h in (a, b, c)] == [1, 2, 3]
    take_handoff(a.id, "operator:li", engine=engine)
    assert [queue_position(h.id, engine=engine) for h in (a, b, c)] == [None, 1, 2]


def test_take_and_close(engine: Engine) -> None:
    handoff = _enqueue("s", "hotline", engine=engine)
    taken = take_handoff(handoff.id, "operator:li", engine=engine)
    assert (taken.status, taken.taken_by) == ("taken", "operator:li")
    assert taken.taken_at is not None and taken.taken_at >= taken.created_at
    assert open_handoff_for("s", engine=engine) == taken
    assert waiting_handoffs(engine=engine) == []
    with pytest.raises(InvalidTransition):
        take_handoff(handoff.id, "operator:wang", engine=engine)
    closed = close_handoff(handoff.id, engine=engine)
    assert closed.status == "closed" and closed.closed_at is not None
    assert open_handoff_for("s", engine=engine) is None
    with pytest.raises(InvalidTransition):
        close_handoff(handoff.id, engine=engine)
    again = _enqueue("s", "hotline", engine=engine)
    assert again.id != handoff.id and again.status == "waiting"


def test_close_a_waiting_handoff(engine: Engine) -> None:
    handoff = _enqueue("gone", "web", engine=engine)
    assert close_handoff(handoff.id, engine=engine).status == "closed"
    assert queue_position(handoff.id, engine=engine) is None


def test_invalid_handoffs(engine: Engine) -> None:
    with pytest.raises(InvalidValue):
        _enqueue("s", "fax", engine=engine)
    with pytest.raises(InvalidValue):
        _enqueue(" ", "web", engine=engine)
    handoff = _enqueue("s", "web", engine=engine)
    with pytest.raises(InvalidValue):
        take_handoff(handoff.id, "", engine=engine)
    for call in (get_handoff, queue_position, close_handoff):
        with pytest.raises(UnknownHandoff):
            call("missing", engine=engine)


def test_concurrent_enqueue_of_one_sender_gives_one_handoff(engine: Engine) -> None:
    barrier = threading.Barrier(4)
    results: list[Handoff] = []

    def enqueue() -> None:
        barrier.wait()
        results.append(_enqueue("same", "web", engine=engine))

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and len({h.id for h in results}) == 1
    assert len(waiting_handoffs(engine=engine)) == 1


def test_two_operators_racing_one_wins(engine: Engine) -> None:
    handoff = _enqueue("s", "web", engine=engine)
    barrier = threading.Barrier(2)
    winners: list[str] = []

    def take(operator: str) -> None:
        barrier.wait()
        try:
            take_handoff(handoff.id, operator, engine=engine)
            winners.append(operator)
        except InvalidTransition:
            pass

    threads = [threading.Thread(target=take, args=(op,)) for op in ("li", "wang")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1
    assert get_handoff(handoff.id, engine=engine).taken_by == winners[0]


def test_cli_init(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    root = Path(records.__file__).resolve().parents[1]
    run = [sys.executable, "-m", "records", "init", "--url", url]
    first = subprocess.run(run, cwd=root, capture_output=True, text=True, check=True)
    assert "30 villages (30 new), 9 advisers" in first.stdout
    second = subprocess.run(run, cwd=root, capture_output=True, text=True, check=True)
    assert "30 villages (0 new), 9 advisers" in second.stdout
