"""Notifiers: how a queued notification (:mod:`records.notifications`) reaches a person.

One class per channel, each with ``send(notification)`` that returns on success and raises on
failure (the scheduler then retries with back-off):

- ``inapp``  — nothing to transmit: the page's server-sent event stream reads the outbox itself;
- ``log``    — a line in the app log (no personal data: subject and referral id only);
- ``email``  — SMTP (``SMTP_*`` settings), with a Message-ID derived from the dedupe key so a
  receiving system can drop a duplicate;
- ``webhook``— a JSON POST to ``STAFF_WEBHOOK_URL`` (HTTPS; plain HTTP only to loopback), signed
  ``X-Signature: sha256=<HMAC of the body with STAFF_WEBHOOK_SECRET>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol
from urllib.parse import urlsplit

import requests

from records.notifications import Notification
from staff.config import Settings

logger = logging.getLogger("staff.notifications")
TIMEOUT = 10.0


class Notifier(Protocol):
    def send(self, notification: Notification) -> None: ...


class InAppNotifier:
    def send(self, notification: Notification) -> None:
        return None


class LogNotifier:
    def send(self, notification: Notification) -> None:
        n = notification
        logger.info("notify %s: %s (referral %s)", n.recipient, n.subject, n.referral_id)


class EmailNotifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, notification: Notification) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = notification.recipient
        message["Subject"] = notification.subject
        message["Date"] = formatdate(localtime=False)
        digest = hashlib.sha256(notification.dedupe_key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@staff.legal-assistant>"
        message.set_content(notification.body, cte="quoted-printable")
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(message)


class WebhookNotifier:
    def __init__(self, settings: Settings) -> None:
        parts = urlsplit(settings.webhook_url)
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("STAFF_WEBHOOK_URL must be an https:// URL")
        self.settings = settings

    def send(self, notification: Notification) -> None:
        body = json.dumps(
            {
                "id": notification.dedupe_key,
                "to": notification.recipient,
                "subject": notification.subject,
                "text": notification.body,
                "referral_id": notification.referral_id,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        signature = hmac.new(self.settings.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        reply = requests.post(
            self.settings.webhook_url,
            data=body,
            headers={"Content-Type": "application/json", "X-Signature": f"sha256={signature}"},
            timeout=TIMEOUT,
        )
        reply.raise_for_status()


def notifiers(settings: Settings) -> dict[str, Notifier]:
    """The enabled channels (``STAFF_NOTIFY``); in-app always works."""
    out: dict[str, Notifier] = {"inapp": InAppNotifier()}
    if "log" in settings.notify:
        out["log"] = LogNotifier()
    if "email" in settings.notify:
        out["email"] = EmailNotifier(settings)
    if "webhook" in settings.notify and settings.webhook_url:
        out["webhook"] = WebhookNotifier(settings)
    return out
