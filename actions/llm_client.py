"""The county's own language model, reached over the OpenAI-compatible chat completions protocol.

``POST {ANSWER_LLM_URL}/chat/completions`` with ``{"model", "messages", "temperature", "max_tokens",
"stream": false}``; the answer is ``choices[0].message.content``. vLLM, Ollama, llama.cpp's server,
LM Studio and the hosted DeepSeek/Qwen APIs all speak it. The settings are in ``actions.config``.

Everything that can go wrong — no answer within the timeout (the whole exchange, not each read),
a refused connection, an HTTP error, a body that is not the protocol's JSON, an empty content — is
one :class:`DraftUnavailable` whose message says which, without the request or the answer: the
caller then sends the plain answer.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from typing import Any

import httpx2

MAX_BODY_BYTES = 256 * 1024  # a short draft is a few KB; more is a misbehaving server
MAX_TOKENS = 600  # room for ~400 Chinese characters; the guard drops anything longer anyway
# Low temperature: the draft should restate the articles, not vary them.
TEMPERATURE = 0.2


class DraftUnavailable(Exception):
    """No usable answer from the model; the message says why (fit for a log)."""


async def complete(url: str, messages: list[dict[str, str]], *, model: str = "", key: str = "", timeout: float) -> str:
    """The model's reply to ``messages``, within ``timeout`` seconds all told; raises DraftUnavailable."""
    body: dict[str, Any] = {
        "messages": messages,
        "temperature": TEMPERATURE,
        "max_tokens": MAX_TOKENS,
        "stream": False,
    }
    if model:
        body["model"] = model
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        async with asyncio.timeout(timeout):
            raw = await _post(f"{url.rstrip('/')}/chat/completions", body, headers, timeout)
    except TimeoutError:
        raise DraftUnavailable(f"no answer within {timeout:g} s") from None
    except (httpx2.HTTPError, httpx2.InvalidURL) as exc:
        raise DraftUnavailable(f"request failed: {type(exc).__name__}") from None
    return _content(raw)


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system's trusted certificates, loaded once (tens of milliseconds each time otherwise)."""
    return httpx2.create_ssl_context()


async def _post(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> bytes:
    # trust_env=False: a county's model runs next to the bot, and a proxy set for the machine's
    # other traffic must not carry residents' questions elsewhere.
    async with (
        httpx2.AsyncClient(timeout=timeout, trust_env=False, verify=_tls()) as client,
        client.stream("POST", url, json=body, headers=headers) as response,
    ):
        if response.status_code != 200:
            raise DraftUnavailable(f"HTTP {response.status_code}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise DraftUnavailable(f"answer larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _content(raw: bytes) -> str:
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError):
        raise DraftUnavailable("answer is not a chat completion") from None
    if not isinstance(content, str) or not content.strip():
        raise DraftUnavailable("empty answer")
    return content
