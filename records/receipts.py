"""What :func:`records.write` returns: the record's id, and whether it still waits in the outbox."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Receipt:
    """``id`` of the stored record (for feedback: of the consultation it is about)."""

    id: str
    pending: bool  # True: spooled in the outbox, written when the database is back


@dataclass(frozen=True, kw_only=True)
class ReferralReceipt(Receipt):
    village: str  # label from the database or the village list; as given if unknown
    adviser_name: str | None  # None if unknown while the database is down, or held by the 司法所
    urgent: bool
    township: str | None = None  # set when no adviser has it: the township's 司法所 holds it
