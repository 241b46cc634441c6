"""Calls the hotline operators log: a consultation with channel ``hotline`` plus the call's details.

The consultation itself is written by :func:`records.write` (the one writer) from a
:class:`~records.NewConsultation`; :func:`add_call` then keeps what only a call has: the operator,
the caller's phone for a call-back (kept here only; lists and statistics get :func:`masked`), whether
it is a legal-aid request, and the referral made from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from records import validate
from records.db import transaction
from records.phone import normalize_phone
from records.schema import hotline_calls, utcnow


@dataclass(frozen=True)
class Call:
    consultation_id: str
    operator: str
    caller_phone: str | None
    legal_aid: bool
    referral_id: str | None
    at: datetime


def masked(phone: str | None) -> str | None:
    """138****5678: enough to recognise a number, not to call it."""
    if not phone:
        return None
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def add_call(
    consultation_id: str,
    operator: str,
    caller_phone: str | None = None,
    legal_aid: bool = False,
    *,
    engine: Engine | None = None,
) -> Call:
    """Keep a logged call's details (InvalidPhone for a number that is not one)."""
    phone = normalize_phone(caller_phone) if caller_phone else None
    call = Call(consultation_id, validate.text(operator, "operator"), phone, bool(legal_aid), None, utcnow())
    with transaction(engine) as conn:
        conn.execute(
            insert(hotline_calls).values(
                consultation_id=call.consultation_id,
                operator=call.operator,
                caller_phone=call.caller_phone,
                legal_aid=call.legal_aid,
                at=call.at,
            )
        )
    return call


def link_referral(consultation_id: str, referral_id: str, *, engine: Engine | None = None) -> None:
    with transaction(engine) as conn:
        conn.execute(
            update(hotline_calls)
            .where(hotline_calls.c.consultation_id == consultation_id)
            .values(referral_id=referral_id)
        )


def get_call(consultation_id: str, *, engine: Engine | None = None) -> Call | None:
    with transaction(engine, write=False) as conn:
        row = conn.execute(select(hotline_calls).where(hotline_calls.c.consultation_id == consultation_id)).first()
    return None if row is None else Call(**row._mapping)
