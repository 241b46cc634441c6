"""The WeChat channel's settings, read from the environment.

| variable | default | meaning |
|---|---|---|
| ``WECHAT_TOKEN`` | (unset: channel off) | the Token entered in the official account's server settings |
| ``WECHAT_APPID`` | required with the token | the account's AppID |
| ``WECHAT_SECRET`` | required with the token | the AppSecret, for the access token |
| ``WECHAT_AES_KEY`` | unset: plaintext mode only | the EncodingAESKey (43 characters) for safe/compatible mode |
| ``WECHAT_API_BASE`` | ``https://api.weixin.qq.com`` | base of WeChat's ``/cgi-bin/…`` API |
| ``WECHAT_REPLY_WINDOW`` | ``4.0`` | seconds to wait for the bot before answering ``success`` (WeChat waits 5) |
| ``WECHAT_MAX_AGE`` | ``300`` | seconds a request's timestamp may be off |
| ``WECHAT_SEND_ATTEMPTS`` | ``4`` | tries per customer-service message (back-off 0.5 s, 1 s, 2 s …) |
| ``WECHAT_RETRY_INTERVAL`` | ``30`` | seconds between retries of messages WeChat did not take |
| ``WECHAT_CLAIM_LEASE`` | reply window + 1 | seconds a message's claim holds before a WeChat retry may process it |

Shared state (Redis or SQLite) is configured in ``channels.wechat_store``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

DEFAULT_API_BASE = "https://api.weixin.qq.com"


@dataclass(frozen=True)
class WeChatSettings:
    token: str
    app_id: str
    secret: str
    aes_key: str | None = None
    api_base: str = DEFAULT_API_BASE
    reply_window: float = 4.0
    max_age: float = 300.0
    send_attempts: int = 4
    retry_interval: float = 30.0
    claim_lease: float = 5.0

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None) -> WeChatSettings | None:
        """The settings, or None when ``WECHAT_TOKEN`` is unset (the channel stays off)."""
        values = {k.upper(): str(v) for k, v in (overrides or {}).items() if v is not None}

        def get(name: str, default: str = "") -> str:
            return values.get(name, os.environ.get(f"WECHAT_{name}", default)).strip()

        token = get("TOKEN")
        if not token:
            return None
        app_id, secret = get("APPID"), get("SECRET")
        if not app_id or not secret:
            raise ValueError("WECHAT_TOKEN is set: WECHAT_APPID and WECHAT_SECRET must be set too")
        aes_key = get("AES_KEY") or None
        if aes_key is not None and len(aes_key) != 43:
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        return cls(
            token=token,
            app_id=app_id,
            secret=secret,
            aes_key=aes_key,
            api_base=get("API_BASE", DEFAULT_API_BASE).rstrip("/"),
            reply_window=float(get("REPLY_WINDOW", "4.0")),
            max_age=float(get("MAX_AGE", "300")),
            send_attempts=int(get("SEND_ATTEMPTS", "4")),
            retry_interval=float(get("RETRY_INTERVAL", "30")),
            claim_lease=float(get("CLAIM_LEASE") or float(get("REPLY_WINDOW", "4.0")) + 1.0),
        )
