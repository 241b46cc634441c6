"""channels.action_failures in Rasa's own environment: a custom action call that fails inside a channel
message marks the message as failed (the channel then answers 503 "send it again" and the conversation
keeps nothing of it); a form value the action rejects is dialogue, not a failure; outside a channel
message (Rasa's HTTP API) nothing is marked. The action server is a real socket each time: one that
resets the connection after reading the request (a server killed in the middle of it), a port nobody
listens on, and one answering Rasa's 400 rejection. Once a call failed, the message's later custom
actions are not called. The WeChat channel (which does not build on channels.rest) answers such a
message with the polite text."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from channels.wording import domain_text

REPO = Path(__file__).resolve().parents[2]
RASA_PYTHON = REPO / ".venv-rasa" / "bin" / "python"

SCRIPT = r"""
import asyncio, http.server, json, socket, struct, threading
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
import channels.rest  # installs it, as every Rasa process of ours does through credentials.yml
from channels.tracker_stores import watching_storage

def serve(handle):
    server = socket.create_server(("127.0.0.1", 0))
    def loop():
        while True:
            handle(server.accept()[0])
    threading.Thread(target=loop, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}/webhook"

def dies(conn):  # reads the request, then the connection is reset (SO_LINGER 0), as by a SIGKILL
    conn.recv(1 << 20)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()

def rejects(conn):
    conn.recv(1 << 20)
    body = json.dumps({"action_name": "action_answer_question", "error": "not a village"}).encode()
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    conn.close()

unused = socket.create_server(("127.0.0.1", 0))
refused = f"http://127.0.0.1:{unused.getsockname()[1]}/webhook"
unused.close()

async def call(url, watched):
    action = RemoteAction("action_answer_question", EndpointConfig(url))
    run = action.run(CollectingOutputChannel(), None, DialogueStateTracker("someone", []), Domain.empty())
    storage = None
    try:
        if watched:
            with watching_storage() as storage:
                await run
        else:
            await run
        outcome = "ok"
    except ActionExecutionRejection:
        outcome = "rejected"
    except Exception as error:
        outcome = type(error).__name__
    return [outcome, storage.failed if storage else None]

async def later_calls(first):
    # Two calls in one message, the first failing: how many requests reach the second server.
    received = []
    def counts(conn):
        received.append(conn.recv(1 << 20))
        dies(conn)
    second = serve(counts)
    with watching_storage():
        for url in (first, second):
            try:
                await RemoteAction("action_record_feedback", EndpointConfig(url)).run(
                    CollectingOutputChannel(), None, DialogueStateTracker("someone", []), Domain.empty())
            except Exception:
                pass  # as Rasa's processor does
    return len(received)

async def wechat(url):
    # The WeChat channel's turn, the bot being a RemoteAction call as Rasa's processor makes it
    # (which logs a failed call and carries on): what the resident is sent.
    from types import SimpleNamespace
    from rasa.core.channels.channel import UserMessage
    from channels.wechat import WeChatOutput, WeChatServer
    from channels.wechat_settings import WeChatSettings
    from channels.wechat_store import MemoryStore

    async def bot(message):
        try:
            await RemoteAction("action_answer_question", EndpointConfig(url)).run(
                message.output_channel, None, DialogueStateTracker(message.sender_id, []), Domain.empty())
        except Exception:
            pass
        await message.output_channel.send_text_message(message.sender_id, "答复")

    server = WeChatServer(WeChatSettings("token", "wx0123456789abcdef", "secret"), MemoryStore(), bot)
    server.app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(domain=Domain.load("domain.yml"))))
    output = WeChatOutput()
    return [m.get("text") for m in await server._run_bot(UserMessage("问题", output, "openid"), output)]

async def main():
    return {
        "dies": await call(serve(dies), True),
        "refused": await call(refused, True),
        "rejects": await call(serve(rejects), True),
        "dies_outside_a_message": await call(serve(dies), False),
        "calls_after_a_failed_one": await later_calls(serve(dies)),
        "calls_after_a_rejected_one": await later_calls(serve(rejects)),
        "wechat_dies": await wechat(serve(dies)),
        "wechat_rejects": await wechat(serve(rejects)),
    }

print(json.dumps(asyncio.run(main())))
"""


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="the Rasa environment is made by `make setup`")
def test_a_failed_action_call_fails_the_message_a_rejection_does_not():
    done = subprocess.run([str(RASA_PYTHON), "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dies"] == ["RasaException", True]  # Rasa still sees the failure (and logs it)
    assert result["refused"] == ["RasaException", True]
    assert result["rejects"] == ["rejected", False]
    assert result["dies_outside_a_message"] == ["RasaException", None]
    assert "custom action action_answer_question failed" in done.stderr
    # Later custom actions of a failed message are not called (they would run again on the resend).
    assert result["calls_after_a_failed_one"] == 0
    assert result["calls_after_a_rejected_one"] == 1
    # WeChat: the polite text instead of what the failed turn said; a rejection changes nothing.
    assert result["wechat_dies"] == [domain_text("utter_service_busy")]
    assert result["wechat_rejects"] == ["答复"]
