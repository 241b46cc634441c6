"""A custom action whose call fails while one of our channels handles a message: "send it again".

Rasa 3.6 (``MessageProcessor._run_action``) logs a custom action whose call raised — its server died
with the request written (nginx cannot pass a written POST to the other one), answered 5xx, or could
not be reached — drops the action's events and carries on: the resident got whatever the turn had
said before it, usually nothing at all (an empty answer), and the conversation kept the message as if
it had been answered. Here every ``RemoteAction`` call that raises marks the message as failed
(:func:`channels.tracker_stores.action_failed`), so the guarded tracker store keeps nothing of it and
the channel answers as for a tracker store outage: 503 ``try_again`` with the polite text
(``utter_service_busy``). The resident sends it again and the conversation goes on from where it was.

Not a retry of the call: records get their ids in the action server, so a second call of an action
that died after storing its consultation or referral would store a second one. An action's own
rejection of a form value (``ActionExecutionRejection``) is dialogue, not a failure, and passes. Once
a call failed, the message's later custom actions are not called at all (Rasa carries on predicting):
they would run again when the resident sends the message again.

Installed by importing :mod:`channels.rest` (every channel in ``credentials.yml`` builds on it), like
:mod:`channels.action_validation`.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.events import Event

from channels.tracker_stores import action_failed, message_failed

logger = logging.getLogger(__name__)
_rasa_run = RemoteAction.run


async def _run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> list[Event]:
    if message_failed():
        # Rasa goes on predicting after a failed action; what it would run now would run again when
        # the resident sends the message again (nothing of it is kept): one record would become two.
        logger.debug("%s not called: the message already failed", self.name())
        return []
    try:
        return await _rasa_run(self, output_channel, nlg, tracker, domain)
    except ActionExecutionRejection:
        raise
    except Exception as error:
        action_failed(self.name(), error)
        raise  # Rasa logs it and carries on without the action's events


def install() -> None:
    """Watch every RemoteAction call (idempotent)."""
    RemoteAction.run = _run  # type: ignore[method-assign]
