"""Curated FAQ answers (常见问题), each resting on cited articles of the corpus.

The seed is LeCoQA: real questions with lawyer-written answers and the statutes they cite. Cites are
resolved to corpus article ids; an entry whose cites do not all resolve is kept for retrieval hints
(its resolved cites) but never shown as an answer, so the bot never cites a text it does not hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from knowledge.corpus import Article, law_key
from knowledge.numerals import cn_to_int

# "第一百三十三条之一" is an article of its own (inserted by an amendment), id suffix "之一".
_INSERTED = r"之[一二三四五六七八九十]+"
_MENTION = re.compile(rf"《(?P<law>[^》]+)》(?:的)?(?P<rest>第[零〇一二两三四五六七八九十百千\d]+条(?:{_INSERTED})?)")
_CITE = re.compile(rf"^(?P<law>.+?)第(?P<num>[零〇一二两三四五六七八九十百千\d]+)条(?P<suffix>{_INSERTED})?")


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    cites: tuple[str, ...]  # resolved article ids
    fully_grounded: bool  # every cite of the source resolved to the corpus


def resolve_cite(cite: str, by_key: dict[str, str]) -> str | None:
    """'中华人民共和国民法典第五十四条' → '民法典-54' ('刑法第一百三十三条之一' → '刑法-133之一') when that law
    is in the corpus."""
    match = _CITE.match(cite.strip())
    if not match:
        return None
    law_short = by_key.get(law_key(match.group("law")))
    if not law_short:
        return None
    try:
        return f"{law_short}-{cn_to_int(match.group('num'))}{match.group('suffix') or ''}"
    except ValueError:
        return None


def load_faq(path: Path, articles: Iterable[Article]) -> list[FaqEntry]:
    known = {a.id for a in articles}
    by_key: dict[str, str] = {}
    for article in articles if isinstance(articles, list) else list(articles):
        by_key[law_key(article.law)] = article.law_short
        by_key[law_key(article.law_short)] = article.law_short
    entries: list[FaqEntry] = []
    if not path.exists():
        return entries
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            resolved = [resolve_cite(c, by_key) for c in record.get("cites", [])]
            cites = tuple(dict.fromkeys(r for r in resolved if r and r in known))
            if not cites:
                continue
            mentioned = [resolve_cite(m["law"] + m["rest"], by_key) for m in _MENTION.finditer(record["answer"])]
            entries.append(
                FaqEntry(
                    id=str(record["id"]),
                    question=record["question"],
                    answer=record["answer"],
                    cites=cites,
                    # Shown as an answer only if every article it cites or names is in the corpus.
                    fully_grounded=len(cites) == len(record.get("cites", []))
                    and all(m in known for m in mentioned),
                )
            )
    return entries
