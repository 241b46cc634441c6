"""The second stage (knowledge/rerank.py): its features and scoring, its weights file, and the engine with it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge.corpus import Article, load_corpus
from knowledge.engine import Weights
from knowledge.rerank import FEATURES, GROUPS, WEIGHTS_FILE, ArticleTable, SecondStage, features
from tests.knowledge.conftest import LAWS


def _article(id_: str, law: str, num: int | None, text: str, doc_type: str = "法律") -> Article:
    return Article(id_, law, law, f"第{num}条" if num else "", num, text, doc_type=doc_type)


ARTICLES = [
    _article("甲法-1", "甲法", 1, "短"),
    _article("甲法-4", "甲法", 4, "长一些的条文内容"),
    _article("乙解释-2", "乙解释", 2, "解释条文", doc_type="司法解释"),
    _article("乙解释-8", "乙解释", 8, "另一条"),
    _article("丙法-序言", "丙法", None, "序言"),
]


def test_article_table_positions_lengths_and_kinds():
    table = ArticleTable.of(ARTICLES)
    assert table.law.tolist() == [0, 0, 1, 1, 2]
    assert table.position.tolist() == pytest.approx([0.25, 1.0, 0.25, 1.0, 0.0])
    assert table.interpretation.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert table.log_length.tolist() == pytest.approx(np.log1p([1, 8, 4, 3, 2]).tolist())


def test_features_describe_each_candidate_against_the_question_best():
    table = ArticleTable.of(ARTICLES)
    candidates = np.array([4, 1, 2, 0])  # article indices, any order
    dense = np.array([0.70, 0.95, 0.80, 0.60], dtype=np.float32)
    lexical = np.array([0.0, 0.5, 1.0, 0.2], dtype=np.float32)
    votes = np.array([0.0, 0.0, 0.3, 0.6], dtype=np.float32)
    fused = dense + 0.1 * lexical + 0.2 * votes
    top = np.argsort(-fused)[:3]  # positions in candidates, best first
    matrix = features(top, candidates, dense, lexical, fused, votes, {0: 0.75, 1: 0.25}, table)
    assert matrix.shape == (3, len(FEATURES))
    column = {name: matrix[:, FEATURES.index(name)].tolist() for name in FEATURES}
    articles = candidates[top].tolist()
    assert articles == [1, 2, 0]
    assert column["dense"] == pytest.approx([0.95, 0.8, 0.6])
    assert column["dense_gap"] == pytest.approx([0.0, -0.15, -0.35])
    assert column["dense_rank"] == pytest.approx(np.log1p([0, 1, 3]).tolist())
    assert column["lexical_rank"] == pytest.approx(np.log1p([1, 0, 2]).tolist())
    assert column["faq_share"] == pytest.approx([0.0, 0.5, 1.0])
    assert column["fused_gap"][0] == 0.0 and column["fused_rank"] == pytest.approx(np.log1p([0, 1, 2]).tolist())
    assert column["law_faq"] == pytest.approx([0.75, 0.25, 0.75])  # 甲法, 乙解释, 甲法
    assert column["law_top"] == pytest.approx([2 / 3, 1 / 3, 2 / 3])  # of the 3 best, two are 甲法
    assert column["law_best_gap"] == pytest.approx([0.0, -0.04, 0.0])  # 乙解释's best is candidate 2 (0.96)
    assert column["interpretation"] == [0.0, 1.0, 0.0]


def test_score_is_the_standardised_dot_product_and_survives_a_round_trip(tmp_path):
    names = ("dense", "faq_votes", "position")
    stage = SecondStage(names, np.array([0.5, 0.1, 0.5], dtype=np.float32), np.array([0.2, 0.1, 0.5], dtype=np.float32),
                        np.array([2.0, 1.0, -1.0], dtype=np.float32), 0.5, depth=30, about={"note": "test"})
    matrix = np.random.default_rng(0).random((7, len(FEATURES)), dtype=np.float32)
    picked = matrix[:, [FEATURES.index(n) for n in names]]
    expected = ((picked - [0.5, 0.1, 0.5]) / [0.2, 0.1, 0.5]) @ [2.0, 1.0, -1.0] + 0.5
    assert stage.score(matrix) == pytest.approx(expected, rel=1e-5)
    path = tmp_path / "stage.json"
    path.write_text(stage.to_json(), encoding="utf-8")
    loaded = SecondStage.load(path)
    assert loaded.depth == 30 and loaded.names == names and loaded.about == {"note": "test"}
    assert loaded.score(matrix) == pytest.approx(stage.score(matrix))
    path.write_text(json.dumps({**json.loads(stage.to_json()), "names": ["dense", "made_up", "position"]}))
    with pytest.raises(ValueError, match="made_up"):
        SecondStage.load(path)


def test_the_shipped_weights_load_and_use_known_features():
    stage = SecondStage.load(WEIGHTS_FILE)
    assert set(stage.names) <= set(FEATURES) and len(stage.coef) == len(stage.names)
    assert 10 <= stage.depth <= 50 and np.all(np.isfinite(stage.coef)) and np.all(stage.scale > 0)
    assert set(GROUPS) >= {"dense", "lexical", "faq", "law_prior", "article"}


@pytest.mark.model
def test_the_engine_with_a_second_stage_only_reorders_the_fused_top(engine):
    corpus = {a.id: a for a in load_corpus([LAWS])}
    question = "借钱给朋友没写借条他不还"
    depth = 30
    signals = engine.signals(question)
    # A stage that prefers the longest article makes the order checkable from the articles alone.
    longest = SecondStage(("log_length",), np.zeros(1, np.float32), np.ones(1, np.float32),
                          np.ones(1, np.float32), 0.0, depth)
    kept = engine.second_stage
    try:
        engine.second_stage = None
        fused_top = {engine.articles[i].id for i, _, _ in engine.ranking(signals, depth)}
        engine.second_stage = longest
        hits = engine.search(question, top_k=10)
    finally:
        engine.second_stage = kept
    assert len(hits) == 10 and {h.id for h in hits} <= fused_top
    lengths = [len(h.text) for h in hits]
    assert lengths == sorted(lengths, reverse=True)
    assert lengths[0] == max(len(corpus[i].text) for i in fused_top)
    for hit in hits:  # verbatim corpus articles, scores still best first on the fusion's scale
        article = corpus[hit.id]
        assert hit.text == article.text and hit.citation == f"《{article.law}》{article.article_cn}"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.model
def test_the_product_engine_serves_the_shipped_second_stage_and_returns_corpus_articles(engine):
    stage = engine.second_stage  # on by default (KNOWLEDGE_RERANK)
    assert stage is not None and stage.names == SecondStage.load(WEIGHTS_FILE).names
    hits = engine.search("离婚后孩子的抚养权归谁", top_k=stage.depth + 5)
    filtered = engine.search("工资", top_k=5, law="劳动合同法")
    assert len(hits) == stage.depth + 5 and len({h.id for h in hits}) == len(hits)
    assert all(engine.hit(h.id) is not None and engine.hit(h.id).text == h.text for h in hits)
    assert filtered and all(h.law_short == "劳动合同法" for h in filtered)
    assert engine.weights == Weights()


def test_knowledge_rerank_turns_the_second_stage_off(monkeypatch):
    from knowledge.config import Settings

    assert Settings().second_stage
    monkeypatch.setenv("KNOWLEDGE_RERANK", "0")
    assert not Settings().second_stage
