"""SQL store of the legal-service assistant: consultations, feedback, referrals, handoffs, villages.

Imports nothing else of the project. Every function takes an optional keyword ``engine``; without
it the engine of ``LEGAL_DB_URL`` is used (see :mod:`records.config`). Call :func:`init_db` once
at process start. Errors are :class:`RecordError` subclasses (see :mod:`records.errors`). The
functions are synchronous; from async code call them via ``asyncio.to_thread``.

``records.outbox`` has the same writers (``log_consultation``, ``create_referral``,
``add_feedback``, ``enqueue_handoff``) for callers that must not lose a record while the database
is down: they keep it in a local spool and return a pending result instead of raising.
"""

from records import outbox
from records.bootstrap import init_db
from records.consultations import (
    Consultation,
    consultations_for_sender,
    forget_sender,
    get_consultation,
    log_consultation,
)
from records.db import create_schema, dispose_engines, get_engine, transaction
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
from records.feedback import Feedback, add_feedback, get_feedback, parse_helpful
from records.handoffs import (
    Handoff,
    close_handoff,
    enqueue_handoff,
    get_handoff,
    open_handoff_for,
    queue_position,
    take_handoff,
    waiting_handoffs,
)
from records.phone import PhoneNumber, is_valid_phone, normalize_phone, parse_phone
from records.privacy import hash_sender
from records.redact import redact
from records.referrals import (
    OPEN_STATUSES,
    TRANSITIONS,
    Referral,
    ReferralEvent,
    create_referral,
    get_referral,
    referral_history,
    referrals_for_adviser,
    transition,
)
from records.schema import CHANNELS, HANDOFF_STATUSES, OUTCOMES, REFERRAL_STATUSES
from records.topics import TOPICS, topic_name
from records.villages import (
    Adviser,
    Village,
    VillageMatch,
    VillageRecord,
    list_advisers,
    list_villages,
    load_villages,
    match_village,
    seed_villages,
)

__all__ = [
    "CHANNELS",
    "HANDOFF_STATUSES",
    "OPEN_STATUSES",
    "OUTCOMES",
    "REFERRAL_STATUSES",
    "TOPICS",
    "TRANSITIONS",
    "Adviser",
    "ConsentRequired",
    "Consultation",
    "Feedback",
    "Handoff",
    "InvalidPhone",
    "InvalidTransition",
    "InvalidValue",
    "NotFound",
    "PhoneNumber",
    "RecordError",
    "Referral",
    "ReferralEvent",
    "UnknownAdviser",
    "UnknownConsultation",
    "UnknownHandoff",
    "UnknownReferral",
    "UnknownVillage",
    "Village",
    "VillageMatch",
    "VillageRecord",
    "add_feedback",
    "close_handoff",
    "consultations_for_sender",
    "create_referral",
    "create_schema",
    "dispose_engines",
    "enqueue_handoff",
    "forget_sender",
    "get_consultation",
    "get_engine",
    "get_feedback",
    "get_handoff",
    "get_referral",
    "hash_sender",
    "init_db",
    "is_valid_phone",
    "list_advisers",
    "list_villages",
    "load_villages",
    "log_consultation",
    "match_village",
    "normalize_phone",
    "open_handoff_for",
    "outbox",
    "parse_helpful",
    "parse_phone",
    "queue_position",
    "redact",
    "referral_history",
    "referrals_for_adviser",
    "seed_villages",
    "take_handoff",
    "topic_name",
    "transaction",
    "transition",
    "waiting_handoffs",
]
