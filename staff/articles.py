"""The cited articles of a referral's consultation, quoted verbatim from the corpus."""

from __future__ import annotations

from functools import lru_cache

from knowledge.config import Settings as KnowledgeSettings
from knowledge.corpus import Article, load_corpus


@lru_cache(maxsize=1)
def _by_id() -> dict[str, Article]:
    return {a.id: a for a in load_corpus(KnowledgeSettings().corpus_dirs)}


def cited(article_ids: list[str]) -> list[dict[str, str]]:
    """Each known id as ``{"id", "citation", "text"}``; unknown ids are left out, never invented."""
    corpus = _by_id()
    return [
        {"id": a.id, "citation": a.citation, "text": a.text}
        for a in (corpus.get(i) for i in article_ids)
        if a is not None
    ]
