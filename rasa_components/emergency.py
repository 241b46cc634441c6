"""Rasa NLU component: every message passes the emergency rules, whatever the classifiers said.

Placed last in the pipeline (config.yml), after DIET and the FallbackClassifier. When
``safety.detect`` finds a danger happening now, the message's intent becomes ``emergency`` with
confidence 1.0 and each kind found becomes an ``emergency_kind`` entity (fire, medical, …), so the
rules run ``action_emergency`` also when the classifier read the message as a greeting, small talk,
a request for a person or a form answer, and the action knows which numbers to give first.

The classifier's own ``emergency`` is kept when the rules find nothing (the action then gives 110 /
120), unless the learned score (safety/score.py) finds a danger very unlikely (below
``keep_classifier_above``) or the rules set the message aside (a question, the past, news, an idiom
such as 笑死我了, a plea about money: ``Detection.set_aside``): the classifier takes many questions that
merely mention fire or gas for emergencies (着火了的房子归谁); such a message then gets the classifier's
next intent.

Rasa imports this module by its dotted path; ``rasa`` puts the working directory on ``sys.path``
and the start scripts also set ``PYTHONPATH`` to the repo root.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

import safety

EXTRACTOR = "EmergencyDetector"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyDetector(GraphComponent):
    """Sets intent ``emergency`` and ``emergency_kind`` entities when the safety rules fire."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent": "emergency", "entity": "emergency_kind", "keep_classifier_above": 0.1}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyDetector:
        return cls({**cls.get_default_config(), **config})

    def __init__(self, config: dict[str, Any]) -> None:
        self.intent = config["intent"]
        self.entity = config["entity"]
        self.keep_classifier_above = config["keep_classifier_above"]

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):  # button payloads carry their intent
                continue
            detection = safety.detect(text)
            if detection.kinds:
                self._mark(message, detection.kinds)
            elif self._intent_name(message) == self.intent and (
                detection.set_aside or detection.probability < self.keep_classifier_above
            ):
                self._demote(message)
        return messages

    @staticmethod
    def _intent_name(message: Message) -> str | None:
        return (message.get(INTENT) or {}).get("name")

    def _demote(self, message: Message) -> None:
        """The classifier's next intent, its confidence renormalised without ``emergency``."""
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != self.intent]
        rest = sum(r.get("confidence") or 0.0 for r in ranking)
        ranking = [{**r, "confidence": (r.get("confidence") or 0.0) / rest} for r in ranking] if rest else ranking
        message.set(INTENT, ranking[0] if ranking else {"name": "nlu_fallback", "confidence": 1.0}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)

    def _mark(self, message: Message, kinds: tuple[str, ...]) -> None:
        intent = {"name": self.intent, "confidence": 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != self.intent]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != self.entity]
        entities += [
            {"entity": self.entity, "value": kind, "start": 0, "end": len(message.get(TEXT)),
             "confidence": 1.0, "extractor": EXTRACTOR}
            for kind in kinds
        ]
        message.set(ENTITIES, entities, add_to_output=True)
