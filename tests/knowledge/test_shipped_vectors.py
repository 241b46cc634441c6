"""Vectors shipped with the corpus (knowledge.shipped_vectors): the int8 store itself, a first build that takes
them instead of embedding, the check that refuses them when the local encoder differs, and the repository's
own file, which must cover every article of both shipped corpora for the encoder a fresh clone exports."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from knowledge.config import Settings
from knowledge.content import searchable
from knowledge.engine import open_engine
from knowledge.index import build_from_settings, load_vectors, read_manifest
from knowledge.shipped_vectors import SHIPPED_DIR, agrees, dequantise, load, path_for, quantise, question_key, save
from tests.knowledge.conftest import write_small_corpus


def _unit(rows: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, 384)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_int8_vectors_keep_their_direction():
    vectors = _unit(200)
    codes, scales = quantise(vectors)
    assert codes.dtype == np.int8 and codes.nbytes == vectors.nbytes // 4
    back = dequantise(codes, scales)
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-5)  # normalised, as the index stores them
    assert (back * vectors).sum(axis=1).min() > 0.9999


def test_a_saved_file_loads_by_key(tmp_path):
    vectors = _unit(3)
    path = save("abc-def", {"h2": vectors[1], "h1": vectors[0]}, {question_key("工资"): vectors[2]}, tmp_path)
    assert path == path_for("abc-def", tmp_path)
    shipped = load("abc-def", tmp_path)
    assert sorted(shipped.passages) == ["h1", "h2"]
    assert float(shipped.passages["h2"] @ vectors[1]) > 0.9999
    assert float(shipped.questions[question_key("工资")] @ vectors[2]) > 0.9999
    assert load("another-encoder", tmp_path) is None


def test_agreement_is_the_lowest_cosine_over_a_sample_the_file_holds():
    vectors = _unit(40, seed=1)
    shipped = {f"h{i}": v for i, v in enumerate(vectors)}
    texts = {f"h{i}": f"text {i}" for i in range(50)}  # ten the file does not hold
    index = {f"text {i}": i for i in range(40)}
    same = agrees(shipped, texts, lambda batch: vectors[[index[t] for t in batch]])
    other = agrees(shipped, texts, lambda batch: _unit(len(batch), seed=2))
    assert same > 0.9999 and other < 0.5
    assert agrees(shipped, {"missing": "x"}, lambda batch: pytest.fail("nothing to check")) == 1.0


@pytest.fixture
def shipped_settings(small_settings, tmp_path):
    """The small corpus's settings, with shipped vectors written from a first, fully embedded build."""
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)
    manifest = read_manifest(small_settings.index_dir)
    articles = load_vectors(small_settings.index_dir, "articles", manifest)
    faq = load_vectors(small_settings.index_dir, "faq", manifest)
    questions = {e.id: e.question for e in searchable(small_settings.corpus_dirs, small_settings.faq_file).faq}
    save(manifest["encoder_fingerprint"],
         {e["hash"]: v for e, v in zip(manifest["articles"], articles)},
         {question_key(questions[i]): v for i, v in zip(manifest["faq"], faq)}, tmp_path / "vectors")
    return dataclasses.replace(small_settings, index_dir=tmp_path / "fresh", shipped_vectors=tmp_path / "vectors"), \
        articles


@pytest.mark.model
def test_a_first_build_takes_the_shipped_vectors_and_searches_as_the_embedded_index(shipped_settings, small_settings,
                                                                                     caplog):
    settings, embedded = shipped_settings
    report = build_from_settings(settings, progress=True)
    assert (report.articles, report.embedded, report.reused, report.faq_entries) == (12, 0, 12, 4)
    vectors = load_vectors(settings.index_dir, "articles", read_manifest(settings.index_dir))
    assert ((vectors * embedded).sum(axis=1) > 0.9999).all()
    fresh, original = open_engine(settings, auto_build=False), open_engine(small_settings, auto_build=False)
    for question in ("公司不签劳动合同怎么办", "试用期工资有什么规定"):
        assert [h.id for h in fresh.search(question, 5)] == [h.id for h in original.search(question, 5)]


@pytest.mark.model
def test_shipped_vectors_that_the_local_encoder_does_not_make_are_not_used(shipped_settings, caplog):
    settings, _ = shipped_settings
    shipped = load(settings.encoder_fingerprint(), settings.shipped_vectors)
    rotated = {k: np.roll(v, 7) for k, v in shipped.passages.items()}  # another encoder's vectors, same file name
    save(settings.encoder_fingerprint(), rotated, shipped.questions, settings.shipped_vectors)
    with caplog.at_level(logging.WARNING, logger="knowledge.index"):
        report = build_from_settings(settings, progress=False)
    assert report.embedded == 12
    assert "shipped vectors of" in caplog.text and "ignored" in caplog.text


@pytest.mark.model
def test_the_repository_ships_a_vector_for_every_article_of_both_corpora_for_the_base_encoder(base_model_dir):
    """What makes a fresh clone's first build (county and national) embed nothing."""
    fingerprint = Settings(model_dir=base_model_dir).encoder_fingerprint()
    assert path_for(fingerprint, SHIPPED_DIR).exists(), (
        f"no shipped vectors for the base encoder {fingerprint}: the export changed (run `python -m knowledge "
        "ship-vectors` on fresh county and national indexes)")
    shipped = load(fingerprint)
    for corpus in ("county", "national"):
        settings = Settings.of_corpus(corpus)
        content = searchable(settings.corpus_dirs, settings.faq_file)
        missing = [a.id for a in content.articles if a.content_hash not in shipped.passages]
        assert missing == [], f"{corpus}: {len(missing)} articles without a shipped vector, e.g. {missing[:5]}"
        unasked = [e.id for e in content.faq if question_key(e.question) not in shipped.questions]
        assert unasked == [], f"{corpus}: {len(unasked)} FAQ questions without a shipped vector"
