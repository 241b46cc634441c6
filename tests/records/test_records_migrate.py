"""Old databases are brought up to the current schema by ``init_db`` (records.migrate).

Each test makes a database from ``schema_v1`` (a frozen copy of the tables as they were before the
additive migration existed), fills it, and then runs the real ``init_db`` or ``upgrade`` on it,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Engine, Index, Integer, MetaData, String, func, inspect, select, text

import records
from records import migrate
from records.consultations import get_consultation
from records.schema import referral_events, referral_notes, referrals
from tests.pg_schema import own_schema
from tests.records import schema_v1 as v1

CREATED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of its own (a new SQLite file or a new PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('old') / 'legal.db'}"
        return
    with own_schema(request.getfixturevalue("postgres_url"), "records_migrate") as url:
        yield url


@pytest.fixture
def old_engine(old_url: str) -> Iterator[Engine]:
    """A database with the old tables, the shipped villages, and one referral with its history."""
    engine = records.get_engine(old_url)
    v1.metadata.create_all(engine)
    records.village_db.seed_villages(engine)
    with engine.begin() as conn:
        village_id, adviser_id = conn.execute(select(v1.villages.c.id, v1.villages.c.adviser_id).limit(1)).one()
        conn.execute(
            v1.consultations.insert().values(
                id="c0000000-0000-4000-8000-000000000001", created_at=CREATED, channel="web",
                sender_hash="a" * 64, question="老板拖欠工资怎么办", articles=["劳动合同法-30"], outcome="referred",
            )
        )
        conn.execute(
            v1.referrals.insert().values(
                id="r0000000-0000-4000-8000-000000000001", created_at=CREATED, updated_at=CREATED,
                consultation_id="c0000000-0000-4000-8000-000000000001", village_id=village_id,
                adviser_id=adviser_id, contact_phone="13812345678", description="老板欠我三个月工资",
                summary="老板欠我三个月工资", topic="labor", urgent=False, consent=True, status="accepted",
            )
        )
        conn.execute(
            v1.referral_events.insert().values(
                referral_id="r0000000-0000-4000-8000-000000000001", at=CREATED, from_status=None,
                to_status="new", actor="resident",
            )
        )
        conn.execute(
            v1.referral_notes.insert().values(
                referral_id="r0000000-0000-4000-8000-000000000001", at=CREATED, author="adv", text="已电话联系"
            )
        )
    yield engine
    if engine.dialect.name == "sqlite":
        records.db.dispose_engines(old_url)


def _columns(engine: Engine, table: str) -> dict[str, dict]:
    return {c["name"]: c for c in inspect(engine).get_columns(table)}


def test_init_db_upgrades_an_old_database_and_keeps_its_rows(old_engine: Engine) -> None:
    assert "sender_hash" not in _columns(old_engine, "referrals")
    assert _columns(old_engine, "referrals")["adviser_id"]["nullable"] is False

    assert records.init_db(old_engine) == 0  # the villages were there already

    columns = _columns(old_engine, "referrals")
    assert "sender_hash" in columns and columns["adviser_id"]["nullable"] is True
    indexes = {i["name"] for i in inspect(old_engine).get_indexes("referrals")}
    assert {"ix_referrals_sender_hash", "ix_referrals_adviser_status", "ix_referrals_status"} <= indexes
    checks = inspect(old_engine).get_check_constraints("referrals")
    assert any("status" in (c.get("sqltext") or "") for c in checks)  # the rebuilt table keeps them
    referral = records.get_referral("r0000000-0000-4000-8000-000000000001", engine=old_engine)
    assert (referral.status, referral.contact_phone) == ("accepted", "13812345678")
    assert referral.description == "老板欠我三个月工资"
    assert referral.consultation_id == "c0000000-0000-4000-8000-000000000001"
    assert referral.created_at == CREATED
    with old_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(referral_events)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(referral_notes)).scalar_one() == 1
    # Nothing left to do the second time.
    assert migrate.upgrade(old_engine) == []


def test_old_consultations_get_the_draft_column_empty(old_engine: Engine) -> None:
    assert "draft" not in _columns(old_engine, "consultations")
    records.init_db(old_engine)
    assert _columns(old_engine, "consultations")["draft"]["nullable"] is True
    old = get_consultation("c0000000-0000-4000-8000-000000000001", engine=old_engine)
    assert (old.question, old.draft) == ("老板拖欠工资怎么办", None)
    new = records.NewConsultation(sender_id="web-1", channel="web", question="加班费", outcome="answered", draft="used")
    assert get_consultation(records.write(new, engine=old_engine).id, engine=old_engine).draft == "used"


def test_new_columns_are_usable_after_the_upgrade(old_engine: Engine) -> None:
    records.init_db(old_engine)
    village = records.list_villages(old_engine)[0]
    receipt = records.write(
        records.NewReferral(
            village=village.id, contact_phone="13900001111", description="邻居占了我家的宅基地",
            consent=True, sender_id="web-visitor-1",
        ),
        engine=old_engine,
    )
    assert not receipt.pending
    with old_engine.connect() as conn:
        stored = conn.execute(select(referrals.c.sender_hash).where(referrals.c.id == receipt.id)).scalar_one()
        # A referral the township holds has no adviser: the relaxed NOT NULL accepts it.
        conn.execute(
            referrals.update().where(referrals.c.id == receipt.id).values(adviser_id=None)
        )
        conn.commit()
    assert stored == records.hash_sender("web-visitor-1")
    assert records.get_referral(receipt.id, engine=old_engine).adviser_id is None


def test_foreign_keys_still_hold_after_sqlite_rebuilds_the_table(old_engine: Engine) -> None:
    records.init_db(old_engine)
    with old_engine.begin() as conn:
        conn.execute(referrals.delete().where(referrals.c.id == "r0000000-0000-4000-8000-000000000001"))
        # ON DELETE CASCADE of events and notes still points at the (rebuilt) referrals table.
        assert conn.execute(select(func.count()).select_from(referral_events)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(referral_notes)).scalar_one() == 0
    with pytest.raises(Exception, match="(?i)foreign key"), old_engine.begin() as conn:
        conn.execute(
            referral_notes.insert().values(referral_id="no-such-referral", at=CREATED, author="x", text="y")
        )


def test_processes_starting_together_upgrade_once(old_engine: Engine) -> None:
    results: list[object] = []

    def start() -> None:
        try:
            results.append(migrate.upgrade(old_engine))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            results.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(r, list) for r in results), results
    assert sorted(len(r) for r in results)[:2] == [0, 0]  # one did the work, the others found none
    assert "sender_hash" in _columns(old_engine, "referrals")


def _with_extra_column(column: Column, index: bool = False) -> MetaData:
    target = MetaData(naming_convention=v1.metadata.naming_convention)
    for table in v1.metadata.sorted_tables:
        copy = table.to_metadata(target)
        if table.name == "feedback":
            copy.append_column(column)
            if index:
                Index(f"ix_feedback_{column.name}", copy.c[column.name])
    return target


def test_a_defaulted_column_and_its_index_are_added_with_old_rows_filled(old_engine: Engine) -> None:
    with old_engine.begin() as conn:
        conn.execute(
            v1.feedback.insert().values(
                consultation_id="c0000000-0000-4000-8000-000000000001", helpful=True, created_at=CREATED
            )
        )
    target = _with_extra_column(Column("source", String(16), nullable=False, server_default="button"), index=True)
    done = migrate.upgrade(old_engine, target=target)
    assert done == ["added column feedback.source", "added index ix_feedback_source"]
    with old_engine.connect() as conn:
        assert conn.execute(text("SELECT source FROM feedback")).scalars().all() == ["button"]


def test_a_not_null_column_without_default_is_refused_and_nothing_changes(old_engine: Engine) -> None:
    target = _with_extra_column(Column("weight", Integer, nullable=False))
    with pytest.raises(migrate.UnsafeSchemaChange, match="feedback.weight"):
        migrate.upgrade(old_engine, target=target)
    assert "weight" not in _columns(old_engine, "feedback")
