"""An adviser's day on a phone, in headless Chromium, against the real assistant and the staff app.

A resident asks the real assistant (Rasa + action server, as in ``tests/e2e``) for the village
legal adviser; the adviser's open list shows the referral live (server-sent events, no reload);
the adviser opens it, reads the conversation transcript and the phone number, accepts and
resolves it; the admin then sees every step in the referral's history. Screenshots go to
``var/screenshots/staff-*.png``.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait
from staff_harness import PASSWORD, StaffServer, start, stop
from staff_harness import login as login_api

import records
import records.audit
from records import users
from staff.passwords import hash_password

E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E_DIR))
import test_webchat_browser  # noqa: E402
from e2e_stack import (  # noqa: E402 - the shared end-to-end stack helpers live beside the e2e tests
    MODEL,
    RASA_TOKEN,
    REPO_ROOT,
    SENDER_SALT,
    Stack,
    base_env,
    free_ports,
    prepare_models,
    start_stack,
    stop_server,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
phone = test_webchat_browser.browser  # the web chat tests' phone-sized headless Chromium, as a fixture
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
WAIT = 60
# A form post reloads the page: an element found just before the reload goes stale.
NAVIGATING = (NoSuchElementException, StaleElementReferenceException)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("staff-e2e")
    db_url = f"sqlite:///{tmp / 'legal.db'}"
    env = base_env(db_url)
    prepare_models(env, tmp)
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}")
    action_port, rasa_port = free_ports(2)
    stack = Stack.local(rasa_port, action_port, db_url, tmp)
    try:
        start_stack(stack, env, action_port, rasa_port)
        yield stack
    finally:
        for server in reversed(stack.servers):
            stop_server(server)


def staff_beside(assistant: Stack, operators: tuple[str, ...] = (), **env: str) -> StaffServer:
    """The staff app on the assistant's database, tracker store and HTTP API, with the adviser 周明华
    as ``zhou``, an admin ``bureau`` and the given operators."""
    engine = records.get_engine(assistant.db_url)
    records.init_db(engine)
    adviser = next(a for a in records.list_advisers(engine) if a.name == "周明华")
    hashed = hash_password(PASSWORD)
    users.create_user("zhou", hashed, ["adviser"], adviser_id=adviser.id, engine=engine)
    users.create_user("bureau", hashed, ["admin"], engine=engine)
    for name in operators:
        users.create_user(name, hashed, ["operator"], engine=engine)
    return start(
        assistant.db_url,
        assistant.log_dir,
        LEGAL_SENDER_SALT=SENDER_SALT,
        STAFF_TRACKER_DB_URL=f"sqlite:///{assistant.log_dir / 'tracker.db'}",
        STAFF_TRUST_PROXY="0",
        RASA_URL=assistant.base_url,
        RASA_TOKEN=RASA_TOKEN,
        **env,
    )


@pytest.fixture(scope="module")
def staff_app(assistant: Stack) -> Iterator[StaffServer]:
    server = staff_beside(assistant)
    try:
        yield server
    finally:
        stop(server)


def shot(driver: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"staff-{name}.png"))


def wait_for_status(driver: WebDriver, label: str) -> None:
    def shown(d: WebDriver) -> bool:
        try:
            return d.find_element(By.ID, "status").text == label
        except WebDriverException as error:
            # Chromedriver's other word for a node gone stale in a reload (seen once in CI): look again.
            if "does not belong to the document" in str(error):
                return False
            raise

    WebDriverWait(driver, WAIT, ignored_exceptions=NAVIGATING).until(shown)


def log_in(driver: WebDriver, server: StaffServer, username: str) -> None:
    driver.get(f"{server.url}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, WAIT).until(lambda d: "/login" not in d.current_url)


def test_adviser_receives_accepts_reads_and_resolves(
    assistant: Stack, staff_app: StaffServer, phone: WebDriver
) -> None:
    browser = phone
    log_in(browser, staff_app, "zhou")
    browser.get(f"{staff_app.url}/referrals?status=new")
    assert browser.find_element(By.ID, "referral-list").get_attribute("data-count") == "0"
    assert not browser.find_element(By.ID, "badge").is_displayed()
    browser.execute_script("window.__notReloaded = true;")
    shot(browser, "list-empty")

    # The resident talks to the real assistant.
    sender = f"resident-{uuid.uuid4().hex[:8]}"
    answer = assistant.send(sender, "老板拖欠我们工资不给怎么办")  # answered, with articles, and logged
    assert any("《" in (m.get("text") or "") for m in answer), answer
    assistant.send(sender, "我想找村里的法律顾问帮忙")
    assistant.send(sender, "石桥村")
    assistant.send(sender, "138 1234 5678")
    assistant.send(sender, "包工头欠我们八个人的工资两万多块钱，过年前都没给")
    assistant.send(sender, "/affirm")

    # The list is re-rendered on every event, so read the first card in one script call.
    first_card = "const c = document.querySelector('#referral-list .card'); return c && c.innerText;"
    card_text = WebDriverWait(browser, WAIT).until(lambda d: d.execute_script(first_card))
    assert browser.execute_script("return window.__notReloaded === true;")  # live, no reload
    badge = browser.find_element(By.ID, "badge")
    assert badge.is_displayed() and int(badge.text) >= 1
    assert "城关镇石桥村" in card_text and "13812345678" not in card_text
    shot(browser, "list-live")

    browser.execute_script("document.querySelector('#referral-list .card a').click();")
    WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.ID, "accept"))
    transcript = browser.find_element(By.ID, "transcript").text
    assert "老板拖欠我们工资不给怎么办" in transcript and "包工头欠我们八个人的工资" in transcript
    articles = browser.find_element(By.ID, "articles").text
    assert re.search(r"《[^》]+》第[^条]+条", articles), articles  # the articles the bot cited
    assert browser.find_element(By.ID, "phone").text == "13812345678"
    shot(browser, "detail")
    browser.execute_script("document.getElementById('transcript').scrollIntoView();")
    shot(browser, "transcript")
    browser.find_element(By.ID, "accept").click()
    wait_for_status(browser, "已受理")
    # The resident is told in their own conversation (a REST client reads it in the tracker).
    notice = "您的事项已由石桥村法律顾问受理"
    said = lambda: [e.get("text") or "" for e in assistant.tracker(sender)["events"] if e["event"] == "bot"]  # noqa: E731
    WebDriverWait(browser, WAIT).until(lambda _: any(notice in text for text in said()))
    Select(browser.find_element(By.ID, "outcome")).select_by_value("legal_aid")
    browser.find_element(By.ID, "summary").send_keys("已协助八名工人申请法律援助")
    browser.find_element(By.ID, "resolve").click()
    wait_for_status(browser, "已办结")
    assert "转法律援助：已协助八名工人申请法律援助" in browser.find_element(By.ID, "resolution").text
    shot(browser, "resolved")
    referral_url = browser.current_url

    browser.find_element(By.ID, "logout").click()
    WebDriverWait(browser, WAIT).until(lambda d: "/login" in d.current_url)
    log_in(browser, staff_app, "bureau")
    browser.get(referral_url)
    history = browser.find_element(By.ID, "history").text
    assert "zhou · 待受理 → 已受理" in history and "zhou · 已受理 → 已办结" in history
    assert not browser.find_elements(By.ID, "phone")  # only the assigned adviser sees it
    browser.execute_script("document.getElementById('history').scrollIntoView();")
    shot(browser, "admin-history")
    assert browser.get_log("browser") == []  # no script, CSP or missing-file errors
    browser.get(f"{staff_app.url}/admin")
    assert "view_contact" in browser.find_element(By.ID, "audit").text


def test_a_referral_made_without_a_question_shows_its_conversation(
    assistant: Stack, staff_app: StaffServer
) -> None:
    """No consultation precedes it, so the transcript is found by the referral's own sender hash."""
    sender = f"resident-{uuid.uuid4().hex[:8]}"
    assistant.send(sender, "我想找村里的法律顾问帮忙")  # the very first message: no question asked
    assistant.send(sender, "西街社区")
    assistant.send(sender, "139 8765 4321")
    assistant.send(sender, "隔壁装修把我家墙震裂了，不肯赔")
    done = " ".join(m.get("text") or "" for m in assistant.send(sender, "/affirm"))
    assert "法律顾问" in done, done
    engine = records.get_engine(assistant.db_url)
    mine = [r for r in records.referrals_for_adviser(next(a.id for a in records.list_advisers(engine)
                                                          if a.name == "周明华"), engine=engine)
            if r.contact_phone == "13987654321"]  # fmt: skip
    assert len(mine) == 1 and mine[0].consultation_id is None
    assert mine[0].sender_hash == records.hash_sender(sender, SENDER_SALT.encode())

    zhou = login_api(staff_app, "zhou")
    detail = zhou.get(f"/api/referrals/{mine[0].id}").json()
    said = [m["text"] for m in detail["transcript"] or [] if m["by"] == "user"]
    assert said[:2] == ["我想找村里的法律顾问帮忙", "西街社区"], detail["transcript"]
    assert "13987654321" not in str(records.audit.entries(referral_id=mine[0].id, engine=engine))
    seen = records.audit.entries(referral_id=mine[0].id, engine=engine)
    assert [(e.actor, e.action, e.detail) for e in seen] == [("zhou", "view_contact", "transcript")]
