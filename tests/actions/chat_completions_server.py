"""A local OpenAI-compatible chat completions server whose answers a test scripts.

It speaks the protocol ``actions/llm_client.py`` uses (``POST /v1/chat/completions``, JSON in and
out, ``choices[0].message.content``) over real HTTP on a free port of 127.0.0.1, from a thread of
the test process. ``script`` turns the request into (status, body, seconds to wait first); every
request is kept in ``requests`` with its headers.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Script = Callable[[dict[str, Any]], tuple[int, bytes, float]]
ARTICLE = re.compile(r"^(《.+?》第[零〇一二两三四五六七八九十百千万]+条)：(.+)$", re.M)


@dataclass
class ChatServer:
    url: str
    script: Script = field(default=lambda request: reply("好的。"))
    requests: list[dict[str, Any]] = field(default_factory=list)


def reply(content: str, status: int = 200, delay: float = 0.0) -> tuple[int, bytes, float]:
    """A chat completion carrying ``content``, as vLLM and Ollama send it."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }
    return status, json.dumps(body, ensure_ascii=False).encode(), delay


def given_articles(request: dict[str, Any]) -> list[tuple[str, str]]:
    """The (citation, text) of each article the request gives the model."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    return ARTICLE.findall(user.split("给出的法条：", 1)[1])


@contextmanager
def chat_server() -> Iterator[ChatServer]:
    state = ChatServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            state.requests.append({"path": self.path, "headers": dict(self.headers), "json": request})
            status, body, delay = state.script(request) if self.path == "/v1/chat/completions" else (404, b"", 0)
            time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as it should

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, name="chat-completions", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
