"""Talking to Rasa's HTTP API about one conversation: read it, pause it, add what an operator says.

Everything an operator does to a live conversation is a list of tracker events appended through
``POST /conversations/<id>/tracker/events`` with ``execute_side_effects`` and
``output_channel=latest``: Rasa stores them (the transcript stays complete) and sends every bot
message among them through the output channel of the resident's own channel (WeChat: the
customer-service API; the web chat page reads pushed messages from the tracker itself). Messages the
staff app adds carry ``metadata.push`` so that channels can tell them from the bot's replies.

``RASA_URL`` (default ``http://127.0.0.1:5005``, as ``make run`` starts Rasa) and ``RASA_TOKEN``
(sent as ``?token=`` when set) are in ``staff.config``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import requests

from staff.config import Settings

TIMEOUT = 15.0
DEFAULT_URL = "http://127.0.0.1:5005"


class RasaUnavailable(Exception):
    """Rasa did not answer, or refused the request."""


class RasaAPI:
    def __init__(self, settings: Settings) -> None:
        self.base = (settings.rasa_url or DEFAULT_URL).rstrip("/")
        self.token = settings.rasa_token

    def _url(self, sender: str, path: str) -> str:
        return f"{self.base}/conversations/{quote(sender, safe='')}/{path}"

    def _params(self, **extra: str) -> dict[str, str]:
        return {**extra, **({"token": self.token} if self.token else {})}

    def tracker(self, sender: str) -> dict[str, Any]:
        try:
            reply = requests.get(
                self._url(sender, "tracker"), params=self._params(include_events="ALL"), timeout=TIMEOUT
            )
            reply.raise_for_status()
            return reply.json()
        except (requests.RequestException, ValueError) as exc:
            raise RasaUnavailable(str(exc)) from exc

    def append(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Append ``events``; bot messages among them go out on the resident's latest channel."""
        stamped = [{**e, "timestamp": e.get("timestamp") or time.time()} for e in events]
        params = self._params(execute_side_effects="true", output_channel="latest", include_events="NONE")
        try:
            reply = requests.post(self._url(sender, "tracker/events"), json=stamped, params=params, timeout=TIMEOUT)
            reply.raise_for_status()
        except requests.RequestException as exc:
            raise RasaUnavailable(str(exc)) from exc


def latest_channel(tracker: dict[str, Any]) -> str | None:
    """The input channel of the resident's latest message (``webchat``, ``wechat``, ``rest`` …)."""
    return (tracker.get("latest_input_channel") or None) if tracker else None


def pushed(text: str, **metadata: Any) -> dict[str, Any]:
    """A bot message the staff app adds (an operator's words, a notice), marked for the channels."""
    return {"event": "bot", "text": text, "metadata": {"push": True, **metadata}}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


PAUSE = {"event": "pause"}
RESUME = {"event": "resume"}
