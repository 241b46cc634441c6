"""SQL store of the legal-service assistant: consultations, feedback, referrals, handoffs, villages.

Imports nothing else of the project. Every function takes an optional keyword ``engine``; without
it the engine of ``LEGAL_DB_URL`` is used (see :mod:`records.config`). Call :func:`init_db` once
at process start. Errors are :class:`RecordError` subclasses (see :mod:`records.errors`). The
functions are synchronous; from async code call them via ``asyncio.to_thread``.

Every new record is written by one function, :func:`write`, from a validated value
(:class:`NewConsultation`, :class:`NewReferral`, :class:`NewFeedback`, :class:`NewHandoff`):
it stores the record, or keeps it in the local outbox while the database is unavailable and
returns a pending receipt (see :mod:`records.outbox`). This package exports what the action
server and the staff app use; the modules hold the rest (tables in :mod:`records.schema`).
"""

from records import outbox
from records.bootstrap import init_db
from records.consultations import NewConsultation
from records.db import get_engine
from records.errors import (
    ConsentRequired,
    InvalidPhone,
    InvalidTransition,
    InvalidValue,
    NotFound,
    RecordError,
    UnknownAdviser,
    UnknownConsultation,
    UnknownHandoff,
    UnknownReferral,
    UnknownVillage,
)
from records.feedback import NewFeedback, get_feedback, parse_helpful
from records.forget import forget_sender
from records.handoffs import (
    NewHandoff,
    close_handoff,
    open_handoff_for,
    queue_position,
    take_handoff,
    waiting_handoffs,
)
from records.outbox import write
from records.phone import normalize_phone
from records.privacy import hash_sender
from records.receipts import Receipt, ReferralReceipt
from records.redact import redact
from records.referrals import NewReferral, get_referral, referral_history, referrals_for_adviser, transition
from records.topics import TOPICS, topic_name
from records.village_db import list_advisers, list_villages
from records.village_match import match_village

__all__ = [
    "TOPICS",
    "ConsentRequired",
    "InvalidPhone",
    "InvalidTransition",
    "InvalidValue",
    "NewConsultation",
    "NewFeedback",
    "NewHandoff",
    "NewReferral",
    "NotFound",
    "Receipt",
    "RecordError",
    "ReferralReceipt",
    "UnknownAdviser",
    "UnknownConsultation",
    "UnknownHandoff",
    "UnknownReferral",
    "UnknownVillage",
    "close_handoff",
    "forget_sender",
    "get_engine",
    "get_feedback",
    "get_referral",
    "hash_sender",
    "init_db",
    "list_advisers",
    "list_villages",
    "match_village",
    "normalize_phone",
    "open_handoff_for",
    "outbox",
    "parse_helpful",
    "queue_position",
    "redact",
    "referral_history",
    "referrals_for_adviser",
    "take_handoff",
    "topic_name",
    "transition",
    "waiting_handoffs",
    "write",
]
