"""The action server dies in the middle of a message, on the session's stack (one Rasa server calling
one action server directly, as ``make run`` starts them).

The action server is stopped (SIGSTOP), the resident's question sent from the web chat, and once
Rasa's call of the action waits unread in the stopped server, it is killed (SIGKILL): the connection
is reset under the written request. The resident must get the polite "send it again" answer, never an
empty one; while the server is down the same; once it is started again the question is answered, stored
once, and the conversation holds nothing of the failed attempt.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.parse
import uuid

import pytest
from e2e_stack import (
    Stack,
    action_command,
    base_env,
    get,
    post_json,
    reset_under_request,
    start_server,
    wait_until_ready,
)

from channels.wording import domain_text

pytestmark = pytest.mark.e2e
QUESTION = "老板拖欠我三个月工资不给怎么办"


def assert_polite_try_again(status: int, body: str) -> None:
    assert status == 503, body  # not 200 with an empty list (Rasa's answer when the action failed)
    answer = json.loads(body)
    assert answer["error"] == "try_again" and answer["text"] == domain_text("utter_service_busy"), answer
    assert "12348" in answer["text"]


def user_texts(stack: Stack, sender: str) -> list[str]:
    status, body, _ = get(stack.api(f"/conversations/{urllib.parse.quote(sender)}/tracker"))
    assert status == 200, body
    return [e["text"] for e in json.loads(body)["events"] if e["event"] == "user"]


def test_action_server_killed_in_the_middle_of_a_message(stack: Stack) -> None:
    chat = stack.webchat()
    assert chat.send("你好")
    actions = next(s for s in reversed(stack.servers) if s.name.startswith("actions"))
    port = int(stack.action_url.rpartition(":")[2])
    try:
        answer = reset_under_request(actions.process.pid, port, lambda: chat.post({"message": QUESTION}))
        assert_polite_try_again(*answer)
        actions.process.wait(timeout=30)
        # While it is down (connection refused): the same answer, on the REST channel too.
        assert_polite_try_again(*chat.post({"message": QUESTION}))
        other = f"e2e-actions-down-{uuid.uuid4().hex[:12]}"
        assert_polite_try_again(*post_json(stack.rest_url, {"sender": other, "message": QUESTION}))
    finally:
        if actions.process.poll() is None:
            os.killpg(actions.process.pid, signal.SIGKILL)
        again = start_server("actions-restarted", action_command(port), base_env(stack.db_url), stack.log_dir)
        stack.servers.append(again)
        wait_until_ready([(again, f"{stack.action_url}/health", lambda status, _: status == 200)])
    replies = chat.send(QUESTION)  # the resident sends it again
    assert "\n".join(r.get("text") or "" for r in replies).strip()
    assert len(stack.consultations(chat.sender)) == 1, "stored once, nothing of the failed attempts"
    assert user_texts(stack, chat.sender) == ["你好", QUESTION], "nothing half-stored, nothing lost"
