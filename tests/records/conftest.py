"""Fixtures for ``records``: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

import records
from records.schema import metadata

TEST_SALT = "test-salt"


@pytest.fixture(autouse=True)
def _sender_salt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGAL_SENDER_SALT", TEST_SALT)


@pytest.fixture(scope="session")
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose connections use a fresh, randomly named schema (dropped at the end)."""
    schema = f"records_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    try:
        records.db.create_schema(records.get_engine(url))
        yield url
    finally:
        records.db.dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database: a new SQLite file, or the PostgreSQL test schema emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'records.db'}"
    url = request.getfixturevalue("pg_schema_url")
    # DELETE is much faster than TRUNCATE on tables this small.
    with records.get_engine(url).begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    return url


@pytest.fixture
def empty_engine(db_url: str) -> Iterator[Engine]:
    """An engine with the schema but no rows."""
    engine = records.get_engine(db_url)
    records.db.create_schema(engine)
    yield engine
    if engine.dialect.name == "sqlite":
        records.db.dispose_engines(db_url)  # the PostgreSQL engine is reused by the next test


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine with the schema and the shipped village list seeded."""
    records.village_db.seed_villages(empty_engine)
    return empty_engine


@pytest.fixture
def village_ids(engine: Engine) -> dict[str, int]:
    """Village label (城关镇石桥村) → id in the seeded database."""
    return {v.label: v.id for v in records.list_villages(engine)}


@pytest.fixture
def adviser_ids(engine: Engine) -> dict[str, int]:
    """Adviser name → id in the seeded database."""
    return {a.name: a.id for a in records.list_advisers(engine)}
