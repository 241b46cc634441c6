"""Grounded legal search: the law corpus, a hybrid (dense + BM25) search engine and its evaluation.

This package imports nothing else of the project, so it can be tested and benchmarked alone.
Public API::

    from knowledge import load_engine
    engine = load_engine()                       # built index, configured by knowledge.config
    hits = engine.search("老板拖欠工资怎么办", top_k=5)
    hits[0].id, hits[0].law, hits[0].article_cn, hits[0].text, hits[0].score
"""

from knowledge.corpus import Article, CorpusError
from knowledge.engine import Hit, SearchEngine, load_engine
from knowledge.normalize import EmptyQueryError

__all__ = ["Article", "CorpusError", "EmptyQueryError", "Hit", "SearchEngine", "load_engine"]
