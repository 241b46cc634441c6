"""Fixtures of the staff app tests: a seeded county, staff accounts and the app as a real server.

``county`` (module scope, SQLite and PostgreSQL) is a fresh database with the shipped villages,
a second adviser for 城关镇石桥村, and one account per role; ``server`` runs ``python -m staff
serve`` on it once per module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from staff_harness import PASSWORD, SALT, Client, County, StaffServer, start, stop

import records
from records import users
from records.db import dispose_engines
from records.schema import metadata
from staff.passwords import hash_password
from tests.pg_schema import own_schema


@pytest.fixture(scope="session", autouse=True)
def _salt() -> Iterator[None]:
    """The app's pseudonymisation key, also for module-scoped fixtures that log consultations."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEGAL_SENDER_SALT", SALT)
        yield


def _pg_url(postgres_url: str) -> Iterator[str]:
    with own_schema(postgres_url, "staff_test") as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def county(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    tmp = tmp_path_factory.mktemp("staff")
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp / 'legal.db'}"])
    else:
        urls = _pg_url(request.getfixturevalue("postgres_url"))
    url = next(urls)
    engine = records.get_engine(url)
    records.init_db(engine)  # schema and the shipped villages
    assert {t.name for t in metadata.sorted_tables} >= {"staff_users", "audit_log", "notifications"}
    advisers = {a.name: a.id for a in records.list_advisers(engine)}
    villages = {v.label: v.id for v in records.list_villages(engine)}
    hashed = hash_password(PASSWORD)
    accounts = [
        ("zhou", ["adviser"], {"adviser_id": advisers["周明华"]}),  # 城关镇: 东街 西街 石桥
        ("wu", ["adviser"], {"adviser_id": advisers["吴晓燕"]}),  # 城关镇: 新华 马家庄 …
        ("zheng", ["adviser"], {"adviser_id": advisers["郑国强"]}),  # 河口镇
        ("cg-office", ["township"], {"township": "城关镇"}),
        ("hk-office", ["township"], {"township": "河口镇"}),
        ("bureau", ["admin"], {}),
        ("hotline", ["operator"], {}),
    ]
    for name, roles, kw in accounts:
        users.create_user(name, hashed, roles, engine=engine, **kw)
    try:
        yield County(url, advisers, villages, tmp)
    finally:
        dispose_engines(url)
        for _ in urls:  # run the PostgreSQL generator's clean-up
            pass


@pytest.fixture(scope="module")
def server(county: County, request: pytest.FixtureRequest) -> Iterator[StaffServer]:
    """The app on the module's database; a module may set ``SERVER_ENV`` (a dict) for more settings."""
    extra = dict(getattr(request.module, "SERVER_ENV", {}))
    running = start(county.db_url, county.tmp, **{k: v.format(tmp=county.tmp) for k, v in extra.items()})
    try:
        yield running
    finally:
        stop(running)


@pytest.fixture
def client(server: StaffServer) -> Client:
    """A client from its own address (so throttling by address never crosses tests)."""
    return Client(server.url, address=f"203.0.113.{uuid.uuid4().int % 250 + 1}")
