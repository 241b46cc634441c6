"""Nobody left waiting on a silent operator: hand a taken conversation back to the bot.

While an operator holds a conversation the bot is paused and says nothing: the operator reads every
message live, so an automatic "please wait" would only talk over them. But an operator can be
called away. On each scheduler tick (:mod:`staff.scheduler`) every taken handoff is checked: if the
resident wrote after the operator's last words (or after the operator joined) and
``HANDOFF_IDLE_MINUTES`` (:mod:`staff.config`, default 5) have passed since that first unanswered
message, the handoff is closed exactly as the console's release closes it, the conversation resumes
in Rasa and the resident is told once (``utter_handoff_operator_idle``: the bot answers again, the
village adviser, 12348). The operator's console sees the conversation leave the queue (server-sent
``queue`` event) and says why. An operator who is silent while the resident is silent too is left
alone (they may be talking on the phone).

The conversation is resumed first and the handoff closed second (conditionally, ``taken`` →
``closed``), so a Rasa failure leaves it taken and the next tick tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from records import audit
from records.errors import InvalidTransition
from records.handoffs import Handoff, close_handoff, operator_queue
from staff.config import Settings
from staff.rasa_api import RasaAPI, RasaUnavailable
from staff.takeover import back_to_bot_events

logger = logging.getLogger(__name__)
# Bot messages that count as the operator speaking: the "joined" notice and the operator's words;
# and those that end a takeover (released or closed by the operator, or handed back here).
OPERATOR_KINDS = ("joined", "operator")
ENDED_KINDS = ("released", "operator_idle")


def unanswered_since(events: list[dict[str, Any]]) -> float | None:
    """When the resident's first message after the operator's last words was sent (epoch seconds).

    ``None`` when the operator spoke last, or has not joined this conversation.
    """
    since: float | None = None
    joined = False
    for event in events:
        kind = (event.get("metadata") or {}).get("kind") if event.get("event") == "bot" else None
        if kind in OPERATOR_KINDS or kind in ENDED_KINDS:
            joined, since = kind in OPERATOR_KINDS, None
        elif event.get("event") == "user" and joined and since is None:
            since = float(event.get("timestamp") or 0)
    return since


def hand_back_idle(settings: Settings, now: datetime) -> int:
    """Hand back every taken conversation whose resident waited too long; how many were."""
    limit = timedelta(minutes=settings.handoff_idle_minutes)
    api = RasaAPI(settings)
    done = 0
    for handoff in operator_queue():
        if handoff.status == "taken" and _hand_back(api, handoff, now, limit):
            done += 1
    return done


def _hand_back(api: RasaAPI, handoff: Handoff, now: datetime, limit: timedelta) -> bool:
    try:
        tracker = api.tracker(handoff.sender_id)
    except RasaUnavailable:
        return False  # tried again next tick
    since = unanswered_since(tracker.get("events") or [])
    if since is None or now.timestamp() - since < limit.total_seconds():
        return False
    # Resume first, close second: if Rasa fails the handoff stays taken and the next tick tries
    # again (never a closed handoff whose resident stays paused); if the operator releases in the
    # same moment the resident reads two notices, which is harmless.
    try:
        api.append(handoff.sender_id, back_to_bot_events(tracker, "utter_handoff_operator_idle", "operator_idle"))
    except RasaUnavailable:
        return False
    try:
        close_handoff(handoff.id)
    except InvalidTransition:  # the operator released or closed it meanwhile
        return False
    audit.log("scheduler", "handoff:idle", detail=f"{handoff.id} ({handoff.taken_by})")
    logger.info("handoff %s handed back to the bot: the operator did not answer", handoff.id)
    return True
