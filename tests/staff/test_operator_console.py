"""The hotline operators against the real assistant: the 转人工 queue, live takeover, agent assist,
calls, Q&A entries, and a referral's acceptance reaching the resident's web chat.

One real stack for the module (Rasa + action server as in ``tests/e2e``, and the staff app talking
to that Rasa through its HTTP API). HTTP-level tests first, then two headless Chromium windows — a
resident's web chat and an operator's console — driving a whole takeover; screenshots go to
``var/screenshots/operator-*.png``.
"""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select
from staff_harness import PASSWORD, Client, StaffServer, login, stop

import records
from knowledge.config import REPO_ROOT as KNOWLEDGE_ROOT
from knowledge.corpus import load_corpus
from records.handoffs import get_handoff
from records.schema import consultations, hotline_calls, notifications
from staff.config import Settings
from staff.scheduler import Scheduler

E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E_DIR))
import test_webchat_browser  # noqa: E402
from e2e_stack import RASA_TOKEN, Stack  # noqa: E402
from test_staff_browser import assistant, staff_beside  # noqa: E402,F401 - the module's real Rasa + action server

pytestmark = [pytest.mark.e2e]
SCREENSHOTS = KNOWLEDGE_ROOT / "var" / "screenshots"
WAIT = 60
CITATION = re.compile(r"《[^《》]+》第[〇零一二三四五六七八九十百千0-9]+条")
CORPUS_CITATIONS = {a.citation for a in load_corpus([KNOWLEDGE_ROOT / "knowledge" / "data" / "laws"])}


@pytest.fixture(scope="module")
def staff_app(assistant: Stack) -> Iterator[StaffServer]:  # noqa: F811 - the imported fixture
    server = staff_beside(assistant, ("lin", "gao"), STAFF_ASSIST_PRELOAD="1")
    try:
        yield server
    finally:
        stop(server)


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n\n".join(r.get("text") or "" for r in replies)


def new_sender() -> str:
    return f"op-{uuid.uuid4().hex[:10]}"


def queue(client: Client) -> list[dict[str, Any]]:
    reply = client.get("/api/handoffs")
    assert reply.status_code == 200, reply.text
    return reply.json()["handoffs"]


def handoff_of(client: Client, stack: Stack, sender: str) -> dict[str, Any]:
    """The resident's open handoff as the console lists it."""
    stored = records.open_handoff_for(sender, engine=records.get_engine(stack.db_url))
    assert stored is not None, f"{sender} is not queued"
    return next(h for h in queue(client) if h["id"] == stored.id)


def bot_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    return [e for e in stack.tracker(sender)["events"] if e["event"] == "bot"]


# --- the queue -----------------------------------------------------------------------------------


def test_queue_order_roles_and_a_waiting_resident_is_answered(assistant: Stack, staff_app: StaffServer) -> None:  # noqa: F811
    first, urgent = new_sender(), new_sender()
    assert "转接人工" in texts(assistant.send(first, "转人工"))
    # A resident who writes while waiting is told where they stand (not silence).
    waiting = texts(assistant.send(first, "还要等多久"))
    assert re.search(r"排在第 \d+ 位", waiting), waiting
    emergency = assistant.send(urgent, "我家着火了，火很大，救命")  # an emergency alerts the operators
    assert "119" in texts(emergency)

    operator = login(staff_app, "lin")
    handoffs = queue(operator)
    ids = [h["id"] for h in handoffs]
    mine = handoff_of(operator, assistant, first)
    alarm = handoff_of(operator, assistant, urgent)
    assert ids.index(alarm["id"]) < ids.index(mine["id"])  # emergencies first, though newer
    assert alarm["kind"] == "emergency" and alarm["urgent"] and alarm["status"] == "waiting"
    assert alarm["channel"] == "rest" and "着火" in alarm["transcript"][0]["text"]
    assert mine["kind"] == "request" and mine["waited_s"] >= 0
    assert [m["by"] for m in mine["transcript"]][:2] == ["user", "bot"]
    assert "还要等多久" in [m["text"] for m in mine["transcript"]]

    assert Client(staff_app.url).get("/api/handoffs").status_code == 401
    adviser = login(staff_app, "zhou")
    assert adviser.get("/api/handoffs").status_code == 403
    assert adviser.post(f"/api/handoffs/{mine['id']}/take").status_code == 403  # only operators take


def test_an_emergency_reaches_every_console_at_once(assistant: Stack, staff_app: StaffServer) -> None:  # noqa: F811
    consoles = [login(staff_app, "lin"), login(staff_app, "gao")]
    streams = [c.request("GET", "/api/operator/events", stream=True) for c in consoles]
    try:
        events = [_events(stream) for stream in streams]
        for stream, feed in zip(streams, events):  # connected: the first queue snapshot came
            assert stream.status_code == 200 and next(feed)[0] == "queue"
        sender = new_sender()
        assert "120" in texts(assistant.send(sender, "我爸爸突然倒在地上不省人事了，快救命"))
        for feed in events:
            _, data = next(e for e in feed if e[0] == "emergency")
            assert data["kind"] == "emergency" and data["status"] == "waiting"
            assert "不省人事" in data["transcript"][0]["text"]
    finally:
        for stream in streams:
            stream.close()


def _events(stream: requests.Response) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of a server-sent event stream."""
    kind = ""
    for line in stream.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            yield kind, json.loads(line[6:])


def test_take_talk_and_hand_back_to_the_bot(assistant: Stack, staff_app: StaffServer) -> None:  # noqa: F811
    sender = new_sender()
    assistant.send(sender, "转人工")
    lin, gao = login(staff_app, "lin"), login(staff_app, "gao")
    handoff = handoff_of(lin, assistant, sender)

    taken = lin.post(f"/api/handoffs/{handoff['id']}/take")
    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "taken" and taken.json()["taken_by"] == "lin"
    second = gao.post(f"/api/handoffs/{handoff['id']}/take")
    assert second.status_code == 409 and second.json()["error"] == "conflict"
    assert assistant.tracker(sender)["paused"] is True
    joined = bot_events(assistant, sender)[-1]
    assert "lin" in joined["text"] and joined["metadata"]["push"] is True

    said = lin.post(f"/api/handoffs/{handoff['id']}/messages", json={"text": "您好，请问是哪个村的？"})
    assert said.status_code == 201, said.text
    assert gao.post(f"/api/handoffs/{handoff['id']}/messages", json={"text": "我来"}).status_code == 409
    assert lin.post(f"/api/handoffs/{handoff['id']}/messages", json={"text": "  "}).status_code == 422
    # The resident answers: the bot stays silent, the operator reads it in the transcript.
    assert assistant.send(sender, "石桥村的，老板欠我工资") == []
    transcript = lin.get(f"/api/handoffs/{handoff['id']}").json()["transcript"]
    assert {"by": "operator", "name": "lin", "text": "您好，请问是哪个村的？"}.items() <= transcript[-2].items()
    assert transcript[-1]["by"] == "user" and transcript[-1]["text"] == "石桥村的，老板欠我工资"

    released = lin.post(f"/api/handoffs/{handoff['id']}/release")
    assert released.status_code == 200 and released.json()["status"] == "closed"
    assert lin.post(f"/api/handoffs/{handoff['id']}/release").status_code == 409
    assert assistant.tracker(sender)["paused"] is False
    answer = texts(assistant.send(sender, "老板拖欠我三个月工资不给，我该怎么办"))
    assert CITATION.search(answer), answer  # the bot answers again, with the law


def test_close_with_an_outcome_is_logged_as_a_handoff_consultation(assistant: Stack, staff_app: StaffServer) -> None:  # noqa: F811
    sender = new_sender()
    assistant.send(sender, "转人工")
    lin = login(staff_app, "lin")
    handoff = handoff_of(lin, assistant, sender)
    assert lin.post(f"/api/handoffs/{handoff['id']}/close", json={"outcome": "answered"}).status_code == 409
    assert lin.post(f"/api/handoffs/{handoff['id']}/take").status_code == 200
    bad = lin.post(f"/api/handoffs/{handoff['id']}/close", json={"outcome": "whatever"})
    assert bad.status_code == 422, bad.text
    closed = lin.post(f"/api/handoffs/{handoff['id']}/close", json={"outcome": "answered", "summary": "已电话解答"})
    assert closed.status_code == 200, closed.text
    logged = [c for c in assistant.consultations(sender) if c["outcome"] == "handoff"]
    assert [c["id"] for c in logged] == [closed.json()["consultation_id"]]
    assert not assistant.tracker(sender)["paused"]
    assert "人工服务已经结束" in bot_events(assistant, sender)[-1]["text"]
    assert handoff["id"] not in [h["id"] for h in queue(lin)]


def idle_clock(assistant: Stack) -> Callable[[datetime], int]:  # noqa: F811
    """One tick of the staff app's scheduler at a given time (needs ``LEGAL_DB_URL`` set)."""
    tracker_db = f"sqlite:///{assistant.log_dir / 'tracker.db'}"
    settings = Settings(rasa_url=assistant.base_url, rasa_token=RASA_TOKEN, tracker_db_url=tracker_db, redis_url="")
    scheduler = Scheduler(settings)  # the lease in the database, as the app under test holds it
    assert scheduler.settings.handoff_idle_minutes == 5

    def tick(at: datetime) -> int:
        try:
            return scheduler.run_once(at)["handed_back"]
        finally:
            scheduler.release()  # the app's own scheduler carries on at the real time

    return tick


def test_a_silent_operator_hands_the_resident_back_to_the_bot(
    assistant: Stack,  # noqa: F811
    staff_app: StaffServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The staff app's scheduler with a controlled clock against the real Rasa (HANDOFF_IDLE_MINUTES 5)."""
    monkeypatch.setenv("LEGAL_DB_URL", assistant.db_url)
    tick = idle_clock(assistant)
    sender = new_sender()
    assistant.send(sender, "转人工")
    lin = login(staff_app, "lin")
    handoff = handoff_of(lin, assistant, sender)
    assert lin.post(f"/api/handoffs/{handoff['id']}/take").status_code == 200
    stored = records.get_engine(assistant.db_url)

    def status() -> str:
        return get_handoff(handoff["id"], engine=stored).status

    # Both silent (the operator may be on the phone with the resident): nothing happens.
    tick(datetime.now(UTC) + timedelta(minutes=30))
    assert status() == "taken" and assistant.tracker(sender)["paused"]
    # The resident writes: the operator reads it live, the bot adds nothing.
    assert lin.post(f"/api/handoffs/{handoff['id']}/messages", json={"text": "请讲"}).status_code == 201
    wrote = datetime.now(UTC)
    assert assistant.send(sender, "石桥村的，老板欠我工资") == []
    assert assistant.send(sender, "您还在吗") == []
    tick(wrote + timedelta(minutes=4))
    assert status() == "taken" and assistant.tracker(sender)["paused"]

    # Five minutes after the first unanswered message the bot takes the resident back, once, and
    # the operator's console hears of it on its event stream.
    stream = lin.request("GET", "/api/operator/events", stream=True)
    feed = _events(stream)
    kind, first = next(feed)
    assert kind == "queue" and handoff["id"] in [h["id"] for h in first]
    tick(wrote + timedelta(minutes=5, seconds=5))
    try:
        _, after = next(e for e in feed if e[0] == "queue")
        assert handoff["id"] not in [h["id"] for h in after]
    finally:
        stream.close()
    assert status() == "closed" and not assistant.tracker(sender)["paused"]
    tick(wrote + timedelta(minutes=10))
    idle = [e for e in bot_events(assistant, sender) if e["metadata"].get("kind") == "operator_idle"]
    assert len(idle) == 1 and "工作人员暂时没有回复" in idle[0]["text"] and "12348" in idle[0]["text"]
    assert bot_events(assistant, sender)[-1] == idle[0]
    # The operator's console no longer holds it; a late answer is refused.
    assert handoff["id"] not in [h["id"] for h in queue(lin)]
    late = lin.post(f"/api/handoffs/{handoff['id']}/messages", json={"text": "我回来了"})
    assert late.status_code == 409, late.text
    # The resident's next legal question is answered by the bot, citing the law verbatim.
    answer = texts(assistant.send(sender, "老板拖欠我三个月工资不给，我该怎么办"))
    cited = set(CITATION.findall(answer))
    assert cited and cited <= CORPUS_CITATIONS, answer


# --- agent assist, calls, Q&A entries ----------------------------------------------------------


def test_assist_gives_the_bots_answer_and_more_hits(assistant: Stack, staff_app: StaffServer) -> None:  # noqa: F811
    question = "老板拖欠我三个月工资不给，我该怎么办"
    lin = login(staff_app, "lin")
    reply = lin.get("/api/assist", params={"q": question})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    bot = texts(assistant.send(new_sender(), question))
    assert data["outcome"] in ("answered", "faq") and data["topic"] == "劳动纠纷"
    assert 1 <= len(data["articles"]) <= 3 and len(data["hits"]) == 10
    for article in data["articles"]:
        assert article["citation"] in CORPUS_CITATIONS and article["quote"] in bot  # verbatim, as the bot says
    assert data["messages"][0] in bot and data["whole"].startswith(data["messages"][0])
    started = time.monotonic()
    filtered = lin.get("/api/assist", params={"q": question, "law": "中华人民共和国劳动合同法"}).json()
    assert time.monotonic() - started < 3.0  # under a second on a quiet machine; this one is shared
    assert {h["law"] for h in filtered["hits"]} == {"中华人民共和国劳动合同法"}
    assert lin.get("/api/assist", params={"q": "  "}).status_code == 422
    assert login(staff_app, "zhou").get("/api/assist", params={"q": question}).status_code == 403


def test_a_logged_call_and_a_referral_from_it(assistant: Stack, staff_app: StaffServer) -> None:  # noqa: F811
    lin = login(staff_app, "lin")
    engine = records.get_engine(assistant.db_url)
    body = {
        "question": "邻居占了我家宅基地，来电 13912345678",
        "topic": "土地/房屋",
        "village": "城关镇石桥村",
        "outcome": "answered",
        "caller_phone": "139 1234 5678",
        "legal_aid": True,
    }
    logged = lin.post("/api/calls", json=body)
    assert logged.status_code == 201, logged.text
    call = logged.json()
    assert call["caller_phone"] == "139****5678" and call["legal_aid"] is True
    with engine.connect() as conn:
        stored = conn.execute(select(consultations).where(consultations.c.id == call["id"])).one()
        details = conn.execute(select(hotline_calls).where(hotline_calls.c.consultation_id == call["id"])).one()
    assert stored.channel == "hotline" and stored.topic == "土地/房屋" and "13912345678" not in stored.question
    assert details.operator == "lin" and details.caller_phone == "13912345678"
    for bad in ({**body, "caller_phone": "12"}, {**body, "question": ""}, {**body, "village": "没有这个村"}):
        assert lin.post("/api/calls", json=bad).status_code == 422

    refuse = lin.post(f"/api/calls/{call['id']}/referral", json={"consent": False})
    assert refuse.status_code == 422  # no consent, no referral
    referred = lin.post(f"/api/calls/{call['id']}/referral", json={"consent": True})
    assert referred.status_code == 201, referred.text
    assert referred.json()["village"] == "城关镇石桥村" and referred.json()["adviser"] == "周明华"
    assert lin.post(f"/api/calls/{call['id']}/referral", json={"consent": True}).status_code == 409
    # Same routing and notification as the bot's referrals: the adviser's in-app notice is queued.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            notes = conn.execute(
                select(notifications).where(notifications.c.referral_id == referred.json()["id"])
            ).all()
        if notes:
            break
        time.sleep(1)
    assert any(n.recipient.startswith("adviser:") for n in notes), notes
    zhou = login(staff_app, "zhou")
    detail = zhou.get(f"/api/referrals/{referred.json()['id']}").json()
    assert detail["contact_phone"] == "13912345678"


def test_an_approved_operator_entry_is_the_bots_answer_without_rebuilding(
    assistant: Stack, staff_app: StaffServer  # noqa: F811
) -> None:
    question = "村里的鱼塘承包到期了村委会不让续包怎么办"
    answer = "承包期满，承包方可以按照国家有关规定继续承包。可以先找村委会协商，协商不成申请调解或仲裁。"
    lin, bureau = login(staff_app, "lin"), login(staff_app, "bureau")
    unknown = lin.post("/api/knowledge", json={"question": question, "answer": answer, "articles": ["民法典-99999"]})
    assert unknown.status_code == 422 and "民法典-99999" in unknown.json()["detail"]
    proposed = lin.post("/api/knowledge", json={"question": question, "answer": answer, "articles": ["民法典-332"]})
    assert proposed.status_code == 201, proposed.text
    entry = proposed.json()
    assert entry["status"] == "proposed" and entry["proposed_by"] == "lin"
    assert answer not in texts(assistant.send(new_sender(), question))  # not used before approval
    assert lin.post(f"/api/knowledge/{entry['id']}/approve").status_code == 403  # admins review
    approved = bureau.post(f"/api/knowledge/{entry['id']}/approve")
    assert approved.status_code == 200 and approved.json()["reviewed_by"] == "bureau"
    assert bureau.post(f"/api/knowledge/{entry['id']}/approve").status_code == 409
    listed = {e["id"]: e for e in lin.get("/api/knowledge").json()["entries"]}
    assert listed[entry["id"]]["status"] == "approved"

    deadline, reply = time.monotonic() + 20, ""
    while time.monotonic() < deadline and answer not in reply:
        reply = texts(assistant.send(new_sender(), "鱼塘承包到期了，村委会不让我续包，怎么办？"))
        time.sleep(1)
    assert answer in reply, reply
    assert "《中华人民共和国民法典》第三百三十二条" in reply  # the cited article, quoted from the corpus


# --- the resident learns that an adviser accepted the referral -----------------------------------


def read_events(chat: Any, url: str, wanted: str, timeout: float = 30) -> list[dict[str, Any]]:
    """Messages from the web chat's event stream until one contains ``wanted``."""
    found: list[dict[str, Any]] = []
    with chat.session.get(url, stream=True, timeout=timeout) as stream:
        assert stream.status_code == 200, stream.text
        deadline = time.monotonic() + timeout
        for line in stream.iter_lines(decode_unicode=True):
            if line and line.startswith("data: "):
                found.append(json.loads(line[6:]))
                if wanted in found[-1]["text"]:
                    return found
            if time.monotonic() > deadline:
                break
    pytest.fail(f"no {wanted!r} on the stream: {found}")


def test_accepting_a_referral_tells_the_resident_on_the_web_chat(assistant: Stack, staff_app: StaffServer) -> None:  # noqa: F811
    chat = assistant.webchat()
    chat.send("老板拖欠我们工资不给怎么办")
    for said in ("我想找村里的法律顾问帮忙", "石桥村", "138 1234 5678", "包工头欠我们工资两万多，过年前都没给"):
        chat.send(said)
    chat.send("/affirm")
    engine = records.get_engine(assistant.db_url)
    mine = [r for r in records.referrals_for_adviser(
        next(a.id for a in records.list_advisers(engine) if a.name == "周明华"), engine=engine
    ) if "两万多" in r.description]
    assert len(mine) == 1
    zhou = login(staff_app, "zhou")
    assert zhou.post(f"/api/referrals/{mine[0].id}/accept").status_code == 200
    # The open page (or the next visit) receives it from the event stream.
    events_url = f"{assistant.webchat_url}events"
    messages = read_events(chat, events_url, "您的事项已由石桥村法律顾问受理")
    notice = messages[-1]
    assert notice["kind"] == "referral_accepted"
    # A reopened page that saw it already (Last-Event-ID) is not shown it again; another resident never.
    other = assistant.webchat()
    with other.session.get(events_url, stream=True, timeout=5) as stream:
        first_lines = []
        try:
            for line in stream.iter_lines(decode_unicode=True):
                first_lines.append(line)
        except requests.exceptions.ConnectionError:
            pass  # the read timed out: nothing was sent
    assert not any("受理" in line for line in first_lines)


# --- two browser windows: a resident and an operator ----------------------------------------------


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """The operator's desk screen: a second headless Chromium, wide."""
    options = webdriver.ChromeOptions()
    for arg in test_webchat_browser.CHROME_ARGS:
        if not arg.startswith("--window-size"):
            options.add_argument(arg)
    options.add_argument("--window-size=1366,900")
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-desk')}")
    driver = webdriver.Chrome(service=Service(test_webchat_browser.CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


phone = test_webchat_browser.browser


def shot(driver: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"operator-{name}.png"))


def chat_texts(driver: WebDriver) -> str:
    return driver.execute_script("return document.getElementById('messages').innerText;")


def resident_says(driver: WebDriver, text: str) -> None:
    driver.find_element(By.ID, "input").send_keys(text)
    driver.find_element(By.ID, "send").click()


@pytest.mark.browser
def test_two_windows_resident_and_operator(
    assistant: Stack,  # noqa: F811
    staff_app: StaffServer,
    phone: WebDriver,
    desk: WebDriver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEGAL_DB_URL", assistant.db_url)  # for the scheduler's tick at the end
    phone.get(assistant.webchat_url)
    phone.delete_all_cookies()
    phone.execute_script("window.localStorage.clear();")
    phone.get(assistant.webchat_url)
    desk.get(f"{staff_app.url}/login")
    desk.find_element(By.ID, "username").send_keys("gao")
    desk.find_element(By.ID, "password").send_keys(PASSWORD)
    desk.find_element(By.ID, "login").click()
    WebDriverWait(desk, WAIT).until(lambda d: d.current_url.endswith("/console"))
    assert desk.switch_to.active_element.get_attribute("id") == "q"  # keyboard first: the search box
    desk.execute_script("window.__notReloaded = true;")

    # Agent assist from the keyboard: type, Enter.
    desk.find_element(By.ID, "q").send_keys("邻居家的树倒了砸坏了我的车\n")
    WebDriverWait(desk, WAIT).until(lambda d: d.find_element(By.ID, "answer").is_displayed())
    assert CITATION.search(desk.find_element(By.ID, "answer").text)
    assert len(desk.find_elements(By.CSS_SELECTOR, "#hits li")) == 10
    shot(desk, "assist")

    resident_says(phone, "转人工")
    WebDriverWait(phone, WAIT).until(lambda d: "转接人工" in chat_texts(d))
    sender = phone.get_cookie("webchat_id")["value"].rpartition(".")[0]
    handoff = records.open_handoff_for(sender, engine=records.get_engine(assistant.db_url))
    assert handoff is not None and handoff.channel == "web"
    take = f"#queue .card.q[data-id='{handoff.id}'] .take"
    WebDriverWait(desk, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, take))
    assert desk.execute_script("return window.__notReloaded === true;")  # it appeared live
    shot(desk, "queue")
    desk.find_element(By.CSS_SELECTOR, take).click()
    WebDriverWait(desk, WAIT).until(lambda d: d.find_element(By.ID, "chat").is_displayed())
    WebDriverWait(phone, WAIT).until(lambda d: "工作人员gao" in chat_texts(d))  # told who joined

    desk.find_element(By.ID, "chat-input").send_keys("您好，我是热线工作人员，请说说您遇到的事。\n")
    WebDriverWait(phone, WAIT).until(lambda d: "请说说您遇到的事" in chat_texts(d))
    assert phone.find_elements(By.CSS_SELECTOR, "#messages .msg.operator")
    shot(phone, "resident-sees-operator")

    resident_says(phone, "村里修路占了我家的地，没给补偿")
    WebDriverWait(desk, WAIT).until(lambda d: "没给补偿" in d.find_element(By.ID, "chat-log").text)
    assert "消息已收到" not in chat_texts(phone)  # no bot filler while a person is talking
    shot(desk, "console-sees-resident")

    desk.find_element(By.ID, "chat-release").click()
    WebDriverWait(phone, WAIT).until(lambda d: "人工服务已经结束" in chat_texts(d))
    WebDriverWait(desk, WAIT).until(lambda d: not d.find_element(By.ID, "chat").is_displayed())
    before = len(phone.find_elements(By.CSS_SELECTOR, "#messages .msg.bot"))
    resident_says(phone, "老板拖欠我三个月工资不给，我该怎么办")
    WebDriverWait(phone, 120).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#messages .msg.bot")) > before
        and not d.find_element(By.ID, "typing").is_displayed()
    )
    answer = phone.find_elements(By.CSS_SELECTOR, "#messages .msg.bot")[before]
    cards = answer.find_elements(By.CSS_SELECTOR, "blockquote.article .cite")
    assert cards and all(c.text in CORPUS_CITATIONS for c in cards), answer.text
    shot(phone, "resident-bot-again")

    # Again, but the operator goes silent: the scheduler (a controlled clock) hands the resident back
    # and the console says why.
    resident_says(phone, "转人工")
    WebDriverWait(phone, WAIT).until(lambda d: "转接人工" in chat_texts(d).rpartition("工作人员gao")[2])
    handoff = records.open_handoff_for(sender, engine=records.get_engine(assistant.db_url))
    take = f"#queue .card.q[data-id='{handoff.id}'] .take"
    WebDriverWait(desk, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, take))
    desk.find_element(By.CSS_SELECTOR, take).click()
    WebDriverWait(desk, WAIT).until(lambda d: d.find_element(By.ID, "chat").is_displayed())
    resident_says(phone, "您好，有人吗")
    WebDriverWait(desk, WAIT).until(lambda d: "有人吗" in d.find_element(By.ID, "chat-log").text)
    assert idle_clock(assistant)(datetime.now(UTC) + timedelta(minutes=6)) == 1
    WebDriverWait(phone, WAIT).until(lambda d: "工作人员暂时没有回复" in chat_texts(d))
    WebDriverWait(desk, WAIT).until(lambda d: not d.find_element(By.ID, "chat").is_displayed())
    assert "久等未获回复" in desk.find_element(By.ID, "toast").get_attribute("textContent")
    shot(desk, "handed-back-idle")
    assert phone.get_log("browser") == [] and desk.get_log("browser") == []
