"""records.config, records.db and records.privacy."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

import records
from records import config
from records.schema import advisers, villages
from tests.fresh_files import open_together


def test_database_url_defaults_to_var_in_repo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LEGAL_DB_URL", raising=False)
    monkeypatch.setattr(config, "VAR_DIR", tmp_path / "var")
    assert config.database_url() == f"sqlite:///{tmp_path / 'var' / 'legal.db'}"
    assert (tmp_path / "var").is_dir()
    assert Path(records.__file__).resolve().parents[1] == config.REPO_ROOT


def test_database_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGAL_DB_URL", "postgresql+psycopg://u@h/db")
    assert config.database_url() == "postgresql+psycopg://u@h/db"


def test_sender_salt_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGAL_SENDER_SALT", "s3cret")
    assert config.sender_salt() == b"s3cret"


def test_sender_salt_file_is_created_once_and_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LEGAL_SENDER_SALT")
    monkeypatch.setattr(config, "VAR_DIR", tmp_path)
    first = config.sender_salt()
    assert len(first) == 64
    assert config.sender_salt() == first
    assert stat.S_IMODE(os.stat(tmp_path / "sender.salt").st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sender.salt"]


def test_hash_sender_is_keyed_and_stable() -> None:
    digest = records.hash_sender("wx-openid-123")
    assert digest == records.hash_sender("wx-openid-123")
    assert len(digest) == 64 and "wx-openid" not in digest
    assert digest != records.hash_sender("wx-openid-124")
    assert digest != records.hash_sender("wx-openid-123", salt=b"other")


def test_get_engine_is_cached_per_url(tmp_path: Path) -> None:
    a = records.get_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert records.get_engine(f"sqlite:///{tmp_path / 'a.db'}") is a
    assert records.get_engine(f"sqlite:///{tmp_path / 'b.db'}") is not a
    records.db.dispose_engines()
    assert records.get_engine(f"sqlite:///{tmp_path / 'a.db'}") is not a
    records.db.dispose_engines()


def test_get_engine_without_url_uses_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'env.db'}"
    monkeypatch.setenv("LEGAL_DB_URL", url)
    engine = records.get_engine()
    assert engine is records.get_engine(url)
    records.db.create_schema()
    assert (tmp_path / "sub" / "env.db").exists()
    records.db.dispose_engines()


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = records.get_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    records.db.dispose_engines()


def _connect(path: str) -> None:
    with records.get_engine(f"sqlite:///{path}").connect() as conn:
        conn.exec_driver_sql("SELECT 1")


def test_processes_opening_a_fresh_database_together_all_connect(tmp_path: Path) -> None:
    # The action server and the staff app start side by side on a fresh machine; switching the new file
    # to WAL used to fail in one of them with "database is locked" (SQLite does not wait on that lock).
    paths = [str(tmp_path / f"fresh-{n}.db") for n in range(60)]
    assert open_together(_connect, paths, (DBAPIError,)) == ["ok"] * 3


def test_create_schema_is_idempotent(empty_engine: Engine) -> None:
    records.db.create_schema(empty_engine)
    names = set(inspect(empty_engine).get_table_names())
    assert {
        "villages",
        "advisers",
        "consultations",
        "feedback",
        "referrals",
        "referral_events",
        "handoffs",
    } <= names
    indexed = {tuple(ix["column_names"]) for ix in inspect(empty_engine).get_indexes("referrals")}
    assert {("created_at",), ("topic",), ("village_id",)} <= indexed


def test_transaction_commits_and_rolls_back(empty_engine: Engine) -> None:
    with records.db.transaction(empty_engine) as conn:
        conn.execute(insert(advisers).values(name="甲", phone="13800009999"))
    with pytest.raises(RuntimeError), records.db.transaction(empty_engine) as conn:
        conn.execute(insert(advisers).values(name="乙", phone="13800009998"))
        raise RuntimeError("abort")
    with records.db.transaction(empty_engine, write=False) as conn:
        assert conn.execute(select(advisers.c.name)).scalars().all() == ["甲"]


def test_foreign_keys_are_enforced(empty_engine: Engine) -> None:
    with pytest.raises(IntegrityError), records.db.transaction(empty_engine) as conn:
        conn.execute(insert(villages).values(name="无", township="无", adviser_id=999))


def test_timestamps_come_back_as_utc(engine: Engine) -> None:
    new = records.NewConsultation(sender_id="s", channel="web", question="q", outcome="fallback")
    cid = records.write(new, engine=engine).id
    created = records.consultations.get_consultation(cid, engine=engine).created_at
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0
    with records.db.transaction(engine, write=False) as conn:
        assert conn.execute(text("SELECT count(*) FROM consultations")).scalar() == 1


def test_outbox_replay_interval_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEGAL_OUTBOX_REPLAY_SECONDS", raising=False)
    assert config.outbox_replay_seconds() == 30.0
    monkeypatch.setenv("LEGAL_OUTBOX_REPLAY_SECONDS", "2.5")
    assert config.outbox_replay_seconds() == 2.5
    for wrong in ("0", "-1", "often"):
        monkeypatch.setenv("LEGAL_OUTBOX_REPLAY_SECONDS", wrong)
        with pytest.raises(ValueError):
            config.outbox_replay_seconds()
