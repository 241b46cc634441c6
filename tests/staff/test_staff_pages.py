"""The server-rendered pages over HTTP: login form, CSRF on forms, a referral's page with the
resident's question, the cited articles quoted from the corpus and the transcript read from a
Rasa SQL tracker store, and the admin page's import (all or nothing, errors by row and column)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from staff_harness import Client, County, StaffServer, login, store_consultation, store_referral

import records
from records import list_villages
from staff.articles import cited

SERVER_ENV = {"STAFF_TRACKER_DB_URL": "sqlite:///{tmp}/tracker.db"}
SENDER = "webchat-resident-7f3a"
EXAMPLE = Path(__file__).resolve().parents[2] / "staff" / "examples" / "county.csv"


def write_tracker(path: Path) -> None:
    """A conversation in Rasa's SQL tracker store layout (table ``events``)."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)"
        ))  # fmt: skip
        said = [
            ("user", "邻居家的树倒了砸坏了我的车，怎么办？"),
            ("bot", "根据《中华人民共和国民法典》第一千一百六十五条……"),
            ("user", "我想找村里的法律顾问"),
        ]
        for n, (kind, words) in enumerate(said):
            data = {"event": kind, "timestamp": time.time() + n, "text": words}
            conn.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :ts, :d)"),
                {"s": SENDER, "t": kind, "ts": data["timestamp"], "d": json.dumps(data, ensure_ascii=False)},
            )
        conn.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('someone-else', 'user', :ts, :d)"),
            {"ts": time.time(), "d": json.dumps({"event": "user", "text": "别人的对话"})},
        )
    engine.dispose()


@pytest.fixture(scope="module")
def referral_id(county: County) -> str:
    write_tracker(county.tmp / "tracker.db")
    consultation = store_consultation(
        county.db_url, sender_id=SENDER, channel="web", question="邻居家的树倒了砸坏了我的车", outcome="referred",
        topic="邻里纠纷", articles=["民法典-1165", "民法典-1258"],
    )  # fmt: skip
    return store_referral(
        county.db_url, "城关镇石桥村", contact_phone="13622223333", description="树倒了砸坏车，邻居不肯赔",
        topic="邻里纠纷", consultation_id=consultation,
    )  # fmt: skip


def form_login(server: StaffServer, username: str) -> Client:
    c = Client(server.url, address="192.0.2.200")
    reply = c.post("/login", data={"username": username, "password": "correct-horse-battery"})
    assert reply.status_code == 303, reply.text
    c.cookie = reply.cookies.get("staff_session")
    page = c.get("/referrals")
    c.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return c


def test_login_form_and_redirects(server: StaffServer) -> None:
    anonymous = Client(server.url, address="192.0.2.201")
    assert anonymous.get("/referrals").headers["Location"] == "/login"
    page = anonymous.get("/login")
    assert page.status_code == 200 and 'name="password"' in page.text
    wrong = anonymous.post("/login", data={"username": "zhou", "password": "nope-nope-nope"})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    c = form_login(server, "zhou")
    assert c.get("/").headers["Location"].startswith("/referrals")
    assert c.post("/logout", data={"csrf_token": c.csrf}, csrf=False).status_code == 303
    assert c.get("/referrals").headers["Location"] == "/login"


def test_referral_page_shows_question_articles_transcript_and_phone(server: StaffServer, referral_id: str) -> None:
    zhou = form_login(server, "zhou")
    listing = zhou.get("/referrals?status=new")
    assert referral_id in listing.text and "城关镇石桥村" in listing.text
    page = zhou.get(f"/referrals/{referral_id}").text
    assert "树倒了砸坏车，邻居不肯赔" in page and "13622223333" in page
    for article in cited(["民法典-1165", "民法典-1258"]):
        assert article["citation"] in page
        assert article["text"].split("\n")[0] in page  # verbatim from the corpus
    assert "邻居家的树倒了砸坏了我的车，怎么办？" in page and "我想找村里的法律顾问" in page
    assert "别人的对话" not in page
    # The township office sees it, without the phone number.
    office = form_login(server, "cg-office").get(f"/referrals/{referral_id}").text
    assert "13622223333" not in office and "我想找村里的法律顾问" in office


def test_forms_need_the_csrf_token(server: StaffServer, county: County, referral_id: str) -> None:
    zhou = form_login(server, "zhou")
    refused = zhou.post(f"/referrals/{referral_id}/accept", data={}, csrf=False)
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert zhou.post(f"/referrals/{referral_id}/accept", data={"csrf_token": "forged"}, csrf=False).status_code == 403
    engine = records.get_engine(county.db_url)
    assert records.get_referral(referral_id, engine=engine).status == "new"
    ok = zhou.post(f"/referrals/{referral_id}/accept", data={"csrf_token": zhou.csrf}, csrf=False)
    assert ok.status_code == 303 and ok.headers["Location"] == f"/referrals/{referral_id}"
    note = zhou.post(f"/referrals/{referral_id}/notes", data={"csrf_token": zhou.csrf, "text": "已约见"}, csrf=False)
    assert note.status_code == 303
    resolve = {"csrf_token": zhou.csrf, "outcome": "answered", "summary": "已当面解答赔偿问题"}
    assert zhou.post(f"/referrals/{referral_id}/resolve", data=resolve, csrf=False).status_code == 303
    page = zhou.get(f"/referrals/{referral_id}").text
    assert "已办结" in page and "已当面解答赔偿问题" in page and "已约见" in page


def test_admin_import_all_or_nothing(server: StaffServer, county: County) -> None:
    engine = records.get_engine(county.db_url)
    assert login(server, "zhou").get("/admin").status_code == 403
    bureau = form_login(server, "bureau")
    before = len(list_villages(engine))
    bad = EXAMPLE.read_text(encoding="utf-8").splitlines()
    bad[2] = bad[2].replace("13800000101", "12345")  # row 3: phone
    bad[5] = bad[5].replace("新华村", "")  # row 6: village
    bad.append("柳林镇,新村,新人,13800009999,not-an-email,,")  # row 14: e-mail
    files = {"file": ("county.csv", "\n".join(bad).encode("utf-8"), "text/csv")}
    reply = bureau.post("/admin/import", data={"csrf_token": bureau.csrf}, files=files, csrf=False)
    assert reply.status_code == 422
    for row, column in (("3", "adviser_phone"), ("6", "village"), ("14", "adviser_email")):
        assert f"第 {row} 行，{column} 列" in reply.text
    assert len(list_villages(engine)) == before  # nothing half-imported
    files = {"file": ("county.csv", EXAMPLE.read_bytes(), "text/csv")}
    good = bureau.post("/admin/import", data={"csrf_token": bureau.csrf}, files=files, csrf=False)
    assert good.status_code == 200 and "已导入 12 行" in good.text
    labels = {v.label for v in list_villages(engine)}
    assert "柳林镇杏花村" in labels and len(labels) == before + 1
    time.sleep(0)  # the audit row is written with the import
    assert "import" in bureau.get("/admin").text


def test_admin_marks_an_adviser_absent(server: StaffServer, county: County) -> None:
    from datetime import UTC, datetime

    from records import routing

    engine = records.get_engine(county.db_url)
    bureau = form_login(server, "bureau")
    adviser = county.advisers["陈建军"]
    path = f"/admin/advisers/{adviser}/absence"
    assert bureau.post(path, data={"csrf_token": bureau.csrf, "until": "tomorrow"}, csrf=False).status_code == 422
    assert bureau.post("/admin/advisers/99999/absence", data={"csrf_token": bureau.csrf}, csrf=False).status_code == 404
    assert bureau.post(path, data={"csrf_token": bureau.csrf, "until": "2099-01-31"}, csrf=False).status_code == 303
    until = routing.absences(datetime.now(UTC), engine=engine)[adviser]
    assert until == datetime(2099, 1, 31, 16, 0, tzinfo=UTC)  # the end of 31 January in Shanghai
    assert "休假至 2099-02-01 00:00" in bureau.get("/admin").text
    assert bureau.post(path, data={"csrf_token": bureau.csrf, "until": ""}, csrf=False).status_code == 303
    assert adviser not in routing.absences(datetime.now(UTC), engine=engine)
    assert login(server, "zhou").post(path, data={"until": ""}).status_code == 403


@pytest.mark.redis
def test_transcript_from_rasas_redis_tracker_store() -> None:
    """The layout RedisTrackerStore writes (``legal:tracker:<sender>`` → the dialogue as JSON)."""
    import redis

    from records import hash_sender
    from staff import transcript
    from staff.config import Settings

    settings = Settings(tracker_redis_url="redis://127.0.0.1:6379/6")
    store = redis.Redis.from_url(settings.tracker_redis_url)
    sender = f"web-{time.time_ns()}"
    dialogue = {"name": sender, "events": [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "离婚后孩子归谁", "timestamp": time.time()},
        {"event": "bot", "text": "根据《中华人民共和国民法典》……", "timestamp": time.time()},
    ]}  # fmt: skip
    store.set(f"legal:tracker:{sender}", json.dumps(dialogue, ensure_ascii=False), ex=600)
    try:
        said = transcript.messages(hash_sender(sender), datetime.now(UTC), settings)
    finally:
        store.delete(f"legal:tracker:{sender}")
    expected = [("user", "离婚后孩子归谁"), ("bot", "根据《中华人民共和国民法典》……")]
    assert [(m["by"], m["text"]) for m in said] == expected
    assert transcript.messages(hash_sender("nobody"), datetime.now(UTC), settings) is None
