"""What is searchable: the one place that decides which articles and FAQ entries the engine serves.

Index building and engine loading both call :func:`searchable`, so they can never disagree: only
articles in force (not repealed, already in effect) are searchable, and FAQ entries are resolved
against exactly those articles (an entry whose cited article was repealed loses that cite, or is
dropped when none is left).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from knowledge.corpus import Article, in_force, load_corpus
from knowledge.faq import FaqEntry, load_faq


@dataclass(frozen=True)
class Searchable:
    articles: list[Article]  # in force, in corpus order
    faq: list[FaqEntry]  # resolved against ``articles`` only
    withheld: int  # articles loaded but repealed or not yet in effect


def searchable(corpus_dirs: list[Path], faq_file: Path, today: dt.date | None = None) -> Searchable:
    """Load the corpus and the FAQ and keep what may be searched and cited today."""
    everything = load_corpus(corpus_dirs)
    articles = in_force(everything, today)
    return Searchable(articles, load_faq(faq_file, articles), len(everything) - len(articles))
