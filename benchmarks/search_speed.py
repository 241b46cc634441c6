"""Query encoding and search: torch vs ONNX fp32 vs ONNX int8 — latency and retrieval quality, in one process.

    .venv/bin/python benchmarks/search_speed.py

Every encoder gets its own index of the shipped corpus (articles embedded by that encoder, built once under
``var/bench/``), and the held-out STARD questions are asked of all engines in turn, question by question,
so the machine's noise falls on all alike; latencies are reported with ratios to torch. FAQ entries asked
with an evaluated question are hidden. Writes docs/benchmarks/search_speed.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from knowledge.config import Settings  # noqa: E402
from knowledge.content import searchable  # noqa: E402
from knowledge.encoders import OnnxEncoder, SentenceTransformerEncoder  # noqa: E402
from knowledge.engine import engine_from_index  # noqa: E402
from knowledge.evaluate import read_queries, recall_at, reciprocal_rank  # noqa: E402
from knowledge.index import build_index  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "search_speed.json"
HELDOUT = REPO / "knowledge" / "data" / "eval" / "stard_heldout.jsonl"
ROUNDS = 3  # each question is asked this many times per engine; latencies pool all rounds


def encoders(settings: Settings, threads: int) -> dict:
    return {
        "torch": SentenceTransformerEncoder(settings.model_dir, threads),
        "onnx-fp32": OnnxEncoder(settings.model_dir, "fp32", threads),
        "onnx-int8": OnnxEncoder(settings.model_dir, "int8", threads),
    }


def main() -> None:
    settings = Settings()
    content = searchable(settings.corpus_dirs, settings.faq_file)
    build_seconds = {}
    for name, encoder in encoders(settings, settings.build_threads).items():
        started = time.perf_counter()
        build_index(content, lambda e=encoder: e, encoder.fingerprint, _index_dir(name), progress=True)
        build_seconds[name] = round(time.perf_counter() - started, 1)
    engines = {name: engine_from_index(content, _index_dir(name), encoder)
               for name, encoder in encoders(settings, settings.threads).items()}
    queries = read_queries(HELDOUT)
    for engine in engines.values():
        engine.exclude_faq_questions(q.question for q in queries)
        for query in queries[:10]:  # warm-up
            engine.search(query.question, 10)
    encode_ms = {name: [] for name in engines}
    search_ms = {name: [] for name in engines}
    search_cpu_ms = {name: [] for name in engines}  # CPU time of this process: robust to other jobs' load
    ranked = {name: {} for name in engines}
    for _ in range(ROUNDS):
        for query in queries:
            for name, engine in engines.items():
                started = time.perf_counter()
                engine.encoder.encode_queries([query.question])
                encode_ms[name].append((time.perf_counter() - started) * 1000)
                started, cpu = time.perf_counter(), time.process_time()
                hits = engine.search(query.question, 10)
                search_ms[name].append((time.perf_counter() - started) * 1000)
                search_cpu_ms[name].append((time.process_time() - cpu) * 1000)
                ranked[name][query.id] = [h.id for h in hits]
    results = {"questions": len(queries), "rounds": ROUNDS, "threads": settings.threads,
               "load_avg_1min": os.getloadavg()[0], "date": time.strftime("%Y-%m-%d"), "encoders": {}}
    timings = {"encode": encode_ms, "search": search_ms, "search_cpu": search_cpu_ms}
    torch_p50 = {kind: float(np.percentile(ms["torch"], 50)) for kind, ms in timings.items()}
    for name in engines:
        row = {
            "recall@10": round(float(np.mean([recall_at(ranked[name][q.id], q.gold, 10) for q in queries])), 4),
            "mrr@10": round(float(np.mean([reciprocal_rank(ranked[name][q.id], q.gold) for q in queries])), 4),
            "index_build_s": build_seconds[name],
        }
        for kind, ms in ((kind, by_name[name]) for kind, by_name in timings.items()):
            row[f"{kind}_p50_ms"] = round(float(np.percentile(ms, 50)), 2)
            row[f"{kind}_p95_ms"] = round(float(np.percentile(ms, 95)), 2)
            row[f"{kind}_p50_vs_torch"] = round(float(np.percentile(ms, 50)) / torch_p50[kind], 3)
        results["encoders"][name] = row
        print(name, json.dumps(row), flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(markdown(results))


def _index_dir(name: str) -> Path:
    return REPO / "var" / "bench" / f"index-{name}"


def markdown(results: dict) -> str:
    lines = ["| encoder | R@10 | MRR@10 | encode p50 / p95 ms | search p50 / p95 ms | search CPU p50 ms | "
             "search p50 vs torch |", "|---|---|---|---|---|---|---|"]
    for name, r in results["encoders"].items():
        lines.append(f"| {name} | {r['recall@10']} | {r['mrr@10']} | {r['encode_p50_ms']} / {r['encode_p95_ms']} | "
                     f"{r['search_p50_ms']} / {r['search_p95_ms']} | {r['search_cpu_p50_ms']} | "
                     f"{r['search_p50_vs_torch']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
