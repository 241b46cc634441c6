"""Pseudonymisation of Rasa sender ids.

The consultation log never stores the sender id itself (for WeChat it is the resident's OpenID,
for the hotline it may be a phone number). It stores ``HMAC-SHA256(key, sender_id)`` as 64 hex
characters, the key coming from ``LEGAL_SENDER_SALT`` (see :mod:`records.config`). Without the
key the hash cannot be reversed by trying all phone numbers; with it, staff can still find every
consultation of one sender, e.g. to answer a PIPL deletion or access request.
"""

from __future__ import annotations

import hashlib
import hmac

from records.config import sender_salt


def hash_sender(sender_id: str, salt: bytes | None = None) -> str:
    """The keyed hash stored in ``consultations.sender_hash``."""
    key = sender_salt() if salt is None else salt
    return hmac.new(key, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()
