"""End-to-end fixtures: the real Rasa server and action server, started once per test session.

``stack`` builds the search index and trains the dialogue model when needed (both cached), then
starts the action server (``.venv``) and ``rasa run`` (``.venv-rasa``) from the repo root on free
ports, with a temporary SQLite tracker store and a temporary records database (``LEGAL_DB_URL``)
so tests never touch ``var/legal.db`` and can run next to ``make run``. Logs go to files in the
session's temp dir; their tails are printed when a server fails to come up.

| env | default | meaning |
|---|---|---|
| ``E2E_READY_TIMEOUT`` | ``420`` | seconds to wait for both servers |
| ``E2E_SKIP_BUILD`` | unset | ``1``: skip ``knowledge build`` and training (``make`` did them) |
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e_stack import MODEL, Stack, base_env, free_ports, prepare_models, start_stack, stop_server


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
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
