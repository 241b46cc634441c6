"""The trained Rasa model's reading of messages, for benchmarks: ``/model/parse`` of a real Rasa server.

    with rasa_parser() as parse:
        parse("我家着火了")  # the parse result: intent, entities, response_selector, …

Starts the action server and Rasa as the e2e tests do (tests/e2e/e2e_stack.py: temporary database,
free ports), caches each message's result, and stops both servers on leaving.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

Parse = Callable[[str], dict]


@contextmanager
def rasa_parser() -> Iterator[Parse]:
    from e2e_stack import Stack, base_env, free_ports, post_json, start_stack, stop_server

    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        env = base_env(f"sqlite:///{log_dir / 'legal.db'}")
        env["ACTIONS_PRELOAD"] = "0"  # only the NLU is asked: the search engine is not needed
        action_port, rasa_port = free_ports(2)
        stack = Stack.local(rasa_port, action_port, env["LEGAL_DB_URL"], log_dir)
        cache: dict[str, dict] = {}

        def parse(text: str) -> dict:
            if text not in cache:
                status, body = post_json(stack.api("/model/parse"), {"text": text})
                if status != 200:
                    raise RuntimeError(f"/model/parse answered {status}: {body[:200]}")
                cache[text] = json.loads(body)
            return cache[text]

        try:
            start_stack(stack, env, action_port, rasa_port)
            yield parse
        finally:
            for server in reversed(stack.servers):
                stop_server(server)
