"""Where the fine-tuned model lives: one folder per training key, and the key ignores the corpus."""

from __future__ import annotations

from knowledge.config import TUNED_MODELS_DIR, Settings
from knowledge.finetune import TUNING_QUESTIONS, TrainingConfig, training_key, tuned_model_dir
from tests.knowledge.conftest import write_small_corpus


def test_an_article_status_or_text_change_keeps_the_model(tmp_path, monkeypatch):
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
