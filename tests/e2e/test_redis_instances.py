"""Multi-instance deployment: two Rasa servers sharing conversations and locks through the real Redis.

Both instances load endpoints.production.yml (the file a deployment uses) with a test database and key
prefix, and use the running stack's action server. A resident's conversation started on one instance
continues on the other, as it does behind a load balancer.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import redis
from e2e_stack import (
    REPO_ROOT,
    Stack,
    api_url,
    free_ports,
    post_json,
    rasa_command,
    rasa_ready,
    start_server,
    stop_server,
    wait_until_ready,
)

pytestmark = [pytest.mark.e2e, pytest.mark.redis]
REDIS_URL = os.environ.get("LEGAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture(scope="module")
def redis_instances(stack: Stack, tmp_path_factory) -> Iterator[list[str]]:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    database = client.connection_pool.connection_kwargs.get("db", 0)
    endpoints = (REPO_ROOT / "endpoints.production.yml").read_text(encoding="utf-8")
    prefix = f"legal-test-{uuid.uuid4().hex[:8]}"
    tmp = tmp_path_factory.mktemp("redis-instances")
    (tmp / "endpoints.yml").write_text(endpoints.replace("key_prefix: legal", f"key_prefix: {prefix}"))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "ACTION_SERVER_URL": f"{stack.action_url}/webhook", "REDIS_HOST": "127.0.0.1",
           "REDIS_PORT": str(client.connection_pool.connection_kwargs.get("port", 6379)),
           "REDIS_TRACKER_DB": str(database), "REDIS_LOCK_DB": str(database)}
    servers, urls = [], []
    try:
        for port in free_ports(2):
            command = rasa_command(port, tmp / "endpoints.yml")
            servers.append(start_server(f"rasa-redis-{port}", command, env, tmp))
            urls.append(f"http://127.0.0.1:{port}")
        wait_until_ready([(s, api_url(u, "/status"), rasa_ready) for s, u in zip(servers, urls)])
        yield urls
    finally:
        for server in servers:
            stop_server(server)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def send(base_url: str, sender: str, text: str) -> list[dict]:
    status, body = post_json(f"{base_url}/webhooks/rest/webhook", {"sender": sender, "message": text})
    assert status == 200, body
    return json.loads(body)


def test_a_conversation_moves_between_instances(redis_instances):
    first, second = redis_instances
    sender = f"e2e-redis-{uuid.uuid4().hex[:10]}"
    assert send(first, sender, "我想找村里的法律顾问帮忙")  # the referral form starts on instance 1
    reply = "\n".join(r.get("text") or "" for r in send(second, sender, "石桥村"))  # continues on 2
    assert "电话" in reply or "手机" in reply, reply
    with urllib.request.urlopen(api_url(first, f"/conversations/{sender}/tracker"), timeout=60) as response:
        tracker = json.load(response)
    assert tracker["slots"]["referral_village"] == "城关镇石桥村"
    assert tracker["active_loop"]["name"] == "referral_form"
