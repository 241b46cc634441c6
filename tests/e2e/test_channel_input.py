"""Input no store can keep, sent to the real Rasa server: refused at both webhooks, and the server
keeps answering everyone. Before the checks and the guarded tracker store, one such request made
Rasa's SQL tracker store call sys.exit and the server stopped for every resident."""

from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest
from e2e_stack import Stack, get, post_json
from hypothesis import HealthCheck, given, settings

from tests.channels.webhook_bodies import encode, request_bodies

pytestmark = pytest.mark.e2e

LONE_SURROGATE_SENDER = b'{"sender": "\\ud800", "message": "\\u4f60\\u597d"}'  # {"sender": "\ud800", "message": "你好"}


def new_sender() -> str:
    return f"e2e-input-{uuid.uuid4().hex[:12]}"


def assert_still_serving(stack: Stack) -> None:
    """The server is up and a new resident gets a real answer."""
    sender = new_sender()
    assert any(r.get("text") for r in stack.send(sender, "你好")), stack.logs()
    assert stack.tracker(sender)["events"], "the conversation was stored"


@pytest.mark.parametrize("channel", ["rest", "webchat"])
def test_lone_surrogate_sender_is_a_400_and_the_server_answers_the_next_resident(stack: Stack, channel: str) -> None:
    url = stack.webchat_webhook_url if channel == "webchat" else stack.rest_url
    status, body = post_json(url, None, raw=LONE_SURROGATE_SENDER)
    assert status == 400, body
    assert json.loads(body)["error"] == "invalid_sender"
    assert_still_serving(stack)


def test_rest_webhook_applies_the_web_chat_checks(stack: Stack) -> None:
    for raw, status in [
        (b"{not json", 400),
        (encode({"sender": "s", "message": "工资\x00"}), 400),
        (encode({"sender": "s", "message": "hi", "metadata": {"k": "\udc00"}}), 400),
        (encode({"sender": "s", "message": "hi", "pad": "x" * 70_000}), 413),
    ]:
        answer, body = post_json(stack.rest_url, None, raw=raw)
        assert answer == status, body
        assert json.loads(body)["error"]


def test_rest_records_its_own_channel_name(stack: Stack) -> None:
    sender = new_sender()
    status, _ = post_json(stack.rest_url, {"sender": sender, "message": "你好", "input_channel": "wechat"})
    assert status == 200
    assert stack.tracker(sender)["latest_input_channel"] == "rest"


def test_unstorable_event_through_the_http_api_does_not_stop_the_server(stack: Stack) -> None:
    # Rasa's HTTP API bypasses the channels; an intent name the SQL store cannot encode reaches
    # SQLTrackerStore.save, where Rasa 3.6 turned the UnicodeEncodeError into sys.exit.
    sender = new_sender()
    stack.send(sender, "你好")
    event = {"event": "user", "text": "x", "parse_data": {"intent": {"name": "\ud800", "confidence": 1.0}}}
    url = stack.api(f"/conversations/{urllib.parse.quote(sender)}/tracker/events")
    status, _ = post_json(url, None, raw=encode([event]))
    assert status < 600  # any answer: the point is the server is still there
    status, body, _ = get(stack.api("/status"))
    assert status == 200, body
    assert_still_serving(stack)


@pytest.mark.parametrize("channel", ["rest", "webchat"])
def test_fuzzed_bodies_get_200_400_or_413_and_the_server_survives(stack: Stack, channel: str) -> None:
    url = stack.webchat_webhook_url if channel == "webchat" else stack.rest_url
    answers: list[int] = []

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(request_bodies)
    def post(body: bytes) -> None:
        status, text = post_json(url, None, raw=body)
        answers.append(status)
        # 403: a valid body naming a sender, without the web chat's conversation cookie.
        assert status in ((200, 400, 403, 413) if channel == "webchat" else (200, 400, 413)), text
        assert isinstance(json.loads(text), list if status == 200 else dict)

    post()
    assert 400 in answers, "the fuzzing never reached the checks"
    assert_still_serving(stack)


def test_streamed_replies_are_json_lines(stack: Stack) -> None:
    status, body = post_json(f"{stack.rest_url}?stream=true", {"sender": new_sender(), "message": "你好"})
    assert status == 200, body
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert lines and any(line.get("text") for line in lines)
