"""Every action answers the resident, whatever fails: the base class of the resident-facing actions.

An exception escaping an action makes the action server answer Rasa with an error, and the
resident then gets no reply at all. ``AnsweringAction.run`` catches everything the action's
``respond`` raises, logs it, keeps what was already said and adds ``utter_technical_problem``
(apology, 12348, 110), then returns the action's ``failure_events`` so the rules stay on track.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)


class AnsweringAction(Action, ABC):  # abstract: rasa_sdk registers only its subclasses
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            return await self.respond(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - whatever failed, the resident must get an answer
            logger.exception("%s failed; the resident is told to try again or call 12348", self.name())
            dispatcher.utter_message(response="utter_technical_problem")
            return self.failure_events(tracker)

    @abstractmethod
    async def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """What the action does and says."""

    def failure_events(self, tracker: Tracker) -> list[EventType]:
        """Events after a failure; by default none."""
        return []
