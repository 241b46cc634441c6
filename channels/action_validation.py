"""Check the action server's answers against Rasa's schema without re-checking the schema every time.

Rasa 3.6 (``RemoteAction._validate_action_result``) calls ``jsonschema.validate(result, schema)`` after
every custom action, and ``jsonschema.validate`` first checks the *schema itself* against the JSON Schema
meta-schema, then builds a new validator — on every call. Profiled with py-spy under the load benchmark,
that was a quarter of the Rasa server's CPU (the largest single item, above NLU and TED). Here the schema
is checked once and one validator is kept; a valid answer passes with one ``iter_errors`` walk, an invalid
one goes to Rasa's own method, which raises the same error with the same message as before.

Installed by importing :mod:`channels.rest` (every channel in ``credentials.yml`` builds on it), so every
Rasa process of ``make run`` and of production mode gets it.
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

_rasa_validate = RemoteAction._validate_action_result
_validator: Validator | None = None


def response_validator() -> Validator:
    """The validator of Rasa's action-response schema, its schema checked once (as jsonschema.validate does)."""
    global _validator
    if _validator is None:
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        _validator = cls(schema)
    return _validator


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if best_match(response_validator().iter_errors(result)) is None:
        return True
    return _rasa_validate(self, result)  # raises Rasa's ValidationError with its message


def install() -> None:
    """Use the validator built once for every RemoteAction (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
