"""The outbox's files: a durable, append-only spool of JSON lines shared by several processes.

This module knows the envelope of an entry, not what it holds (:mod:`records.outbox` encodes the
records). Files in ``LEGAL_OUTBOX_DIR`` (default ``var/outbox``, see :mod:`records.config`), the
directory 0700 and every file 0600:

- ``outbox.jsonl`` — one JSON object per line: ``v`` (format), ``entry`` (spool id), ``kind``,
  ``db`` (the target URL, password hidden), ``spooled_at``, ``values``. Each line is appended
  with ``fsync`` under a lock; a line cut short by a crash stays a line of its own and is read
  as unreadable (``None``) instead of spoiling the next one.
- ``rejected.jsonl`` — entries the database refused, or unreadable lines, with the error; kept
  for staff, never replayed.
- ``outbox.lock`` — ``fcntl.flock`` lock of every read and rewrite of the two files;
  ``replay.lock`` — held by whoever takes entries out (:func:`replay_lock`), one at a time.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from records.config import outbox_dir
from records.schema import utcnow

SPOOL_NAME = "outbox.jsonl"
REJECTED_NAME = "rejected.jsonl"
_LOCK_NAME = "outbox.lock"
_REPLAY_LOCK_NAME = "replay.lock"
_FORMAT = 1
_ENVELOPE = ("entry", "kind", "db", "values")

Line = tuple[bytes, dict[str, Any] | None]  # a raw line and its entry, None if unreadable


def append(kind: str, values: dict[str, Any], target: str) -> None:
    """Append one entry for the database ``target`` durably; ``values`` must be JSON-ready."""
    entry = {
        "v": _FORMAT,
        "entry": str(uuid.uuid4()),
        "kind": kind,
        "db": target,
        "spooled_at": utcnow().isoformat(),
        "values": values,
    }
    _append(SPOOL_NAME, json.dumps(entry, ensure_ascii=False))


def reject(line: bytes, error: str) -> None:
    """Keep a refused or unreadable ``line`` in ``rejected.jsonl`` with the error."""
    record = {
        "rejected_at": utcnow().isoformat(),
        "error": error,
        "line": line.decode("utf-8", "replace"),
    }
    _append(REJECTED_NAME, json.dumps(record, ensure_ascii=False))


def lines() -> list[Line]:
    """Every non-empty line of the spool, in order, with its entry (None if unreadable)."""
    return [(line, _parse(line)) for line in _raw_lines()]


def remove(entries: set[str], raw_lines: set[bytes], *, changed: dict[str, dict[str, Any]] | None = None) -> None:
    """Drop the given entries (by spool id) and raw lines from the spool, atomically.

    ``changed``: entry id → new ``values`` for entries that stay in place with other values.
    """
    changed = changed or {}
    if not entries and not raw_lines and not changed:
        return
    path = _path(SPOOL_NAME)
    with _flock(_LOCK_NAME):
        kept = [
            _with_values(line, changed)
            for line in path.read_bytes().splitlines()
            if line.strip() and line not in raw_lines and _entry_id(line) not in entries
        ]
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, b"".join(line + b"\n" for line in kept))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)


def waiting_for(target: str) -> bool:
    """Whether the spool holds entries for the database ``target``."""
    # A byte search instead of parsing every line: inside JSON strings quotes are escaped, so
    # this text only occurs as the "db" member written by append.
    needle = ('"db": ' + json.dumps(target, ensure_ascii=False) + ",").encode("utf-8")
    return any(needle in line for line in _raw_lines())


def nonempty() -> bool:
    try:
        return _path(SPOOL_NAME).stat().st_size > 0
    except FileNotFoundError:
        return False


def pending_count() -> int:
    """Entries waiting in the spool, for every database."""
    return sum(1 for _, entry in lines() if entry is not None)


def rejected_count() -> int:
    """Lines in ``rejected.jsonl`` (entries that need a person to look at them)."""
    path = _path(REJECTED_NAME)
    if not path.exists():
        return 0
    with _flock(_LOCK_NAME):
        return sum(1 for line in path.read_bytes().splitlines() if line.strip())


@contextmanager
def replay_lock() -> Iterator[None]:
    """Held while entries are taken out of the spool (replay, deletion on request)."""
    with _flock(_REPLAY_LOCK_NAME):
        yield


def _raw_lines() -> list[bytes]:
    if not nonempty():
        return []
    with _flock(_LOCK_NAME):
        return [line for line in _path(SPOOL_NAME).read_bytes().splitlines() if line.strip()]


def _append(name: str, text: str) -> None:
    """Append one line durably (fsync) under the outbox lock; the file is created 0600."""
    path = _path(name)
    data = (text + "\n").encode("utf-8")
    with _flock(_LOCK_NAME):
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a crash cut the last line short: keep it a line of its own
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(path.parent)


@contextmanager
def _flock(name: str) -> Iterator[None]:
    # flock (not lockf): the lock belongs to the open file, so it also excludes other threads.
    directory = outbox_dir()
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(_path(name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _path(name: str) -> Path:
    return outbox_dir() / name


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not all(key in entry for key in _ENVELOPE):
        return None
    if not isinstance(entry["kind"], str) or not isinstance(entry["values"], dict):
        return None
    return entry


def _with_values(line: bytes, changed: dict[str, dict[str, Any]]) -> bytes:
    entry = _parse(line) if changed else None
    if entry is None or entry["entry"] not in changed:
        return line
    entry["values"] = changed[entry["entry"]]
    return json.dumps(entry, ensure_ascii=False).encode("utf-8")


def _entry_id(line: bytes) -> str | None:
    entry = _parse(line)
    return None if entry is None else entry["entry"]
