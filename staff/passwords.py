"""Password hashing (argon2id, memory-hard) and generated passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile (64 MiB)
# Checked against when the username is unknown, so both cases cost the same time.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))
MIN_LENGTH = 10
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; with ``None`` (no such user) checks a dummy and returns False."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(16))
