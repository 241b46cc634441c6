"""The webchat channel over HTTP: the page and its assets, the webhook, and its input checks."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from e2e_stack import Stack, get, post_json

pytestmark = pytest.mark.e2e


def new_sender() -> str:
    return f"e2e-webchat-{uuid.uuid4().hex[:12]}"


def test_page_is_served_with_its_assets(stack: Stack) -> None:
    status, body, headers = get(stack.webchat_url)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "县公共法律服务 · 智能咨询" in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    for name, content_type in [("webchat.js", "javascript"), ("webchat.css", "text/css")]:
        status, asset, headers = get(f"{stack.webchat_url}static/{name}")
        assert status == 200, name
        assert content_type in headers["content-type"]
        assert asset.strip()


def test_page_without_trailing_slash_redirects(stack: Stack) -> None:
    status, _, headers = get(stack.webchat_url.rstrip("/"))
    assert status == 301
    assert headers["Location"] == "webchat/"


def test_unknown_asset_is_404(stack: Stack) -> None:
    assert get(f"{stack.webchat_url}static/secret.py")[0] == 404
    assert get(f"{stack.webchat_url}static/..%2Fwebchat.py")[0] == 404


def test_greeting_is_answered_and_recorded_as_webchat(stack: Stack) -> None:
    chat = stack.webchat()
    replies = chat.send("你好")
    assert replies and all(r["recipient_id"] == chat.sender for r in replies)
    assert any(r.get("text") for r in replies)
    assert stack.tracker(chat.sender)["latest_input_channel"] == "webchat"


def test_legal_question_is_logged_with_the_web_channel(stack: Stack) -> None:
    chat = stack.webchat()
    replies = chat.send("老板拖欠我三个月工资不给怎么办")
    assert any(r.get("text") for r in replies)
    logged = stack.consultations(chat.sender)
    assert [c["channel"] for c in logged] == ["web"]


def test_message_of_exactly_5000_characters_is_accepted(stack: Stack) -> None:
    status, body = stack.webchat().post({"message": "工资" * 2500})
    assert status == 200
    assert isinstance(json.loads(body), list)


# --- the conversation id is the server's -------------------------------------------------------


def test_page_issues_a_signed_httponly_conversation_cookie(stack: Stack) -> None:
    chat = stack.webchat()
    assert chat.sender.startswith("web-") and len(chat.sender) == 36
    cookie = next(c for c in chat.session.cookies if c.name == "webchat_id")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.path == "/webhooks/webchat"
    again = chat.session.get(stack.webchat_url, timeout=30)
    assert "webchat_id" not in again.headers.get("Set-Cookie", "")  # the same conversation on return
    status, _ = chat.post({"message": "你好", "sender": chat.sender})  # naming its own id is fine
    assert status == 200


def test_a_first_message_without_cookie_gets_a_new_conversation(stack: Stack) -> None:
    reply = requests.post(stack.webchat_webhook_url, json={"message": "你好"}, timeout=60)
    assert reply.status_code == 200 and reply.json()
    sender = reply.cookies.get("webchat_id", "").rpartition(".")[0]
    assert sender.startswith("web-") and all(r["recipient_id"] == sender for r in reply.json())


def test_another_residents_conversation_cannot_be_written_or_read(stack: Stack) -> None:
    victim, intruder = stack.webchat(), stack.webchat()
    assert victim.send("你好")
    for status, body in (
        intruder.post({"sender": victim.sender, "message": "把他的对话给我"}),  # own cookie, other id
        post_json(stack.webchat_webhook_url, {"sender": victim.sender, "message": "把他的对话给我"}),  # no cookie
    ):
        assert status == 403, body
        assert json.loads(body)["error"] == "wrong_sender"
    forged = f"{victim.sender}.{'A' * 43}"
    reply = requests.post(stack.webchat_webhook_url, json={"message": "hi"}, cookies={"webchat_id": forged}, timeout=60)
    # A forged cookie is no cookie: a new conversation, never the victim's.
    assert reply.status_code == 200 and all(r["recipient_id"] != victim.sender for r in reply.json())
    assert get(f"{stack.webchat_url}events")[0] == 401  # the stream needs a conversation cookie
    user_texts = [e["text"] for e in stack.tracker(victim.sender)["events"] if e["event"] == "user"]
    assert user_texts == ["你好"]


BAD_REQUESTS = {
    "not_json": b"{not json",
    "not_utf8": b"\xff\xfe\x00",
    "array": b"[1, 2]",
    "missing_message": b'{"sender": "s"}',
    "null_message": b'{"sender": "s", "message": null}',
    "number_message": b'{"sender": "s", "message": 42}',
    "list_message": b'{"sender": "s", "message": ["hi"]}',
    "blank_message": b'{"sender": "s", "message": "   "}',
    "too_long": json.dumps({"sender": "s", "message": "欠" * 5001}).encode(),
    "number_sender": b'{"sender": 7, "message": "hi"}',
    "metadata_not_object": b'{"sender": "s", "message": "hi", "metadata": "x"}',
    "lone_surrogate_message": b'{"sender": "s", "message": "\\ud800"}',
    "nul_in_sender": b'{"sender": "a\\u0000b", "message": "hi"}',
}


@pytest.mark.parametrize("raw", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_input_is_a_clear_400(stack: Stack, raw: bytes) -> None:
    status, body = post_json(stack.webchat_webhook_url, None, raw=raw)
    assert status == 400
    error = json.loads(body)
    assert error["error"] and error["detail"]


def test_huge_body_is_a_413(stack: Stack) -> None:
    raw = json.dumps({"sender": "s", "message": "hi", "pad": "x" * 70_000}).encode()
    status, body = post_json(stack.webchat_webhook_url, None, raw=raw)
    assert status == 413
    assert json.loads(body)["error"] == "body_too_large"


def test_rest_channel_still_works(stack: Stack) -> None:
    sender = new_sender()
    assert stack.send(sender, "你好")
    assert stack.tracker(sender)["latest_input_channel"] == "rest"
