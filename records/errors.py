"""Exceptions raised by ``records``.

Every validation or lookup failure raises a subclass of :class:`RecordError`, so callers (actions,
the staff web app) can catch one type. Lookup failures are also :class:`LookupError` and value
problems are also :class:`ValueError`.

- :class:`InvalidValue` — a value outside its allowed set (channel, outcome, topic, status, ...).
- :class:`InvalidPhone` — not a mainland mobile or landline number; ``hint`` is a Chinese sentence
  that can be shown to the resident.
- :class:`ConsentRequired` — a non-urgent referral without the resident's consent.
- :class:`InvalidTransition` — a referral or handoff status change that is not allowed (or that lost
  a race with a concurrent change).
- :class:`NotFound` and its subclasses :class:`UnknownVillage`, :class:`UnknownAdviser`,
  :class:`UnknownConsultation`, :class:`UnknownReferral`, :class:`UnknownHandoff`.
"""

from __future__ import annotations


class RecordError(Exception):
    """Base class of all errors raised by ``records``."""


class InvalidValue(RecordError, ValueError):
    """A value is outside its allowed set or has the wrong type."""


class InvalidPhone(InvalidValue):
    """A phone number that is neither a mainland mobile nor a landline with area code."""

    def __init__(self, message: str, hint: str = "请提供11位手机号，或带区号的座机号。") -> None:
        super().__init__(message)
        self.hint = hint


class ConsentRequired(RecordError):
    """Personal information of a non-urgent referral may only be stored with consent (PIPL)."""


class InvalidTransition(RecordError):
    """A status change that the state machine does not allow."""

    def __init__(self, current: str | None, requested: str, message: str | None = None) -> None:
        super().__init__(message or f"cannot change status from {current!r} to {requested!r}")
        self.current = current
        self.requested = requested


class NotFound(RecordError, LookupError):
    """A referenced record does not exist."""


class UnknownVillage(NotFound):
    """A village that is not in the county's list (or is ambiguous)."""


class UnknownAdviser(NotFound):
    """An adviser id that does not exist, or a village without an adviser."""


class UnknownConsultation(NotFound):
    """A consultation id that does not exist."""


class UnknownReferral(NotFound):
    """A referral id that does not exist (or is not visible to the asking adviser)."""


class UnknownHandoff(NotFound):
    """A handoff id that does not exist."""
