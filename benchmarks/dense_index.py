"""Choose the nearest-neighbour index by measurement: exact (flat) vs faiss HNSW vs faiss IVF.

    .venv/bin/python benchmarks/dense_index.py --index DIR --questions FILE

``DIR`` is an index folder built over the national corpus (``benchmarks/national_scale.py --keep W`` leaves
one in ``W/index``); the questions are encoded with the product encoder. For each kind (as
``knowledge.dense.DenseIndex`` builds it): build time, memory, warm latency of the candidate search
(top 200, one thread) and recall of the exact top 10 / top 200 (what fusion sees). Writes
docs/benchmarks/dense_index.json and prints the Markdown table of docs/benchmarks.md.

    .venv/bin/python benchmarks/dense_index.py --index DIR --questions FILE --stores

measures instead the per-question cost of the compact stores, as ratios measured interleaved in one process
(a busy machine slows both sides alike): BM25 scoring by one bincount over the memory-mapped arrays vs
bm25s's own ``get_scores`` (np.add.at per token), and exact top-200 over float32 (numpy) vs float16 (faiss).
Exact-search cost does not depend on the vector values, so an index of ``national_scale.py
--random-vectors`` serves. Writes docs/benchmarks/store_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.config import Settings  # noqa: E402
from knowledge.dense import KINDS, DenseIndex  # noqa: E402
from knowledge.engine import CANDIDATES  # noqa: E402
from knowledge.evaluate import read_queries  # noqa: E402
from knowledge.lexical import LexicalIndex, tokenize  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "dense_index.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--stores", action="store_true", help="BM25 and float16 store costs (see above)")
    args = parser.parse_args()
    if args.stores:
        store_speed(args.index, args.questions, args.limit)
        return
    vectors = np.load(args.index / "articles.npy")
    questions = [q.question for q in read_queries(args.questions)][: args.limit]
    queries = Settings().encoder(build=True).encode_queries(questions)
    exact = DenseIndex(vectors, "flat")
    truth = [exact.top(q, CANDIDATES)[0] for q in queries]
    results = {"articles": len(vectors), "dimension": int(vectors.shape[1]), "queries": len(queries),
               "candidates": CANDIDATES, "date": time.strftime("%Y-%m-%d"), "kinds": {}}
    for kind in KINDS:
        rss_before = _rss_mb()
        started = time.perf_counter()
        index = DenseIndex(vectors, kind, threads=os.cpu_count() or 1)
        build_s = time.perf_counter() - started
        extra_mb = _rss_mb() - rss_before
        _single_thread()
        for q in queries[:20]:
            index.top(q, CANDIDATES)
        ms, recall10, recall200 = [], [], []
        for q, gold in zip(queries, truth):
            started = time.perf_counter()
            ids, _ = index.top(q, CANDIDATES)
            ms.append((time.perf_counter() - started) * 1000)
            recall10.append(len(set(ids[:10]) & set(gold[:10])) / 10)
            recall200.append(len(set(ids) & set(gold)) / len(gold))
        results["kinds"][kind] = {
            "build_s": round(build_s, 2),
            "extra_rss_mb": round(extra_mb),
            "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "recall@10_vs_exact": round(float(np.mean(recall10)), 4),
            "recall@200_vs_exact": round(float(np.mean(recall200)), 4),
        }
        print(kind, results["kinds"][kind], flush=True)
        del index
    results["vectors_mb"] = round(vectors.nbytes / 1e6)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(markdown(results))


def store_speed(index_dir: Path, questions: Path, limit: int) -> None:
    lexical = LexicalIndex.load(index_dir / "lexical", mmap=True)
    tokens = [tokenize(q.question) for q in read_queries(questions)][: limit]
    vectors = np.load(index_dir / "articles.npy")
    queries = np.random.default_rng(13).standard_normal((len(tokens), vectors.shape[1])).astype(np.float32)
    dense = {kind: DenseIndex(vectors, kind) for kind in ("flat", "fp16")}
    vocab = lexical._vocab
    timings: dict[str, list[float]] = {"bm25s get_scores": [], "bincount (served)": [], "flat": [], "fp16": []}
    for words, query in zip(tokens, queries):
        ids = [vocab[t] for t in words if t in vocab]
        if not ids:
            continue
        timings["bm25s get_scores"].append(_ms(lexical._bm25.get_scores, ids))
        timings["bincount (served)"].append(_ms(lexical.scores, words))
        for kind, index in dense.items():
            timings[kind].append(_ms(index.top, query, CANDIDATES))
    result = {"articles": len(lexical), "questions": len(timings["flat"]), "date": time.strftime("%Y-%m-%d"),
              "load_avg_1min": round(os.getloadavg()[0], 1),
              "p50_ms": {k: round(float(np.percentile(v, 50)), 3) for k, v in timings.items()},
              "p95_ms": {k: round(float(np.percentile(v, 95)), 3) for k, v in timings.items()}}
    p50 = result["p50_ms"]
    result["ratios_p50"] = {"bincount / bm25s": round(p50["bincount (served)"] / p50["bm25s get_scores"], 3),
                            "fp16 / flat": round(p50["fp16"] / p50["flat"], 3)}
    OUT.with_name("store_speed.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))



def _ms(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return (time.perf_counter() - started) * 1000



def _single_thread() -> None:
    import faiss

    faiss.omp_set_num_threads(1)


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


def markdown(results: dict) -> str:
    lines = [f"| index ({results['articles']} articles) | build s | extra memory MB | top-{results['candidates']} "
             "p50 / p95 ms | recall@10 vs exact | recall@200 vs exact |", "|---|---|---|---|---|---|"]
    for kind, r in results["kinds"].items():
        lines.append(f"| {kind} | {r['build_s']} | {r['extra_rss_mb']} | {r['p50_ms']} / {r['p95_ms']} | "
                     f"{r['recall@10_vs_exact']} | {r['recall@200_vs_exact']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
