"""What is searchable: the one place that decides which articles and FAQ entries the engine serves.

Index building and engine loading both call :func:`searchable`, so they can never disagree: only
articles that may be cited today are searchable (:func:`knowledge.corpus.withheld_reason`: not repealed,
already in effect, the current version of their text, no known defect, with an article number), and FAQ
entries are resolved against exactly those articles (an entry whose cited article was repealed loses that
cite, or is dropped when none is left).

The curated FAQ answers were written against the law as it stood before ``FAQ_LAW_AS_OF``: a cite of a
text whose version in force took effect later may point at a renumbered article, so it is not resolved
(the entry is then never shown as an answer, see :mod:`knowledge.faq`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.corpus import Article, load_corpus, withheld_reason
from knowledge.faq import FaqEntry, load_faq

# LeCoQA (published 2025) holds lawyers' answers from before 2025 (STARD, its question source, is of 2024).
FAQ_LAW_AS_OF = dt.date(2025, 1, 1)


@dataclass(frozen=True)
class Searchable:
    articles: list[Article]  # citable today, in corpus order
    faq: list[FaqEntry]  # resolved against ``articles`` only
    withheld: int  # articles loaded but not citable (repealed, superseded, pending, defective, unnumbered)
    withheld_by_reason: dict[str, int] = field(default_factory=dict)


def searchable(corpus_dirs: list[Path], faq_file: Path, today: dt.date | None = None) -> Searchable:
    """Load the corpus and the FAQ and keep what may be searched and cited today."""
    today = today or dt.date.today()
    everything = load_corpus(corpus_dirs, today)
    reasons = Counter()
    articles = []
    for article in everything:
        reason = withheld_reason(article, today)
        if reason is None:
            articles.append(article)
        else:
            reasons[reason] += 1
    faq = load_faq(faq_file, [a for a in articles if not _newer_than_faq(a)])
    return Searchable(articles, faq, len(everything) - len(articles), dict(reasons))


def _newer_than_faq(article: Article) -> bool:
    return bool(article.in_force_from) and dt.date.fromisoformat(article.in_force_from) >= FAQ_LAW_AS_OF
