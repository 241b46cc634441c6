"""An index written while it is served: files replaced (never rewritten in place), the manifest naming the
model that made the vectors, a quick build on the base model, nothing half-written ever loaded, and another
corpus's index served until the configured corpus has one."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import knowledge.engine
import knowledge.finetune
import knowledge.index
from knowledge.config import REPO_ROOT, Settings
from knowledge.engine import open_engine
from knowledge.index import LEXICAL_DIR, MANIFEST, IndexOutOfDate, build_from_settings, read_manifest
from knowledge.serving import LiveEngine
from knowledge.setup import prepare
from tests.knowledge.conftest import write_small_corpus

pytestmark = pytest.mark.model
QUESTIONS = ["公司不签劳动合同", "劳动合同解除后经济补偿怎么算", "用人单位规章制度"]
EDIT = {"劳动合同法-4": {"text": "用人单位应当依法建立和完善劳动规章制度，另有考勤打卡规定。"}}


def index_files(index_dir) -> dict[str, int]:
    """Relative path → inode of every file of an index folder."""
    return {p.relative_to(index_dir).as_posix(): p.stat().st_ino for p in sorted(index_dir.rglob("*")) if p.is_file()}


def test_a_rebuild_replaces_the_files_so_an_engine_serving_them_keeps_what_it_mapped(small_settings):
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)
    serving = open_engine(small_settings, auto_build=False)
    mapped = serving._lexical._data
    assert isinstance(mapped, np.memmap)
    mapped_before = np.array(mapped)
    answers_before = [[(h.id, h.score) for h in serving.search(q, 3)] for q in QUESTIONS]
    inodes_before = index_files(small_settings.index_dir)

    write_small_corpus(small_settings.laws_dir, count=14, changes=EDIT)  # two new articles, one edited
    report = build_from_settings(small_settings, progress=False)
    assert (report.articles, report.embedded) == (14, 3)

    inodes_after = index_files(small_settings.index_dir)
    assert set(inodes_after) == set(inodes_before)  # no temporary file left behind
    # np.save / write_text would truncate and rewrite each file in its old inode, under the mapping.
    rewritten = ["articles.npy", "tokens.json", MANIFEST, f"{LEXICAL_DIR}/data.csc.index.npy",
                 f"{LEXICAL_DIR}/indices.csc.index.npy", f"{LEXICAL_DIR}/vocab.index.json"]
    assert all(inodes_after[name] != inodes_before[name] for name in rewritten), (inodes_before, inodes_after)
    assert np.array_equal(np.asarray(mapped), mapped_before)  # the old arrays, intact under the old engine
    assert [[(h.id, h.score) for h in serving.search(q, 3)] for q in QUESTIONS] == answers_before
    fresh = open_engine(small_settings, auto_build=False)
    assert "考勤打卡" in fresh.hit("劳动合同法-4").text and len(fresh.articles) == 14
    assert "劳动合同法-4" in {h.id for h in fresh.search("考勤打卡", 3)}


def test_the_index_names_its_model_and_is_served_with_it_until_the_configured_one_exists(small_settings, tmp_path):
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)  # on the base model
    manifest = read_manifest(small_settings.index_dir)
    assert manifest["model"] == {"dir": "var/models/multilingual-e5-small", "precision": "int8"}
    assert not manifest["model"]["dir"].startswith("/")  # portable: relative to the repository root

    # The settings name a fine-tuned model that is not trained yet: the index is served with its own model.
    waiting = dataclasses.replace(small_settings, model_dir=tmp_path / "legal-e5-small" / "not-trained-yet")
    engine = open_engine(waiting, auto_build=False)
    assert engine.encoder.model_dir == REPO_ROOT / "var" / "models" / "multilingual-e5-small"
    assert engine.encoder.fingerprint == manifest["encoder_fingerprint"]
    assert engine.search("公司不签劳动合同", 1)

    # Never an index stale for the corpus: an article repealed since the build is never quoted from it.
    write_small_corpus(small_settings.laws_dir, changes={"劳动合同法-10": {"status": "已废止"}})
    with pytest.raises(IndexOutOfDate):
        open_engine(waiting, auto_build=False)
    build_from_settings(small_settings, progress=False)
    hits = open_engine(waiting, auto_build=False).search("建立劳动关系应当订立书面劳动合同", 12)
    assert "劳动合同法-10" not in {h.id for h in hits}

    # Never vectors of another encoder: the named model's export no longer makes the index's vectors.
    manifest = read_manifest(small_settings.index_dir)
    (small_settings.index_dir / MANIFEST).write_text(
        json.dumps({**manifest, "encoder_fingerprint": "another-export"}), encoding="utf-8")
    with pytest.raises(IndexOutOfDate):
        open_engine(waiting, auto_build=False)


def test_an_interrupted_build_leaves_an_index_that_is_refused_not_a_mix(small_settings, monkeypatch):
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)
    serving = open_engine(small_settings, auto_build=False)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("the build was stopped after writing the vectors, before the manifest")

    write_small_corpus(small_settings.laws_dir, changes=EDIT)
    monkeypatch.setattr(knowledge.index, "_write_lexical", crash)
    with pytest.raises(KeyboardInterrupt):
        build_from_settings(small_settings, progress=False)
    monkeypatch.undo()
    write_small_corpus(small_settings.laws_dir)  # back to the content the manifest describes
    with pytest.raises(IndexOutOfDate, match="do not match the manifest"):
        open_engine(small_settings, auto_build=False)  # new vectors, old manifest: refused
    assert serving.search("公司不签劳动合同", 1)  # the engine loaded before keeps answering
    build_from_settings(small_settings, progress=False)  # the next build repairs it
    assert open_engine(small_settings, auto_build=False).search("公司不签劳动合同", 1)


def test_a_build_landing_while_an_index_loads_makes_the_load_fail_instead_of_mixing_builds(
        small_settings, monkeypatch):
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)
    load_lexical = knowledge.engine.load_lexical

    def build_meanwhile(*args):
        lexical = load_lexical(*args)  # the old BM25 arrays mapped; the vectors were read before
        write_small_corpus(small_settings.laws_dir, changes=EDIT)
        build_from_settings(small_settings, progress=False)
        write_small_corpus(small_settings.laws_dir)
        return lexical

    monkeypatch.setattr(knowledge.engine, "load_lexical", build_meanwhile)
    with pytest.raises(IndexOutOfDate, match="rewritten while it loaded"):
        open_engine(small_settings, auto_build=False)


def test_a_quick_build_indexes_with_the_base_model_while_fine_tuning_is_pending(small_settings, tmp_path,
                                                                               monkeypatch):
    write_small_corpus(small_settings.laws_dir)
    monkeypatch.setattr(knowledge.finetune, "TUNED_MODELS_DIR", tmp_path / "tuned")  # nothing trained there
    monkeypatch.delenv("KNOWLEDGE_MODEL_DIR", raising=False)
    monkeypatch.setenv("KNOWLEDGE_FINETUNE", "1")  # a site that fine-tunes (off by default)
    started = []
    monkeypatch.setattr(knowledge.setup, "in_child", lambda step, *paths: started.append(step))
    configured = dataclasses.replace(small_settings, model_dir=knowledge.finetune.tuned_model_dir(
        small_settings.base_model_dir))

    report = prepare(configured, progress=False, quick=True)
    assert report["pending"] == "fine-tuning" and report["model"] == "var/models/multilingual-e5-small"
    assert started == []  # no fine-tuning, no export: the base model is converted and exported already
    assert report["index"]["embedded"] == 12
    assert open_engine(configured, auto_build=False).encoder.model_dir == small_settings.base_model_dir

    again = prepare(configured, progress=False, quick=True)  # a second `make run`: nothing to do
    assert again["index"]["embedded"] == 0 and again["pending"] == "fine-tuning" and started == []


def knowledge_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "knowledge", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=600)


def test_a_second_quick_build_loads_no_model_and_the_status_says_the_index_is_final(small_settings):
    """Through the command line as `make run` calls it, with the configured model (the base model by default) ready."""
    write_small_corpus(small_settings.laws_dir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KNOWLEDGE_INDEX_DIR": str(small_settings.index_dir),
           "KNOWLEDGE_LAWS_DIR": str(small_settings.laws_dir), "KNOWLEDGE_LOCAL_DIR": str(small_settings.local_dir),
           "KNOWLEDGE_FAQ_FILE": str(small_settings.faq_file)}
    env.pop("KNOWLEDGE_MODEL_DIR", None)
    configured = Settings().model_dir
    if not (configured / "onnx").exists():
        pytest.fail(f"the configured model {configured} is not built: run `make build-knowledge` first")

    assert knowledge_cli("status", env=env).returncode == 1  # no index yet
    first = knowledge_cli("build", "--quick", env=env)
    assert first.returncode == 0, first.stderr
    assert "pending" not in json.loads(first.stdout)  # the configured model is ready: it is used at once
    second = knowledge_cli("build", "--quick", env=env)
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["index"]["embedded"] == 0 and "loading the encoder" not in second.stderr
    assert "step 3/5 fine-tuning" in second.stderr and "exporting" not in second.stderr
    status = knowledge_cli("status", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    facts = json.loads(status.stdout)
    assert facts["final"] and facts["index_model"] == facts["configured_model"] == report["model"]
    assert facts["articles"] == 12


def test_the_interim_corpus_is_served_until_the_configured_corpus_has_an_index_then_swapped(
        small_settings, monkeypatch, caplog):
    """KNOWLEDGE_CORPUS=national before its first build, KNOWLEDGE_INTERIM_CORPUS=county: the county index answers."""
    write_small_corpus(small_settings.laws_dir)
    monkeypatch.setenv("KNOWLEDGE_CORPUS", "national")
    monkeypatch.setenv("KNOWLEDGE_INTERIM_CORPUS", "county")
    # The small corpus stands for the national laws; local rules and FAQ are shared by both corpora.
    monkeypatch.setenv("KNOWLEDGE_LAWS_DIR", str(small_settings.laws_dir))
    monkeypatch.setenv("KNOWLEDGE_INDEX_DIR", str(small_settings.index_dir))
    for name in ("MODEL_DIR", "LOCAL_DIR", "FAQ_FILE"):
        monkeypatch.delenv(f"KNOWLEDGE_{name}", raising=False)
    county = Settings.of_corpus("county")
    if read_manifest(county.index_dir) is None:
        pytest.fail(f"no county index in {county.index_dir}: run `make build-knowledge` first")

    def never_build():
        raise AssertionError("a server must not build the configured index itself")

    live = LiveEngine(never_build)
    interim = live.get()
    assert "cannot be served yet" in caplog.text
    assert len(interim.articles) > 1000 and interim.hit("民法典-1179") is not None  # the county's laws
    assert live.refresh() is False  # still no index of the configured corpus

    build_from_settings(Settings(), progress=False)  # its build lands
    assert live.refresh() is True
    served = live.get()
    assert served.hit("劳动合同法-1") is not None and served.hit("民法典-1179") is None
    assert len(served.articles) < 100
    assert live.refresh() is False  # nothing new since
