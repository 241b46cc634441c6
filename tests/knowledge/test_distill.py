"""The distilled encoder: which layers it keeps, what it learns from, where it lives, and that it learns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge.config import Settings
from knowledge.distill import (
    HELDOUT,
    STUDENTS_DIR,
    DistillConfig,
    distill,
    kept_layers,
    student_dir,
    training_questions,
)
from knowledge.evaluate import read_queries
from tests.knowledge.conftest import write_small_corpus


def test_the_student_starts_from_every_other_layer_or_the_lowest():
    assert kept_layers(12, DistillConfig(layers=6)) == [1, 3, 5, 7, 9, 11]
    assert kept_layers(12, DistillConfig(layers=4)) == [2, 5, 8, 11]
    assert kept_layers(12, DistillConfig(layers=6, pick="first")) == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError):
        kept_layers(12, DistillConfig(layers=13))


def test_no_held_out_question_is_learned_from():
    questions = set(training_questions())
    held = read_queries(HELDOUT)
    assert held and not questions & {q.question.strip() for q in held}
    # Every STARD question is also a FAQ question: the held-out ones are dropped from both files.
    assert len(questions) > 1000


def test_the_setting_names_a_student_folder_per_key(monkeypatch):
    teacher = Settings().model_dir
    monkeypatch.setenv("KNOWLEDGE_ENCODER_LAYERS", "6")
    six = Settings()
    assert six.teacher_dir == teacher and six.model_dir.parent == STUDENTS_DIR
    assert six.model_dir == student_dir(teacher, DistillConfig(layers=6))
    monkeypatch.setenv("KNOWLEDGE_ENCODER_LAYERS", "4")
    assert Settings().model_dir not in (six.model_dir, teacher)
    monkeypatch.setenv("KNOWLEDGE_ENCODER_LAYERS", "12")  # the model's own depth: the model itself
    assert Settings().model_dir == teacher
    assert student_dir(teacher, DistillConfig(pick="first")) != student_dir(teacher, DistillConfig())


def test_a_few_steps_bring_the_student_closer_to_the_teacher(tmp_path, base_model_dir):
    """Two layers of the base model, trained on a small corpus and ten questions, against the same two
    layers untrained: the trained student's vectors are nearer the teacher's on the texts it learned."""
    from knowledge.content import searchable
    from knowledge.corpus import passage_text
    from knowledge.encoders import OnnxEncoder, SentenceTransformerEncoder

    articles = searchable([write_small_corpus(tmp_path / "laws")], tmp_path / "none.jsonl").articles
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": f"q{i}", "question": q.question}, ensure_ascii=False) + "\n"
                                 for i, q in enumerate(read_queries(HELDOUT.with_name("stard_tune.jsonl"))[:10])),
                         encoding="utf-8")
    teacher = OnnxEncoder(base_model_dir, "int8", threads=2)
    passages = [passage_text(a) for a in articles]
    asked = training_questions((questions,))
    expected = np.concatenate([teacher.encode_passages(passages), teacher.encode_queries(asked)])
    closeness = {}
    for epochs in (0, 4):
        config = DistillConfig(layers=2, epochs=epochs, batch_size=4, learning_rate=3e-4, max_tokens=96)
        out = distill(base_model_dir, articles, teacher, config, question_files=(questions,),
                      out_dir=tmp_path / f"student-{epochs}", progress=False, threads=2)
        summary = json.loads((out / "distillation.json").read_text(encoding="utf-8"))
        assert summary["kept_layers"] == [5, 11] and summary["questions"] == len(asked) == 10
        student = SentenceTransformerEncoder(out, threads=2)
        assert student.model[0].auto_model.config.num_hidden_layers == 2
        got = np.concatenate([student.encode_passages(passages), student.encode_queries(asked)])
        closeness[epochs] = float(np.mean(np.sum(got * expected, axis=1)))
    assert closeness[4] > closeness[0] + 0.01, closeness


@pytest.mark.model
def test_a_quick_build_indexes_with_the_full_model_while_the_student_is_pending(small_settings, tmp_path,
                                                                              monkeypatch):
    import dataclasses

    import knowledge.distill
    import knowledge.setup
    from knowledge.engine import open_engine
    from knowledge.setup import prepare

    write_small_corpus(small_settings.laws_dir)
    monkeypatch.delenv("KNOWLEDGE_MODEL_DIR", raising=False)
    monkeypatch.delenv("KNOWLEDGE_FINETUNE", raising=False)
    monkeypatch.setattr(knowledge.distill, "STUDENTS_DIR", tmp_path / "distilled")  # no student there
    monkeypatch.setenv("KNOWLEDGE_ENCODER_LAYERS", "6")
    teacher = Settings().teacher_dir
    if not (teacher / "onnx").exists():
        pytest.fail(f"the fine-tuned model {teacher} is not built: run `make build-knowledge` first")
    started = []
    monkeypatch.setattr(knowledge.setup, "in_child", lambda step, *paths: started.append((step, *paths)))
    configured = dataclasses.replace(small_settings, model_dir=Settings().model_dir, teacher_dir=teacher)
    assert configured.model_dir.parent == tmp_path / "distilled"

    report = prepare(configured, progress=False, quick=True)
    assert report["pending"] == "distillation" and started == []
    assert open_engine(configured, auto_build=False).encoder.model_dir == teacher

    with pytest.raises(FileNotFoundError):  # the children were not run: no student to index with
        prepare(configured, progress=False)  # the full build distils, then exports the student, in children
    assert started == [("distill", teacher, configured.model_dir), ("export", configured.model_dir)]
