"""records.outbox: records accepted while the database is down are spooled and replayed once.

Outages are real: the SQLite database path turned into a directory (the file cannot be opened,
even by root), PostgreSQL behind a loopback TCP forwarder that is stopped and restarted (same URL,
connections cut), or a PostgreSQL URL on the closed port 127.0.0.1:1.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import records
from records import (
    ConsentRequired,
    InvalidPhone,
    InvalidValue,
    NewConsultation,
    NewFeedback,
    NewHandoff,
    NewReferral,
    ReferralReceipt,
    UnknownVillage,
    outbox,
    spool,
)
from records.config import REPO_ROOT
from records.consultations import consultations_for_sender, get_consultation
from records.db import create_schema, dispose_engines
from records.forget import Forgotten
from records.handoffs import get_handoff
from records.schema import consultations, feedback, handoffs, metadata, referral_events, referrals
from records.village_db import seed_villages

PHONE = "13812345678"
DESCRIPTION = "老板拖欠工资三个月，我的电话13812345678"
CLOSED_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:1/test"


@pytest.fixture(autouse=True)
def outbox_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "outbox"
    monkeypatch.setenv("LEGAL_OUTBOX_DIR", str(path))
    return path


# --- outages ---------------------------------------------------------------------------------


class SqliteOutage:
    """A SQLite database whose file can be made unopenable and restored under the same URL."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.engine = records.get_engine(self.url)
        create_schema(self.engine)
        seed_villages(self.engine)

    def down(self) -> None:
        dispose_engines(self.url)
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                part.rename(f"{part}.away")
        self.path.mkdir()  # "unable to open database file", whatever the permissions

    def up(self) -> None:
        self.path.rmdir()
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}.away")
            if part.exists():
                part.rename(f"{self.path}{suffix}")

    def close(self) -> None:
        dispose_engines(self.url)


class Forwarder:
    """A loopback TCP forwarder: stopping it refuses new connections and cuts open ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        server.settimeout(0.05)
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            for sock in self._sockets:
                _close(sock)
            self._sockets.clear()

    def _accept(self, server: socket.socket) -> None:
        with server:
            while not self._stop.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                client.settimeout(None)
                upstream = socket.create_connection(self.target)
                with self._lock:
                    self._sockets += [client, upstream]
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class PostgresOutage:
    """The PostgreSQL test schema, reached through a :class:`Forwarder` that can be stopped."""

    def __init__(self, schema_url: str) -> None:
        direct = make_url(schema_url)
        self.forwarder = Forwarder(direct.host or "127.0.0.1", direct.port or 5432)
        self.forwarder.start()
        proxied = direct.set(host="127.0.0.1", port=self.forwarder.port)
        self.url = proxied.render_as_string(hide_password=False)
        self.engine = records.get_engine(self.url)
        with self.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        seed_villages(self.engine)

    def down(self) -> None:
        self.forwarder.stop()

    def up(self) -> None:
        self.forwarder.start()

    def close(self) -> None:
        self.forwarder.stop()
        dispose_engines(self.url)


Outage = SqliteOutage | PostgresOutage


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    """A seeded database that a test can take down and bring back (same URL)."""
    if request.param == "sqlite":
        db: Outage = SqliteOutage(tmp_path / "legal.db")
    else:
        db = PostgresOutage(request.getfixturevalue("pg_schema_url"))
    yield db
    db.close()


@pytest.fixture
def sqlite_outage(tmp_path: Path) -> Iterator[SqliteOutage]:
    db = SqliteOutage(tmp_path / "legal.db")
    yield db
    db.close()


# --- helpers ---------------------------------------------------------------------------------


def _count(engine: Engine, table) -> int:  # noqa: ANN001 - a Table
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _spool_lines(outbox_dir: Path) -> list[dict]:
    path = outbox_dir / spool.SPOOL_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _consult(engine: Engine, **overrides: object) -> str:
    values: dict[str, object] = {
        "sender_id": "wx-openid-42",
        "channel": "wechat",
        "question": f"工资被拖欠，电话{PHONE}",
        "outcome": "referred",
        "topic": "labor",
        "articles": ["劳动合同法-30"],
        "confidence": 0.7,
        "village": "城关镇石桥村",
    }
    values.update(overrides)
    return records.write(NewConsultation(**values), engine=engine).id  # type: ignore[arg-type]


def _new_referral(**overrides: object) -> NewReferral:
    values: dict[str, object] = {
        "village": "城关镇石桥村",
        "contact_phone": "138 1234 5678",
        "description": DESCRIPTION,
        "consent": True,
        "topic": "劳动纠纷",
    }
    values.update(overrides)
    return NewReferral(**values)  # type: ignore[arg-type]


def _refer(engine: Engine, **overrides: object) -> ReferralReceipt:
    return records.write(_new_referral(**overrides), engine=engine)


def _spool_a_conversation(engine: Engine, sender: str = "wx-openid-42") -> dict[str, object]:
    """A consultation, a referral linked to it, two feedback clicks and a handoff, all spooled."""
    cid = _consult(engine, sender_id=sender)
    referral = _new_referral(consultation_id=cid, sender_id=sender)
    handoff = NewHandoff(sender, "wechat", f"请回电{PHONE}")
    receipts = [
        records.write(referral, engine=engine),
        records.write(NewFeedback(cid, "yes"), engine=engine),
        records.write(NewFeedback(cid, "no"), engine=engine),
        records.write(handoff, engine=engine),
    ]
    assert [(r.id, r.pending) for r in receipts] == [(referral.id, True), (cid, True), (cid, True), (handoff.id, True)]
    return {"cid": cid, "referral": referral, "handoff": handoff}


def _assert_conversation_stored_once(
    engine: Engine, spooled: dict[str, object], helpful: bool = False
) -> None:
    assert [_count(engine, t) for t in (consultations, referrals, feedback, handoffs)] == [
        1,
        1,
        1,
        1,
    ]
    assert _count(engine, referral_events) == 1
    cid = spooled["cid"]
    pending_referral = spooled["referral"]
    stored = records.get_referral(pending_referral.id, engine=engine)
    assert stored.consultation_id == cid
    assert stored.created_at == pending_referral.created_at  # accepted time, not replay time
    assert (stored.contact_phone, stored.description) == (PHONE, DESCRIPTION)
    assert get_consultation(cid, engine=engine).question == "工资被拖欠，电话138****5678"
    click = records.get_feedback(cid, engine=engine)
    assert click is not None and click.helpful is helpful  # the latest click wins
    handoff = get_handoff(spooled["handoff"].id, engine=engine)
    assert handoff.created_at == spooled["handoff"].created_at
    assert handoff.reason == "请回电138****5678"


# --- spooling --------------------------------------------------------------------------------


def test_wrappers_spool_and_return_ids_while_down(outage: Outage, outbox_dir: Path) -> None:
    outage.down()
    spooled = _spool_a_conversation(outage.engine)
    assert uuid.UUID(spooled["cid"])  # the id is returned although nothing was written
    referral = records.write(_new_referral(village="石桥村"), engine=outage.engine)
    assert referral.pending
    assert (referral.village, referral.adviser_name, referral.urgent) == (
        "城关镇石桥村",
        "周明华",
        False,
    )
    assert outbox.pending_count() == 6
    outage.up()
    assert _count(outage.engine, consultations) == 0  # nothing reached the database


def test_spool_keeps_only_what_the_database_would_get(
    sqlite_outage: SqliteOutage, outbox_dir: Path
) -> None:
    sqlite_outage.down()
    _spool_a_conversation(sqlite_outage.engine)
    spool_file = outbox_dir / spool.SPOOL_NAME
    assert stat.S_IMODE(spool_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox_dir.stat().st_mode) == 0o700
    text = spool_file.read_text(encoding="utf-8")
    consultation, referral, _, _, handoff = (e["values"] for e in _spool_lines(outbox_dir))
    assert consultation["question"] == "工资被拖欠，电话138****5678"
    assert consultation["sender_hash"] == records.hash_sender("wx-openid-42")
    assert "sender_id" not in consultation
    assert (referral["contact_phone"], referral["description"]) == (PHONE, DESCRIPTION)
    assert referral["summary"] == "老板拖欠工资三个月，我的电话138****5678"
    assert handoff["reason"] == "请回电138****5678"
    assert handoff["sender_id"] == "wx-openid-42"  # the operator console needs it raw
    # The raw phone appears once per referral (phone + description) and nowhere else.
    assert text.count(PHONE) == 2


def test_validation_errors_raise_and_spool_nothing(outage: Outage, outbox_dir: Path) -> None:
    outage.down()
    engine = outage.engine
    with pytest.raises(ConsentRequired):
        _refer(engine, consent=False)
    with pytest.raises(InvalidPhone):
        _refer(engine, contact_phone="12345")
    with pytest.raises(InvalidValue):
        _refer(engine, description="   ")
    with pytest.raises(InvalidValue):
        _consult(engine, channel="fax")
    with pytest.raises(InvalidValue):
        _consult(engine, id="not-a-uuid")
    with pytest.raises(InvalidValue):
        records.write(NewFeedback(str(uuid.uuid4()), "maybe"), engine=engine)
    with pytest.raises(InvalidValue):
        records.write(NewHandoff(" ", "web"), engine=engine)
    with pytest.raises(InvalidValue):  # not a record at all
        records.write({"sender_id": "s"}, engine=engine)  # type: ignore[call-overload]
    assert outbox.pending_count() == 0
    assert not (outbox_dir / spool.SPOOL_NAME).exists()


def test_wrappers_write_directly_while_up(outage: Outage, outbox_dir: Path) -> None:
    engine = outage.engine
    cid = _consult(engine)
    assert get_consultation(cid, engine=engine).village_id is not None
    referral = _refer(engine, consultation_id=cid)
    assert referral.pending is False
    assert records.get_referral(referral.id, engine=engine).consultation_id == cid
    assert records.write(NewFeedback(cid, True), engine=engine).pending is False
    assert records.get_feedback(cid, engine=engine).helpful is True
    handoff = records.write(NewHandoff("s1", "web"), engine=engine)
    assert handoff.pending is False and get_handoff(handoff.id, engine=engine).status == "waiting"
    with pytest.raises(UnknownVillage):  # lookups still fail loudly when they can be checked
        _refer(engine, village="不存在村")
    assert outbox.pending_count() == 0
    assert not (outbox_dir / spool.SPOOL_NAME).exists()


# --- replay ----------------------------------------------------------------------------------


def test_replay_lands_every_entry_once(outage: Outage) -> None:
    outage.down()
    spooled = _spool_a_conversation(outage.engine)
    assert outbox.replay(outage.engine) == 0  # still down: nothing lands, nothing is lost
    assert outbox.pending_count() == 5
    outage.up()
    assert outbox.replay(outage.engine) == 5
    assert outbox.replay(outage.engine) == 0
    assert outbox.pending_count() == 0
    _assert_conversation_stored_once(outage.engine, spooled)


def test_crash_between_write_and_spool_truncation(outage: Outage, outbox_dir: Path) -> None:
    outage.down()
    spooled = _spool_a_conversation(outage.engine)
    spool_file = outbox_dir / spool.SPOOL_NAME
    before_replay = spool_file.read_bytes()
    outage.up()
    assert outbox.replay(outage.engine) == 5
    # Meanwhile the resident clicked again and an operator took and closed the handoff.
    assert records.write(NewFeedback(spooled["cid"], "yes"), engine=outage.engine).pending is False
    handoff_id = spooled["handoff"].id
    records.take_handoff(handoff_id, "operator:1", engine=outage.engine)
    records.close_handoff(handoff_id, engine=outage.engine)
    # A crash after the commits but before the spool was rewritten leaves the spool as it was.
    spool_file.write_bytes(before_replay)
    assert outbox.replay(outage.engine) == 5  # every entry "lands" again, as a no-op
    assert (outbox.pending_count(), outbox.rejected_count()) == (0, 0)
    _assert_conversation_stored_once(outage.engine, spooled, helpful=True)
    assert get_handoff(handoff_id, engine=outage.engine).status == "closed"
    assert records.waiting_handoffs(engine=outage.engine) == []


def test_new_records_wait_behind_spooled_ones(outage: Outage) -> None:
    outage.down()
    cid = _consult(outage.engine)
    outage.up()
    # The consultation is still spooled; the feedback on it must not fail with "unknown".
    click = NewFeedback(cid, "有帮助")
    assert records.write(click, engine=outage.engine).pending is False
    assert outbox.pending_count() == 0
    stored = records.get_feedback(cid, engine=outage.engine)
    assert (stored.helpful, stored.created_at) == (True, click.created_at)


def test_refused_entries_move_aside_and_do_not_block(
    sqlite_outage: SqliteOutage, outbox_dir: Path
) -> None:
    engine = sqlite_outage.engine
    sqlite_outage.down()
    lost = _refer(engine, village="不存在村")  # cannot be checked while the database is down
    assert lost.pending
    assert (lost.village, lost.adviser_name) == ("不存在村", None)
    gone = str(uuid.uuid4())  # e.g. the consultation was deleted on request meanwhile
    unlinked = _refer(engine, consultation_id=gone)
    cid = _consult(engine)
    sqlite_outage.up()
    assert outbox.replay(engine) == 2
    assert outbox.pending_count() == 0 and outbox.rejected_count() == 1
    rejected = json.loads((outbox_dir / spool.REJECTED_NAME).read_text(encoding="utf-8"))
    assert "UnknownVillage" in rejected["error"]
    assert json.loads(rejected["line"])["values"]["id"] == lost.id
    assert records.get_referral(unlinked.id, engine=engine).consultation_id is None
    get_consultation(cid, engine=engine)


def test_entries_land_only_in_their_database(sqlite_outage: SqliteOutage, tmp_path: Path) -> None:
    sqlite_outage.down()
    cid = _consult(sqlite_outage.engine)
    other = records.get_engine(f"sqlite:///{tmp_path / 'other.db'}")
    create_schema(other)
    seed_villages(other)
    assert outbox.replay(other) == 0
    assert outbox.pending_count() == 1
    assert outbox.replay(other, any_database=True) == 1
    get_consultation(cid, engine=other)
    dispose_engines(str(other.url))


def test_torn_last_line_is_set_aside(sqlite_outage: SqliteOutage, outbox_dir: Path) -> None:
    outbox_dir.mkdir(mode=0o700)
    (outbox_dir / spool.SPOOL_NAME).write_bytes(b'{"v": 1, "entry": "cut by a cra')
    sqlite_outage.down()
    cid = _consult(sqlite_outage.engine)
    assert outbox.pending_count() == 1
    sqlite_outage.up()
    assert outbox.replay(sqlite_outage.engine) == 1
    assert (outbox.pending_count(), outbox.rejected_count()) == (0, 1)
    get_consultation(cid, engine=sqlite_outage.engine)


def test_init_db_replays(sqlite_outage: SqliteOutage) -> None:
    sqlite_outage.down()
    cid = _consult(sqlite_outage.engine)
    sqlite_outage.up()
    assert records.init_db(sqlite_outage.engine) == 0
    assert outbox.pending_count() == 0
    get_consultation(cid, engine=sqlite_outage.engine)


def test_background_replayer(sqlite_outage: SqliteOutage, monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite_outage.down()
    cids = [_consult(sqlite_outage.engine, question=f"问题{i}") for i in range(3)]
    sqlite_outage.up()
    monkeypatch.setenv("LEGAL_OUTBOX_REPLAY_SECONDS", "0.05")  # the interval when none is given
    thread = outbox.start_replayer(engine=sqlite_outage.engine)
    try:
        assert thread.daemon and outbox.start_replayer(interval_s=0.05) is thread
        deadline = time.monotonic() + 20
        while outbox.pending_count() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        outbox.stop_replayer(timeout=10)
    assert outbox.pending_count() == 0 and not thread.is_alive()
    stored = consultations_for_sender("wx-openid-42", engine=sqlite_outage.engine)
    assert {c.id for c in stored} == set(cids)


def test_is_unavailable_tells_outages_from_bad_data(sqlite_outage: SqliteOutage) -> None:
    engine = sqlite_outage.engine
    cid = _consult(engine)
    row = {"id": cid, "channel": "web", "sender_hash": "x", "question": "", "articles": []}
    with pytest.raises(IntegrityError) as duplicate, engine.begin() as conn:
        conn.execute(insert(consultations).values(outcome="faq", **row))
    assert not outbox.is_unavailable(duplicate.value)
    assert not outbox.is_unavailable(UnknownVillage("x"))
    sqlite_outage.down()
    with pytest.raises(Exception) as down:  # noqa: B017 - whatever the driver raises
        get_consultation(cid, engine=engine)
    assert outbox.is_unavailable(down.value)


# --- several processes -----------------------------------------------------------------------


def _spool_from_child(url: str, tag: str, n: int) -> None:
    engine = records.get_engine(url)
    for i in range(n):
        new = NewConsultation(sender_id=tag, channel="web", question=f"{tag}-{i}", outcome="answered")
        records.write(new, engine=engine)


def _questions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(consultations.c.question)).scalars())


def test_concurrent_appends_from_two_processes_all_land(
    sqlite_outage: SqliteOutage, outbox_dir: Path
) -> None:
    sqlite_outage.down()
    ctx = multiprocessing.get_context("fork")
    children = [
        ctx.Process(target=_spool_from_child, args=(sqlite_outage.url, tag, 100)) for tag in "ab"
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    assert len(_spool_lines(outbox_dir)) == outbox.pending_count() == 200
    sqlite_outage.up()
    assert outbox.replay(sqlite_outage.engine) == 200
    expected = sorted(f"{tag}-{i}" for tag in "ab" for i in range(100))
    assert sorted(_questions(sqlite_outage.engine)) == expected


def _spool_to_fresh_outages(directory: Path, n: int) -> None:
    # A first record for a database that is down is appended right after its failed write,
    # without waiting for a replay: the appends race with the rewrites of the spool.
    for i in range(n):
        path = directory / f"down-{i}.db"
        path.mkdir()
        _spool_from_child(f"sqlite:///{path}", f"d{i}", 1)


def test_appends_during_replay_are_not_lost(tmp_path: Path) -> None:
    target = records.get_engine(f"sqlite:///{tmp_path / 'target.db'}")
    create_schema(target)
    child = multiprocessing.get_context("fork").Process(
        target=_spool_to_fresh_outages, args=(tmp_path, 200)
    )
    child.start()
    while child.is_alive():
        outbox.replay(target, any_database=True)  # rewrites the spool under the appender's feet
    child.join()
    assert child.exitcode == 0
    outbox.replay(target, any_database=True)
    assert outbox.pending_count() == 0
    assert sorted(_questions(target)) == sorted(f"d{i}-0" for i in range(200))
    dispose_engines(str(target.url))


def test_replay_killed_midway_then_resumed(sqlite_outage: SqliteOutage) -> None:
    sqlite_outage.down()
    _spool_from_child(sqlite_outage.url, "k", 300)
    sqlite_outage.up()
    env = {**os.environ, "LEGAL_DB_URL": sqlite_outage.url, "PYTHONPATH": str(REPO_ROOT)}
    code = "import records; records.outbox.replay()"
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            if _count(sqlite_outage.engine, consultations) >= 60:
                child.send_signal(signal.SIGKILL)  # a crash in the middle of the replay
                break
            time.sleep(0.005)
    finally:
        child.wait(60)
    landed_before = _count(sqlite_outage.engine, consultations)
    assert 0 < landed_before < 300  # killed while replaying
    outbox.replay(sqlite_outage.engine)
    assert (outbox.pending_count(), outbox.rejected_count()) == (0, 0)
    assert sorted(_questions(sqlite_outage.engine)) == sorted(f"k-{i}" for i in range(300))


# --- PostgreSQL on a closed port -------------------------------------------------------------


@pytest.mark.postgres
def test_closed_postgres_port_spools_then_lands_in_the_real_server(pg_schema_url: str) -> None:
    down = create_engine(CLOSED_PG_URL)
    cid = _consult(down, village="城关镇石桥村")
    referral = _refer(down, consultation_id=cid, urgent=True)
    assert referral.pending and referral.urgent
    handoff = records.write(NewHandoff("s2", "hotline"), engine=down)
    assert handoff.pending
    assert outbox.pending_count() == 3
    real = PostgresOutage(pg_schema_url)  # the emptied, seeded test schema
    try:
        assert outbox.replay(real.engine) == 0  # spooled for another URL
        assert outbox.replay(real.engine, any_database=True) == 3
        assert records.get_referral(referral.id, engine=real.engine).consultation_id == cid
        assert get_handoff(handoff.id, engine=real.engine).sender_id == "s2"
    finally:
        real.close()
        down.dispose()


# --- ids chosen when the record is made ----------------------------------------------------


def test_writing_the_same_record_twice_is_a_no_op(engine: Engine) -> None:
    consultation = NewConsultation(sender_id="s", channel="web", question="q", outcome="faq")
    referral = _new_referral(contact_phone=PHONE, description="d", consultation_id=consultation.id)
    handoff = NewHandoff("s", "web")
    for attempt in range(2):
        assert records.write(consultation, engine=engine).id == consultation.id
        assert records.write(referral, engine=engine).id == referral.id
        assert records.write(handoff, engine=engine).id == handoff.id
        if attempt == 0:
            records.close_handoff(handoff.id, engine=engine)  # the second write must not queue it again
    assert get_handoff(handoff.id, engine=engine).status == "closed"
    counts = [_count(engine, t) for t in (consultations, referrals, referral_events, handoffs)]
    assert counts == [1, 1, 1, 1]


# --- deletion on request -------------------------------------------------------------------


def test_forget_sender_also_empties_the_spool(outage: Outage) -> None:
    other_id = _consult(outage.engine, sender_id="someone-else")  # stored while the database is up
    stored_id = _consult(outage.engine)  # stored; a spooled click on it must go too
    stored_referral = _refer(outage.engine, sender_id="wx-openid-42")  # made without a consultation
    others_referral = _refer(outage.engine, sender_id="someone-else")
    outage.down()
    spooled = _spool_a_conversation(outage.engine)
    records.write(NewFeedback(stored_id, "no"), engine=outage.engine)
    kept = records.write(NewHandoff("someone-else", "web"), engine=outage.engine)
    outage.up()
    gone = records.forget_sender("wx-openid-42", engine=outage.engine)
    # 2 consultations (1 stored, 1 spooled), 3 clicks and the handoff spooled; the referral stays.
    assert gone == Forgotten(consultations=2, feedback=3, handoffs=1, spooled=5)
    assert outbox.pending_count() == 2
    assert outbox.replay(outage.engine) == 2
    assert consultations_for_sender("wx-openid-42", engine=outage.engine) == []
    assert records.open_handoff_for("wx-openid-42", engine=outage.engine) is None
    assert records.get_referral(spooled["referral"].id, engine=outage.engine).consultation_id is None
    # The referrals stay for the adviser, but nothing leads from them to the conversation any more.
    assert spooled["referral"].sender_hash == records.hash_sender("wx-openid-42")  # as spooled
    assert records.get_referral(spooled["referral"].id, engine=outage.engine).sender_hash is None
    assert records.get_referral(stored_referral.id, engine=outage.engine).sender_hash is None
    assert records.get_referral(others_referral.id, engine=outage.engine).sender_hash == records.hash_sender(
        "someone-else"
    )
    assert [h.id for h in records.waiting_handoffs(engine=outage.engine)] == [kept.id]
    assert get_consultation(other_id, engine=outage.engine).id == other_id
    assert outbox.rejected_count() == 0


def test_cli_forget_prints_what_was_deleted(sqlite_outage: SqliteOutage, outbox_dir: Path) -> None:
    _consult(sqlite_outage.engine)
    sqlite_outage.down()
    _consult(sqlite_outage.engine)
    records.write(NewHandoff("wx-openid-42", "web"), engine=sqlite_outage.engine)
    sqlite_outage.up()
    command = [sys.executable, "-m", "records", "forget", "--sender", "wx-openid-42", "--url", sqlite_outage.url]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "deleted 2 consultations, 0 feedback, 1 handoffs (2 of them from the outbox)"
    assert outbox.pending_count() == 0
    assert consultations_for_sender("wx-openid-42", engine=sqlite_outage.engine) == []
    refused = subprocess.run([*command[:4], "--url", sqlite_outage.url], cwd=REPO_ROOT, env=env, capture_output=True)
    assert refused.returncode == 2 and b"--sender" in refused.stderr
    sqlite_outage.down()
    down = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert down.returncode == 1 and "nothing deleted: the database is unavailable" in down.stderr


# --- spool lines written by the previous version ----------------------------------------------


def test_lines_spooled_by_the_previous_version_replay(sqlite_outage: SqliteOutage, outbox_dir: Path) -> None:
    """The spool format did not change: rows prepared by the old prepare_* functions still land."""
    cid, rid, hid = (str(uuid.uuid4()) for _ in range(3))
    at = "2026-11-30T08:00:00.123456+00:00"
    old_values = {
        "consultation": {
            "id": cid, "created_at": at, "channel": "wechat", "sender_hash": records.hash_sender("wx-openid-42"),
            "topic": "劳动纠纷", "question": "工资被拖欠，电话138****5678", "articles": ["劳动合同法-30"],
            "outcome": "referred", "confidence": 0.7, "village": "城关镇石桥村",
        },
        "referral": {
            "id": rid, "created_at": at, "village": "城关镇石桥村", "adviser_id": None, "consultation_id": cid,
            "contact_phone": PHONE, "description": DESCRIPTION, "summary": "老板拖欠工资三个月，我的电话138****5678",
            "topic": "劳动纠纷", "urgent": False, "consent": True, "by": "resident",
        },
        "feedback": {"consultation_id": cid, "helpful": False, "created_at": at},
        "handoff": {"id": hid, "sender_id": "wx-openid-42", "channel": "wechat", "reason": None, "created_at": at},
    }
    target = sqlite_outage.engine.url.render_as_string(hide_password=True)
    outbox_dir.mkdir(mode=0o700)
    lines = [
        {"v": 1, "entry": str(uuid.uuid4()), "kind": kind, "db": target, "spooled_at": at, "values": values}
        for kind, values in old_values.items()
    ]
    (outbox_dir / spool.SPOOL_NAME).write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    assert outbox.replay(sqlite_outage.engine) == 4
    assert (outbox.pending_count(), outbox.rejected_count()) == (0, 0)
    assert get_consultation(cid, engine=sqlite_outage.engine).question == "工资被拖欠，电话138****5678"
    referral = records.get_referral(rid, engine=sqlite_outage.engine)
    assert (referral.consultation_id, referral.adviser_name, referral.created_at.isoformat()) == (cid, "周明华", at)
    assert records.get_feedback(cid, engine=sqlite_outage.engine).helpful is False
    assert get_handoff(hid, engine=sqlite_outage.engine).status == "waiting"
