"""The build's encoder runtime: concurrent streams give the vectors of one plain run, in order, with progress."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from knowledge.corpus import load_corpus, passage_text
from knowledge.encoders import OnnxEncoder, Runtime, build_runtime
from knowledge.index import build_from_settings
from tests.knowledge.conftest import LAWS, write_small_corpus

pytestmark = pytest.mark.model


def test_streams_embed_every_passage_in_order_as_one_plain_run_does(base_model_dir):
    articles = load_corpus([LAWS])[:60]
    texts = [passage_text(a) for a in articles]
    # Small batches: many of them in flight at once, finishing out of order. (The same batches in both runs:
    # int8 activations are quantised per batch, so another batching moves vectors by ~1e-3 in cosine.)
    small = Runtime(threads=1, batch_tokens=512, max_batch=4)
    plain = OnnxEncoder(base_model_dir, runtime=small).encode_passages(texts)
    streams = OnnxEncoder(base_model_dir, runtime=replace(small, streams=2))
    got = streams.encode_passages(texts)
    assert got.shape == plain.shape == (60, streams.dimension)
    assert float(np.min(np.sum(got * plain, axis=1))) > 0.99999
    # Each vector is its own passage's: a shuffle would pair it with a different article.
    assert np.all(np.argmax(got @ plain.T, axis=1) == np.arange(60))


def test_the_build_runtime_uses_every_core_it_is_given_as_single_threaded_streams():
    assert build_runtime(2) == Runtime(threads=1, streams=2)
    assert build_runtime(1) == Runtime(threads=1, streams=1)


def test_a_build_shows_the_embedding_progress_with_rate_and_eta(small_settings, capsys):
    write_small_corpus(small_settings.laws_dir)
    report = build_from_settings(small_settings, progress=True)
    err = capsys.readouterr().err
    assert report.embedded == 12
    assert "embedding 12 new or changed articles" in err
    lines = err.replace("\r", "\n").splitlines()
    bar = next(line for line in lines if line.startswith("embedding:") and "12/12" in line)
    assert "texts/s" in bar and "<" in bar, bar  # [elapsed<remaining, rate]
