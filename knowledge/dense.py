"""Dense retrieval: a sentence-transformers model and a faiss inner-product index.

Embeddings are L2-normalised, so inner product = cosine. ``IndexFlatIP`` is exact and needs no training;
it is the right index up to ~10^5 articles (a query scans them in well under a millisecond per 10^4).
Beyond that, use ``IndexHNSWFlat`` (no training, ~2x memory, sub-millisecond at 10^6) or
``IndexIVFFlat`` trained on a sample (nlist ≈ 4·sqrt(N), nprobe 16–64), and filter with
``faiss.SearchParameters(sel=IDSelectorBatch(...))`` instead of scoring every article.
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

MAX_QUERY_TOKENS = 128


class Embedder:
    """Encodes questions and articles with any local sentence-transformers model, fully offline."""

    def __init__(self, model_dir: Path, threads: int = 1):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if not (Path(model_dir) / "modules.json").exists():
            raise FileNotFoundError(
                f"no sentence-transformers model in {model_dir}: run `python -m knowledge build` first"
            )
        torch.set_num_threads(max(1, threads))
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.dimension = self.model.get_embedding_dimension()
        # The model's own prompts (e5: "query: " / "passage: "; bge: an instruction for queries only).
        self.query_prompt = self.model.prompts.get("query", "")
        self.passage_prompt = self.model.prompts.get("passage", "") or self.model.prompts.get("document", "")

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.model.max_seq_length = MAX_QUERY_TOKENS
        return self._encode([self.query_prompt + t for t in texts], batch_size=32)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.model.max_seq_length = 512
        return self._encode([self.passage_prompt + t for t in texts], batch_size=16, progress=progress)

    def _encode(self, texts: list[str], batch_size: int, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def flat_index(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(vectors)
    return index


def all_scores(index: faiss.Index, query: np.ndarray) -> np.ndarray:
    """Cosine of the query with every stored vector, in storage order."""
    count = index.ntotal
    scores = np.zeros(count, dtype=np.float32)
    if count == 0:
        return scores
    values, ids = index.search(query.reshape(1, -1), count)
    scores[ids[0]] = values[0]
    return scores
