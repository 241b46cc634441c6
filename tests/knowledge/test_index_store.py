"""The index's compact stores: BM25 arrays memory-mapped from the index folder, the dense index kinds
(the approximate ones built once into the index folder and mapped by the search process), and build steps
in child processes."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge.config import Settings
from knowledge.content import searchable
from knowledge.dense import KINDS, PERSISTED, DenseIndex, build_faiss, build_params, read_faiss, write_faiss
from knowledge.engine import open_engine
from knowledge.index import LEXICAL_DIR, ann_path, build_from_settings, build_index, read_manifest
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
    # The rewritten BM25 arrays hold the edited text (ranking is the second stage's business, not this test's).
    scores = engine._lexical.scores(tokenize("考勤打卡"))
    assert engine.articles[int(np.argmax(scores))].id == "劳动合同法-4" and scores.max() > 0
    del engine  # its arrays are mapped from the files rewritten below

    # A store that does not match its manifest (an interrupted write) is not trusted: tokens are indexed instead.
    data = small_settings.index_dir / LEXICAL_DIR / "data.csc.index.npy"
    np.save(data, np.zeros_like(np.load(data)))
    engine = open_engine(small_settings, auto_build=False)
    assert not isinstance(engine._lexical._data, np.memmap)
    # The rewritten BM25 arrays hold the edited text (ranking is the second stage's business, not this test's).
    scores = engine._lexical.scores(tokenize("考勤打卡"))
    assert engine.articles[int(np.argmax(scores))].id == "劳动合同法-4" and scores.max() > 0


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


@pytest.mark.parametrize("kind", PERSISTED)
def test_a_persisted_approximate_index_of_the_product_vectors_searches_as_the_one_built_in_memory(
        engine, kind, tmp_path):
    vectors = np.load(engine_index_dir() / "articles.npy")
    queries = engine.encoder.encode_queries(QUESTIONS)
    built = build_faiss(vectors, kind, threads=2)
    write_faiss(built, tmp_path / "ann.faiss")
    loaded = DenseIndex.from_faiss(read_faiss(tmp_path / "ann.faiss"), kind)
    in_memory, exact = DenseIndex.from_faiss(built, kind), DenseIndex(vectors, "flat")
    assert str(tmp_path / "ann.faiss") in Path("/proc/self/maps").read_text()  # mapped, not read into memory
    for query in queries:
        ids, cosines = loaded.top(query, 200)
        assert np.array_equal(ids, in_memory.top(query, 200)[0])
        assert np.allclose(loaded.scores(query, ids[:20]), vectors[ids[:20]] @ query, atol=1e-5)
        assert len(set(ids[:10]) & set(exact.top(query, 10)[0])) >= 9
    # The depth (nprobe, efSearch) is a search-time setting, not part of the file: one cell or a one-wide
    # graph search yields fewer than the 200 candidates.
    assert len(loaded.with_depth(1).top(queries[0], 200)[0]) < 200


def test_switching_the_product_index_to_an_approximate_kind_builds_only_that_structure(engine, tmp_path):
    settings = dataclasses.replace(Settings(), index_dir=tmp_path / "index", dense_index="hnsw")
    shutil.copytree(engine_index_dir(), settings.index_dir)
    for stale in PERSISTED:
        ann_path(settings.index_dir, stale).unlink(missing_ok=True)
    content = searchable(settings.corpus_dirs, settings.faq_file)

    report = build_index(content, no_model, settings.encoder_fingerprint(), settings.index_dir, False, "hnsw", 2)
    assert report.embedded == 0 and report.ann_build_seconds is not None
    hnsw = open_engine(settings, auto_build=False)
    assert hnsw._dense.kind == "hnsw" and len(hnsw._dense) == len(engine.articles)
    flat = open_engine(dataclasses.replace(settings, dense_index="flat"), auto_build=False)
    for question in QUESTIONS:  # at 3k articles the graph finds every dense candidate the fusion ranks first
        assert [h.id for h in hnsw.search(question, 5)] == [h.id for h in flat.search(question, 5)]
    shallow = open_engine(dataclasses.replace(settings, dense_depth=1), auto_build=False)  # KNOWLEDGE_DENSE_DEPTH
    query = engine.encoder.encode_queries(QUESTIONS[:1])[0]
    assert len(set(shallow._dense.top(query, 200)[0]) & set(flat._dense.top(query, 200)[0])) < 200


def test_an_approximate_index_is_rebuilt_only_when_its_vectors_or_parameters_change(small_settings, monkeypatch):
    laws = write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)  # flat: no approximate index
    assert not list(small_settings.index_dir.glob("*.faiss"))

    hnsw = dataclasses.replace(small_settings, dense_index="hnsw")
    content = searchable(hnsw.corpus_dirs, hnsw.faq_file)
    report = build_index(content, no_model, hnsw.encoder_fingerprint(), hnsw.index_dir, False, "hnsw")
    assert (report.embedded, report.reused) == (0, 12) and report.ann_build_seconds is not None
    entry = read_manifest(hnsw.index_dir)["ann"]["hnsw"]
    assert entry["params"] == build_params("hnsw", 12)
    assert entry["vectors"] == read_manifest(hnsw.index_dir)["checksums"]["articles"]

    files = sorted(p for p in hnsw.index_dir.rglob("*") if p.is_file())
    written = {p: p.stat().st_mtime_ns for p in files}
    again = build_index(content, no_model, hnsw.encoder_fingerprint(), hnsw.index_dir, False, "hnsw")
    assert again.ann_build_seconds is None
    assert {p: p.stat().st_mtime_ns for p in files} == written

    # Another kind is built beside it; going back to hnsw finds its file current.
    ivf = build_from_settings(dataclasses.replace(hnsw, dense_index="ivf"), progress=False)
    assert ivf.ann_build_seconds is not None
    assert build_from_settings(hnsw, progress=False).ann_build_seconds is None
    assert set(read_manifest(hnsw.index_dir)["ann"]) == {"hnsw", "ivf"}

    # New parameters rebuild the structure, not the embeddings.
    monkeypatch.setattr("knowledge.dense.HNSW_M", 8)
    report = build_index(content, no_model, hnsw.encoder_fingerprint(), hnsw.index_dir, False, "hnsw")
    assert report.embedded == 0 and report.ann_build_seconds is not None
    assert read_manifest(hnsw.index_dir)["ann"]["hnsw"]["params"]["M"] == 8

    # Changed vectors rebuild the configured kind and drop the other kind's file, built from the old vectors.
    write_small_corpus(laws, changes={"劳动合同法-4": {"text": "用人单位应当依法建立考勤打卡制度。"}})
    report = build_from_settings(hnsw, progress=False)
    assert report.embedded == 1 and report.ann_build_seconds is not None
    assert set(read_manifest(hnsw.index_dir)["ann"]) == {"hnsw"}
    assert not ann_path(hnsw.index_dir, "ivf").exists()
    engine = open_engine(hnsw, auto_build=False)
    engine.second_stage = None  # the fusion alone: the edited article must be found through the rebuilt hnsw
    assert engine._dense.kind == "hnsw" and engine.search("考勤打卡", 1)[0].id == "劳动合同法-4"


def test_a_missing_or_stale_approximate_index_falls_back_to_exact_search_with_a_warning(
        small_settings, caplog, monkeypatch):
    write_small_corpus(small_settings.laws_dir)
    ivf = dataclasses.replace(small_settings, dense_index="ivf")
    build_from_settings(ivf, progress=False)
    assert open_engine(ivf, auto_build=False)._dense.kind == "ivf"
    path = ann_path(ivf.index_dir, "ivf")
    for damage in ("missing", "corrupt", "other parameters", "other vectors"):
        if damage == "missing":
            path.unlink()
        elif damage == "corrupt":
            path.write_bytes(path.read_bytes()[:-8] + b"damaged!")
        elif damage == "other parameters":
            monkeypatch.setattr("knowledge.dense.IVF_TRAINING_POINTS_PER_CELL", 1)
        else:  # the vectors were rebuilt with the flat kind configured: the ivf entry no longer matches them
            write_small_corpus(small_settings.laws_dir, changes={"劳动合同法-4": {"text": "考勤打卡制度。"}})
            build_from_settings(small_settings, progress=False)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="knowledge.index"):
            engine = open_engine(ivf, auto_build=False)
        assert engine._dense.kind == "flat", damage
        assert any("KNOWLEDGE_DENSE_INDEX=ivf" in r.getMessage() and "exactly" in r.getMessage()
                   for r in caplog.records), damage
        assert engine.search("试用期", 1)

        report = build_from_settings(ivf, progress=False)  # the build repairs it, embedding nothing
        assert report.ann_build_seconds is not None and report.embedded == 0, damage
        assert open_engine(ivf, auto_build=False)._dense.kind == "ivf", damage


def no_model():
    raise AssertionError("the encoder was loaded although no article changed")


def test_unknown_dense_index_kind_is_refused():
    with pytest.raises(ValueError, match="unknown dense index kind"):
        DenseIndex(np.zeros((3, 4), dtype=np.float32), "annoy")


def test_a_failing_build_step_in_its_child_process_fails_the_build():
    with pytest.raises(RuntimeError, match="build step 'nonsense' failed"):
        in_child("nonsense")


def engine_index_dir():
    return Settings().index_dir
