"""Text normalisation shared by queries and articles.

Residents type on phones: full-width digits and letters, traditional characters, emoji, stray
whitespace. Everything is folded to one form before it reaches the tokenizers.
"""

from __future__ import annotations

import functools
import re
import unicodedata

MAX_QUERY_CHARS = 512  # e5 reads 512 tokens at most; longer questions are cut, never rejected


class EmptyQueryError(ValueError):
    """Raised when a question is empty or holds nothing searchable (only spaces, emoji, punctuation)."""


_CONTROL_OR_SYMBOL = re.compile(
    r"[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\ufe0f\U0001f000-\U0001faff\u2600-\u27bf]"
)
_SPACES = re.compile(r"\s+")
_SEARCHABLE = re.compile(r"[\w\u4e00-\u9fff]")


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), traditional → simplified, emoji and controls removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL_OR_SYMBOL.sub(" ", text)
    text = _t2s().convert(text)
    return _SPACES.sub(" ", text).strip()


def normalize_query(text: str, max_chars: int = MAX_QUERY_CHARS) -> str:
    """Normalise a resident's question; raise EmptyQueryError if nothing searchable is left."""
    if not isinstance(text, str):
        raise EmptyQueryError("question must be text")
    cleaned = normalize(text[: max_chars * 4])[:max_chars]
    if not _SEARCHABLE.search(cleaned):
        raise EmptyQueryError("question is empty")
    return cleaned
