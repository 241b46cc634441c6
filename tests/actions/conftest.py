"""Fixtures of the action tests: a small real search engine and a temporary records database.

The engine is a real ``knowledge.engine.SearchEngine`` over the wage laws only (the built model
encodes their ~270 articles once per session), injected with ``actions.services.use_search_engine``,
so the tests need not load the full index.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

import records
from actions.services import use_search_engine
from knowledge.config import Settings
from knowledge.corpus import in_force, load_corpus
from knowledge.encoders import SentenceTransformerEncoder
from knowledge.engine import SearchEngine
from knowledge.faq import load_faq

SMALL_CORPUS = ("保障农民工工资支付条例", "中华人民共和国劳动合同法", "中华人民共和国劳动法")


@pytest.fixture(scope="session")
def small_engine() -> Iterator[SearchEngine]:
    """A real engine over the wage laws and the FAQ entries grounded in them, served to the actions.

    It encodes with the product model, so ``ANSWER_MIN_SCORE`` (calibrated on it) means the same here.
    """
    settings = Settings()
    articles = [a for a in in_force(load_corpus([settings.laws_dir])) if a.law in SMALL_CORPUS]
    faq = [e for e in load_faq(settings.faq_file, articles) if e.fully_grounded]
    encoder = SentenceTransformerEncoder(settings.model_dir, settings.threads)  # the product model
    engine = SearchEngine.from_articles(articles, encoder, faq=faq)
    use_search_engine(engine)
    yield engine
    use_search_engine(None)


@pytest.fixture
def db(tmp_path, monkeypatch) -> Engine:
    url = f"sqlite:///{tmp_path / 'legal.db'}"
    monkeypatch.setenv("LEGAL_DB_URL", url)
    monkeypatch.setenv("LEGAL_OUTBOX_DIR", str(tmp_path / "outbox"))
    engine = records.get_engine(url)
    records.init_db(engine)
    return engine


