"""Live takeover of a resident's conversation by a hotline operator (转人工), and notices to residents.

The queue is ``records.handoffs`` (waiting → taken → closed); the conversation itself is Rasa's
tracker, changed through :mod:`staff.rasa_api`:

- **take**: the handoff is assigned in one conditional update (a second operator gets 409), then
  the conversation is paused (``pause`` event: Rasa keeps logging the resident's messages but the bot
  stops answering) and the resident is told that the named operator joined;
- **messages**: the operator's words are appended as bot messages marked with the operator's name,
  delivered on the resident's own channel, so the transcript is complete;
- **release**: the bot resumes (``resume`` and the waiting slots cleared) and says so; the
  scheduler does the same when the operator leaves the resident unanswered (:mod:`staff.handoff_idle`);
- **close**: as release, and the conversation is logged as a consultation with outcome ``handoff``
  and the operator's outcome.

``announce_acceptance`` tells a resident that an adviser accepted their referral, the same way.
Errors are :class:`staff.errors.StaffError`; Rasa not answering is a 503.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import records
from records import audit
from records.consultations import get_consultation
from records.errors import InvalidTransition, InvalidValue, NotFound, UnknownHandoff
from records.handoffs import Handoff, close_with_outcome, get_handoff, operator_queue
from records.referrals import get_referral
from records.users import StaffUser
from records.village_db import list_villages
from staff import transcript
from staff.config import Settings
from staff.errors import StaffError, conflict, invalid, not_found
from staff.rasa_api import PAUSE, RESUME, RasaAPI, RasaUnavailable, latest_channel, pushed, slot
from staff.wording import response_text

logger = logging.getLogger(__name__)
MAX_TEXT = 2000
# The slots action_handoff sets while a resident waits; cleared when the bot takes over again.
WAITING_SLOTS = (("handoff_waiting", False), ("handoff_id", None), ("handoff_since", None))


def _unavailable() -> StaffError:
    return StaffError(503, "rasa_unavailable", "the assistant (Rasa) did not answer; try again")


async def _tracker(api: RasaAPI, sender: str) -> dict[str, Any]:
    try:
        return await asyncio.to_thread(api.tracker, sender)
    except RasaUnavailable:
        raise _unavailable() from None


async def _append(api: RasaAPI, sender: str, events: list[dict[str, Any]]) -> None:
    try:
        await asyncio.to_thread(api.append, sender, events)
    except RasaUnavailable:
        logger.warning("Rasa did not take the events for handoff of %s…", sender[:6])
        raise _unavailable() from None


async def _handoff(handoff_id: str) -> Handoff:
    try:
        return await asyncio.to_thread(get_handoff, handoff_id)
    except UnknownHandoff:
        raise not_found("handoff") from None


def handoff_json(handoff: Handoff, tracker: dict[str, Any] | None, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    events = (tracker or {}).get("events") or []
    slots = (tracker or {}).get("slots") or {}
    return {
        "id": handoff.id,
        "status": handoff.status,
        "kind": handoff.kind,
        "urgent": handoff.urgent,
        "channel": handoff.channel,
        "reason": handoff.reason,
        "topic": slots.get("topic"),
        "created_at": handoff.created_at.isoformat(),
        "waited_s": int((now - handoff.created_at).total_seconds()),
        "taken_by": handoff.taken_by,
        "taken_at": handoff.taken_at.isoformat() if handoff.taken_at else None,
        "transcript": transcript.to_messages(events) if tracker is not None else None,
    }


async def queue(settings: Settings) -> list[dict[str, Any]]:
    """Open handoffs, emergencies and then the longest waiting first, each with its transcript so far."""
    api = RasaAPI(settings)
    handoffs = await asyncio.to_thread(operator_queue)

    async def one(h: Handoff) -> dict[str, Any]:
        try:
            tracker = await asyncio.to_thread(api.tracker, h.sender_id)
        except RasaUnavailable:
            tracker = None  # listed all the same, without a transcript
        return handoff_json(h, tracker)

    return list(await asyncio.gather(*(one(h) for h in handoffs)))


async def detail(settings: Settings, handoff_id: str) -> dict[str, Any]:
    handoff = await _handoff(handoff_id)
    return handoff_json(handoff, await _tracker(RasaAPI(settings), handoff.sender_id))


async def take(user: StaffUser, handoff_id: str, settings: Settings) -> dict[str, Any]:
    await _handoff(handoff_id)
    try:
        handoff = await asyncio.to_thread(records.take_handoff, handoff_id, user.username)
    except InvalidTransition as exc:
        raise conflict(f"this conversation was taken or closed already ({exc})") from None
    await asyncio.to_thread(audit.log, user.username, "handoff:take", detail=handoff_id)
    api = RasaAPI(settings)
    tracker = await _tracker(api, handoff.sender_id)
    joined = response_text("utter_handoff_operator_joined", latest_channel(tracker), operator=user.username)
    await _append(api, handoff.sender_id, [PAUSE, pushed(joined, kind="joined", operator=user.username)])
    return handoff_json(handoff, await _tracker(api, handoff.sender_id))


async def _mine(user: StaffUser, handoff_id: str) -> Handoff:
    handoff = await _handoff(handoff_id)
    if handoff.status != "taken":
        raise conflict(f"the conversation is {handoff.status}, not taken")
    if handoff.taken_by != user.username:
        raise conflict(f"the conversation was taken by {handoff.taken_by}")
    return handoff


async def send(user: StaffUser, handoff_id: str, text: object, settings: Settings) -> dict[str, Any]:
    if not isinstance(text, str) or not text.strip():
        raise invalid("text is required")
    if len(text) > MAX_TEXT:
        raise invalid(f"text is longer than {MAX_TEXT} characters")
    handoff = await _mine(user, handoff_id)
    event = pushed(text.strip(), kind="operator", operator=user.username)
    await _append(RasaAPI(settings), handoff.sender_id, [event])
    return {"by": "operator", "name": user.username, "text": event["text"]}


def back_to_bot_events(tracker: dict[str, Any], response: str, kind: str) -> list[dict[str, Any]]:
    """The events that hand a conversation back to the bot, telling the resident ``response``."""
    said = response_text(response, latest_channel(tracker))
    return [RESUME, *(slot(n, v) for n, v in WAITING_SLOTS), pushed(said, kind=kind)]


async def _back_to_bot(settings: Settings, handoff: Handoff) -> None:
    api = RasaAPI(settings)
    tracker = await _tracker(api, handoff.sender_id)
    await _append(api, handoff.sender_id, back_to_bot_events(tracker, "utter_handoff_ended", "released"))


async def release(user: StaffUser, handoff_id: str, settings: Settings) -> dict[str, Any]:
    """Hand the conversation back to the bot."""
    handoff = await _mine(user, handoff_id)
    try:
        closed = await asyncio.to_thread(records.close_handoff, handoff.id)
    except InvalidTransition as exc:
        raise conflict(str(exc)) from None
    await asyncio.to_thread(audit.log, user.username, "handoff:release", detail=handoff_id)
    await _back_to_bot(settings, handoff)
    return {"id": closed.id, "status": closed.status}


async def close(
    user: StaffUser, handoff_id: str, outcome: object, summary: object, settings: Settings
) -> dict[str, Any]:
    """End the conversation with an outcome: logged as a consultation with outcome ``handoff``."""
    handoff = await _mine(user, handoff_id)
    tracker = await _tracker(RasaAPI(settings), handoff.sender_id)
    topic = ((tracker.get("slots") or {}).get("topic")) or None
    try:
        consultation = records.NewConsultation(
            sender_id=handoff.sender_id,
            channel=handoff.channel,
            question=handoff.reason or "转人工",
            outcome="handoff",
            topic=topic,
        )
        closed = await asyncio.to_thread(
            close_with_outcome, handoff.id, outcome, summary, user.username, consultation.id
        )
    except InvalidValue as exc:
        raise invalid(str(exc)) from None
    except InvalidTransition as exc:
        raise conflict(str(exc)) from None
    await asyncio.to_thread(records.write, consultation)
    await asyncio.to_thread(audit.log, user.username, "handoff:close", detail=f"{handoff_id}: {outcome}")
    await _back_to_bot(settings, handoff)
    return {"id": closed.id, "status": closed.status, "outcome": outcome, "consultation_id": consultation.id}


async def announce_acceptance(referral_id: str, settings: Settings) -> bool:
    """Tell the resident (on their channel) that the adviser accepted their referral; False if unknown.

    The referral keeps only the hash of the resident's sender id: the conversation is found the
    way transcripts are (:func:`staff.transcript.find_sender`). Failures are logged, never raised.
    """
    try:
        referral = await asyncio.to_thread(get_referral, referral_id)
        if not referral.consultation_id:
            return False
        consultation = await asyncio.to_thread(get_consultation, referral.consultation_id)
        sender = await asyncio.to_thread(
            transcript.find_sender, consultation.sender_hash, consultation.created_at, settings
        )
        if sender is None:
            return False
        villages = await asyncio.to_thread(list_villages)
        village = next((v.name for v in villages if v.id == referral.village_id), referral.village)
        api = RasaAPI(settings)
        channel = latest_channel(await asyncio.to_thread(api.tracker, sender))
        text = response_text("utter_referral_accepted", channel, village=village)
        await asyncio.to_thread(api.append, sender, [pushed(text, kind="referral_accepted", referral_id=referral_id)])
        return True
    except (NotFound, RasaUnavailable, StaffError, OSError) as exc:
        logger.warning("could not tell the resident that referral %s was accepted: %s", referral_id, exc)
        return False
