"""Fine-tuning (off by default, ``KNOWLEDGE_FINETUNE=1``): where the model lives — one folder per training key,
and the key ignores the corpus — and a short real run of the training code on a small corpus."""

from __future__ import annotations

import json

import pytest

import knowledge.finetune
from knowledge.config import TUNED_MODELS_DIR, Settings
from knowledge.content import searchable
from knowledge.finetune import TUNING_QUESTIONS, TrainingConfig, finetune, is_trained, training_key, tuned_model_dir
from tests.knowledge.conftest import write_small_corpus


def test_fine_tuning_is_off_unless_asked_for(monkeypatch):
    monkeypatch.delenv("KNOWLEDGE_FINETUNE", raising=False)
    monkeypatch.delenv("KNOWLEDGE_MODEL_DIR", raising=False)
    assert Settings().model_dir == Settings().base_model_dir
    monkeypatch.setenv("KNOWLEDGE_FINETUNE", "1")
    assert Settings().model_dir.parent == TUNED_MODELS_DIR


def test_an_article_status_or_text_change_keeps_the_model(tmp_path, monkeypatch):
    monkeypatch.setenv("KNOWLEDGE_FINETUNE", "1")
    default = Settings().model_dir
    assert default.parent == TUNED_MODELS_DIR
    laws = write_small_corpus(tmp_path / "laws", changes={
        "劳动合同法-7": {"status": "已废止"}, "劳动合同法-3": {"text": "改写过的条文。"}})
    monkeypatch.setenv("KNOWLEDGE_LAWS_DIR", str(laws))
    monkeypatch.setenv("KNOWLEDGE_INDEX_DIR", str(tmp_path / "index"))
    assert Settings().model_dir == default  # same model folder: nothing is retrained or overwritten


def test_other_tuning_data_or_settings_get_their_own_folder(tmp_path):
    base = Settings().base_model_dir
    questions = tmp_path / "tune.jsonl"
    questions.write_text(TUNING_QUESTIONS.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    folders = {
        tuned_model_dir(base),
        tuned_model_dir(base, questions),
        tuned_model_dir(base, config=TrainingConfig(epochs=2)),
    }
    assert len(folders) == 3
    assert tuned_model_dir(base).name == training_key(base)


@pytest.mark.model
def test_a_short_run_trains_only_the_top_layers_and_saves_a_complete_model(tmp_path, monkeypatch, small_settings):
    """The training code end to end (mining, batches, steps, save) on 40 articles and the real tuning questions
    that cite them; the full run is `KNOWLEDGE_FINETUNE=1 python -m knowledge build`."""
    import torch
    from sentence_transformers import SentenceTransformer

    monkeypatch.setattr(knowledge.finetune, "TUNED_MODELS_DIR", tmp_path / "tuned")
    write_small_corpus(small_settings.laws_dir, count=40)
    articles = searchable(small_settings.corpus_dirs, small_settings.faq_file).articles
    ids = {a.id for a in articles}
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(line + "\n" for line in TUNING_QUESTIONS.read_text(encoding="utf-8").splitlines()
                             if line.strip() and set(json.loads(line)["gold"]) & ids), encoding="utf-8")
    config = TrainingConfig(max_steps=3, batch_size=4, trained_layers=1, learning_rate=1e-4)
    out = finetune(small_settings.base_model_dir, articles, small_settings.encoder(build=True), pairs, config,
                   progress=False)
    assert out == tuned_model_dir(small_settings.base_model_dir, pairs, config) and is_trained(out)
    assert json.loads((out / "training.json").read_text(encoding="utf-8"))["steps"] == 3

    base = SentenceTransformer(str(small_settings.base_model_dir), device="cpu")[0].auto_model.state_dict()
    tuned = SentenceTransformer(str(out), device="cpu")[0].auto_model.state_dict()
    top = f"encoder.layer.{len([k for k in base if k.endswith('attention.self.query.weight')]) - 1}."
    changed = {k for k in base if not torch.equal(base[k], tuned[k])}
    assert changed and all(k.startswith(top) for k in changed), sorted(changed)[:5]
