"""The WeChat official-account channel against the real Rasa and action servers.

One stack for the module: the action server and two Rasa processes on the credentials of WeChat's
published example account, sharing the channel state through the real Redis. Process A answers
within the usual window; process B has a window of 0 s, so every reply it produces is slower than
the window and goes through the customer-service API of a local fake WeChat API server
(``wechat_fake_api``). Process C keeps its channel state in a Redis server of its own that a test
kills (a state-store outage). Requests are signed and encrypted by ``wechat_client`` (checked against
WeChat's published vector below), never by the channel's own library.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from e2e_stack import (
    MODEL,
    RASA_TOKEN,
    SENDER_SALT,
    Server,
    Stack,
    api_url,
    base_env,
    free_port,
    free_ports,
    prepare_models,
    rasa_command,
    rasa_ready,
    start_server,
    start_stack,
    stop_server,
    wait_until_ready,
    write_endpoints,
)
from sqlalchemy import select
from wechat_client import (
    ACCOUNT,
    EXAMPLE_AES_KEY,
    EXAMPLE_APPID,
    EXAMPLE_TOKEN,
    Answer,
    WeChatServer,
    decrypt,
    encrypt,
    message_xml,
    sha1_signature,
)
from wechat_fake_api import FakeWeChatAPI

import records
from records.schema import referrals

pytestmark = pytest.mark.e2e

SECRET = "example-app-secret"
REDIS_DB = 7  # the channel's state for this module only; emptied before the servers start
SETTLE = 3.0  # seconds in which a wrongly accepted message would have reached the fake API


@dataclass
class WeChatStack:
    stack: Stack  # action server + Rasa process A
    fast: WeChatServer  # → process A
    slow: WeChatServer  # → process B (window 0 s)
    slow_base_url: str
    api: FakeWeChatAPI
    rasa_b: Server
    own_store: WeChatServer  # → process C, whose state store is its own Redis
    own_store_base_url: str
    own_redis: subprocess.Popen
    rasa_c: Server

    def user_texts(self, openid: str, base_url: str | None = None) -> list[str]:
        """What the bot received from ``openid`` (the tracker's user events)."""
        url = base_url or self.stack.base_url
        status, body = _get_json(api_url(url, f"/conversations/{openid}/tracker"))
        return [e.get("text") for e in body["events"] if e["event"] == "user"]

    def converse(self, openid: str, xml: str, safe: bool = False) -> list[str]:
        """Send one message to process A; the texts that reach the resident, passive or not."""
        before = len(self.api.to(openid))
        answer = self.fast.post_safe(xml) if safe else self.fast.post_plain(xml)
        assert answer.status == 200, answer
        if answer.body != "success":
            reply = self.fast.open_safe_reply(answer) if safe else answer.body
            return [Answer(200, reply).field("Content")]
        self.api.wait_for(openid, lambda texts: len(texts) > before)
        return self._settled(openid)[before:]

    def _settled(self, openid: str) -> list[str]:
        """The texts sent to ``openid`` once no new one arrived for a second."""
        texts = self.api.to(openid)
        while True:
            time.sleep(1.0)
            now = self.api.to(openid)
            if now == texts:
                return now
            texts = now


def _get_json(url: str) -> tuple[int, dict]:
    import json
    import urllib.request

    with urllib.request.urlopen(url, timeout=60) as response:
        return response.status, json.load(response)


def new_openid() -> str:
    return "o" + uuid.uuid4().hex[:27]  # OpenIDs are 28 characters


def new_msg_id() -> str:
    return str(uuid.uuid4().int % 10**19)


@pytest.fixture(scope="module")
def wechat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeChatStack]:
    tmp = tmp_path_factory.mktemp("wechat")
    db_url = f"sqlite:///{tmp / 'legal.db'}"
    api = FakeWeChatAPI(EXAMPLE_APPID, SECRET)
    api_base = api.start()
    channel_settings = {
        "WECHAT_TOKEN": EXAMPLE_TOKEN,
        "WECHAT_APPID": EXAMPLE_APPID,
        "WECHAT_SECRET": SECRET,
        "WECHAT_AES_KEY": EXAMPLE_AES_KEY,
        "WECHAT_API_BASE": api_base,
        "WECHAT_SEND_ATTEMPTS": "3",
        "WECHAT_RETRY_INTERVAL": "1",
        "WECHAT_STATE_STORE": "redis",  # shared by both Rasa processes
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "WECHAT_REDIS_DB": str(REDIS_DB),
    }
    env = {**base_env(db_url), **channel_settings}
    prepare_models(env, tmp)
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}")
    shared = redis.Redis(db=REDIS_DB)
    for key in shared.scan_iter("wechat:*"):
        shared.delete(key)
    action_port, port_a, port_b, port_c = free_ports(4)
    stack = Stack.local(port_a, action_port, db_url, tmp)
    base_a, base_b, base_c = stack.base_url, f"http://127.0.0.1:{port_b}", f"http://127.0.0.1:{port_c}"
    servers: list[Server] = []
    redis_port = free_port()
    own_redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        b_dir, c_dir = tmp / "b", tmp / "c"
        for where in (b_dir, c_dir):
            where.mkdir()
            write_endpoints(where / "endpoints.yml", action_port, where / "tracker.db")
        rasa_b = start_server(
            "rasa-b", rasa_command(port_b, b_dir / "endpoints.yml"), {**env, "WECHAT_REPLY_WINDOW": "0"}, b_dir
        )
        servers.append(rasa_b)
        c_env = {**env, "REDIS_PORT": str(redis_port), "WECHAT_REDIS_DB": "0"}
        rasa_c = start_server("rasa-c", rasa_command(port_c, c_dir / "endpoints.yml"), c_env, c_dir)
        servers.append(rasa_c)
        start_stack(stack, env, action_port, port_a)
        for name, server, base in (("B", rasa_b, base_b), ("C", rasa_c, base_c)):
            try:
                wait_until_ready([(server, api_url(base, "/status"), rasa_ready)])
            except (RuntimeError, TimeoutError) as e:
                pytest.fail(f"Rasa {name} did not start: {e}\n{server.log_tail()}")
        webhook = "/webhooks/wechat/webhook"
        yield WeChatStack(
            stack, WeChatServer(base_a + webhook), WeChatServer(base_b + webhook), base_b, api, rasa_b,
            WeChatServer(base_c + webhook), base_c, own_redis, rasa_c,
        )  # fmt: skip
    finally:
        for server in reversed(stack.servers + servers):
            stop_server(server)
        own_redis.kill()
        own_redis.wait()
        api.stop()


def test_request_builder_reproduces_wechats_published_example() -> None:
    # WeChat's sample code: this key, AppID and random prefix give exactly this ciphertext.
    published = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
    assert encrypt(EXAMPLE_AES_KEY, EXAMPLE_APPID, "我是中文abcd123", b"aaaabbbbccccdddd") == published
    assert decrypt(EXAMPLE_AES_KEY, published) == ("我是中文abcd123", EXAMPLE_APPID)


def test_url_verification_echoes_only_a_valid_signature(wechat: WeChatStack) -> None:
    assert wechat.fast.get(wechat.fast.signed_query(echostr="echo-123")) == Answer(200, "echo-123")
    forged = wechat.fast.signed_query(echostr="echo-123")
    forged["signature"] = sha1_signature("not-the-token", forged["timestamp"], forged["nonce"])
    assert wechat.fast.get(forged).status == 403
    stale = wechat.fast.signed_query(timestamp=int(time.time()) - 400, echostr="echo-123")
    answer = wechat.fast.get(stale)
    assert answer.status == 403 and "echo-123" not in answer.body


def test_plaintext_message_is_answered_passively(wechat: WeChatStack) -> None:
    openid = new_openid()
    answer = wechat.fast.post_plain(message_xml(openid, "text", new_msg_id(), Content="你好"))
    assert answer.status == 200
    assert answer.field("ToUserName") == openid and answer.field("FromUserName") == ACCOUNT
    assert answer.field("MsgType") == "text"
    assert "这里是县公共法律服务中心" in answer.field("Content")  # the domain's channel: wechat variant
    assert wechat.user_texts(openid) == ["你好"]
    assert wechat.stack.tracker(openid)["latest_input_channel"] == "wechat"


def test_safe_mode_message_is_answered_encrypted(wechat: WeChatStack) -> None:
    openid = new_openid()
    answer = wechat.fast.post_safe(message_xml(openid, "text", new_msg_id(), Content="你好"))
    assert answer.status == 200 and "<Encrypt>" in answer.body and "法律" not in answer.body
    reply = Answer(200, wechat.fast.open_safe_reply(answer))
    assert reply.field("ToUserName") == openid
    assert "这里是县公共法律服务中心" in reply.field("Content")
    assert wechat.user_texts(openid) == ["你好"]


def _bomb(openid: str) -> bytes:
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "&a{i - 1};&a{i - 1};&a{i - 1};&a{i - 1};">' for i in range(1, 12)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE xml [{entities}]>'
        + message_xml(openid, "text", new_msg_id(), Content="X").replace(">X<", ">&a11;<")
    ).encode()


def _external_entity(openid: str) -> bytes:
    doctype = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    return (doctype + message_xml(openid, "text", new_msg_id(), Content="X").replace(">X<", ">&secret;<")).encode()


def test_bad_requests_are_refused_and_never_reach_the_bot(wechat: WeChatStack) -> None:
    fast = wechat.fast
    ids = {
        name: new_openid()
        for name in ["forged", "msg_sig", "appid", "stale", "malformed", "bomb", "xxe", "big", "no_sender"]
    }

    def text(name: str) -> str:
        return message_xml(ids[name], "text", new_msg_id(), Content="老板拖欠工资怎么办")

    forged = fast.signed_query()
    forged["signature"] = "0" * 40
    answers = {
        "forged": fast.post_plain(text("forged"), forged),
        "msg_sig": fast.post_safe(text("msg_sig"), forge=True),
        "appid": fast.post_safe(text("appid"), app_id="wx0000000000000000"),
        "stale": fast.post_safe(text("stale"), timestamp=int(time.time()) - 301),
        "malformed": fast.post_plain(text("malformed")[:-9]),
        "bomb": fast.post_plain(_bomb(ids["bomb"])),
        "xxe": fast.post_plain(_external_entity(ids["xxe"])),
        "big": fast.post_plain(text("big").replace("老板拖欠工资怎么办", "工" * 20_000)),
        "no_sender": fast.post_plain(
            f"<xml><MsgType>text</MsgType><Content>hi</Content><Openid>{ids['no_sender']}</Openid></xml>"
        ),
    }
    expected = {
        "forged": 403,
        "msg_sig": 403,
        "appid": 403,
        "stale": 403,
        "malformed": 400,
        "bomb": 400,
        "xxe": 400,
        "big": 413,
        "no_sender": 400,
    }
    assert {name: a.status for name, a in answers.items()} == expected
    assert all("root:" not in a.body for a in answers.values())
    time.sleep(SETTLE)
    for name, openid in ids.items():
        assert wechat.user_texts(openid) == [], name
        assert wechat.api.to(openid) == [], name


@pytest.mark.parametrize(
    ("msg_type", "fields"),
    [
        ("image", {"PicUrl": "http://example.invalid/p.jpg", "MediaId": "m1"}),
        ("location", {"Location_X": "23.1", "Location_Y": "113.3", "Scale": "20", "Label": "村口"}),
        ("hologram", {"Payload": "?"}),  # a type WeChat may add one day
        ("voice", {"MediaId": "m2", "Format": "amr", "Recognition": ""}),
    ],
)
def test_other_message_types_get_a_polite_reply_without_the_bot(
    wechat: WeChatStack, msg_type: str, fields: dict
) -> None:
    openid = new_openid()
    answer = wechat.fast.post_plain(message_xml(openid, msg_type, new_msg_id(), **fields))
    assert answer.status == 200
    assert any(word in answer.field("Content") for word in ("文字", "语音"))
    assert wechat.user_texts(openid) == []


def test_replayed_msg_id_is_answered_once_even_by_another_process(wechat: WeChatStack) -> None:
    openid, msg_id = new_openid(), new_msg_id()
    xml = message_xml(openid, "text", msg_id, Content="老板拖欠我三个月工资不给，我该怎么办")
    first = wechat.converse(openid, xml)
    assert any("《" in text for text in first)
    via_api = wechat.api.to(openid)
    retries = [wechat.fast.post_plain(xml), wechat.slow.post_plain(xml), wechat.slow.post_safe(xml)]
    assert [(a.status, a.body) for a in retries] == [(200, "success")] * 3
    time.sleep(SETTLE)
    assert wechat.api.to(openid) == via_api  # no second answer
    assert wechat.user_texts(openid) == ["老板拖欠我三个月工资不给，我该怎么办"]
    assert wechat.user_texts(openid, wechat.slow_base_url) == []
    assert len(wechat.stack.consultations(openid)) == 1


def _texts_reaching(wechat: WeChatStack, openid: str, answer: Answer) -> list[str]:
    """The passive reply, or the texts that arrived through the customer-service API."""
    assert answer.status == 200, answer
    if answer.body != "success":
        return [answer.field("Content")]
    return wechat.api.wait_for(openid, lambda texts: len(texts) >= 1)


def test_a_retry_after_a_crash_between_claim_and_answer_is_processed_once(wechat: WeChatStack) -> None:
    openid, msg_id = new_openid(), new_msg_id()
    shared = redis.Redis(db=REDIS_DB)
    # What a process that died after claiming leaves behind: a claim whose lease runs out.
    shared.set(f"wechat:msg:{msg_id}", "1", px=1500)
    xml = message_xml(openid, "text", msg_id, Content="你好")
    started = time.monotonic()
    retry = wechat.fast.post_plain(xml)  # WeChat's retry, 5 s after the first attempt
    assert time.monotonic() - started < 5.0
    texts = _texts_reaching(wechat, openid, retry)
    assert len(texts) == 1 and "这里是县公共法律服务中心" in texts[0]
    assert shared.get(f"wechat:msg:{msg_id}") == b"answered"
    again = [wechat.fast.post_plain(xml), wechat.slow.post_plain(xml)]
    assert [(a.status, a.body) for a in again] == [(200, "success")] * 2
    time.sleep(SETTLE)
    assert wechat.user_texts(openid) == ["你好"]  # the bot saw it once
    assert wechat.user_texts(openid, wechat.slow_base_url) == []


def test_a_retry_while_another_process_answers_waits_and_is_not_answered_twice(wechat: WeChatStack) -> None:
    openid, msg_id = new_openid(), new_msg_id()
    shared = redis.Redis(db=REDIS_DB)
    key = f"wechat:msg:{msg_id}"
    shared.set(key, "1", px=4000)  # another process is at work on it
    xml = message_xml(openid, "text", msg_id, Content="你好")
    answered = threading.Timer(1.0, lambda: shared.set(key, "answered", px=60_000))
    answered.start()
    retry = wechat.fast.post_plain(xml)
    answered.join()
    assert (retry.status, retry.body) == (200, "success")
    time.sleep(SETTLE)
    assert wechat.user_texts(openid) == [] and wechat.api.to(openid) == []


def test_a_state_store_outage_still_answers_once_and_never_with_an_error(wechat: WeChatStack) -> None:
    openid, msg_id = new_openid(), new_msg_id()
    assert wechat.own_store.post_plain(message_xml(openid, "text", new_msg_id(), Content="你好")).status == 200
    wechat.own_redis.kill()  # the outage: Redis is gone for the rest of the module
    wechat.own_redis.wait()
    xml = message_xml(openid, "text", msg_id, Content="老板拖欠我三个月工资不给，我该怎么办")
    first = wechat.own_store.post_plain(xml)
    texts = _texts_reaching(wechat, openid, first)
    assert "《" in "".join(texts)  # a real answer with citations, not an error page
    retries = [wechat.own_store.post_plain(xml), wechat.own_store.post_safe(xml)]
    assert [(a.status, a.body) for a in retries] == [(200, "success")] * 2  # deduplicated in the process
    image_xml = message_xml(openid, "image", new_msg_id(), PicUrl="http://x/1.jpg", MediaId="m")
    image = wechat.own_store.post_plain(image_xml)
    assert image.status == 200 and "文字" in image.field("Content")
    time.sleep(SETTLE)
    assert wechat.user_texts(openid, wechat.own_store_base_url) == ["你好", "老板拖欠我三个月工资不给，我该怎么办"]
    log = wechat.rasa_c.log_path.read_text(errors="replace")
    assert "shared state store unreachable" in log and "Traceback" not in log


def test_slow_reply_arrives_through_the_api_despite_an_expired_token_and_a_5xx(wechat: WeChatStack) -> None:
    warm_up = new_openid()  # makes sure a token is cached, so that expiring it matters
    assert wechat.slow.post_plain(message_xml(warm_up, "text", new_msg_id(), Content="你好")).body == "success"
    wechat.api.wait_for(warm_up, lambda texts: len(texts) == 1)
    tokens_before = len(wechat.api.tokens_issued)
    wechat.api.expire_tokens()
    wechat.api.fail_next(1)
    answers_before = len(wechat.api.send_answers)

    openid = new_openid()
    started = time.monotonic()
    answer = wechat.slow.post_safe(message_xml(openid, "text", new_msg_id(), Content="你好"))
    assert (answer.status, answer.body) == (200, "success")
    assert time.monotonic() - started < 4.5  # inside WeChat's 5-second window
    texts = wechat.api.wait_for(openid, lambda texts: len(texts) >= 1)
    assert len(texts) == 1 and "这里是县公共法律服务中心" in texts[0]
    assert len(wechat.api.tokens_issued) == tokens_before + 1  # refreshed after 42001
    assert 500 in wechat.api.send_answers[answers_before:]
    time.sleep(SETTLE)
    assert wechat.api.to(openid) == texts  # sent once


def test_token_is_renewed_before_it_expires(wechat: WeChatStack) -> None:
    wechat.api.expires_in = 301  # cached for 1 s: the channel renews 300 s before expiry
    wechat.api.expire_tokens()  # so that the next send fetches a token with that lifetime
    try:
        first, second = new_openid(), new_openid()
        assert wechat.slow.post_plain(message_xml(first, "text", new_msg_id(), Content="你好")).body == "success"
        wechat.api.wait_for(first, lambda texts: len(texts) == 1)
        token = wechat.api.tokens_issued[-1]
        time.sleep(1.5)
        assert wechat.slow.post_plain(message_xml(second, "text", new_msg_id(), Content="你好")).body == "success"
        wechat.api.wait_for(second, lambda texts: len(texts) == 1)
    finally:
        wechat.api.expires_in = 7200
    sent = {m.touser: m.token for m in wechat.api.messages}
    assert sent[first] == token  # still valid at WeChat: only the channel's margin renewed it
    assert sent[second] == wechat.api.tokens_issued[-1] != token


def test_reply_is_queued_while_the_api_is_down_and_sent_later(wechat: WeChatStack) -> None:
    wechat.api.fail_next(5)  # more than WECHAT_SEND_ATTEMPTS=3
    openid = new_openid()
    assert wechat.slow.post_plain(message_xml(openid, "text", new_msg_id(), Content="你好")).body == "success"
    texts = wechat.api.wait_for(openid, lambda texts: len(texts) >= 1, timeout=60)
    assert len(texts) == 1 and "这里是县公共法律服务中心" in texts[0]
    log = wechat.rasa_b.log_path.read_text(errors="replace")
    assert "queued for a later retry" in log and openid not in log  # logged, pseudonymised
    time.sleep(SETTLE)
    assert wechat.api.to(openid) == texts


def test_a_residents_journey_subscribe_question_and_referral_with_consent(wechat: WeChatStack) -> None:
    openid = new_openid()
    welcome = wechat.converse(openid, message_xml(openid, "event", Event="subscribe", EventKey=""), safe=True)
    assert len(welcome) == 1 and "转人工" in welcome[0] and "12348" in welcome[0]
    menu = wechat.converse(openid, message_xml(openid, "event", Event="CLICK", EventKey="HOTLINE_12348"))
    assert "12348" in "".join(menu) and "/contact_info" in wechat.user_texts(openid)

    question = "老板拖欠我三个月工资不给，我该怎么办"
    voice = message_xml(openid, "voice", new_msg_id(), MediaId="m", Format="amr", Recognition=question)
    answer = wechat.converse(openid, voice, safe=True)
    assert all(len(text.encode("utf-8")) <= 2048 for text in answer)
    rest_answer = wechat.stack.send(f"rest-{openid}", question)[0]["text"]
    citations = [p for p in rest_answer.split("\n\n") if p.startswith("《")]
    assert citations, rest_answer
    for citation in citations:  # each quoted article whole, in one WeChat text
        assert sum(citation in text for text in answer) == 1, citation
    assert answer[-1].rstrip().endswith("（回复数字即可选择）")
    choices = [line.split(". ", 1) for line in answer[-1].splitlines() if re.match(r"\d+\. ", line)]
    adviser_choice = next(number for number, title in choices if "法律顾问" in title)

    assert "哪个村" in "".join(
        wechat.converse(openid, message_xml(openid, "text", new_msg_id(), Content=adviser_choice))
    )
    wechat.converse(openid, message_xml(openid, "text", new_msg_id(), Content="石桥村"))
    wechat.converse(openid, message_xml(openid, "text", new_msg_id(), Content="138 1234 5678"))
    description = "包工头欠我们八个人的工资两万多块钱，过年前都没给"
    consent = "".join(wechat.converse(openid, message_xml(openid, "text", new_msg_id(), Content=description)))
    assert "石桥村" in consent and "1. 同意" in consent and "2. 不同意" in consent
    done = "".join(wechat.converse(openid, message_xml(openid, "text", new_msg_id(), Content="１")))
    assert "法律顾问" in done

    assert "/affirm" in wechat.user_texts(openid)  # the digit became the button's payload
    logged = wechat.stack.consultations(openid)
    assert logged and {c["channel"] for c in logged} == {"wechat"}
    assert logged[0]["question"] == question
    assert logged[0]["sender_hash"] == records.hash_sender(openid, SENDER_SALT.encode()) != openid
    with records.get_engine(wechat.stack.db_url).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(referrals))]
    mine = [r for r in rows if r["description"].startswith(description[:12])]
    assert len(mine) == 1 and mine[0]["consent"] is True and mine[0]["contact_phone"] == "13812345678"


def test_an_operators_words_reach_a_wechat_resident_through_the_customer_service_api(wechat: WeChatStack) -> None:
    """What the staff app adds to a WeChat conversation (a takeover, a referral notice) goes out through
    the channel's delivery: Rasa's ``output_channel=latest`` is this channel's customer-service push."""
    from staff.config import Settings
    from staff.rasa_api import PAUSE, RESUME, RasaAPI, pushed

    openid = new_openid()
    answer = wechat.fast.post_plain(message_xml(openid, "text", new_msg_id(), Content="你好"))
    assert answer.status == 200
    api = RasaAPI(Settings(rasa_url=wechat.stack.base_url, rasa_token=RASA_TOKEN))
    before = len(wechat.api.to(openid))
    api.append(openid, [PAUSE, pushed("您好，我是热线工作人员小林。", kind="joined", operator="小林")])
    api.append(openid, [pushed("请问您是哪个村的？", kind="operator", operator="小林")])
    sent = wechat.api.wait_for(openid, lambda texts: len(texts) >= before + 2)[before:]
    assert sent == ["您好，我是热线工作人员小林。", "请问您是哪个村的？"]  # in order, as said
    # While an operator has it, the resident's message reaches the conversation but not the bot.
    wechat.fast.post_plain(message_xml(openid, "text", new_msg_id(), Content="石桥村的"))
    assert wechat.user_texts(openid)[-1] == "石桥村的"
    time.sleep(SETTLE)
    assert wechat.api.to(openid)[before:] == sent
    api.append(openid, [RESUME])


def test_an_action_server_dying_mid_message_gets_the_busy_text_not_silence(wechat: WeChatStack) -> None:
    """The action server is stopped, a WeChat resident's question sent, and once Rasa's call of the action
    waits unread in the stopped server it is killed (the connection reset under the written request):
    the resident gets the polite busy text (12348 and the emergency numbers), the conversation keeps
    nothing of the attempt, and once the server is back the question sent again is answered. Last in
    the module: it restarts the action server the other tests share."""
    import os
    import signal

    from e2e_stack import action_command, reset_under_request

    from channels.wording import domain_text

    stack = wechat.stack
    actions = next(s for s in reversed(stack.servers) if s.name.startswith("actions"))
    port = int(stack.action_url.rpartition(":")[2].split("/")[0])
    openid = new_openid()
    question = "老板拖欠我三个月工资不给怎么办"
    try:
        xml = message_xml(openid, "text", new_msg_id(), Content=question)
        shown = reset_under_request(actions.process.pid, port, lambda: wechat.converse(openid, xml))
        busy = domain_text("utter_service_busy")
        assert shown == [busy], shown  # not silence, not a half answer
        assert "12348" in busy and "110" in busy and "120" in busy
        assert question not in wechat.user_texts(openid), "nothing of the failed attempt is kept"
    finally:
        if actions.process.poll() is None:
            os.killpg(actions.process.pid, signal.SIGKILL)
        actions.process.wait(timeout=30)
        again = start_server("actions-restarted", action_command(port), base_env(stack.db_url), stack.log_dir)
        stack.servers.append(again)
        wait_until_ready([(again, f"{stack.action_url}/health", lambda status, _: status == 200)])
    answer = "".join(wechat.converse(openid, message_xml(openid, "text", new_msg_id(), Content=question)))
    assert "《" in answer and "》第" in answer, answer  # answered with the law once the server is back
    assert len(stack.consultations(openid)) == 1, "stored once"
