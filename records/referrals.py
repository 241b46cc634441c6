"""Referrals to the village legal adviser and their status history.

Status machine; every change is a row in ``referral_events`` (creation included, from ``None`` to
``new``), so the bureau can measure time to acceptance and to resolution:

===============  =============================================
from             allowed next statuses
===============  =============================================
``new``          accepted, closed, escalated
``accepted``     in_progress, resolved, closed, escalated
``in_progress``  resolved, closed, escalated
``escalated``    accepted, in_progress, resolved, closed
===============  =============================================

``resolved`` and ``closed`` are final. The raw ``contact_phone`` and ``description`` are for the
adviser; ``summary`` (redacted, at most 200 characters) is what lists and statistics show.
A referral needs the resident's consent unless it is ``urgent`` (PIPL art. 13: protecting life,
health or property in an emergency). A new referral is a :class:`NewReferral` written with
:func:`records.write`.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, Select, exists, insert, select, update
from sqlalchemy.engine import Row

from records import routing, validate
from records.consultations import optional_sender_hash, require_consultation
from records.db import transaction
from records.errors import (
    ConsentRequired,
    InvalidTransition,
    InvalidValue,
    UnknownAdviser,
    UnknownReferral,
    UnknownVillage,
)
from records.phone import normalize_phone
from records.receipts import ReferralReceipt
from records.redact import redact
from records.schema import (
    REFERRAL_STATUSES,
    advisers,
    referral_events,
    referrals,
    utcnow,
)
from records.schema import villages as villages_table
from records.topics import topic_name
from records.village_db import resolve_village
from records.villages import find_village, load_villages

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"accepted", "closed", "escalated"}),
    "accepted": frozenset({"in_progress", "resolved", "closed", "escalated"}),
    "in_progress": frozenset({"resolved", "closed", "escalated"}),
    "escalated": frozenset({"accepted", "in_progress", "resolved", "closed"}),
    "resolved": frozenset(),
    "closed": frozenset(),
}
OPEN_STATUSES = ("new", "accepted", "in_progress", "escalated")
SUMMARY_LENGTH = 200


@dataclass(frozen=True)
class Referral:
    id: str
    created_at: datetime
    updated_at: datetime
    consultation_id: str | None
    village_id: int
    village: str  # label, e.g. 城关镇石桥村
    adviser_id: int | None  # None: no adviser available, the township's 司法所 holds it
    adviser_name: str | None
    contact_phone: str
    description: str
    summary: str
    topic: str | None
    urgent: bool
    consent: bool
    status: str
    sender_hash: str | None  # keyed hash of the resident's sender id: finds the conversation
    township: str


@dataclass(frozen=True)
class ReferralEvent:
    at: datetime
    from_status: str | None
    to_status: str
    by: str
    note: str | None


@dataclass(frozen=True, kw_only=True)
class NewReferral:
    """A referral to write, with the checks that need no database (consent, phone, text).

    ``village`` is an id, label or unique name; the village's adviser gets it unless
    ``adviser_id`` is given; a village with no adviser: the township's 司法所 holds it
    (``adviser_id`` stays None). ``summary`` defaults to the redacted description.
    ``sender_id`` (the Rasa sender) is kept only as its keyed hash, so staff can find the
    conversation even when no consultation preceded the referral; ``sender_hash`` is how the
    outbox restores a spooled value.
    """

    sender_id: InitVar[str | None] = None

    village: int | str
    contact_phone: str
    description: str
    consent: bool
    topic: str | None = None
    urgent: bool = False
    consultation_id: str | None = None
    summary: str | None = None
    adviser_id: int | None = None
    by: str = "resident"
    created_at: datetime = field(default_factory=utcnow)
    id: str = field(default_factory=validate.new_id)
    sender_hash: str | None = None

    def __post_init__(self, sender_id: str | None) -> None:
        if not self.consent and not self.urgent:
            raise ConsentRequired("a non-urgent referral needs the resident's consent")
        text = validate.text(self.description, "description")
        if isinstance(self.village, bool) or not isinstance(self.village, int | str):
            raise InvalidValue(f"village must be an id or a name, not {self.village!r}")
        adviser_id = self.adviser_id
        if adviser_id is not None and (isinstance(adviser_id, bool) or not isinstance(adviser_id, int)):
            raise InvalidValue(f"adviser_id must be an int, not {adviser_id!r}")
        validate.settle(
            self,
            id=validate.uuid_text(self.id, "id"),
            created_at=validate.aware_datetime(self.created_at, "created_at"),
            consultation_id=None if self.consultation_id is None else str(self.consultation_id),
            contact_phone=normalize_phone(self.contact_phone),
            description=text,
            summary=_summary(self.summary if self.summary is not None else text),
            topic=topic_name(self.topic),
            urgent=bool(self.urgent),
            consent=bool(self.consent),
            by=validate.text(self.by, "by"),
            sender_hash=optional_sender_hash(sender_id, self.sender_hash),
        )

    def pending_receipt(self) -> ReferralReceipt:
        """Village label and adviser from the shipped list (as given, None if not listed)."""
        label, adviser = str(self.village), None
        try:
            listed = find_village(self.village, load_villages())
        except UnknownVillage:
            pass
        else:
            label = listed.label
            adviser = listed.adviser_name if self.adviser_id is None else None
        return ReferralReceipt(self.id, pending=True, village=label, adviser_name=adviser, urgent=self.urgent)


def insert_referral(new: NewReferral, *, engine: Engine | None = None) -> ReferralReceipt:
    """Store ``new`` for its village's adviser unless its id exists (only :func:`records.write`)."""
    with transaction(engine) as conn:
        if not conn.execute(select(exists().where(referrals.c.id == new.id))).scalar():
            placement = _placement(conn, new.village, new.adviser_id, new.consultation_id)
            conn.execute(
                insert(referrals).values(
                    id=new.id,
                    created_at=new.created_at,
                    updated_at=new.created_at,
                    status="new",
                    contact_phone=new.contact_phone,
                    description=new.description,
                    summary=new.summary,
                    topic=new.topic,
                    urgent=new.urgent,
                    consent=new.consent,
                    sender_hash=new.sender_hash,
                    **placement,
                )
            )
            note = "urgent" if new.urgent else None
            _add_event(conn, new.id, None, "new", new.by, note, new.created_at)
            routing.record_new(conn, new.id, now=new.created_at)  # staff routing hook: township, reason
        stored = _load(conn, new.id)
    return ReferralReceipt(
        stored.id,
        pending=False,
        village=stored.village,
        adviser_name=stored.adviser_name,
        urgent=stored.urgent,
        township=None if stored.adviser_id is not None else stored.township,
    )


def transition(
    referral_id: str,
    to_status: str,
    by: str,
    note: str | None = None,
    *,
    adviser_id: int | None = None,
    engine: Engine | None = None,
) -> Referral:
    """Move a referral to ``to_status``; raises :class:`InvalidTransition` if not allowed.

    With ``adviser_id``, only that adviser's referrals can be changed (others look unknown).
    """
    target = validate.one_of(to_status, REFERRAL_STATUSES, "status")
    actor = validate.text(by, "by")
    with transaction(engine) as conn:
        current = _load(conn, referral_id, adviser_id).status
        if target not in TRANSITIONS[current]:
            raise InvalidTransition(current, target)
        now = utcnow()
        # The status condition makes a concurrent change of the same referral lose cleanly.
        changed = conn.execute(
            update(referrals)
            .where(referrals.c.id == referral_id, referrals.c.status == current)
            .values(status=target, updated_at=now)
        ).rowcount
        if changed != 1:
            raise InvalidTransition(current, target, "referral was changed concurrently")
        _add_event(conn, referral_id, current, target, actor, note, now)
        return _load(conn, referral_id)


def get_referral(
    referral_id: str, *, adviser_id: int | None = None, engine: Engine | None = None
) -> Referral:
    """One referral; with ``adviser_id`` only if it is that adviser's. Raises UnknownReferral."""
    with transaction(engine, write=False) as conn:
        return _load(conn, referral_id, adviser_id)


def referrals_for_adviser(
    adviser_id: int,
    *,
    statuses: tuple[str, ...] | None = None,
    engine: Engine | None = None,
) -> list[Referral]:
    """An adviser's own referrals (optionally only some statuses): urgent first, then oldest."""
    query = _query().where(referrals.c.adviser_id == adviser_id)
    if statuses is not None:
        wanted = [validate.one_of(s, REFERRAL_STATUSES, "status") for s in statuses]
        query = query.where(referrals.c.status.in_(wanted))
    query = query.order_by(referrals.c.urgent.desc(), referrals.c.created_at, referrals.c.id)
    with transaction(engine, write=False) as conn:
        _require_adviser(conn, adviser_id)
        return [_from_row(row) for row in conn.execute(query)]


def referral_history(referral_id: str, *, engine: Engine | None = None) -> list[ReferralEvent]:
    """The status changes of one referral, oldest first (creation is the first event)."""
    query = (
        select(referral_events)
        .where(referral_events.c.referral_id == referral_id)
        .order_by(referral_events.c.at, referral_events.c.id)
    )
    with transaction(engine, write=False) as conn:
        _load(conn, referral_id)
        return [
            ReferralEvent(r.at, r.from_status, r.to_status, r.actor, r.note)
            for r in conn.execute(query)
        ]


def _summary(text: str) -> str:
    clean = redact(" ".join(text.split()))
    if len(clean) <= SUMMARY_LENGTH:
        return clean
    return clean[: SUMMARY_LENGTH - 1] + "…"


def _placement(
    conn: Connection, village: int | str, adviser_id: int | None, consultation_id: str | None
) -> dict[str, object]:
    place = resolve_village(conn, village)
    # Staff routing hook: several advisers → fewest open, absent ones skipped (records.routing).
    # All absent: the village's adviser keeps it while the 司法所 holds it; no adviser at all:
    # adviser_id stays None and the township's 司法所 holds it alone.
    routed = routing.route(conn, place.id).adviser_id or place.adviser_id
    adviser = routed if adviser_id is None else adviser_id
    if adviser is not None:
        _require_adviser(conn, adviser)
    if consultation_id is not None:
        require_consultation(conn, consultation_id)
    return {"village_id": place.id, "adviser_id": adviser, "consultation_id": consultation_id}


def _require_adviser(conn: Connection, adviser_id: int) -> None:
    if not conn.execute(select(exists().where(advisers.c.id == adviser_id))).scalar():
        raise UnknownAdviser(f"unknown adviser {adviser_id!r}")


def _add_event(
    conn: Connection,
    referral_id: str,
    from_status: str | None,
    to_status: str,
    actor: str,
    note: str | None,
    at: datetime,
) -> None:
    conn.execute(
        insert(referral_events).values(
            referral_id=referral_id,
            at=at,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            note=note,
        )
    )


def _query() -> Select:
    v = villages_table
    return select(
        referrals,
        (v.c.township + v.c.name).label("village"),
        v.c.township,
        advisers.c.name.label("adviser_name"),
    ).select_from(
        referrals.join(v, referrals.c.village_id == v.c.id).outerjoin(
            advisers, referrals.c.adviser_id == advisers.c.id
        )
    )


def _load(conn: Connection, referral_id: str, adviser_id: int | None = None) -> Referral:
    query = _query().where(referrals.c.id == str(referral_id))
    if adviser_id is not None:
        query = query.where(referrals.c.adviser_id == adviser_id)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise UnknownReferral(f"unknown referral {referral_id!r}")
    return _from_row(row)


def _from_row(row: Row) -> Referral:
    return Referral(**row._asdict())
