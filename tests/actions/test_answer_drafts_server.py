"""Plain-language drafts through the real action server process, as Rasa calls it.

The action server (``python -m rasa_sdk --actions actions``, the built index, a SQLite records
database of its own) is started with ``ANSWER_LLM_URL`` pointing at the scripted chat completions
server of ``chat_completions_server.py``; the test posts ``action_answer_question`` requests to its
``/webhook`` as the Rasa server does, switching what the model answers between questions.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests
from action_helpers import DOMAIN, recorded, render
from chat_completions_server import ChatServer, chat_server, given_articles, reply
from sqlalchemy import create_engine, select

from records.schema import consultations
from tests.e2e.e2e_stack import REPO_ROOT, Server, base_env, start_server, stop_server

pytestmark = pytest.mark.model
QUESTION = "公司让我每天加班到晚上十点，一分钱加班费都没有"
TIMEOUT = 2.0
READY_S = 180.0  # the index loads in seconds; a busy shared machine may take much longer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChatServer, str, str]]:
    """The scripted model, the action server's webhook URL and its records database URL."""
    tmp = tmp_path_factory.mktemp("drafts-server")
    db_url = f"sqlite:///{tmp / 'legal.db'}"
    with chat_server() as model:
        env = base_env(db_url) | {
            "ANSWER_LLM_URL": model.url,
            "ANSWER_LLM_KEY": "county-key",
            "ANSWER_LLM_TIMEOUT": str(TIMEOUT),
            "LEGAL_OUTBOX_DIR": str(tmp / "outbox"),
        }
        port = free_port()
        command = [str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "rasa_sdk", "--actions", "actions"]
        server: Server = start_server("actions", [*command, "--port", str(port)], env, tmp)
        try:
            _wait_ready(server, f"http://127.0.0.1:{port}/health")
            yield model, f"http://127.0.0.1:{port}/webhook", db_url
        finally:
            stop_server(server)


def _wait_ready(server: Server, health: str) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log_tail()
        try:
            if requests.get(health, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(server.log_tail())


def ask(url: str) -> tuple[list[dict], float]:
    tracker = recorded("wage_question", text=QUESTION)
    body = {
        "next_action": "action_answer_question",
        "sender_id": tracker.sender_id,
        "tracker": tracker.current_state(),
        "domain": DOMAIN,
        "version": "3.6.21",
    }
    started = time.monotonic()
    answer = requests.post(url, json=body, timeout=60)
    answer.raise_for_status()
    return answer.json()["responses"], time.monotonic() - started


def test_drafts_through_the_real_action_server(served):
    model, url, db_url = served
    model.script = lambda r: reply("加班要给加班费。")
    ask(url)  # the first question waits for the index to load

    def good(request):
        citation, text = given_articles(request)[0]
        return reply(f"加班就要给加班费。{citation}写着「{text[:10]}」。")

    model.script = good
    responses, _ = ask(url)
    lead = render(responses[0])
    assert responses[0]["response"] == "utter_drafted_answer"
    assert lead.startswith("加班就要给加班费。《") and "\n\n相关法条：\n《" in lead
    assert model.requests[-1]["headers"]["Authorization"] == "Bearer county-key"

    model.script = lambda r: reply(f"{given_articles(r)[0][0].split('》')[0]}》第九百九十九条规定要给加班费。")
    responses, _ = ask(url)
    assert responses[0]["response"] == "utter_legal_question/labor"
    assert "第九百九十九条" not in render(responses[0])

    model.script = lambda r: reply("加班就要给加班费。", delay=TIMEOUT + 5)
    responses, elapsed = ask(url)
    assert responses[0]["response"] == "utter_legal_question/labor"
    assert TIMEOUT <= elapsed < TIMEOUT + 3.0, elapsed  # margin: the search and the record, on a busy machine
    assert [r["response"] for r in responses[1:]] == ["utter_next_step_labor", "utter_disclaimer"]

    with create_engine(db_url).connect() as conn:
        drafts = conn.execute(select(consultations.c.draft).order_by(consultations.c.created_at)).scalars().all()
    assert drafts == ["used", "used", "dropped", "dropped"]
