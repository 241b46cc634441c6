"""Dense retrieval: article embeddings in a nearest-neighbour index chosen by ``KNOWLEDGE_DENSE_INDEX``.

Embeddings are L2-normalised, so inner product = cosine. Kinds (measured at the national corpus size
by ``benchmarks/dense_index.py``, table in docs/benchmarks.md):

- ``flat``: exact; one matrix-vector product over all articles (numpy float32);
- ``fp16``: exact search over vectors stored as float16 (faiss ``IndexScalarQuantizer``): half the memory
  of ``flat`` and faster (less to read per query); cosines differ from float32 by < 0.001;
- ``hnsw``: faiss ``IndexHNSWFlat`` (no training, graph adds ~0.5x memory, sub-millisecond at 10^6);
- ``ivf``: faiss ``IndexIVFFlat`` trained on the vectors (nlist ≈ 4·sqrt(N), nprobe 32).

Whatever the kind, the cosine of any article can be read back (:meth:`DenseIndex.scores`), so the
fusion scores lexical and FAQ candidates exactly and filtered searches stay exact. The faiss kinds hold
the only copy of the vectors (no second float32 matrix next to the index).
"""

from __future__ import annotations

import math

import numpy as np

KINDS = ("flat", "fp16", "hnsw", "ivf")


class DenseIndex:
    def __init__(self, vectors: np.ndarray, kind: str = "flat", threads: int = 1):
        if kind not in KINDS:
            raise ValueError(f"unknown dense index kind {kind!r}; choose one of {', '.join(KINDS)}")
        self.kind = kind
        self._size = len(vectors)
        self._faiss = _faiss_index(vectors, kind, threads) if kind != "flat" and len(vectors) else None
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32) if self._faiss is None else None

    def __len__(self) -> int:
        return self._size

    def top(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosines of the (approximately, unless flat or fp16) n nearest articles, best first."""
        n = min(n, self._size)
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._faiss is None:
            return top_n(self._vectors @ query, n)
        scores, ids = self._faiss.search(query.reshape(1, -1).astype(np.float32), n)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def scores(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Cosines of the given articles (exact for flat, hnsw and ivf; float16-rounded vectors for fp16)."""
        if self._faiss is None:
            return self._vectors[ids] @ query
        if not len(ids):
            return np.zeros(0, dtype=np.float32)
        return self._faiss.reconstruct_batch(np.asarray(ids, dtype=np.int64)) @ query


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
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if kind == "fp16":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        nlist = max(1, min(len(vectors) // 39, int(4 * math.sqrt(len(vectors)))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(nlist, 32)
        index.make_direct_map()  # so scores() can read any article's vector back
    index.add(vectors)
    return index
