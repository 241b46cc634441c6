"""Production mode (``scripts/run_prod.sh``) as residents and staff reach it, and its faults.

One stack for the module (see ``benchmarks/prod_stack.py``): nginx in front of 2 Rasa servers, 2 action servers
and the staff app, with a Redis server and a PostgreSQL connection this module controls. Checked:
every address is printed and served; Rasa's API needs the token and is not behind nginx; rate limits
per sender and per address are shared by both Rasa processes, and the chat page (headless Chromium)
shows the polite text of a 429; a small fuzz budget gives no 5xx; messages of one resident sent at
once to both Rasa processes are handled one at a time in the order sent; and under faults (Redis
restarted, an action server killed, PostgreSQL unreachable for a minute, a Rasa server killed)
residents always get a polite answer and every consultation, referral and feedback accepted is
stored exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests
import test_webchat_browser
from e2e_stack import MODEL, REPO_ROOT, SENDER_SALT, base_env, unread_on
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select
from wechat_client import EXAMPLE_APPID, EXAMPLE_TOKEN
from wechat_fake_api import FakeWeChatAPI

import records
from benchmarks import fuzz_http
from benchmarks.prod_stack import TOKEN, ProdStack, own_services, printed_urls, start_prod
from channels.wording import domain_text
from records.schema import consultations, feedback, referrals

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.postgres]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SENDER_LIMIT = 12
ADDRESS_LIMIT = 600
WINDOW_S = 120
STAFF_USER, STAFF_PASSWORD = "fuzz-admin", "fuzz-admin-password-1"
FUZZ_BUDGET = int(os.environ.get("PROD_FUZZ_BUDGET", "300"))
REPLAY_S = 5  # LEGAL_OUTBOX_REPLAY_SECONDS: the outage test waits for replays
POLITE = ("12348", "稍后", "再试", "再发")
phone = test_webchat_browser.browser  # the web chat tests' phone-sized headless Chromium, as a fixture


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[ProdStack]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed: run scripts/ensure_nginx.sh (make test does)")
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}")
    tmp = tmp_path_factory.mktemp("prod")
    api = FakeWeChatAPI(EXAMPLE_APPID, "prod-test-secret")
    with own_services(tmp, postgres_url, "prod_test") as services:
        env = {
            **base_env(services.db_url),
            "RATE_LIMIT_SENDER": str(SENDER_LIMIT),
            "RATE_LIMIT_ADDRESS": str(ADDRESS_LIMIT),
            "RATE_LIMIT_WINDOW": str(WINDOW_S),
            "LEGAL_OUTBOX_DIR": str(tmp / "outbox"),
            "LEGAL_OUTBOX_REPLAY_SECONDS": str(REPLAY_S),
            "WECHAT_TOKEN": EXAMPLE_TOKEN,
            "WECHAT_APPID": EXAMPLE_APPID,
            "WECHAT_SECRET": "prod-test-secret",
            "WECHAT_API_BASE": api.start(),
            "STAFF_SECURE_COOKIES": "0",
        }
        add_user = [str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "staff", "user", "add", "--username", STAFF_USER]
        add_user += ["--role", "admin", "--password-stdin"]
        subprocess.run(add_user, cwd=REPO_ROOT, env=env, input=STAFF_PASSWORD.encode(), check=True, capture_output=True)
        stack = start_prod(tmp, env, services)
        try:
            yield stack
        finally:
            stack.stop()
            api.stop()


def fresh_window(needed_s: float = 60.0) -> None:
    """Wait for a new rate-limit window if fewer than ``needed_s`` seconds are left in this one
    (counters are per fixed window: a test straddling two would see its count restart)."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < needed_s:
        time.sleep(left + 0.5)


def sender() -> str:
    return f"prod-{uuid.uuid4().hex[:12]}"


def post(url: str, who: str, message: str, **headers: str) -> requests.Response:
    return requests.post(
        f"{url}/webhooks/rest/webhook", json={"sender": who, "message": message}, headers=headers, timeout=120
    )


def reply_text(response: requests.Response) -> str:
    """What the resident sees: the bot's texts (200) or the polite text of a refusal."""
    body = response.json()
    if isinstance(body, list):
        return "\n".join(m.get("text") or "" for m in body)
    return body.get("text") or ""


def polite_or_answered(response: requests.Response) -> str:
    """A resident's answer: a non-empty reply, or a 429/503 with a polite JSON text; never a trace."""
    assert "Traceback" not in response.text
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.text[:300]
    shown = reply_text(response)
    if response.status_code == 200:
        assert shown.strip(), "an empty answer"
    else:
        assert response.status_code in (429, 503), response.text[:300]
        assert any(word in shown for word in POLITE), shown
    return shown


def stored_for(prod: ProdStack, who: str) -> dict[str, list]:
    """The rows PostgreSQL holds for the resident, read straight from the server (not through the proxy)."""
    engine = records.get_engine(prod.db_url.replace(f":{prod.postgres.port}/", ":5432/"))
    sender_hash = records.hash_sender(who, SENDER_SALT.encode())
    with engine.connect() as conn:
        ids = list(conn.execute(select(consultations.c.id).where(consultations.c.sender_hash == sender_hash)).scalars())
        rated = list(
            conn.execute(select(feedback.c.consultation_id).where(feedback.c.consultation_id.in_(ids))).scalars()
        )
        referred = conn.execute(select(referrals.c.description).where(referrals.c.description.contains(who[-12:])))
        return {"consultations": ids, "feedback": rated, "referrals": [who[-12:] for _ in referred]}


def counts(stack: ProdStack, who: str) -> dict[str, int]:
    """Stored consultations, referrals (with this sender's tag) and feedback of one resident."""
    return {kind: len(rows) for kind, rows in stored_for(stack, who).items()}


HELPFUL = '/feedback{"helpful": "yes"}'


def referral_steps(who: str, question: str = "老板拖欠我三个月工资不给，我该怎么办") -> list[str]:
    """Question, feedback, then a referral with consent; the description carries the sender's tag."""
    return [
        question,
        HELPFUL,
        "我想找村里的法律顾问帮忙",
        "石桥村",
        "13812345678",
        f"包工头欠我们工钱两万多，编号{who[-12:]}",
        "/affirm",
    ]


def referral_conversation(url: str, who: str) -> list[requests.Response]:
    return [post(url, who, step) for step in referral_steps(who)]


# --- the topology ----------------------------------------------------------------------------


def test_every_address_is_printed_and_served(prod: ProdStack) -> None:
    printed = printed_urls(prod)
    for url in [
        f"{prod.url}/webhooks/webchat/",
        f"{prod.url}/webhooks/rest/webhook",
        f"{prod.url}/healthz",
        *prod.rasa_urls,
        *prod.action_urls,
    ]:
        assert any(p.startswith(url) for p in printed), (url, printed)
    assert requests.get(f"{prod.url}/webhooks/webchat/", timeout=30).status_code == 200
    assert requests.get(f"{prod.url}/login", timeout=30).status_code == 200  # the staff app behind nginx
    assert requests.get(f"{prod.url}/healthz", timeout=30).json() == {"status": "ok"}
    answered = post(prod.url, sender(), "你好")
    assert answered.status_code == 200 and polite_or_answered(answered)
    for url in prod.action_urls:
        assert requests.get(f"{url}/health", timeout=30).status_code == 200


def test_rasa_api_needs_the_token_and_is_not_behind_nginx(prod: ProdStack) -> None:
    who = sender()
    post(prod.url, who, "你好")
    for rasa in prod.rasa_urls:
        tracker = f"{rasa}/conversations/{who}/tracker"
        assert requests.get(tracker, timeout=30).status_code == 401
        assert requests.get(tracker, params={"token": "wrong"}, timeout=30).status_code == 401
        assert requests.get(tracker, params={"token": TOKEN}, timeout=30).json()["sender_id"] == who
    # Through nginx the API does not exist: the staff app answers those paths (404).
    assert (
        requests.get(f"{prod.url}/conversations/{who}/tracker", params={"token": TOKEN}, timeout=30).status_code == 404
    )
    assert requests.get(f"{prod.url}/status", params={"token": TOKEN}, timeout=30).status_code == 404


def test_the_staff_app_reads_transcripts_with_the_token(prod: ProdStack) -> None:
    from staff.config import Settings
    from staff.transcript import _events_from_api

    who = sender()
    post(prod.url, who, "你好")
    settings = Settings(rasa_url=prod.rasa_urls[1], rasa_token=TOKEN)
    events = _events_from_api(who, settings)
    assert events and any(e.get("text") == "你好" for e in events)
    assert _events_from_api(who, Settings(rasa_url=prod.rasa_urls[1], rasa_token="wrong")) is None


# --- security --------------------------------------------------------------------------------


def test_sender_limit_is_shared_by_both_rasa_processes(prod: ProdStack) -> None:
    who = sender()
    fresh_window()
    answers = [post(prod.rasa_urls[i % 2], who, "你好") for i in range(SENDER_LIMIT + 1)]
    assert [a.status_code for a in answers[:SENDER_LIMIT]] == [200] * SENDER_LIMIT
    limited = answers[-1]
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "120"
    assert "12348" in polite_or_answered(limited)
    assert post(prod.url, sender(), "你好").status_code == 200  # others are not affected


@pytest.mark.browser
def test_the_chat_page_shows_the_polite_text_when_the_resident_sends_too_fast(
    prod: ProdStack, phone: WebDriver
) -> None:
    """A resident typing faster than the limit, on the page behind nginx: the page shows the server's
    polite sentence (wait, or call 12348) with a retry button, not a network error or nothing."""
    phone.get(f"{prod.url}/webhooks/webchat/")
    phone.delete_all_cookies()  # a new conversation of its own: the limit counts per sender
    fresh_window()
    phone.get(f"{prod.url}/webhooks/webchat/")
    WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, "input").is_displayed())
    for _ in range(SENDER_LIMIT):
        replies = test_webchat_browser.type_and_send(phone, "你好")
        test_webchat_browser.assert_no_server_error(replies)
    refused = test_webchat_browser.type_and_send(phone, "老板拖欠我三个月工资不给怎么办")
    assert len(refused) == 1 and "system" in refused[0].get_attribute("class"), [r.text for r in refused]
    shown = refused[0].find_element(By.TAG_NAME, "p").text
    assert shown == domain_text("utter_rate_limited"), shown  # the server's words (domain.yml), as sent
    assert "网络" not in shown
    assert refused[0].find_element(By.CSS_SELECTOR, "a[href='tel:12348']").text == "12348"
    assert refused[0].find_element(By.XPATH, ".//button[.='重试']").is_enabled()
    assert test_webchat_browser.last_user_text(phone) == "老板拖欠我三个月工资不给怎么办"
    test_webchat_browser.save_screenshot(phone, "webchat-rate-limited.png")
    assert not [e for e in phone.get_log("browser") if e["level"] == "SEVERE" and "429" not in e["message"]]


def test_address_limit_uses_the_forwarded_address(prod: ProdStack) -> None:
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"
    fresh_window()
    statuses = [
        requests.post(
            f"{prod.rasa_urls[i % 2]}/webhooks/rest/webhook",
            data=b"{",
            timeout=30,
            headers={"X-Forwarded-For": address},
        ).status_code
        for i in range(ADDRESS_LIMIT + 1)
    ]
    assert statuses[:ADDRESS_LIMIT] == [400] * ADDRESS_LIMIT  # refused input still counts
    assert statuses[-1] == 429
    assert (
        requests.post(
            f"{prod.rasa_urls[0]}/webhooks/rest/webhook",
            data=b"{",
            timeout=30,
            headers={"X-Forwarded-For": "10.255.0.1"},
        ).status_code
        == 400
    )


def test_oversized_bodies_get_json_413(prod: ProdStack) -> None:
    for size in (70_000, 400_000):  # refused by Rasa's channel, then by nginx
        body = b'{"sender": "x", "message": "' + b"a" * size + b'"}'
        answer = requests.post(f"{prod.url}/webhooks/rest/webhook", data=body, timeout=30)
        assert answer.status_code == 413 and answer.json()["error"] == "body_too_large"


def test_fuzzing_every_endpoint_gives_no_server_error(prod: ProdStack) -> None:
    target = fuzz_http.Target(prod.url, prod.url, EXAMPLE_TOKEN, STAFF_USER, STAFF_PASSWORD)
    summary = fuzz_http.run(target, FUZZ_BUDGET, seed=int(time.time()) % 10_000, workers=4)
    assert summary["staff_logged_in"]
    assert set(summary["statuses"]) == {"resident", "wechat", "staff"}
    if summary["server_errors"] or summary["connection_errors"] or summary["tracebacks"]:
        pytest.fail(json.dumps(summary, ensure_ascii=False, indent=1) + "\n" + prod.logs())


# --- ordering --------------------------------------------------------------------------------


def lock_tickets(client: redis.Redis, who: str) -> list[int]:
    """The ticket numbers in Rasa's Redis lock of ``who``'s conversation (``key_prefix: legal``)."""
    raw = client.get(f"legal:lock:{who}")
    return [json.loads(ticket)["number"] for ticket in json.loads(raw)["tickets"]] if raw else []  # JSON in JSON


def test_messages_of_one_resident_at_once_are_handled_one_at_a_time_in_order(prod: ProdStack) -> None:
    """Three messages of one resident, alternately to the two Rasa processes, each sent while the
    earlier ones are still being handled: answered one after the other, in the order sent, each
    HTTP answer holding the replies to its own message."""
    who = sender()
    assert post(prod.url, who, "你好").status_code == 200
    locks = redis.Redis(port=prod.redis.port, db=int(prod.env.get("REDIS_LOCK_DB", "1")))
    messages = ["老板拖欠我三个月工资不给，我该怎么办", "邻居家的树倒了砸坏了我的车", "借钱不还怎么起诉"]
    with ThreadPoolExecutor(len(messages)) as pool:
        pending = []
        for number, text in enumerate(messages):
            pending.append(pool.submit(post, prod.rasa_urls[number % 2], who, text))
            # Wait until this message holds ticket ``number`` of the one lock: the earlier messages
            # are still queued or being handled (numbers start again at 0 once nobody waits).
            deadline = time.monotonic() + 30
            while number not in lock_tickets(locks, who):
                if time.monotonic() > deadline or pending[0].done():
                    pytest.fail(f"message {number} never waited behind the others: {lock_tickets(locks, who)}")
                time.sleep(0.005)
        answers = [f.result() for f in pending]
    assert [a.status_code for a in answers] == [200] * len(messages), [a.text[:200] for a in answers]
    tracker = requests.get(
        f"{prod.rasa_urls[0]}/conversations/{who}/tracker", params={"token": TOKEN}, timeout=30
    ).json()
    turns: list[tuple[str, list[str]]] = []  # each message and the bot's texts until the next one
    listened = True
    for event in tracker["events"]:
        if event["event"] == "user":
            assert listened, f"{event['text']} was read before the previous message was answered"
            turns.append((event["text"], []))
            listened = False
        elif event["event"] == "bot" and turns:
            turns[-1][1].append(event.get("text") or "")
        elif event["event"] == "action" and event.get("name") == "action_listen":
            listened = True
    assert [text for text, _ in turns] == ["你好", *messages]
    for (text, said), answer in zip(turns[1:], answers):
        assert [m.get("text") or "" for m in answer.json()] == said, text
        assert any(said), text


# --- faults (order matters: each leaves the stack working) -----------------------------------


def test_redis_restarted_mid_conversation(prod: ProdStack) -> None:
    who = sender()
    first_half = [
        post(prod.url, who, m) for m in ("老板拖欠我三个月工资不给，我该怎么办", "我想找村里的法律顾问帮忙", "石桥村")
    ]
    prod.redis.restart(down_seconds=3)
    during = [post(prod.url, who, "13812345678")]
    rest = [post(prod.url, who, m) for m in (f"包工头欠我们工钱两万多，编号{who[-12:]}", "/affirm")]
    for answer in first_half + during + rest:
        polite_or_answered(answer)
    if during[0].status_code != 200:  # told to send it again: the resident does
        polite_or_answered(post(prod.url, who, "13812345678"))
        rest = [post(prod.url, who, m) for m in (f"包工头欠我们工钱两万多，编号{who[-12:]}", "/affirm")]
    assert "登记编号" in reply_text(rest[-1]), reply_text(rest[-1])
    assert counts(prod, who)["referrals"] == 1


def test_action_server_killed_and_restarted(prod: ProdStack) -> None:
    old = prod.kill("actions-0")
    who = sender()
    answers = referral_conversation(prod.url, who)
    for answer in answers:
        polite_or_answered(answer)
    assert all(a.status_code == 200 for a in answers), [a.text[:200] for a in answers]
    assert "登记编号" in reply_text(answers[-1])
    stored = counts(prod, who)
    assert stored == {"consultations": stored["consultations"], "referrals": 1, "feedback": 1}
    assert stored["consultations"] >= 1
    wait_restarted(prod, "actions-0", old)


def wait_restarted(prod: ProdStack, name: str, old: int) -> None:
    """Wait until the supervisor has started action server ``name`` again and it answers."""
    url = prod.action_urls[int(name.rpartition("-")[2])]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if prod.pid(name) != old and requests.get(f"{url}/health", timeout=5).ok:
                return
        except (OSError, ValueError, requests.RequestException):
            pass
        time.sleep(2)
    pytest.fail(f"{name} was not restarted\n" + prod.logs())


def test_action_servers_killed_in_the_middle_of_a_message(prod: ProdStack) -> None:
    """Both action servers stopped, a resident's question sent, and the servers killed while Rasa's
    call of the action waits in one of them (nginx cannot pass a POST it has written to the other):
    the resident is told politely to send it again, never given an empty answer; once the servers are
    back the conversation goes on (an answer, feedback, a referral) and everything the resident was
    told was taken is stored exactly once, nothing of the failed message."""
    who = sender()
    before = [post(prod.url, who, m) for m in ("邻居家的树倒了砸坏了我的车", HELPFUL)]
    assert [a.status_code for a in before] == [200, 200], [a.text[:200] for a in before]
    names = ["actions-0", "actions-1"]
    ports = [int(url.rpartition(":")[2]) for url in prod.action_urls]
    old = {name: prod.kill(name, signal.SIGSTOP) for name in names}
    question = "老板拖欠我三个月工资不给，我该怎么办"
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post, prod.url, who, question)
        try:
            deadline = time.monotonic() + 120
            while not any(unread_on(port) for port in ports):  # Rasa -> nginx -> a stopped server
                if pending.done() or time.monotonic() > deadline:
                    pytest.fail("the action call never reached a stopped action server")
                time.sleep(0.05)
        finally:
            for name in names:
                prod.kill(name, signal.SIGKILL)  # the connection is reset under the written request
        answer = pending.result()
    shown = polite_or_answered(answer)
    assert "12348" in shown and "再试" in shown, shown
    for name in names:
        wait_restarted(prod, name, old[name])
    time.sleep(6)  # nginx's fail_timeout for the servers it saw fail
    if answer.status_code != 200:  # told to send it again: the resident does
        answer = post(prod.url, who, question)
    after = [answer] + [post(prod.url, who, step) for step in referral_steps(who, question)[1:]]
    for reply in after:
        assert reply.status_code == 200 and polite_or_answered(reply), reply.text[:200]
    assert "登记编号" in reply_text(after[-1]), reply_text(after[-1])
    accepted = written_by(prod, who)
    assert len(accepted["consultations"]) == 2 and len(accepted["feedback"]) == 2, accepted
    stored = stored_for(prod, who)
    for kind in ("consultations", "feedback", "referrals"):
        assert sorted(stored[kind]) == sorted(accepted[kind]), (kind, stored, accepted)


def written_by(prod: ProdStack, who: str) -> dict[str, list]:
    """What the resident's conversation says was accepted for storage (the tracker, through the token):
    the consultation ids the answers logged, the consultations a feedback click was for, and the
    referrals the resident was given a number for."""
    tracker = requests.get(
        f"{prod.rasa_urls[0]}/conversations/{who}/tracker", params={"token": TOKEN}, timeout=30
    ).json()
    logged, rated, referred, current = [], [], [], None
    for event in tracker["events"]:
        if event["event"] == "slot" and event["name"] == "consultation_id":
            current = event["value"]
            if current:
                logged.append(current)
        elif event["event"] == "user" and (event.get("text") or "").startswith("/feedback") and current:
            rated.append(current)
        elif event["event"] == "bot" and "登记编号" in (event.get("text") or ""):
            referred.append(who[-12:])
    return {"consultations": logged, "feedback": rated, "referrals": referred}


def spooled_lines(prod: ProdStack, name: str = "outbox.jsonl") -> list[str]:
    path = Path(prod.env["LEGAL_OUTBOX_DIR"]) / name
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []


def resident_during_outage(url: str, who: str, start_s: float, steps: list[str], started: float) -> list[str]:
    """One resident's messages, one every ``STEP_S`` from ``start_s`` into the outage (or as soon as
    the previous answer came); a polite refusal is sent again once, as a resident does."""
    shown = []
    for number, step in enumerate(steps):
        time.sleep(max(0.0, started + start_s + number * STEP_S - time.monotonic()))
        answer = post(url, who, step)
        shown.append(polite_or_answered(answer))
        if answer.status_code != 200:
            shown.append(polite_or_answered(post(url, who, step)))
    return shown


OUTAGE_S = 60.0
STEP_S = 6.0  # residents read and type between messages (and stay under the per-sender limit)


def test_postgres_down_for_a_minute_while_residents_write(prod: ProdStack) -> None:
    """PostgreSQL unreachable for a minute (its proxy cut: connections refused, open ones dropped)
    while four residents ask, rate answers and send two referrals with consent: every answer is
    polite, nothing reaches the database meanwhile, and once it is back every consultation,
    feedback and referral the residents were told was taken is stored exactly once."""
    residents = [sender() for _ in range(4)]
    questions = ["邻居家的树倒了砸坏了我的车", "借钱不还怎么起诉", "离婚后孩子的抚养权归谁", "交通事故对方不赔钱怎么办"]
    scripts = [
        (residents[0], 0.0, [*referral_steps(residents[0]), questions[3]]),
        (residents[1], 1.0, [step for q in questions for step in (q, HELPFUL)]),
        (residents[2], 14.0, referral_steps(residents[2], questions[2])),
        (residents[3], 3.0, [step for q in reversed(questions) for step in (q, HELPFUL)]),
    ]
    prod.postgres.cut()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(len(scripts)) as pool:
            talks = [pool.submit(resident_during_outage, prod.url, *script, started) for script in scripts]
            shown = [talk.result() for talk in talks]
        time.sleep(max(0.0, started + OUTAGE_S - time.monotonic()))
        during = {who: stored_for(prod, who) for who in residents}
        waiting = len(spooled_lines(prod))
    finally:
        prod.postgres.restore()
    down_s = time.monotonic() - started
    accepted = {who: written_by(prod, who) for who in residents}
    referred = [[residents[0][-12:]], [], [residents[2][-12:]], []]
    assert [accepted[who]["referrals"] for who in residents] == referred, shown  # taken during the outage
    assert all(accepted[who]["consultations"] and accepted[who]["feedback"] for who in residents), accepted
    assert all(not any(rows.values()) for rows in during.values()), during  # nothing got through
    assert waiting >= sum(len(v) for a in accepted.values() for v in a.values()), waiting

    # Each action server replays every LEGAL_OUTBOX_REPLAY_SECONDS (REPLAY_S here).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and spooled_lines(prod):
        time.sleep(1)
    time.sleep(2 * REPLAY_S)  # more replay rounds from every process: nothing may be stored twice
    for who in residents:
        stored = stored_for(prod, who)
        expected = {**accepted[who], "feedback": sorted(set(accepted[who]["feedback"]))}  # one per answer
        for kind in ("consultations", "feedback", "referrals"):
            assert sorted(stored[kind]) == sorted(expected[kind]), (kind, who, stored, expected, down_s)
    assert not spooled_lines(prod) and not spooled_lines(prod, "rejected.jsonl")


def test_a_rasa_server_killed_behind_nginx(prod: ProdStack) -> None:
    who = sender()
    assert post(prod.url, who, "你好").status_code == 200
    with ThreadPoolExecutor(4) as pool:
        inflight = [pool.submit(post, prod.url, sender(), "老板拖欠我三个月工资不给，我该怎么办") for _ in range(4)]
        time.sleep(0.2)
        prod.kill("rasa-0")
        answers = [f.result() for f in inflight]
    for answer in answers:
        polite_or_answered(answer)  # answered, or a polite 503 for the one that died with it
    # A killed process with a large heap takes a moment to exit and its listening socket takes connections
    # until then: a message nginx writes to it in that moment is reset and answered with the polite 503, like
    # the ones in flight (nginx does not send a written POST again; CI hit it once). "Afterwards" starts when
    # the port refuses connections.
    port = int(prod.rasa_urls[0].rpartition(":")[2])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            break
        time.sleep(0.1)
    # Afterwards every message goes to the other server.
    for step in ("老板拖欠我三个月工资不给，我该怎么办", '/feedback{"helpful": "no"}'):
        answer = post(prod.url, who, step)
        assert answer.status_code == 200 and polite_or_answered(answer)


def test_retention_clears_conversations_in_redis_and_anonymises_records(prod: ProdStack) -> None:
    who = sender()
    assert post(prod.url, who, "老板拖欠我三个月工资不给，我该怎么办").status_code == 200
    time.sleep(3)
    env = {
        **prod.env,
        "RETENTION_DAYS": str(2 / 86_400),  # two seconds
        "STAFF_TRACKER_REDIS_URL": f"redis://127.0.0.1:{prod.redis.port}/0",
    }
    python = str(REPO_ROOT / ".venv" / "bin" / "python")
    done = subprocess.run(
        [python, "-m", "staff", "retention"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert " 0 Redis conversations" not in done.stdout, done.stdout
    tracker = requests.get(
        f"{prod.rasa_urls[1]}/conversations/{who}/tracker", params={"token": TOKEN}, timeout=30
    ).json()
    assert not [e for e in tracker["events"] if e["event"] == "user"]
    sender_hash = records.hash_sender(who, SENDER_SALT.encode())
    with records.get_engine(prod.db_url).connect() as conn:
        assert not conn.execute(select(consultations.c.id).where(consultations.c.sender_hash == sender_hash)).first()
        assert conn.execute(
            select(func.count()).select_from(consultations).where(consultations.c.question == "")
        ).scalar_one()


def test_graceful_shutdown_stops_everything(prod: ProdStack) -> None:
    pids = [prod.pid(name) for name in ("actions-0", "actions-1", "rasa-1", "staff")]
    with ThreadPoolExecutor(2) as pool:
        inflight = [pool.submit(post, prod.url, sender(), "老板拖欠我三个月工资不给，我该怎么办") for _ in range(2)]
        time.sleep(0.3)
        assert prod.stop() is not None
        answers = [f.result() for f in inflight]
    # Messages being handled when the stop came were answered in full.
    assert [a.status_code for a in answers] == [200, 200], [a.text[:200] for a in answers]
    assert all(reply_text(a) for a in answers)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
    assert "stopping" in prod.output.read_text()
