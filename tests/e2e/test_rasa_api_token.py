"""Rasa's HTTP API on the test stack is started as ``make run`` and production start it, with a token
(``--auth-token``): without it, or with a wrong one, every API request is refused and changes nothing,
while the residents' webhooks stay open."""

from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest
from e2e_stack import RASA_TOKEN, Stack, get, post_json

pytestmark = pytest.mark.e2e


def test_the_http_api_refuses_requests_without_the_token(stack: Stack) -> None:
    sender = f"e2e-api-{uuid.uuid4().hex[:12]}"
    assert stack.send(sender, "你好")  # the residents' webhook needs no token
    conversation = f"/conversations/{urllib.parse.quote(sender)}"
    reads = ["/status", f"{conversation}/tracker", f"{conversation}/story", "/domain"]
    writes = {
        f"{conversation}/tracker/events": [{"event": "slot", "name": "referral_village", "value": "石桥村"}],
        f"{conversation}/messages": {"text": "别人写进来的话", "sender": "user"},
        f"{conversation}/trigger_intent": {"name": "greet"},
        "/model/parse": {"text": "你好"},
    }
    for token in ("", "wrong-" + RASA_TOKEN):
        suffix = f"?token={token}" if token else ""
        for path in reads:
            status, body, _ = get(f"{stack.base_url}{path}{suffix}")
            assert status == 401, (path, token, status, body[:200])
        for path, payload in writes.items():
            status, body = post_json(f"{stack.base_url}{path}{suffix}", payload)
            assert status == 401, (path, token, status, body[:200])
            assert json.loads(body)["reason"] == "NotAuthenticated"
    # Nothing of the refused writes reached the conversation; with the token the API answers.
    tracker = stack.tracker(sender)
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == ["你好"]
    assert tracker["slots"]["referral_village"] is None
    for path in reads:
        assert get(stack.api(path))[0] == 200, path
