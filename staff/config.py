"""Settings of the staff web app, read from the environment (one place per setting).

=============================  =========================================================
``STAFF_HOST`` / ``STAFF_PORT``  where the app listens (``127.0.0.1`` / ``5080``)
``STAFF_SESSION_HOURS``        idle-free lifetime of a login session (8)
``STAFF_SECURE_COOKIES``       ``1`` (default) marks the cookie ``Secure``; set ``0`` only
                               for plain-HTTP development on 127.0.0.1
``STAFF_LOGIN_MAX_USER``       failed logins per account within 15 minutes before it is
                               throttled (5)
``STAFF_LOGIN_MAX_ADDR``       failed logins per client address within 15 minutes (20)
``STAFF_TRUST_PROXY``          ``1``: take the client address from ``X-Forwarded-For``
``REDIS_URL``                  sessions and the scheduler lock in Redis (else the database)
``REFERRAL_ACCEPT_HOURS``      escalate a referral not accepted within this time (24)
``REFERRAL_RESOLVE_DAYS``      flag a referral not resolved within this time (7)
``STAFF_TICK_SECONDS``         how often the scheduler runs (30)
``HANDOFF_IDLE_MINUTES``       a resident who wrote in a taken conversation and got no answer
                               from the operator within this time is told so once and the bot
                               answers again (5; :mod:`staff.handoff_idle`)
``STAFF_NOTIFY``               notifier channels: ``inapp,log`` (default), plus ``email``
                               and ``webhook``
``SMTP_HOST`` / ``SMTP_PORT``  mail relay for ``email`` (``127.0.0.1`` / ``25``);
``SMTP_USER``/``SMTP_PASSWORD``  optional login, ``SMTP_STARTTLS=1`` to upgrade,
``SMTP_FROM``                  sender address (``noreply@localhost``)
``STAFF_WEBHOOK_URL``          HTTPS endpoint receiving JSON notifications (SMS gateway,
``STAFF_WEBHOOK_SECRET``       WeChat Work…), signed with HMAC-SHA256 in ``X-Signature``
``STAFF_TRACKER_DB_URL``       Rasa's SQL tracker store (default ``var/tracker.db``)
``STAFF_TRACKER_REDIS_URL``    Rasa's Redis tracker store instead (e.g. ``redis://host:6379/0``),
``STAFF_TRACKER_REDIS_PREFIX`` with the ``key_prefix`` of the endpoints file (``legal``)
``RASA_URL`` / ``RASA_TOKEN``  Rasa's HTTP API: transcripts are read from it when
                               ``RASA_URL`` is set; the operator console's live takeover
                               always uses it (default ``http://127.0.0.1:5005``); the token is
                               ``RASA_TOKEN``, else the one ``scripts/run.sh`` generated on first
                               run in ``var/rasa_token`` (:func:`rasa_api_token`, the one lookup
                               for every caller), sent as ``?token=``
``STAFF_ASSIST_PRELOAD``       ``1`` (default): load the search engine for the operators'
                               agent assist when the app starts; ``0``: on the first question
``RETENTION_DAYS``             read by ``records.config``: the scheduler's daily retention
                               run also deletes Rasa conversations older than this
``STAFF_BASE_URL``             the app's public address, used in notification links
``STAFF_TIMEZONE``             how pages show times (``Asia/Shanghai``)
=============================  =========================================================
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from records.config import REPO_ROOT, retention_days


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


RASA_TOKEN_FILE = REPO_ROOT / "var" / "rasa_token"


def rasa_api_token(create: bool = False, path: Path = RASA_TOKEN_FILE) -> str:
    """The token of Rasa's HTTP API: ``RASA_TOKEN``, else the generated file ('' if none).

    ``create=True`` (the start scripts) writes a random token to the file (mode 0600) on first
    run, so that the API is never started without one.
    """
    configured = os.environ.get("RASA_TOKEN", "").strip()
    if configured:
        return configured
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if not create:
            return ""
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    return token


@dataclass(frozen=True)
class Settings:
    host: str = field(default_factory=lambda: _str("STAFF_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("STAFF_PORT", 5080))
    session_hours: float = field(default_factory=lambda: _float("STAFF_SESSION_HOURS", 8))
    secure_cookies: bool = field(default_factory=lambda: _str("STAFF_SECURE_COOKIES", "1") != "0")
    login_max_user: int = field(default_factory=lambda: _int("STAFF_LOGIN_MAX_USER", 5))
    login_max_addr: int = field(default_factory=lambda: _int("STAFF_LOGIN_MAX_ADDR", 20))
    trust_proxy: bool = field(default_factory=lambda: _str("STAFF_TRUST_PROXY", "0") == "1")
    redis_url: str = field(default_factory=lambda: _str("REDIS_URL"))
    accept_hours: float = field(default_factory=lambda: _float("REFERRAL_ACCEPT_HOURS", 24))
    resolve_days: float = field(default_factory=lambda: _float("REFERRAL_RESOLVE_DAYS", 7))
    tick_seconds: float = field(default_factory=lambda: _float("STAFF_TICK_SECONDS", 30))
    handoff_idle_minutes: float = field(default_factory=lambda: _float("HANDOFF_IDLE_MINUTES", 5))
    notify: tuple[str, ...] = field(
        default_factory=lambda: tuple(c.strip() for c in _str("STAFF_NOTIFY", "inapp,log").split(",") if c.strip())
    )
    smtp_host: str = field(default_factory=lambda: _str("SMTP_HOST", "127.0.0.1"))
    smtp_port: int = field(default_factory=lambda: _int("SMTP_PORT", 25))
    smtp_user: str = field(default_factory=lambda: _str("SMTP_USER"))
    smtp_password: str = field(default_factory=lambda: _str("SMTP_PASSWORD"))
    smtp_starttls: bool = field(default_factory=lambda: _str("SMTP_STARTTLS", "0") == "1")
    smtp_from: str = field(default_factory=lambda: _str("SMTP_FROM", "noreply@localhost"))
    webhook_url: str = field(default_factory=lambda: _str("STAFF_WEBHOOK_URL"))
    webhook_secret: str = field(default_factory=lambda: _str("STAFF_WEBHOOK_SECRET"))
    tracker_db_url: str = field(
        default_factory=lambda: _str("STAFF_TRACKER_DB_URL", f"sqlite:///{REPO_ROOT / 'var' / 'tracker.db'}")
    )
    tracker_redis_url: str = field(default_factory=lambda: _str("STAFF_TRACKER_REDIS_URL"))
    tracker_redis_prefix: str = field(default_factory=lambda: _str("STAFF_TRACKER_REDIS_PREFIX", "legal"))
    rasa_url: str = field(default_factory=lambda: _str("RASA_URL"))
    rasa_token: str = field(default_factory=rasa_api_token)
    assist_preload: bool = field(default_factory=lambda: _str("STAFF_ASSIST_PRELOAD", "1") != "0")
    retention_days: float = field(default_factory=retention_days)
    base_url: str = field(default_factory=lambda: _str("STAFF_BASE_URL"))
    timezone: str = field(default_factory=lambda: _str("STAFF_TIMEZONE", "Asia/Shanghai"))

    @property
    def public_url(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"

