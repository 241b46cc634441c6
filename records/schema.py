"""Table definitions (SQLAlchemy Core) and the allowed values of enumerated columns.

Timestamps are UTC: stored naive-UTC in SQLite and as ``timestamptz`` in PostgreSQL, always read
back as timezone-aware UTC datetimes. Enumerations are ``CHECK`` constraints on short strings so
the tables stay readable from plain SQL (statistics, exports).

A column added to an existing table must be nullable or have a ``server_default``:
:mod:`records.migrate` adds it to databases made before it (``init_db``).

Personal information, following PIPL's minimisation principle:

- ``consultations.sender_hash`` is a keyed hash of the Rasa sender id (see :mod:`records.privacy`),
  ``consultations.question`` is redacted on write (:mod:`records.redact`).
- ``referrals.contact_phone`` and ``referrals.description`` are kept raw because the adviser needs
  them; ``referrals.summary`` is the redacted text meant for lists and statistics;
  ``referrals.sender_hash`` is the keyed hash of the sender, like ``consultations.sender_hash``.
- ``handoffs.sender_id`` is raw: the operator console needs it to take over the live conversation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

CHANNELS = ("web", "wechat", "hotline", "rest")
OUTCOMES = ("answered", "faq", "referred", "handoff", "emergency", "fallback")
DRAFT_STATUSES = ("used", "dropped")
REFERRAL_STATUSES = ("new", "accepted", "in_progress", "resolved", "closed", "escalated")
HANDOFF_STATUSES = ("waiting", "taken", "closed")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive datetimes are rejected."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


_JSON = JSON().with_variant(JSONB(), "postgresql")

advisers = Table(
    "advisers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("phone", String(20), nullable=False, unique=True),
)

villages = Table(
    "villages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("township", String(50), nullable=False),
    Column("adviser_id", ForeignKey("advisers.id"), nullable=True, index=True),
    UniqueConstraint("township", "name", name="uq_villages_township_name"),
)

consultations = Table(
    "consultations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow, index=True),
    Column("channel", String(16), nullable=False),
    Column("sender_hash", String(64), nullable=False, index=True),
    Column("village_id", ForeignKey("villages.id"), nullable=True, index=True),
    Column("topic", String(16), nullable=True, index=True),
    Column("question", Text, nullable=False),
    Column("articles", _JSON, nullable=False),
    Column("outcome", String(16), nullable=False, index=True),
    Column("confidence", Float, nullable=True),
    # The county model's plain-language draft (ANSWER_LLM_URL): "used" or "dropped" by the guard;
    # NULL when none was asked for. Nullable: added to existing databases by records.migrate.
    Column("draft", String(8), nullable=True),
    _one_of("channel", CHANNELS),
    _one_of("outcome", OUTCOMES),
    # The statistics dashboard reads only these columns of a period: one index-only scan
    # (docs/benchmarks.md, statistics at county scale).
    Index("ix_consultations_stats", "created_at", "outcome", "channel", "topic", "village_id"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "consultation_id",
        ForeignKey("consultations.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("helpful", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow, index=True),
)

referrals = Table(
    "referrals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow, index=True),
    Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    Column(
        "consultation_id",
        ForeignKey("consultations.id", ondelete="SET NULL"),
        nullable=True,
        index=True,
    ),
    Column("village_id", ForeignKey("villages.id"), nullable=False, index=True),
    # NULL: no adviser is available, the township's 司法所 holds it (records.routing).
    Column("adviser_id", ForeignKey("advisers.id"), nullable=True),
    Column("contact_phone", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("topic", String(16), nullable=True, index=True),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("consent", Boolean, nullable=False),
    Column("status", String(16), nullable=False, default="new", index=True),
    # Keyed hash of the Rasa sender id, as in consultations: how staff find the conversation of a
    # referral made without a consultation. NULL for older rows and after forget_sender.
    Column("sender_hash", String(64), nullable=True, index=True),
    _one_of("status", REFERRAL_STATUSES),
    Index("ix_referrals_adviser_status", "adviser_id", "status"),
)

referral_events = Table(
    "referral_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "referral_id",
        ForeignKey("referrals.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UTCDateTime, nullable=False, default=utcnow, index=True),
    Column("from_status", String(16), nullable=True),
    Column("to_status", String(16), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("note", Text, nullable=True),
    _one_of("to_status", REFERRAL_STATUSES),
    Index("ix_referral_events_referral_at", "referral_id", "at"),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow, index=True),
    Column("status", String(16), nullable=False, default="waiting"),
    Column("reason", Text, nullable=True),
    Column("taken_by", String(100), nullable=True),
    Column("taken_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    _one_of("channel", CHANNELS),
    _one_of("status", HANDOFF_STATUSES),
    Index("ix_handoffs_status_created", "status", "created_at"),
    # At most one waiting handoff per conversation.
    Index(
        "uq_handoffs_waiting_sender",
        "sender_id",
        unique=True,
        sqlite_where=text("status = 'waiting'"),
        postgresql_where=text("status = 'waiting'"),
    ),
)


# --- Staff web app (staff/) ------------------------------------------------------------------
# Accounts, sessions, audit log, notes, routing and service-level state, the notification outbox
# and the scheduler lock. Read and written by the records modules users, staff_sessions, audit,
# notes, routing, notifications and locks.

STAFF_ROLES = ("adviser", "township", "operator", "admin")
RESOLUTION_OUTCOMES = ("answered", "mediated", "legal_aid", "litigation", "other")
NOTIFICATION_CHANNELS = ("inapp", "log", "email", "webhook")
NOTIFICATION_STATUSES = ("pending", "sent", "failed")

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("roles", String(100), nullable=False),  # comma-separated STAFF_ROLES
    Column("adviser_id", ForeignKey("advisers.id"), nullable=True),
    Column("township", String(50), nullable=True),
    Column("email", String(200), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie value, never the value
    Column("user_id", ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False),  # "user:<name>" or "addr:<ip>"
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Index("ix_login_failures_key_at", "key", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow, index=True),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False, index=True),
    Column("referral_id", String(36), nullable=True, index=True),
    Column("detail", Text, nullable=True),
)

referral_notes = Table(
    "referral_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referral_id", ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Column("author", String(100), nullable=False),
    Column("text", Text, nullable=False),
)

referral_resolutions = Table(
    "referral_resolutions",
    metadata,
    Column("referral_id", ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True),
    Column("outcome", String(16), nullable=False, index=True),
    Column("summary", Text, nullable=False),
    Column("by", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    _one_of("outcome", RESOLUTION_OUTCOMES),
)

# Advisers beyond villages.adviser_id (a village served by several), their absence and e-mail.
village_advisers = Table(
    "village_advisers",
    metadata,
    Column("village_id", ForeignKey("villages.id", ondelete="CASCADE"), primary_key=True),
    Column("adviser_id", ForeignKey("advisers.id", ondelete="CASCADE"), primary_key=True),
)

adviser_profiles = Table(
    "adviser_profiles",
    metadata,
    Column("adviser_id", ForeignKey("advisers.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(200), nullable=True),
    Column("absent_until", UTCDateTime, nullable=True),
)

township_offices = Table(
    "township_offices",
    metadata,
    Column("township", String(50), primary_key=True),
    Column("office", String(100), nullable=False),  # e.g. 城关镇司法所
    Column("email", String(200), nullable=True),
)

# How a referral was routed and where it stands against the service level.
referral_routing = Table(
    "referral_routing",
    metadata,
    Column("referral_id", ForeignKey("referrals.id", ondelete="CASCADE"), primary_key=True),
    Column("township", String(50), nullable=False, index=True),
    Column("to_township", Boolean, nullable=False),  # the 司法所 holds or shares it
    Column("reason", String(40), nullable=False),
    Column("notified_at", UTCDateTime, nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("resolve_flagged_at", UTCDateTime, nullable=True),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dedupe_key", String(200), nullable=False, unique=True),  # never sent twice
    Column("channel", String(16), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("referral_id", String(36), nullable=True, index=True),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False, default=utcnow),
    Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    _one_of("channel", NOTIFICATION_CHANNELS),
    _one_of("status", NOTIFICATION_STATUSES),
    Index("ix_notifications_status_next", "status", "next_attempt_at"),
)

scheduler_locks = Table(
    "scheduler_locks",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# --- Statistics (records.stats, records.callbacks) -------------------------------------------
# The 12348 standard calls back every bad rating: one row per unhelpful feedback called back.
feedback_callbacks = Table(
    "feedback_callbacks",
    metadata,
    Column("consultation_id", ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Column("by", String(100), nullable=False),
    Column("note", Text, nullable=True),
)


# --- Hotline operators (staff/ operator console) ---------------------------------------------
# Read and written by records.handoffs (kinds, outcomes), records.hotline (calls) and
# records.knowledge_entries (operators' Q&A entries). New tables only: old databases get them
# from create_all.

HANDOFF_KINDS = ("request", "unsure", "emergency")
KNOWLEDGE_STATUSES = ("proposed", "approved", "rejected")

# Why a conversation waits for a person; a handoff without a row here is a plain 转人工 request.
handoff_kinds = Table(
    "handoff_kinds",
    metadata,
    Column("handoff_id", ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), nullable=False),
    _one_of("kind", HANDOFF_KINDS),
)

# How an operator ended a taken conversation (the consultation with outcome ``handoff`` says so too).
handoff_outcomes = Table(
    "handoff_outcomes",
    metadata,
    Column("handoff_id", ForeignKey("handoffs.id", ondelete="CASCADE"), primary_key=True),
    Column("outcome", String(16), nullable=False),
    Column("summary", Text, nullable=True),
    Column("by", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Column("consultation_id", String(36), nullable=True),
    _one_of("outcome", RESOLUTION_OUTCOMES),
)

# A call logged by an operator: the consultation (channel ``hotline``) plus what only a call has.
# ``caller_phone`` is kept for a call-back and never leaves this table unmasked.
hotline_calls = Table(
    "hotline_calls",
    metadata,
    Column("consultation_id", ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True),
    Column("operator", String(100), nullable=False, index=True),
    Column("caller_phone", String(20), nullable=True),
    Column("legal_aid", Boolean, nullable=False, default=False),
    Column("referral_id", String(36), nullable=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow, index=True),
)

# Q&A entries written by operators from their calls; the bot matches approved ones first.
knowledge_entries = Table(
    "knowledge_entries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("articles", _JSON, nullable=False),
    Column("status", String(16), nullable=False, default="proposed", index=True),
    Column("proposed_by", String(100), nullable=False),
    Column("proposed_at", UTCDateTime, nullable=False, default=utcnow),
    Column("reviewed_by", String(100), nullable=True),
    Column("reviewed_at", UTCDateTime, nullable=True),
    Column("consultation_id", String(36), nullable=True),
    _one_of("status", KNOWLEDGE_STATUSES),
)
