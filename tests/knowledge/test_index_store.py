"""The index's compact stores: BM25 arrays memory-mapped from the index folder, the dense index kinds,
and build steps in child processes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge.content import searchable
from knowledge.dense import KINDS, DenseIndex
from knowledge.engine import open_engine
from knowledge.index import LEXICAL_DIR, build_from_settings, read_manifest
from knowledge.lexical import LexicalIndex, tokenize
from knowledge.setup import in_child
from tests.knowledge.conftest import write_small_corpus

pytestmark = pytest.mark.model
QUESTIONS = ["邻居家的树倒了砸坏了我的车", "劳动合同解除后经济补偿怎么算", "试用期 工资 合同", "公司不签劳动合同"]


def test_the_engine_reads_bm25_from_memory_mapped_arrays_that_score_as_the_tokens_do(small_settings):
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)
    lexical = open_engine(small_settings, auto_build=False)._lexical
    assert isinstance(lexical._data, np.memmap)  # on disk until a question reads it, not a copy in memory

    tokens = json.loads((small_settings.index_dir / "tokens.json").read_text(encoding="utf-8"))
    articles = searchable(small_settings.corpus_dirs, small_settings.faq_file).articles
    fresh = LexicalIndex([tokens[a.content_hash] for a in articles])
    for question in QUESTIONS:
        assert np.allclose(lexical.scores(tokenize(question)), fresh.scores(tokenize(question)), atol=1e-5)
    assert lexical.scores(["不在词表里的词"]).max() == 0


def test_changed_articles_rewrite_the_bm25_arrays_and_a_damaged_store_falls_back_to_tokens(small_settings):
    laws = write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)
    before = read_manifest(small_settings.index_dir)["lexical"]
    edited = "用人单位应当依法建立和完善劳动规章制度，另有考勤打卡规定。"
    write_small_corpus(laws, changes={"劳动合同法-4": {"text": edited}})
    build_from_settings(small_settings, progress=False)
    after = read_manifest(small_settings.index_dir)["lexical"]
    assert after["key"] != before["key"]
    engine = open_engine(small_settings, auto_build=False)
    assert engine.search("考勤打卡", 1)[0].id == "劳动合同法-4"
    del engine  # its arrays are mapped from the files rewritten below

    # A store that does not match its manifest (an interrupted write) is not trusted: tokens are indexed instead.
    data = small_settings.index_dir / LEXICAL_DIR / "data.csc.index.npy"
    np.save(data, np.zeros_like(np.load(data)))
    engine = open_engine(small_settings, auto_build=False)
    assert not isinstance(engine._lexical._data, np.memmap)
    assert engine.search("考勤打卡", 1)[0].id == "劳动合同法-4"


def test_a_no_op_rebuild_rewrites_nothing_and_a_damaged_file_is_rewritten(small_settings):
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)
    files = sorted(p for p in small_settings.index_dir.rglob("*") if p.is_file())
    written = {p: p.stat().st_mtime_ns for p in files}
    report = build_from_settings(small_settings, progress=False)
    assert (report.embedded, report.reused) == (0, 12)
    assert {p: p.stat().st_mtime_ns for p in files} == written

    (small_settings.index_dir / "faq.npy").write_bytes(b"damaged")
    report = build_from_settings(small_settings, progress=False)
    assert report.faq_entries == 4
    assert open_engine(small_settings, auto_build=False).search("试用期", 1)


@pytest.mark.parametrize("kind", KINDS)
def test_every_dense_index_kind_finds_the_exact_neighbours_and_reads_back_cosines(engine, kind):
    vectors = np.load(engine_index_dir() / "articles.npy")
    queries = engine.encoder.encode_queries(QUESTIONS)
    exact, index = DenseIndex(vectors, "flat"), DenseIndex(vectors, kind)
    overlap = []
    for query in queries:
        truth, _ = exact.top(query, 10)
        found, cosines = index.top(query, 10)
        overlap.append(len(set(truth) & set(found)) / 10)
        assert np.all(np.diff(cosines) <= 1e-6)  # best first
        assert np.allclose(index.scores(query, found), vectors[found] @ query, atol=1e-3)
    assert np.mean(overlap) >= (0.99 if kind in ("flat", "fp16") else 0.9)
    assert index.scores(queries[0], np.zeros(0, dtype=np.int64)).shape == (0,)


def test_unknown_dense_index_kind_is_refused():
    with pytest.raises(ValueError, match="unknown dense index kind"):
        DenseIndex(np.zeros((3, 4), dtype=np.float32), "annoy")


def test_a_failing_build_step_in_its_child_process_fails_the_build():
    with pytest.raises(RuntimeError, match="build step 'nonsense' failed"):
        in_child("nonsense")


def engine_index_dir():
    from knowledge.config import Settings

    return Settings().index_dir
