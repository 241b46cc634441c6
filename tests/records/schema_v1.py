"""A frozen copy of ``records.schema`` as it was before ``records.migrate`` existed (test data only).

Only the tables of the resident-facing records and one table of the staff app that refers to
``referrals``: a database made by this older version lacks the staff tables altogether, so the
upgrade must also create the missing tables. Never import it outside the migration tests.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
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

from records.schema import _JSON, UTCDateTime, _one_of, utcnow  # column types are not what changed

CHANNELS = ("web", "wechat", "hotline", "rest")
OUTCOMES = ("answered", "faq", "referred", "handoff", "emergency", "fallback")
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
    _one_of("channel", CHANNELS),
    _one_of("outcome", OUTCOMES),
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
    Column("adviser_id", ForeignKey("advisers.id"), nullable=False),
    Column("contact_phone", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("topic", String(16), nullable=True, index=True),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("consent", Boolean, nullable=False),
    Column("status", String(16), nullable=False, default="new", index=True),
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


# From the staff app: a table that refers to referrals (its rows must survive a rebuild).

referral_notes = Table(
    "referral_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referral_id", ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Column("author", String(100), nullable=False),
    Column("text", Text, nullable=False),
)
