"""How fast the index build embeds passages, lever by lever, measured interleaved in one process (issue 13).

    .venv/bin/python benchmarks/embed_speed.py [--sample 768] [--chunk 128] [--variants NAME,NAME]

A random sample of national passages (the articles the national build embeds, ``knowledge/data/national``)
is sorted by length and cut into chunks of consecutive passages, as the build's length-bucketed batch
stream is; every chunk is embedded by every variant in turn (the order rotating from chunk to chunk), so
the machine's noise — it is shared — falls on all variants alike. Each variant is reported as a ratio of
passages/s to today's build configuration (``today``: one ONNX Runtime session, intra-op threads = cores,
batches of ≤ 8,192 padded tokens / 64 passages) and by the lowest cosine of its vectors to today's.

Levers: threads vs concurrent single-threaded streams of one session vs worker processes; batch size;
ONNX Runtime session options (graph optimisation level, execution mode, memory arena, spinning); a passage
token cap. The token statistics of the whole national corpus say how many articles a cap would touch.
Writes docs/benchmarks/embed_speed.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.config import Settings  # noqa: E402
from knowledge.content import searchable  # noqa: E402
from knowledge.corpus import passage_text  # noqa: E402
from knowledge.encoders import MAX_PASSAGE_TOKENS, OnnxEncoder, Runtime, in_streams  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "embed_speed.json"
NATIONAL = REPO / "knowledge" / "data" / "national"
CORES = os.cpu_count() or 1
TODAY = Runtime(threads=CORES)

VARIANTS: dict[str, dict] = {  # name → Runtime fields changed from today's, or {"processes": n}
    "today": {},
    "1 thread": {"threads": 1},
    "no spinning": {"spinning": False},
    "2 streams x 1 thread": {"threads": 1, "streams": 2},
    "2 processes x 1 thread": {"processes": 2},
    "batch <=2048 tok / 16": {"batch_tokens": 2048, "max_batch": 16},
    "batch <=4096 tok / 32": {"batch_tokens": 4096, "max_batch": 32},
    "batch <=16384 tok / 128": {"batch_tokens": 16384, "max_batch": 128},
    "graph opt extended": {"optimization": "extended"},
    "graph opt basic": {"optimization": "basic"},
    "memory arena": {"arena": True},
    "parallel execution": {"parallel": True},
    "cap 256 tokens": {"max_passage_tokens": 256},
    "2 streams, batch <=4096 / 32": {"threads": 1, "streams": 2, "batch_tokens": 4096, "max_batch": 32},
    "2 streams, cap 256": {"threads": 1, "streams": 2, "max_passage_tokens": 256},
}

_WORKER: OnnxEncoder | None = None


def _start_worker(model_dir: str, precision: str) -> None:
    global _WORKER
    _WORKER = OnnxEncoder(Path(model_dir), precision, runtime=Runtime(threads=1))


def _embed_in_worker(input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    assert _WORKER is not None
    return _WORKER.embed(input_ids, mask)


class ProcessStreams:
    """Batches tokenized here, embedded by worker processes with a single-threaded session each."""

    def __init__(self, model_dir: Path, precision: str, processes: int):
        self.local = OnnxEncoder(model_dir, precision, runtime=Runtime(threads=1))  # tokenizer and batching
        self.processes = processes
        self.pool = ProcessPoolExecutor(
            processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(str(model_dir), precision),
        )

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        local = self.local
        ids = local.token_ids([local.passage_prompt + t for t in texts], MAX_PASSAGE_TOKENS)
        out = np.zeros((len(texts), local.dimension), dtype=np.float32)

        def remote(input_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            return self.pool.submit(_embed_in_worker, input_ids, mask).result()

        for batch, vectors in in_streams(remote, local.batches(ids), self.processes):
            out[batch] = vectors
        return out


def make(name: str, model_dir: Path, precision: str) -> Callable[[list[str]], np.ndarray]:
    change = VARIANTS[name]
    if "processes" in change:
        return ProcessStreams(model_dir, precision, change["processes"]).encode_passages
    fields = {**TODAY.__dict__, **change}
    return OnnxEncoder(model_dir, precision, runtime=Runtime(**fields)).encode_passages


def token_statistics(encoder: OnnxEncoder, texts: list[str]) -> dict:
    """Passage lengths in tokens over the whole corpus, and what a 256-token cap would cut."""
    lengths = np.array(
        [len(i) for i in encoder.token_ids([encoder.passage_prompt + t for t in texts], MAX_PASSAGE_TOKENS)]
    )
    capped = np.minimum(lengths, 256)
    # Cost of a passage ~ tokens × (layers' linear work) + tokens² (attention): report both token sums.
    return {
        "passages": len(lengths),
        **{f"p{q}": int(np.percentile(lengths, q)) for q in (50, 90, 95, 99)},
        "max": int(lengths.max()),
        "over_256": int((lengths > 256).sum()),
        "over_512_truncated": int((lengths >= MAX_PASSAGE_TOKENS).sum()),
        "tokens_cut_by_256_cap": round(float(1 - capped.sum() / lengths.sum()), 4),
        "squared_tokens_cut_by_256_cap": round(
            float(1 - (capped.astype(float) ** 2).sum() / (lengths.astype(float) ** 2).sum()), 4
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=768, help="national passages drawn at random")
    parser.add_argument("--chunk", type=int, default=128, help="passages per interleaved chunk")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list (today is always run)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    settings = Settings()
    names = ["today", *[n for n in args.variants.split(",") if n and n != "today"]]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; known: {list(VARIANTS)}")

    articles = searchable([NATIONAL], settings.faq_file).articles
    texts = [passage_text(a) for a in articles]
    probe = OnnxEncoder(settings.model_dir, settings.precision, runtime=Runtime(threads=1))
    statistics = token_statistics(probe, texts)
    print(json.dumps({"national_tokens": statistics}), flush=True)
    sample = sorted(random.Random(13).sample(texts, min(args.sample, len(texts))), key=len)
    chunks = [sample[i : i + args.chunk] for i in range(0, len(sample), args.chunk)]

    encoders = {name: make(name, settings.model_dir, settings.precision) for name in names}
    for encode in encoders.values():  # warm up: thread pools, worker processes, first allocations
        encode(chunks[0][:8])
    seconds = {name: 0.0 for name in names}
    per_chunk: dict[str, list[float]] = {name: [] for name in names}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in names}
    loads = []
    started = time.perf_counter()
    for c, chunk in enumerate(chunks):
        order = names[c % len(names) :] + names[: c % len(names)]
        for name in order:
            t = time.perf_counter()
            vectors[name].append(encoders[name](chunk))
            elapsed = time.perf_counter() - t
            seconds[name] += elapsed
            per_chunk[name].append(elapsed)
        loads.append(os.getloadavg()[0])
        ratios = {name: round(per_chunk["today"][-1] / per_chunk[name][-1], 3) for name in names}
        print(
            f"chunk {c + 1}/{len(chunks)} done, load {loads[-1]:.1f}, speed vs today {ratios}",
            file=sys.stderr,
            flush=True,
        )

    reference = np.concatenate(vectors["today"])
    results = {}
    for name in names:
        got = np.concatenate(vectors[name])
        ratios = [a / b for a, b in zip(per_chunk["today"], per_chunk[name])]
        results[name] = {
            "change": VARIANTS[name],
            "seconds": round(seconds[name], 2),
            "passages_per_s": round(len(sample) / seconds[name], 1),
            "speed_vs_today": round(seconds["today"] / seconds[name], 3),
            "per_chunk_speed_vs_today": {
                "min": round(min(ratios), 3),
                "median": round(float(np.median(ratios)), 3),
                "max": round(max(ratios), 3),
            },
            "min_cosine_vs_today": round(float(np.min(np.sum(got * reference, axis=1))), 6),
        }
        print(
            f"{name:32s} {results[name]['passages_per_s']:7.1f}/s  x{results[name]['speed_vs_today']:.3f}  "
            f"chunks {results[name]['per_chunk_speed_vs_today']}  cos {results[name]['min_cosine_vs_today']}",
            flush=True,
        )
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": CORES,
        "model": settings.model_dir.name,
        "precision": settings.precision,
        "sample": len(sample),
        "chunk": args.chunk,
        "chunks": len(chunks),
        "wall_s": round(time.perf_counter() - started, 1),
        "load_avg_1min": {"min": min(loads), "max": max(loads), "mean": round(float(np.mean(loads)), 2)},
        "today": TODAY.__dict__,
        "national_tokens": statistics,
        "variants": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    for encode in encoders.values():
        pool = getattr(getattr(encode, "__self__", None), "pool", None)
        if pool is not None:
            pool.shutdown()


if __name__ == "__main__":
    main()
