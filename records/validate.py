"""Small argument checks shared by the record modules; failures raise ``InvalidValue``."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import datetime

from records.errors import InvalidValue


def one_of(value: object, allowed: Iterable[str], what: str) -> str:
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise InvalidValue(f"{what} must be one of {allowed}, not {value!r}")
    return value


def text(value: object, what: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{what} must be a string, not {type(value).__name__}")
    value = value.strip()
    if not value and not allow_empty:
        raise InvalidValue(f"{what} must not be empty")
    return value


def uuid_text(value: object, what: str) -> str:
    """A UUID in its canonical 36-character form (record ids chosen by the caller)."""
    try:
        return str(uuid.UUID(value))  # type: ignore[arg-type]
    except (TypeError, ValueError, AttributeError):
        raise InvalidValue(f"{what} must be a UUID string, not {value!r}") from None


def string_list(values: object, what: str) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise InvalidValue(f"{what} must be a list of strings, not {values!r}")
    items = list(values)
    if not all(isinstance(item, str) and item for item in items):
        raise InvalidValue(f"{what} must contain non-empty strings only: {items!r}")
    return items


def optional_number(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"{what} must be a number, not a bool")
    try:
        number = float(value)  # type: ignore[arg-type]  # also numpy scalars
    except (TypeError, ValueError):
        raise InvalidValue(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise InvalidValue(f"{what} must be finite, not {value!r}")
    return number


def aware_datetime(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidValue(f"{what} must be a timezone-aware datetime, not {value!r}")
    return value


def new_id() -> str:
    """A fresh record id, chosen when the record is made so that writing it again is a no-op."""
    return str(uuid.uuid4())


def settle(record: object, **values: object) -> None:
    """Set the validated ``values`` on a frozen dataclass, from its ``__post_init__``."""
    for name, value in values.items():
        object.__setattr__(record, name, value)
