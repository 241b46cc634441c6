"""Who is talking on the web chat: a conversation id the server issues, in an HttpOnly signed cookie.

The page's script never sees or chooses the id. The first request of a browser gets a fresh id
(``web-`` + 32 hex digits) in the cookie ``webchat_id`` as ``<id>.<signature>`` (HMAC-SHA256 with
the key below, base64url); every later request is that conversation. A request whose body names
another ``sender`` than its cookie, or a sender without a valid cookie, is refused (403): nobody can
write into another resident's conversation or read its stream by learning the id.

| variable | default | meaning |
|---|---|---|
| ``WEBCHAT_SECRET`` | (a key in ``var/webchat.secret``, created on first start) | signing key of the
  cookie; set the same value on every Rasa process behind a load balancer |
| ``WEBCHAT_COOKIE_DAYS`` | ``30`` | how long a browser keeps its conversation |
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

COOKIE = "webchat_id"
PREFIX = "web-"
SECRET_FILE = Path(__file__).resolve().parents[1] / "var" / "webchat.secret"
COOKIE_DAYS = float(os.environ.get("WEBCHAT_COOKIE_DAYS", "30"))


def _load_key() -> bytes:
    configured = os.environ.get("WEBCHAT_SECRET", "").strip()
    if configured:
        return configured.encode("utf-8")
    SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once agree on one key
        fd = os.open(SECRET_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SECRET_FILE.read_bytes().strip()
    key = secrets.token_hex(32).encode("ascii")
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


_key: bytes | None = None


def _secret() -> bytes:
    global _key
    if _key is None:
        _key = _load_key()
    return _key


def _sign(sender: str) -> str:
    mac = hmac.new(_secret(), sender.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def new_sender() -> str:
    return PREFIX + secrets.token_hex(16)


def cookie_value(sender: str) -> str:
    return f"{sender}.{_sign(sender)}"


def sender_of(cookie: str | None) -> str | None:
    """The conversation id of a cookie value, or None if it is missing or not signed by us."""
    if not cookie or "." not in cookie:
        return None
    sender, _, signature = cookie.rpartition(".")
    if not sender.startswith(PREFIX) or len(sender) > 64:
        return None
    return sender if hmac.compare_digest(signature, _sign(sender)) else None


def set_cookie_header(sender: str, secure: bool) -> str:
    """The ``Set-Cookie`` header value (HttpOnly, SameSite=Strict, Secure over HTTPS)."""
    attributes = [f"{COOKIE}={cookie_value(sender)}", f"Max-Age={int(COOKIE_DAYS * 86400)}"]
    attributes += ["HttpOnly", "SameSite=Strict"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)
