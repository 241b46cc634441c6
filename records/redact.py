"""Masking of personal identifiers in free text (``redact``).

What is masked, and what is kept so the text stays useful to staff and statistics:

=====================  ==============================  ==========================
kind                   recognised                      masked as
=====================  ==============================  ==========================
e-mail                 ``name@host.tld``               ``n***@host.tld``
resident ID, 18 digit  valid birth date, last X/x,     ``110***********123X``
                       optional 6-8-4 spaces/dashes    (first 3, last 4)
resident ID, 15 digit  valid yymmdd birth date         ``110********1234``
bank card / long no.   16 or more digits, or 4-4-4-4   ``6222********1234``
                       (-3) groups                     (first 4, last 4)
mobile                 ``1[3-9]`` + 9 digits, 3-4-4    ``138****5678``
                       spaces/dashes, +86/0086/86      (prefix kept)
landline               area code ``0xx``/``0xxx``      ``0571-****6666``
                       (or in brackets) + 7-8 digits   (area code, last 4)
=====================  ==============================  ==========================

Every masked character becomes ``*``; separators are kept, so apart from e-mail addresses the
text keeps its length. Full-width digits (``１３８…``) are recognised as well. A number is only
matched as a whole (never digits cut out of a longer number), and 10-13 digit numbers directly
followed by a money unit (元, 万, 亿, 块) are taken as amounts, not phones. Article numbers
(第1165条), amounts (5000元, 3.5万), dates (2023年5月, 2023-05-01) and case numbers are short or
structured differently and are left alone. Names and addresses are not detected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ－＋（）\u3000", "0123456789Xx-+() ")
_NO_DIGIT_BEFORE = r"(?<![0-9])"
_NO_DIGIT_AFTER = r"(?![0-9])"
_NOT_MONEY = r"(?!\s*[元万亿块])"
_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"

_EMAIL = re.compile(
    r"([A-Za-z0-9_%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
)
_ID18 = re.compile(
    _NO_DIGIT_BEFORE
    + rf"[1-9][0-9]{{5}}[ -]?(?:18|19|20)[0-9]{{2}}{_DATE}[ -]?[0-9]{{3}}[0-9Xx]"
    + _NO_DIGIT_AFTER
)
_ID15 = re.compile(_NO_DIGIT_BEFORE + rf"[1-9][0-9]{{7}}{_DATE}[0-9]{{3}}" + _NO_DIGIT_AFTER)
_CARD = re.compile(
    _NO_DIGIT_BEFORE
    + r"(?:[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -][0-9]{1,3})?|[0-9]{16,})"
    + _NO_DIGIT_AFTER
)
_MOBILE = re.compile(
    _NO_DIGIT_BEFORE
    + r"(?:(?:\+|00)?86[ -]?)?(?P<number>1[3-9][0-9](?:[ -]?[0-9]{4}){2})"
    + _NO_DIGIT_AFTER
    + _NOT_MONEY
)
_LANDLINE = re.compile(
    _NO_DIGIT_BEFORE
    + r"(?:\(0[0-9]{2,3}\) ?|0[0-9]{2,3}[ -]?)(?P<number>[0-9]{3,4}[ -]?[0-9]{4})"
    + _NO_DIGIT_AFTER
    + _NOT_MONEY
)

Masker = Callable[[re.Match[str]], Iterable[int]]


def _keep(start: int, end: int, text: str, head: int, tail: int) -> list[int]:
    """Positions in text[start:end] to mask: all digit-like chars but the first head / last tail."""
    positions = [i for i in range(start, end) if text[i].isdigit() or text[i] in "Xx"]
    return positions[head : len(positions) - tail]


def _masker(head: int, tail: int, group: int | str = 0) -> Masker:
    def mask(m: re.Match[str]) -> list[int]:
        return _keep(m.start(group), m.end(group), m.string, head, tail)

    return mask


_RULES: tuple[tuple[re.Pattern[str], Masker], ...] = (
    (_ID18, _masker(3, 4)),
    (_ID15, _masker(3, 4)),
    (_CARD, _masker(4, 4)),
    (_MOBILE, _masker(3, 4, "number")),
    (_LANDLINE, _masker(0, 4, "number")),
)


def _mask_email(m: re.Match[str]) -> str:
    return f"{m.group(1)}***@{m.group(2)}"


def redact(text: str) -> str:
    """``text`` with phone, ID, bank card numbers and e-mail addresses masked (see module doc)."""
    if not text:
        return text
    text = _EMAIL.sub(_mask_email, text)
    chars = list(text)
    # Match on an ASCII-folded copy of the same length, so positions map 1:1 to the original.
    folded = text.translate(_FULLWIDTH)
    for pattern, masker in _RULES:
        positions = [i for m in pattern.finditer(folded) for i in masker(m)]
        if not positions:
            continue
        for i in positions:
            chars[i] = "*"
        folded = "".join("*" if c == "*" else f for c, f in zip(chars, folded, strict=True))
    return "".join(chars)
