"""Configuration of ``records``, read from environment variables.

``LEGAL_DB_URL``
    SQLAlchemy URL of the database. Default: ``sqlite:///<repo root>/var/legal.db`` (the ``var/``
    directory is created on demand). Production uses PostgreSQL through psycopg 3, e.g.
    ``postgresql+psycopg://legal:secret@db-host:5432/legal``.

``LEGAL_OUTBOX_DIR``
    Directory of the outbox (:mod:`records.outbox`): records accepted while the database was
    unavailable wait there until they are written. Default ``<repo root>/var/outbox``; a relative
    path is taken relative to the repo root. Give every process writing to one database the same
    directory.

``LEGAL_OUTBOX_REPLAY_SECONDS``
    How often each process's background replayer (:func:`records.outbox.start_replayer`) tries to
    write what waits in the outbox. Default 30; a shorter interval stores records sooner after an
    outage at the cost of a failed connection attempt per interval while it lasts.

``RETENTION_DAYS``
    How long consultation texts and transcripts are kept (default 365 days; ``0`` keeps them
    forever). Older ones are anonymised by :mod:`records.retention` (statistics stay); the staff
    app's scheduler runs it daily and also clears Rasa's tracker store.

``LEGAL_SENDER_SALT``
    Secret key for pseudonymising Rasa sender ids in the consultation log (HMAC-SHA256, see
    :mod:`records.privacy`). Set it in production, the same value for every process that writes
    records, and keep it out of the database. If unset, a random key is created once in
    ``<repo root>/var/sender.salt`` (file mode 0600) and reused.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VAR_DIR = REPO_ROOT / "var"
DB_URL_ENV = "LEGAL_DB_URL"
SALT_ENV = "LEGAL_SENDER_SALT"
OUTBOX_ENV = "LEGAL_OUTBOX_DIR"
REPLAY_ENV = "LEGAL_OUTBOX_REPLAY_SECONDS"
DEFAULT_REPLAY_SECONDS = 30.0


def retention_days() -> float:
    """``RETENTION_DAYS`` (365); 0 or less keeps everything."""
    raw = os.environ.get("RETENTION_DAYS", "").strip()
    return float(raw) if raw else 365.0


def var_dir() -> Path:
    """The repo's ``var/`` directory, created if missing."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return VAR_DIR


def database_url() -> str:
    """The configured database URL (``LEGAL_DB_URL``) or the default SQLite file."""
    url = os.environ.get(DB_URL_ENV, "").strip()
    if url:
        return url
    return f"sqlite:///{var_dir() / 'legal.db'}"


def outbox_dir() -> Path:
    """The outbox directory (``LEGAL_OUTBOX_DIR`` or ``var/outbox``); not created here."""
    configured = os.environ.get(OUTBOX_ENV, "").strip()
    if not configured:
        return VAR_DIR / "outbox"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def outbox_replay_seconds() -> float:
    """``LEGAL_OUTBOX_REPLAY_SECONDS`` (30): the background replayer's interval."""
    raw = os.environ.get(REPLAY_ENV, "").strip()
    if not raw:
        return DEFAULT_REPLAY_SECONDS
    seconds = float(raw)
    if not seconds > 0:
        raise ValueError(f"{REPLAY_ENV} must be a positive number of seconds, not {raw!r}")
    return seconds


def sender_salt() -> bytes:
    """The pseudonymisation key: ``LEGAL_SENDER_SALT`` or a persistent random key in ``var/``."""
    salt = os.environ.get(SALT_ENV, "")
    if salt:
        return salt.encode("utf-8")
    path = var_dir() / "sender.salt"
    if not path.exists():
        _create_salt_file(path)
    return path.read_text().strip().encode("utf-8")


def _create_salt_file(path: Path) -> None:
    # Write a private temp file, then hard-link it into place: if processes race, the first link
    # wins and every process reads the same complete key.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
