"""Dense retrieval: article embeddings in a nearest-neighbour index chosen by ``KNOWLEDGE_DENSE_INDEX``.

Embeddings are L2-normalised, so inner product = cosine. Kinds (measured at the national corpus size
by ``benchmarks/dense_index.py``, table in docs/benchmarks.md):

- ``flat``: exact; one matrix-vector product over all articles (numpy, no second copy of the vectors);
- ``hnsw``: faiss ``IndexHNSWFlat`` (no training, graph adds ~0.5x memory, sub-millisecond at 10^6);
- ``ivf``: faiss ``IndexIVFFlat`` trained on the vectors (nlist ≈ 4·sqrt(N), nprobe 32).

Whatever the kind, the exact cosine of any article can be read back (:meth:`DenseIndex.scores`), so
the fusion scores lexical and FAQ candidates exactly and filtered searches stay exact.
"""

from __future__ import annotations

import math

import numpy as np

KINDS = ("flat", "hnsw", "ivf")


class DenseIndex:
    def __init__(self, vectors: np.ndarray, kind: str = "flat", threads: int = 1):
        if kind not in KINDS:
            raise ValueError(f"unknown dense index kind {kind!r}; choose one of {', '.join(KINDS)}")
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.kind = kind
        self._faiss = _faiss_index(self.vectors, kind, threads) if kind != "flat" and len(vectors) else None

    def __len__(self) -> int:
        return len(self.vectors)

    def top(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosines of the (approximately, unless flat) n nearest articles, best first."""
        n = min(n, len(self.vectors))
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._faiss is None:
            return top_n(self.vectors @ query, n)
        scores, ids = self._faiss.search(query.reshape(1, -1).astype(np.float32), n)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def scores(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosines of the given articles."""
        return self.vectors[ids] @ query


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the n largest scores, largest first."""
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64), scores[:0]
    part = np.argpartition(-scores, n - 1)[:n]
    order = part[np.argsort(-scores[part], kind="stable")]
    return order.astype(np.int64), scores[order]


def _faiss_index(vectors: np.ndarray, kind: str, threads: int):
    import faiss

    faiss.omp_set_num_threads(max(1, threads))
    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        nlist = max(1, min(len(vectors) // 39, int(4 * math.sqrt(len(vectors)))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(nlist, 32)
    index.add(vectors)
    return index
