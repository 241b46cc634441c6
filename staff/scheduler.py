"""The scheduler inside the staff app: notify, escalate, flag, deliver — one runner at a time.

Each tick (``STAFF_TICK_SECONDS``) the process holding the lease (a Redis key when ``REDIS_URL``
is set, else a row of ``scheduler_locks``) does, in order:

1. route referrals stored without a routing row (:func:`records.routing.backfill`);
2. queue the "new referral" notifications of referrals nobody was told about;
3. escalate to the township referrals not accepted within ``REFERRAL_ACCEPT_HOURS``
   (status ``escalated``; shown as overdue) and flag those not resolved within
   ``REFERRAL_RESOLVE_DAYS``, queuing notices to the adviser and the 司法所;
4. deliver due notifications; a failure is retried with exponential back-off
   (30 s, 1 min, 2 min … at most 1 h apart, 12 attempts) and a sent one is never sent again;
5. forget expired sessions and failed logins older than the throttling window;
6. hand back to the bot the taken 转人工 conversations whose resident got no answer from the
   operator within ``HANDOFF_IDLE_MINUTES`` (:mod:`staff.handoff_idle`);
7. once a day (and on its first tick), retention: anonymise records and delete Rasa
   conversations older than ``RETENTION_DAYS`` (:mod:`staff.retention`).

Queuing and marking happen in one transaction, so a crash between them repeats nothing. The
clock is a parameter: tests call :meth:`Scheduler.run_once` with any ``now``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from records import locks, notifications, routing, sla, staff_sessions, users
from records.db import transaction
from records.errors import InvalidTransition
from records.referral_scope import ReferralItem
from records.referrals import transition
from staff.auth import WINDOW as LOGIN_WINDOW
from staff.config import Settings
from staff.handoff_idle import hand_back_idle
from staff.notify import notifiers
from staff.retention import run_retention

logger = logging.getLogger(__name__)
LOCK = "staff-scheduler"
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
MAX_ATTEMPTS = 12
RETENTION_EVERY = timedelta(days=1)


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failures (1 → 30 s, 2 → 60 s, …, ≤ 1 h)."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


class Scheduler:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.notifiers = notifiers(settings)
        self._stopping = asyncio.Event()
        self._retention_at: datetime | None = None  # when this process last ran retention
        self._redis = None
        if settings.redis_url:
            import redis  # only needed when Redis is configured

            self._redis = redis.Redis.from_url(settings.redis_url)

    # --- the lease ------------------------------------------------------------------------

    def acquire(self, now: datetime) -> bool:
        ttl = timedelta(seconds=max(self.settings.tick_seconds * 3, 10))
        if self._redis is None:
            return locks.acquire(LOCK, self.holder, ttl, now)
        key, ms = f"staff:lock:{LOCK}", int(ttl.total_seconds() * 1000)
        if self._redis.set(key, self.holder, nx=True, px=ms):
            return True
        # Renew only our own lease (compare-and-set in one Lua step).
        renew = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then "
            "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
        )
        return bool(self._redis.eval(renew, 1, key, self.holder, ms))

    def release(self) -> None:
        if self._redis is None:
            locks.release(LOCK, self.holder)
            return
        script = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
        self._redis.eval(script, 1, f"staff:lock:{LOCK}", self.holder)

    # --- one tick -------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """One tick if this process holds the lease; returns what it did (empty if not)."""
        now = now or self.clock()
        if not self.acquire(now):
            return {}
        done = {"routed": routing.backfill()}
        done["notified"] = sum(self._announce(r, "new", now) for r in sla.not_notified())
        accept_deadline = now - timedelta(hours=self.settings.accept_hours)
        done["escalated"] = sum(self._escalate(r, now) for r in sla.not_accepted_by(accept_deadline))
        resolve_deadline = now - timedelta(days=self.settings.resolve_days)
        done["flagged"] = sum(self._announce(r, "unresolved", now) for r in sla.not_resolved_by(resolve_deadline))
        done["sent"], done["failed"] = self.deliver(now)
        done["purged"] = staff_sessions.purge_expired(now) + users.purge_failures(now - LOGIN_WINDOW)
        done["handed_back"] = hand_back_idle(self.settings, now)
        if self._retention_at is None or now - self._retention_at >= RETENTION_EVERY:
            ran = run_retention(self.settings, now)
            self._retention_at = now
            done["anonymised"] = ran.records.consultations + ran.records.referrals + ran.records.handoffs
            done["transcripts_deleted"] = ran.tracker_events + ran.tracker_conversations
        return done

    def _escalate(self, item: ReferralItem, now: datetime) -> bool:
        if item.status == "new":
            note = f"{self.settings.accept_hours:g} 小时内未受理，升级至司法所"
            try:
                transition(item.id, "escalated", "scheduler", note)
            except InvalidTransition:  # accepted meanwhile
                return False
        return self._announce(item, "escalated", now)

    def _announce(self, item: ReferralItem, kind: str, now: datetime) -> bool:
        """Queue the notices of one event and mark it, in one transaction; False if done before."""
        column = {"new": "notified_at", "escalated": "escalated_at", "unresolved": "resolve_flagged_at"}[kind]
        targets = self._targets(item, kind)
        emails = sla.staff_emails(item.adviser_id, item.township) if "email" in self.notifiers else {}
        subject, body = self._message(item, kind)
        with transaction() as conn:
            if not routing.mark(item.id, column, now, conn=conn):
                return False
            for who, address in targets:
                for channel in ("inapp", "log", "webhook"):
                    if channel in self.notifiers:
                        key = f"{kind}:{item.id}:{channel}:{address}"
                        notifications.enqueue(conn, key, channel, address, subject, body, referral_id=item.id, now=now)
                for email in emails.get(who, []):
                    key = f"{kind}:{item.id}:email:{email}"
                    notifications.enqueue(conn, key, "email", email, subject, body, referral_id=item.id, now=now)
        return True

    @staticmethod
    def _targets(item: ReferralItem, kind: str) -> list[tuple[str, str]]:
        township = ("township", f"township:{item.township}")
        if item.adviser_id is None:  # the village has no adviser: the 司法所 alone holds it
            return [township]
        adviser = ("adviser", f"adviser:{item.adviser_id}")
        if kind == "new":
            held_by_office = item.to_township and item.route_reason in ("no_adviser", "adviser_absent")
            if held_by_office:
                return [township]
            return [adviser, township] if item.to_township else [adviser]
        return [adviser, township]

    def _message(self, item: ReferralItem, kind: str) -> tuple[str, str]:
        topic = item.topic or "未分类"
        heading = {
            "new": "新的转介事项" + ("（紧急）" if item.urgent else ""),
            "escalated": f"转介事项{self.settings.accept_hours:g}小时未受理，已升级",
            "unresolved": f"转介事项{self.settings.resolve_days:g}天未办结",
        }[kind]
        subject = f"{heading}：{item.village}·{topic}"
        link = f"{self.settings.public_url}/referrals/{item.id}"
        # The summary is the redacted text; no phone number leaves the app in a notification.
        body = f"{subject}\n\n{item.summary}\n\n办理：{link}\n"
        return subject, body

    # --- delivery -------------------------------------------------------------------------

    def deliver(self, now: datetime) -> tuple[int, int]:
        sent = failed = 0
        for note in notifications.due(now):
            notifier = self.notifiers.get(note.channel)
            if notifier is None:
                notifications.mark_failed(note.id, f"channel {note.channel} is not enabled", None)
                failed += 1
                continue
            try:
                notifier.send(note)
            except Exception as exc:  # noqa: BLE001 - any failure of a channel is retried later
                attempts = note.attempts + 1
                retry_at = None if attempts >= MAX_ATTEMPTS else now + backoff(attempts)
                notifications.mark_failed(note.id, f"{type(exc).__name__}: {exc}", retry_at)
                logger.warning("notification %s via %s failed (attempt %d)", note.id, note.channel, attempts)
                failed += 1
                continue
            notifications.mark_sent(note.id, now)
            sent += 1
        return sent, failed

    # --- the loop -------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # noqa: BLE001 - a failed tick (database down) must not stop the loop
                logger.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.settings.tick_seconds)

    async def stop(self) -> None:
        self._stopping.set()
        try:
            await asyncio.to_thread(self.release)
        except Exception:  # noqa: BLE001 - the lease expires by itself
            logger.warning("could not release the scheduler lease")
