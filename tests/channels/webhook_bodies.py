"""Hypothesis strategies for webhook request bodies: mostly near-valid JSON, with the characters and
shapes that used to reach the tracker store (lone surrogates, NUL, control characters, odd types)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Every code point, lone surrogates (category Cs) included: JSON can carry them as \ud800 escapes.
ANY_CHAR = st.characters(exclude_categories=())
TEXT = st.text(ANY_CHAR, max_size=40) | st.sampled_from(["你好", "老板拖欠工资怎么办", "\ud800", "a\x00b", " "])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)


@st.composite
def message_objects(draw: st.DrawFn) -> dict[str, Any]:
    """A webhook body as a dict: each field present or not, of the right type or not."""
    body: dict[str, Any] = {}
    for field, likely in [("sender", TEXT), ("message", TEXT), ("metadata", st.dictionaries(TEXT, JSON_VALUES))]:
        if draw(st.integers(0, 9)) < 8:
            body[field] = draw(likely if draw(st.booleans()) else JSON_VALUES)
    return body


def encode(body: Any) -> bytes:
    """JSON as a client sends it; ensure_ascii turns lone surrogates into \\u escapes."""
    return json.dumps(body, ensure_ascii=True).encode("ascii")


request_bodies = message_objects().map(encode) | st.binary(max_size=200)
