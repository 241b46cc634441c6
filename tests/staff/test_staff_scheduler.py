"""Routing, notifications and the service level, on SQLite and PostgreSQL.

The scheduler runs inside the app (``STAFF_TICK_SECONDS=1``); tests drive a second scheduler with
a controllable clock against the same database, which also shows the single-runner lease: at the
real time the app holds it, a day later (its lease long expired) the test's scheduler takes over.
E-mail goes to a real ``aiosmtpd`` server process that is down for the first attempt.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import insert, select
from staff_harness import County, StaffServer, login, store_referral

import records
from records import notifications, routing
from records.db import transaction
from records.schema import referral_routing, villages
from staff.config import Settings
from staff.scheduler import Scheduler


@pytest.fixture(autouse=True)
def _database(county: County, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGAL_DB_URL", county.db_url)


def new_referral(county: County, village: str, *, urgent: bool = False) -> str:
    return store_referral(
        county.db_url,
        village,
        contact_phone="13700001111",
        description="工地老板拖欠三个月工资，电话13700001111",
        topic="劳动纠纷",
        urgent=urgent,
    )


def wait_for(condition, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


# --- routing ------------------------------------------------------------------------------------


def route_of(county: County, village: str, *, urgent: bool = False, now: datetime | None = None) -> routing.Route:
    with transaction(records.get_engine(county.db_url)) as conn:
        return routing.route(conn, county.villages[village], urgent=urgent, now=now)


def test_routing_rules(county: County) -> None:
    engine = records.get_engine(county.db_url)
    zhou, he = county.advisers["周明华"], county.advisers["孙丽"]
    assert route_of(county, "柳林镇柳林村") == routing.Route(county.advisers["陈建军"], "柳林镇", False, "village")
    # Two advisers for one village: the one with fewer open referrals gets it.
    routing.add_village_adviser(county.villages["柳林镇柳林村"], he, engine=engine)
    new_referral(county, "河口镇沙坪村")  # one open referral for 孙丽, none for 陈建军
    assert route_of(county, "柳林镇柳林村").adviser_id == county.advisers["陈建军"]
    for _ in range(2):
        new_referral(county, "柳林镇枣园村")  # 陈建军 now has two
    chosen = route_of(county, "柳林镇柳林村")
    assert (chosen.adviser_id, chosen.reason) == (he, "fewest_open")
    # An absent adviser is skipped; with nobody left the township's 司法所 holds it.
    routing.set_absence(he, datetime.now(UTC) + timedelta(days=3), engine=engine)
    assert route_of(county, "柳林镇柳林村").adviser_id == county.advisers["陈建军"]
    assert route_of(county, "柳林镇柳林村", now=datetime.now(UTC) + timedelta(days=4)).adviser_id == he
    routing.set_absence(zhou, datetime.now(UTC) + timedelta(days=3), engine=engine)
    assert route_of(county, "城关镇石桥村") == routing.Route(None, "城关镇", True, "adviser_absent")
    routing.set_absence(zhou, None, engine=engine)
    # Urgent: the adviser and the township at once.
    assert route_of(county, "城关镇石桥村", urgent=True) == routing.Route(zhou, "城关镇", True, "urgent")
    # The writer routes: a referral from 柳林村 lands with the adviser who has fewer open ones.
    routing.set_absence(he, None, engine=engine)
    stored = records.get_referral(new_referral(county, "柳林镇柳林村"), engine=engine)
    assert stored.adviser_id == he
    urgent = new_referral(county, "柳林镇柳林村", urgent=True)
    with transaction(engine, write=False) as conn:
        row = conn.execute(select(referral_routing).where(referral_routing.c.referral_id == urgent)).one()
    assert (row.township, row.to_township, row.reason) == ("柳林镇", True, "urgent")
    # An absent sole adviser: the 司法所 holds it (the referral row keeps the village's adviser).
    routing.set_absence(county.advisers["郑国强"], datetime.now(UTC) + timedelta(days=1), engine=engine)
    held = new_referral(county, "河口镇河口村")
    routing.set_absence(county.advisers["郑国强"], None, engine=engine)
    with transaction(engine, write=False) as conn:
        row = conn.execute(select(referral_routing).where(referral_routing.c.referral_id == held)).one()
    assert (row.to_township, row.reason) == (True, "adviser_absent")
    # A village without any adviser goes to the 司法所.
    with transaction(engine) as conn:
        conn.execute(insert(villages).values(name="新建村", township="城关镇", adviser_id=None))
        lonely = conn.execute(select(villages.c.id).where(villages.c.name == "新建村")).scalar_one()
        assert routing.route(conn, lonely) == routing.Route(None, "城关镇", True, "no_adviser")


# --- notifications, service level, live updates ----------------------------------------------


def test_new_referral_reaches_the_adviser_live_and_urgent_ones_the_township(
    server: StaffServer, county: County
) -> None:
    wu = login(server, "wu")
    office = login(server, "cg-office")
    headers = {"Cookie": f"staff_session={wu.cookie}", "X-Forwarded-For": wu.address}
    with requests.get(f"{server.url}/api/events", headers=headers, stream=True, timeout=30) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.iter_lines(decode_unicode=True)
        referral_id = new_referral(county, "城关镇马家庄村")  # 吴晓燕
        event = {}
        for line in lines:
            if line.startswith("data: "):
                event = json.loads(line[6:])
                break
    assert event["referral_id"] == referral_id and "城关镇马家庄村" in event["subject"]
    sent = notifications.all_for_referral(referral_id, engine=records.get_engine(county.db_url))
    assert {(n.channel, n.recipient) for n in sent} == {("inapp", f"adviser:{county.advisers['吴晓燕']}"),
                                                         ("log", f"adviser:{county.advisers['吴晓燕']}")}  # fmt: skip
    wait_for(lambda: all(n.status == "sent" for n in notifications.all_for_referral(referral_id)))

    urgent = new_referral(county, "城关镇新华村", urgent=True)
    recipients = wait_for(lambda: {n.recipient for n in notifications.all_for_referral(urgent)})
    assert recipients == {f"adviser:{county.advisers['吴晓燕']}", "township:城关镇"}
    item = next(r for r in office.get("/api/referrals").json()["referrals"] if r["id"] == urgent)
    assert item["urgent"] and item["to_township"] and item["route_reason"] == "urgent"


def test_one_runner_and_sla_escalation_with_a_clock(server: StaffServer, county: County) -> None:
    engine = records.get_engine(county.db_url)
    referral_id = new_referral(county, "城关镇杨柳村")  # 吴晓燕
    wait_for(lambda: notifications.all_for_referral(referral_id, engine=engine))
    clock = Scheduler(Settings(accept_hours=24, resolve_days=7))
    # The app's scheduler holds the lease: at the real time the second runner does nothing.
    assert clock.run_once(datetime.now(UTC)) == {}
    try:
        later = datetime.now(UTC) + timedelta(hours=25)
        done = clock.run_once(later)
        assert done["escalated"] >= 1
        assert clock.run_once(later)["escalated"] == 0  # never twice
    finally:
        clock.release()
    office, wu = login(server, "cg-office"), login(server, "wu")
    overdue = {r["id"]: r for r in office.get("/api/referrals?status=overdue").json()["referrals"]}
    assert overdue[referral_id]["status"] == "escalated" and overdue[referral_id]["overdue"]
    assert referral_id in {r["id"] for r in wu.get("/api/referrals?status=overdue").json()["referrals"]}
    sent = notifications.all_for_referral(referral_id, engine=engine)
    escalations = [n for n in sent if n.dedupe_key.startswith("escalated:")]
    assert {n.recipient for n in escalations} == {f"adviser:{county.advisers['吴晓燕']}", "township:城关镇"}
    history = wu.get(f"/api/referrals/{referral_id}").json()["history"]
    assert history[-1]["by"] == "scheduler" and history[-1]["to_status"] == "escalated"

    # Accepting late ends the "not accepted" overdue; a week on it is flagged for resolution.
    assert wu.post(f"/api/referrals/{referral_id}/accept").json()["status"] == "accepted"
    assert referral_id not in {r["id"] for r in wu.get("/api/referrals?status=overdue").json()["referrals"]}
    try:
        week_later = clock.run_once(datetime.now(UTC) + timedelta(days=8))
    finally:
        clock.release()
    assert week_later["flagged"] >= 1
    # Eight days on, the sessions have expired and were purged: the office logs in again.
    assert week_later["purged"] >= 2 and office.get("/api/referrals").status_code == 401
    office = login(server, "cg-office")
    assert referral_id in {r["id"] for r in office.get("/api/referrals?status=overdue").json()["referrals"]}
    with transaction(engine, write=False) as conn:
        row = conn.execute(select(referral_routing).where(referral_routing.c.referral_id == referral_id)).one()
    assert row.escalated_at and row.resolve_flagged_at and row.notified_at


def test_lease_passes_on_only_when_it_expires(county: County) -> None:
    settings = Settings(tick_seconds=5)
    first, second = Scheduler(settings), Scheduler(settings)
    now = datetime.now(UTC) + timedelta(days=30)  # past the app's lease
    try:
        assert first.acquire(now) and first.acquire(now + timedelta(seconds=5))  # renewal
        assert not second.acquire(now + timedelta(seconds=10))
        assert second.acquire(now + timedelta(seconds=21))  # 15 s lease ran out
        assert not first.acquire(now + timedelta(seconds=22))
    finally:
        first.release()
        second.release()


@pytest.mark.redis
def test_redis_lease(county: County) -> None:
    settings = Settings(redis_url="redis://127.0.0.1:6379/5", tick_seconds=1)
    first, second = Scheduler(settings), Scheduler(settings)
    first._redis.delete("staff:lock:staff-scheduler")
    now = datetime.now(UTC)
    try:
        assert first.acquire(now) and first.acquire(now)
        assert not second.acquire(now)
        first.release()
        assert second.acquire(now)
    finally:
        second.release()


def test_two_app_processes_one_runner_and_takeover(server: StaffServer, county: County) -> None:
    """A second app process on the same database waits; when the runner stops, it takes over."""
    from staff_harness import start, stop

    from records.schema import scheduler_locks

    engine = records.get_engine(county.db_url)

    def holder() -> str:
        with transaction(engine, write=False) as conn:
            return conn.execute(select(scheduler_locks.c.holder)).scalar() or ""

    first = wait_for(holder)
    second = start(county.db_url, county.tmp)
    try:
        time.sleep(3)  # three ticks of the second process
        assert holder() == first  # still the module's app
        assert str(server.process.pid) in first.split(":")
        stop(server)  # the runner releases its lease on the way out (or it would expire)
        taken = wait_for(lambda: (h := holder()) != first and h, timeout=30)
        assert str(second.process.pid) in taken.split(":")
        # And it works: a new referral is announced by the second process.
        referral_id = new_referral(county, "城关镇红旗村")
        wait_for(lambda: notifications.all_for_referral(referral_id, engine=engine))
    finally:
        stop(second)
