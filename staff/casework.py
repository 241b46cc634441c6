"""What staff do with a referral, shared by the JSON API and the pages.

Every view of contact details and every change is written to the audit log. Errors are
:class:`staff.errors.StaffError` with the API's status codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import asdict
from typing import Any

from records import audit, casework
from records.consultations import get_consultation
from records.errors import InvalidTransition, InvalidValue, NotFound
from records.redact import redact
from records.referral_scope import ReferralItem
from records.referrals import get_referral, referral_history, transition
from records.users import StaffUser
from staff import articles, takeover, transcript
from staff.access import is_assigned, may_work_on, visible_referral
from staff.config import Settings
from staff.errors import conflict, forbidden, invalid, not_found

STATUS_CHANGES = ("in_progress", "closed")
_tasks: set[asyncio.Task] = set()  # notices still being sent, referenced until done


def _background(coroutine: Coroutine[Any, Any, Any]) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) for k, v in data.items()}


async def detail(user: StaffUser, referral_id: str, settings: Settings) -> dict[str, Any]:
    """Everything the user may see of one referral; the phone only for the assigned adviser."""
    item = await visible_referral(user, referral_id)
    referral = await asyncio.to_thread(get_referral, referral_id)
    assigned = is_assigned(user, item)
    data = _jsonable(asdict(item))
    data["overdue"] = item.overdue
    data["question"] = referral.description if assigned else redact(referral.description)
    if assigned:
        data["contact_phone"] = referral.contact_phone
    data["cited_articles"], data["transcript"] = [], None
    # The conversation is found by the sender's keyed hash: the referral's own (kept since
    # referrals made without a consultation exist), else its consultation's.
    sender_hash, around = referral.sender_hash, referral.created_at
    if referral.consultation_id:
        try:
            consultation = await asyncio.to_thread(get_consultation, referral.consultation_id)
        except NotFound:
            consultation = None
        if consultation is not None:
            data["cited_articles"] = await asyncio.to_thread(articles.cited, list(consultation.articles))
            if sender_hash is None:
                sender_hash, around = consultation.sender_hash, consultation.created_at
    if sender_hash is not None:
        data["transcript"] = await asyncio.to_thread(transcript.messages, sender_hash, around, settings)
        if data["transcript"] and not assigned:
            data["transcript"] = [{**m, "text": redact(m["text"])} for m in data["transcript"]]
    history = await asyncio.to_thread(referral_history, referral_id)
    data["history"] = [_jsonable(asdict(e)) for e in history]
    data["notes"] = [_jsonable(asdict(n)) for n in await asyncio.to_thread(casework.notes_for, referral_id)]
    resolution = await asyncio.to_thread(casework.resolution_for, referral_id)
    data["resolution"] = None if resolution is None else _jsonable(asdict(resolution))
    data["can_work"] = may_work_on(user, item)
    action = "view_contact" if assigned else "view"
    seen = "transcript" if data["transcript"] else None  # who read a resident's conversation
    await asyncio.to_thread(audit.log, user.username, action, referral_id=referral_id, detail=seen)
    return data


async def _workable(user: StaffUser, referral_id: str) -> ReferralItem:
    item = await visible_referral(user, referral_id)
    if not may_work_on(user, item):
        raise forbidden("only the assigned adviser or the township office can change this referral")
    return item


async def change_status(
    user: StaffUser, referral_id: str, status: str, note: str | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """accept / in_progress / closed."""
    await _workable(user, referral_id)
    if status not in ("accepted", *STATUS_CHANGES):
        raise invalid(f"status must be one of accepted, {', '.join(STATUS_CHANGES)}")
    try:
        referral = await asyncio.to_thread(transition, referral_id, status, user.username, note)
    except InvalidTransition as exc:
        raise conflict(str(exc)) from None
    except NotFound:
        raise not_found() from None
    await asyncio.to_thread(audit.log, user.username, f"status:{status}", referral_id=referral_id)
    if status == "accepted":  # the resident learns it on their channel; the adviser does not wait for that
        _background(takeover.announce_acceptance(referral_id, settings or Settings()))
    return {"id": referral.id, "status": referral.status}


async def add_note(user: StaffUser, referral_id: str, text: object) -> dict[str, Any]:
    await _workable(user, referral_id)
    try:
        note = await asyncio.to_thread(casework.add_note, referral_id, user.username, text)
    except InvalidValue as exc:
        raise invalid(str(exc)) from None
    await asyncio.to_thread(audit.log, user.username, "note", referral_id=referral_id)
    return _jsonable(asdict(note))


async def resolve(user: StaffUser, referral_id: str, outcome: object, summary: object) -> dict[str, Any]:
    await _workable(user, referral_id)
    try:
        referral = await asyncio.to_thread(casework.resolve, referral_id, outcome, summary, user.username)
    except InvalidValue as exc:
        raise invalid(str(exc)) from None
    except InvalidTransition as exc:
        raise conflict(str(exc)) from None
    await asyncio.to_thread(audit.log, user.username, "resolve", referral_id=referral_id, detail=str(outcome))
    return {"id": referral.id, "status": referral.status, "outcome": outcome}
