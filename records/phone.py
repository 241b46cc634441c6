"""Validation and normalisation of mainland Chinese phone numbers.

Accepted: mobile numbers (11 digits, ``1[3-9]…``) and landlines with area code (``010``/``02x`` +
8 digits, or a 4-digit area code ``0xxx`` + 7-8 digits; the local number starts with 2-9). Spaces,
dashes, brackets, a ``+86``/``0086``/``86`` prefix on mobiles and full-width characters are
accepted, and the number may be embedded in a sentence (我的电话是138 1234 5678). Canonical forms:
``13812345678`` and ``0571-88886666``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from records.errors import InvalidPhone

_MOBILE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)?86[ \-]?)?(1[3-9][0-9](?:[ \-]?[0-9]{4}){2})(?![0-9])"
)
_LANDLINE = re.compile(
    r"(?<![0-9])(\(0[0-9]{2,3}\)|0[0-9]{2,3})[ \-]?([0-9]{3,4}[ \-]?[0-9]{4})(?![0-9])"
)
_DIGITS = re.compile(r"[0-9]")


@dataclass(frozen=True)
class PhoneNumber:
    kind: Literal["mobile", "landline"]
    number: str  # canonical form


def parse_phone(text: str) -> PhoneNumber:
    """The first valid phone number in ``text``; raises :class:`InvalidPhone` (with a hint)."""
    folded = unicodedata.normalize("NFKC", text or "")
    found = _find_mobile(folded) or _find_landline(folded)
    if found is None:
        raise InvalidPhone(f"no valid phone number in {text!r}", _hint(folded))
    return found


def normalize_phone(text: str) -> str:
    """The canonical form of the phone number in ``text`` (see :func:`parse_phone`)."""
    return parse_phone(text).number


def is_valid_phone(text: str) -> bool:
    try:
        parse_phone(text)
    except InvalidPhone:
        return False
    return True


def _find_mobile(text: str) -> PhoneNumber | None:
    m = _MOBILE.search(text)
    return PhoneNumber("mobile", _digits(m.group(1))) if m else None


def _find_landline(text: str) -> PhoneNumber | None:
    for m in _LANDLINE.finditer(text):
        number = _split_landline(_digits(m.group(1) + m.group(2)))
        if number:
            return PhoneNumber("landline", number)
    return None


def _split_landline(digits: str) -> str | None:
    # Three-digit area codes are 010 and 02x; all others have four digits.
    area_len = 3 if digits[1] in "12" else 4
    area, local = digits[:area_len], digits[area_len:]
    if len(local) not in (7, 8) or local[0] in "01":
        return None
    return f"{area}-{local}"


def _digits(text: str) -> str:
    return "".join(_DIGITS.findall(text))


def _hint(text: str) -> str:
    digits = _digits(text)
    if not digits:
        return "请提供联系电话，例如 13812345678。"
    if digits.startswith("1"):
        return "手机号应为11位数字，以13-19开头，请核对。"
    if not digits.startswith("0") and len(digits) in (7, 8):
        return "座机号请带上区号，例如 0571-88886666。"
    return "请提供11位手机号，或带区号的座机号。"
