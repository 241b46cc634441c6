"""The staff app's JSON API over HTTP against the running server, on SQLite and PostgreSQL:
login, logout, throttling, CSRF, cookie flags and headers, scopes (404 for another adviser's
referral), the audit log, accepting, notes, resolving, and the error semantics."""

from __future__ import annotations

import time
import uuid

import pytest
from staff_harness import Client, County, StaffServer, login, store_referral

import records
from records import audit, casework, notifications
from records.schema import villages

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def make_referral(county: County, village: str, *, urgent: bool = False, phone: str = "13912345678") -> str:
    return store_referral(
        county.db_url, village, contact_phone=phone, description=f"邻居占了我家宅基地，请回电 {phone}", urgent=urgent
    )


def error_of(reply) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    body = reply.json()
    assert set(body) == {"error", "detail"}, body
    return reply.status_code, body["error"]


# --- sessions ------------------------------------------------------------------------------------


def test_login_sets_a_protected_cookie_and_returns_the_csrf_token(server: StaffServer, client: Client) -> None:
    reply = client.login("zhou")
    assert reply.status_code == 200
    assert reply.json()["csrf_token"] and reply.json()["user"]["roles"] == ["adviser"]
    cookie = reply.headers["Set-Cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/api/referrals").status_code == 200


def test_wrong_password_missing_fields_and_no_session(client: Client) -> None:
    assert error_of(client.login("zhou", "wrong-password")) == (401, "invalid_credentials")
    assert error_of(client.login("nobody-here", "wrong-password")) == (401, "invalid_credentials")
    assert error_of(client.post("/api/session", json={"username": "zhou"})) == (422, "invalid")
    assert error_of(client.post("/api/session", data=b"not json")) == (422, "invalid")
    assert error_of(client.get("/api/referrals")) == (401, "unauthorized")
    # A made-up cookie is no session either.
    client.cookie = "forged"
    assert error_of(client.get("/api/referrals")) == (401, "unauthorized")


def test_logout_needs_csrf_and_ends_the_session(server: StaffServer) -> None:
    c = login(server, "zhou")
    assert error_of(c.request("DELETE", "/api/session", csrf=False)) == (403, "forbidden")
    assert c.request("DELETE", "/api/session").status_code == 200
    assert error_of(c.get("/api/referrals")) == (401, "unauthorized")


def test_login_is_throttled_per_account(server: StaffServer) -> None:
    for n in range(5):  # STAFF_LOGIN_MAX_USER=5, each from another address
        attacker = Client(server.url, address=f"198.51.100.{n + 10}")
        assert attacker.login("wu", f"guess-number-{n}").status_code == 401
    # Even the right password is refused now, from any address: no more guesses for 15 minutes.
    reply = Client(server.url, address="198.51.100.99").login("wu")
    assert error_of(reply) == (429, "throttled")
    assert int(reply.headers["Retry-After"]) > 0
    # Other accounts are unaffected.
    assert Client(server.url, address="198.51.100.98").login("zheng").status_code == 200


def test_login_is_throttled_per_address(server: StaffServer) -> None:
    attacker = Client(server.url, address="198.51.100.200")
    for n in range(8):  # STAFF_LOGIN_MAX_ADDR=8, each against another (unknown) name
        assert attacker.login(f"user{n}", "guess").status_code == 401
    assert error_of(attacker.login("zheng")) == (429, "throttled")
    assert Client(server.url, address="198.51.100.201").login("zheng").status_code == 200


# --- scope -----------------------------------------------------------------------------------------


def test_adviser_sees_only_their_referrals_and_gets_404_for_others(server: StaffServer, county: County) -> None:
    mine = make_referral(county, "城关镇石桥村")  # 周明华
    theirs = make_referral(county, "城关镇新华村")  # 吴晓燕
    zhou = login(server, "zhou")
    ids = {r["id"] for r in zhou.get("/api/referrals").json()["referrals"]}
    assert mine in ids and theirs not in ids
    assert zhou.get(f"/api/referrals/{mine}").status_code == 200
    for reply in (
        zhou.get(f"/api/referrals/{theirs}"),
        zhou.post(f"/api/referrals/{theirs}/accept"),
        zhou.post(f"/api/referrals/{theirs}/notes", json={"text": "看看"}),
        zhou.post(f"/api/referrals/{theirs}/resolve", json={"outcome": "answered", "summary": "x"}),
        zhou.get("/api/referrals/00000000-0000-0000-0000-000000000000"),
    ):
        assert error_of(reply) == (404, "not_found")
    # Nothing changed, and the adviser's attempts left no trace of reading it.
    assert records.get_referral(theirs, engine=records.get_engine(county.db_url)).status == "new"


def test_township_sees_its_villages_without_the_phone(server: StaffServer, county: County) -> None:
    in_town = make_referral(county, "城关镇新华村", phone="13987654321")
    elsewhere = make_referral(county, "河口镇渡口村")
    office = login(server, "cg-office")
    ids = {r["id"] for r in office.get("/api/referrals").json()["referrals"]}
    assert in_town in ids and elsewhere not in ids
    assert error_of(office.get(f"/api/referrals/{elsewhere}")) == (404, "not_found")
    detail = office.get(f"/api/referrals/{in_town}").json()
    assert "contact_phone" not in detail
    assert "13987654321" not in str(detail) and "139****4321" in detail["question"]
    # The admin sees everything, the phone still only the adviser.
    bureau = login(server, "bureau")
    all_ids = {r["id"] for r in bureau.get("/api/referrals").json()["referrals"]}
    assert {in_town, elsewhere} <= all_ids
    assert "contact_phone" not in bureau.get(f"/api/referrals/{elsewhere}").json()
    # Only the assigned adviser or the township may act; the admin gets 403 (it can see it).
    assert error_of(bureau.post(f"/api/referrals/{in_town}/accept")) == (403, "forbidden")


def _village_without_adviser(county: County, name: str) -> str:
    with records.get_engine(county.db_url).begin() as conn:
        conn.execute(villages.insert().values(name=name, township="城关镇", adviser_id=None))
    return f"城关镇{name}"


def test_a_village_without_adviser_is_held_and_worked_by_its_township(server: StaffServer, county: County) -> None:
    engine = records.get_engine(county.db_url)
    village = _village_without_adviser(county, f"新建{uuid.uuid4().hex[:6]}村")
    held = make_referral(county, village, phone="13700001111")
    office = login(server, "cg-office")
    listed = {r["id"]: r for r in office.get("/api/referrals").json()["referrals"]}
    assert listed[held]["adviser_id"] is None and listed[held]["adviser_name"] is None
    assert (listed[held]["to_township"], listed[held]["route_reason"]) == (True, "no_adviser")
    # The office is told, not an adviser; no adviser and no other township sees it.
    deadline = time.monotonic() + 15
    while {n.recipient for n in notifications.all_for_referral(held, engine=engine)} != {"township:城关镇"}:
        assert time.monotonic() < deadline, notifications.all_for_referral(held, engine=engine)
        time.sleep(0.2)
    for other in ("zhou", "zheng", "hk-office"):  # zhou: an adviser of the same township
        client = login(server, other)
        assert held not in {r["id"] for r in client.get("/api/referrals").json()["referrals"]}
        assert error_of(client.get(f"/api/referrals/{held}")) == (404, "not_found")
        assert error_of(client.post(f"/api/referrals/{held}/accept")) == (404, "not_found")
    # The office holds it: it sees the phone (audited) and accepts, notes and resolves it.
    detail = office.get(f"/api/referrals/{held}").json()
    assert detail["contact_phone"] == "13700001111" and detail["can_work"] is True
    assert office.post(f"/api/referrals/{held}/accept").json()["status"] == "accepted"
    assert office.post(f"/api/referrals/{held}/notes", json={"text": "司法所已电话联系"}).status_code == 201
    done = office.post(f"/api/referrals/{held}/resolve", json={"outcome": "legal_aid", "summary": "已转法律援助中心"})
    assert done.json() == {"id": held, "status": "resolved", "outcome": "legal_aid"}
    history = office.get(f"/api/referrals/{held}").json()["history"]
    assert [(e["to_status"], e["by"]) for e in history] == [("new", "resident"), ("accepted", "cg-office"),
                                                           ("resolved", "cg-office")]  # fmt: skip
    actions = [(e.actor, e.action) for e in reversed(audit.entries(referral_id=held, engine=engine))]
    assert actions[0] == ("cg-office", "view_contact") and ("cg-office", "resolve") in actions
    # The admin sees it too, without the phone.
    bureau = login(server, "bureau").get(f"/api/referrals/{held}").json()
    assert "contact_phone" not in bureau and bureau["status"] == "resolved"


def test_roles_without_referrals_get_403(server: StaffServer) -> None:
    operator = login(server, "hotline")
    assert error_of(operator.get("/api/referrals")) == (403, "forbidden")
    adviser = login(server, "zhou")
    assert error_of(adviser.get("/api/advisers")) == (403, "forbidden")
    advisers = login(server, "bureau").get("/api/advisers").json()["advisers"]
    zhou = next(a for a in advisers if a["name"] == "周明华")
    assert set(zhou) == {"id", "name", "villages"}
    assert zhou["villages"] == ["城关镇东街社区", "城关镇西街社区", "城关镇石桥村"]


# --- casework, audit, errors ---------------------------------------------------------------------


def test_accept_note_resolve_with_audit_and_history(server: StaffServer, county: County) -> None:
    engine = records.get_engine(county.db_url)
    referral_id = make_referral(county, "城关镇东街社区", phone="13811112222")
    zhou = login(server, "zhou")
    detail = zhou.get(f"/api/referrals/{referral_id}").json()
    assert detail["contact_phone"] == "13811112222"
    assert "13811112222" in detail["question"]
    views = audit.entries(referral_id=referral_id, engine=engine)
    assert [(e.actor, e.action) for e in views] == [("zhou", "view_contact")]

    # CSRF on every state change made with the session cookie.
    assert error_of(zhou.post(f"/api/referrals/{referral_id}/accept", csrf=False)) == (403, "forbidden")
    bad = zhou.post(f"/api/referrals/{referral_id}/accept", headers={"X-CSRF-Token": "x" * 43})
    assert error_of(bad) == (403, "forbidden")
    # Resolving a referral nobody accepted is an impossible change.
    early = zhou.post(f"/api/referrals/{referral_id}/resolve", json={"outcome": "answered", "summary": "已答复"})
    assert error_of(early) == (409, "conflict")

    assert zhou.post(f"/api/referrals/{referral_id}/accept").json()["status"] == "accepted"
    assert error_of(zhou.post(f"/api/referrals/{referral_id}/accept")) == (409, "conflict")
    assert error_of(zhou.post(f"/api/referrals/{referral_id}/notes", json={"text": "  "})) == (422, "invalid")
    assert error_of(zhou.post(f"/api/referrals/{referral_id}/notes", json=["x"])) == (422, "invalid")
    assert zhou.post(f"/api/referrals/{referral_id}/notes", json={"text": "已电话联系，约周三面谈"}).status_code == 201
    for wrong in ({"outcome": "won", "summary": "x"}, {"outcome": "mediated", "summary": ""}, {"outcome": 1}):
        assert error_of(zhou.post(f"/api/referrals/{referral_id}/resolve", json=wrong)) == (422, "invalid")
    resolution = {"outcome": "mediated", "summary": "双方达成调解协议"}
    done = zhou.post(f"/api/referrals/{referral_id}/resolve", json=resolution)
    assert done.json() == {"id": referral_id, "status": "resolved", "outcome": "mediated"}
    assert error_of(zhou.post(f"/api/referrals/{referral_id}/accept")) == (409, "conflict")

    history = zhou.get(f"/api/referrals/{referral_id}").json()
    assert [(e["from_status"], e["to_status"], e["by"]) for e in history["history"]] == [
        (None, "new", "resident"),
        ("new", "accepted", "zhou"),
        ("accepted", "resolved", "zhou"),
    ]
    assert [n["text"] for n in history["notes"]] == ["已电话联系，约周三面谈"]
    assert history["resolution"]["outcome"] == "mediated"
    assert casework.resolution_for(referral_id, engine=engine).summary == "双方达成调解协议"
    actions = [(e.actor, e.action) for e in reversed(audit.entries(referral_id=referral_id, engine=engine))]
    assert actions == [
        ("zhou", "view_contact"),
        ("zhou", "status:accepted"),
        ("zhou", "note"),
        ("zhou", "resolve"),
        ("zhou", "view_contact"),
    ]


def test_list_filters_and_invalid_values(server: StaffServer, county: County) -> None:
    first = make_referral(county, "城关镇西街社区")
    second = make_referral(county, "城关镇石桥村")
    zhou = login(server, "zhou")
    assert zhou.post(f"/api/referrals/{second}/accept").status_code == 200
    new = {r["id"] for r in zhou.get("/api/referrals?status=new").json()["referrals"]}
    accepted = {r["id"] for r in zhou.get("/api/referrals?status=accepted").json()["referrals"]}
    opened = {r["id"] for r in zhou.get("/api/referrals?status=open").json()["referrals"]}
    assert first in new and second not in new
    assert second in accepted and second in opened and first not in opened
    in_village = zhou.get("/api/referrals", params={"village": "城关镇西街社区"}).json()["referrals"]
    assert first in {r["id"] for r in in_village} and {r["village"] for r in in_village} == {"城关镇西街社区"}
    assert error_of(zhou.get("/api/referrals?status=lost")) == (422, "invalid")
    status = zhou.post(f"/api/referrals/{second}/status", json={"status": "flying"})
    assert error_of(status) == (422, "invalid")
    started = zhou.post(f"/api/referrals/{second}/status", json={"status": "in_progress"})
    assert started.json()["status"] == "in_progress"


def test_disabled_account_loses_its_session(server: StaffServer, county: County) -> None:
    from records import users

    engine = records.get_engine(county.db_url)
    users.create_user("temp-adviser", users.get_user("zhou", engine=engine).password_hash, ["adviser"],
                      adviser_id=county.advisers["林芳"], engine=engine)  # fmt: skip
    c = login(server, "temp-adviser")
    assert c.get("/api/referrals").status_code == 200
    users.set_disabled("temp-adviser", engine=engine)
    assert error_of(c.get("/api/referrals")) == (401, "unauthorized")
    assert error_of(Client(server.url, address="192.0.2.77").login("temp-adviser")) == (401, "invalid_credentials")


def test_sessions_expire(county: County) -> None:
    from staff_harness import start, stop

    short = start(county.db_url, county.tmp, STAFF_SESSION_HOURS="0.0005")  # 1.8 s
    try:
        c = login(short, "zhou")
        assert c.get("/api/referrals").status_code == 200
        time.sleep(2.5)
        assert error_of(c.get("/api/referrals")) == (401, "unauthorized")
    finally:
        stop(short)


@pytest.mark.redis
def test_sessions_live_in_redis_when_configured(county: County) -> None:
    import hashlib

    import redis
    from sqlalchemy import func, select
    from staff_harness import start, stop

    from records.schema import staff_sessions

    url = "redis://127.0.0.1:6379/5"
    app = start(county.db_url, county.tmp, REDIS_URL=url)
    try:
        c = login(app, "zhou")
        key = "staff:session:" + hashlib.sha256(c.cookie.encode()).hexdigest()
        store = redis.Redis.from_url(url)
        assert store.exists(key) and 0 < store.ttl(key) <= 8 * 3600
        with records.get_engine(county.db_url).connect() as conn:
            in_db = conn.execute(select(func.count()).select_from(staff_sessions).where(
                staff_sessions.c.id == hashlib.sha256(c.cookie.encode()).hexdigest())).scalar()  # fmt: skip
        assert in_db == 0
        assert c.get("/api/referrals").status_code == 200
        assert c.request("DELETE", "/api/session").status_code == 200
        assert not store.exists(key)
        assert error_of(c.get("/api/referrals")) == (401, "unauthorized")
    finally:
        stop(app)
