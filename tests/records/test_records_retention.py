"""Retention: texts older than RETENTION_DAYS are anonymised, statistics stay, recent data is untouched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

import records
from records import NewConsultation, NewFeedback, NewHandoff, NewReferral, transition
from records.__main__ import main as records_cli
from records.retention import apply_retention
from records.schema import (
    consultations,
    feedback,
    handoffs,
    notifications,
    referral_events,
    referral_notes,
    referrals,
    utcnow,
)

OLD = utcnow() - timedelta(days=400)
RECENT = utcnow() - timedelta(days=10)
PHONE = "13812345678"


def _ask(engine: Engine, when: object, sender: str = "resident-1") -> str:
    record = NewConsultation(
        sender_id=sender,
        channel="web",
        question="老板欠我工资三个月了怎么办",
        outcome="answered",
        topic="labor",
        articles=["labor_contract_law-30"],
        confidence=0.8,
        created_at=when,
    )
    return records.write(record, engine=engine).id


def _refer(engine: Engine, when: object, status: str | None = None) -> str:
    referral = NewReferral(
        village="城关镇石桥村",
        contact_phone=PHONE,
        description="我叫张三，老板欠薪，电话13812345678",
        consent=True,
        topic="labor",
        created_at=when,
    )
    rid = records.write(referral, engine=engine).id
    if status:
        for step in ("accepted", status):
            transition(rid, step, "adviser:1", "已电话联系张三", engine=engine)
    return rid


def test_old_texts_are_anonymised_and_statistics_kept(engine: Engine) -> None:
    old_q, new_q = _ask(engine, OLD), _ask(engine, RECENT)
    records.write(NewFeedback(consultation_id=old_q, helpful=True), engine=engine)
    old_done, old_open, new_done = (
        _refer(engine, OLD, "resolved"),
        _refer(engine, OLD),
        _refer(engine, RECENT, "resolved"),
    )
    with records.db.transaction(engine) as conn:
        for rid in (old_done, new_done):
            conn.execute(insert(referral_notes).values(referral_id=rid, author="adviser:1", text="张三说明天来"))
        conn.execute(
            insert(notifications).values(
                dedupe_key="k1",
                channel="log",
                recipient="adviser:1",
                subject="新的转介事项",
                body="张三 欠薪",
                referral_id=old_done,
                status="sent",
                created_at=OLD,
            )
        )
    old_handoff = records.write(NewHandoff("wx-openid-1", "wechat", "想找人工", created_at=OLD), engine=engine).id
    records.close_handoff(old_handoff, engine=engine)
    records.write(NewHandoff("wx-openid-2", "wechat", "想找人工", created_at=OLD), engine=engine)  # still waiting

    done = apply_retention(365, engine=engine)

    assert (done.consultations, done.referrals, done.notes, done.handoffs, done.notifications) == (1, 1, 1, 1, 1)
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(consultations))}
        assert rows[old_q].question == "" and rows[old_q].sender_hash == ""
        # What the statistics count stays.
        assert (rows[old_q].topic, rows[old_q].outcome, rows[old_q].channel) == ("劳动纠纷", "answered", "web")
        assert list(rows[old_q].articles) == ["labor_contract_law-30"]
        assert rows[new_q].question and rows[new_q].sender_hash
        assert conn.execute(select(func.count()).select_from(feedback)).scalar_one() == 1
        refs = {r.id: r for r in conn.execute(select(referrals))}
        assert (refs[old_done].contact_phone, refs[old_done].description, refs[old_done].summary) == ("", "", "")
        assert refs[old_done].status == "resolved" and refs[old_done].topic == "劳动纠纷"
        # An open referral keeps its details however old; a recent finished one too.
        assert refs[old_open].contact_phone == PHONE and refs[new_done].contact_phone == PHONE
        assert list(conn.execute(select(referral_notes.c.referral_id)).scalars()) == [new_done]
        notes = dict(
            conn.execute(
                select(referral_events.c.referral_id, referral_events.c.note).where(
                    referral_events.c.to_status == "resolved"
                )
            ).all()
        )
        assert notes == {old_done: None, new_done: "已电话联系张三"}  # the history stays, the words go
        assert conn.execute(select(func.count()).select_from(notifications)).scalar_one() == 0
        senders = sorted(r.sender_id for r in conn.execute(select(handoffs)))
        assert senders == ["", "wx-openid-2"]

    again = apply_retention(365, engine=engine)
    assert (again.consultations, again.referrals, again.notes, again.handoffs) == (0, 0, 0, 0)


def test_retention_off_changes_nothing(engine: Engine) -> None:
    cid = _ask(engine, OLD)
    assert apply_retention(0, engine=engine).cutoff is None
    with engine.connect() as conn:
        assert conn.execute(select(consultations.c.question).where(consultations.c.id == cid)).scalar_one()


def test_command_uses_retention_days(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _ask(engine, utcnow() - timedelta(days=40))
    monkeypatch.setenv("RETENTION_DAYS", "60")
    assert records_cli(["retention", "--url", db_url]) == 0
    assert "anonymised 0 consultations" in capsys.readouterr().out
    monkeypatch.setenv("RETENTION_DAYS", "30")
    assert records_cli(["retention", "--url", db_url]) == 0
    assert "anonymised 1 consultations" in capsys.readouterr().out
