"""Dense retrieval: article embeddings in a nearest-neighbour index chosen by ``KNOWLEDGE_DENSE_INDEX``.

Embeddings are L2-normalised, so inner product = cosine. Kinds (measured by ``benchmarks/dense_index.py``,
table and choice in docs/benchmarks.md):

- ``flat``: exact; one matrix-vector product over all articles (numpy float32);
- ``fp16``: exact search over vectors stored as float16 (faiss ``IndexScalarQuantizer``): half the memory
  of ``flat`` and faster (less to read per query); cosines differ from float32 by < 0.001;
- ``hnsw``: faiss ``IndexHNSWFlat`` (a graph over the float32 vectors, no training);
- ``ivf``: faiss ``IndexIVFFlat`` (the vectors in ``nlist`` ≈ 4·sqrt(N) k-means cells, ``nprobe`` read per question).

``flat`` and ``fp16`` are made from the vectors when the engine loads (a copy or a conversion, a second at
10^6). ``hnsw`` and ``ivf`` take minutes to build at the national size, so they are built by ``python -m
knowledge build`` (:func:`build_faiss`, with :func:`build_params`) and written into the index folder
(:func:`write_faiss`); the search process maps that file (:func:`read_faiss`) instead of building it.

Whatever the kind, the cosine of any article can be read back (:meth:`DenseIndex.scores`), so the
fusion scores lexical and FAQ candidates exactly and filtered searches stay exact. The faiss kinds hold
the only copy of the vectors (no second float32 matrix next to the index).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

KINDS = ("flat", "fp16", "hnsw", "ivf")
PERSISTED = ("hnsw", "ivf")  # built into the index folder by `python -m knowledge build`, never at load

# Build parameters (recorded in the index manifest: a change rebuilds the structure, not the embeddings).
HNSW_M = 32  # graph neighbours per node
HNSW_EF_CONSTRUCTION = 40  # faiss's default; 80 doubled the build time for no measurable recall at top 200
IVF_CELLS_PER_SQRT_N = 4  # nlist ≈ 4·sqrt(N)
IVF_TRAINING_POINTS_PER_CELL = 64  # k-means on a sample: at 10^6 training on every vector takes many minutes

# Search depth, read per question (not stored in the file: changing it needs no rebuild). HNSW's efSearch
# is the length of its candidate list: below the engine's 200 candidates it still returns 200, but worse ones.
SEARCH_DEPTH = {"hnsw": 400, "ivf": 128}  # efSearch, nprobe: recall@200 0.985 / 0.977 at 57k (docs/benchmarks.md)


def build_params(kind: str, size: int) -> dict:
    """The parameters a persisted index of ``size`` vectors is built with (empty for the exact kinds)."""
    if kind == "hnsw":
        return {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
    if kind == "ivf":
        nlist = max(1, min(size // 39, int(IVF_CELLS_PER_SQRT_N * math.sqrt(size))))
        return {"nlist": nlist, "training_points": min(size, nlist * IVF_TRAINING_POINTS_PER_CELL)}
    return {}


class DenseIndex:
    """Nearest articles by cosine; ``depth`` (efSearch or nprobe) overrides :data:`SEARCH_DEPTH`."""

    def __init__(self, vectors: np.ndarray, kind: str = "flat", threads: int = 1, depth: int | None = None):
        if kind not in KINDS:
            raise ValueError(f"unknown dense index kind {kind!r}; choose one of {', '.join(KINDS)}")
        self.kind = kind
        self._size = len(vectors)
        self._faiss = build_faiss(vectors, kind, threads) if kind != "flat" and len(vectors) else None
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32) if self._faiss is None else None
        self._params = _search_params(kind, depth)

    @classmethod
    def from_faiss(cls, index, kind: str, depth: int | None = None, threads: int = 1) -> DenseIndex:
        """Wrap a built or loaded faiss index of this kind (e.g. :func:`read_faiss`), searched with ``threads``."""
        import faiss

        faiss.omp_set_num_threads(max(1, threads))
        dense = cls(np.zeros((0, index.d), dtype=np.float32), kind)
        dense._size, dense._faiss, dense._vectors = index.ntotal, index, None
        dense._params = _search_params(kind, depth)
        return dense

    def with_depth(self, depth: int) -> DenseIndex:
        """The same index searched with another efSearch / nprobe (nothing is copied)."""
        if self._faiss is None or self.kind not in PERSISTED:
            raise ValueError(f"a {self.kind} index has no search depth")
        return DenseIndex.from_faiss(self._faiss, self.kind, depth)

    def __len__(self) -> int:
        return self._size

    def top(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosines of the (approximately, unless flat or fp16) n nearest articles, best first."""
        n = min(n, self._size)
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._faiss is None:
            return top_n(self._vectors @ query, n)
        query = query.reshape(1, -1).astype(np.float32)
        if self._params is None:
            scores, ids = self._faiss.search(query, n)
        else:
            scores, ids = self._faiss.search(query, n, params=self._params)
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


def build_faiss(vectors: np.ndarray, kind: str, threads: int, params: dict | None = None):
    """A faiss index of ``kind`` over the vectors (``params``: :func:`build_params` unless given)."""
    import faiss

    faiss.omp_set_num_threads(max(1, threads))
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    params = params or build_params(kind, len(vectors))
    if kind == "fp16":
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["efConstruction"]
    elif kind == "ivf":
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, params["nlist"], faiss.METRIC_INNER_PRODUCT)
        # An evenly spread, deterministic sample: the same vectors give the same cells on every build.
        sample = np.linspace(0, len(vectors) - 1, params["training_points"]).astype(np.int64)
        index.cp.max_points_per_centroid = IVF_TRAINING_POINTS_PER_CELL
        index.train(vectors[sample])
        index.make_direct_map()  # so scores() can read any article's vector back
    else:
        raise ValueError(f"no faiss index for kind {kind!r}")
    index.add(vectors)
    return index


def write_faiss(index, path: Path) -> None:
    """Write the index next to ``path`` and move it into place: a process mapping the old file keeps it."""
    import faiss

    partial = Path(path).with_name(Path(path).name + ".partial")
    faiss.write_index(index, str(partial))
    os.replace(partial, path)


def read_faiss(path: Path):
    """A persisted faiss index, memory-mapped: its pages are read on demand and shared by processes.

    faiss 1.15 maps HNSW graphs, flat storage and IVF lists zero-copy with ``IO_FLAG_MMAP_IFC`` (measured:
    the process's anonymous memory stays flat; ``IO_FLAG_MMAP`` alone maps only IVF lists).
    """
    import faiss

    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)


def _search_params(kind: str, depth: int | None):
    if kind not in PERSISTED:
        return None
    import faiss

    depth = depth or SEARCH_DEPTH[kind]
    return faiss.SearchParametersHNSW(efSearch=depth) if kind == "hnsw" else faiss.SearchParametersIVF(nprobe=depth)
