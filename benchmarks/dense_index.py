"""Choose the nearest-neighbour index by measurement: exact (float32, float16) vs faiss IVF vs faiss HNSW.

    .venv/bin/python benchmarks/dense_index.py --index DIR --questions FILE --name county
    .venv/bin/python benchmarks/dense_index.py --synthetic 1000000 --name synthetic-1e6

``DIR`` is an index folder (``var/index`` for the county corpus; ``benchmarks/national_scale.py --keep W``
leaves a national one in ``W/index``); the questions are encoded with the product encoder. One table, each
index built and loaded as the product does (``knowledge.dense``: the approximate kinds with their build
parameters, written to a file and memory-mapped back):

- build s and build peak RSS: one child process per kind, all cores (as ``python -m knowledge build``);
- file MB: what the index folder holds for it (``articles.npy`` for the exact kinds, made at load);
- serving RSS: another child process loads it as the search process does and answers every question; the
  growth of its RSS (anonymous memory / pages mapped from the file, which processes share and the
  kernel can drop);
- latency of the candidate search (top 200, one thread), p50 / p95, every configuration timed on the
  same question in turn (rotating order) in one process, so a busy machine slows them alike; the ratio of
  each p50 to exact float32 is the figure that carries across machines;
- recall of the exact top 10 / top 200 (what fusion reads) per search depth (nprobe for IVF, efSearch for
  HNSW, settable without a rebuild).

``--synthetic N`` replaces the index by N random unit vectors of dimension 384 (Gaussian, normalised) and
the questions by 300 random unit vectors: build time, memory and latency at a size no corpus has yet.
Random vectors have no neighbourhood structure (every point is about as far from the query as every other),
so their recall says nothing about real embeddings and is not reported; a graph index also works harder on
them than on clustered real vectors, so its build time and latency are an upper bound.

Writes docs/benchmarks/dense_index-NAME.json and prints the Markdown table of docs/benchmarks.md.

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
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread, set before numpy loads OpenBLAS: each search runs on one thread in the search process,
# and with two OpenBLAS threads beside faiss's OpenMP ones the float32 product took 10–20 ms instead of
# 0.1 ms at 3k vectors on this busy 2-core machine (threads waiting on each other, not work).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.dense import (  # noqa: E402
    PERSISTED,
    DenseIndex,
    build_faiss,
    build_params,
    read_faiss,
    write_faiss,
)
from knowledge.engine import CANDIDATES  # noqa: E402
from knowledge.evaluate import read_queries  # noqa: E402
from knowledge.lexical import LexicalIndex, tokenize  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "dense_index.json"
DEPTHS = {"ivf": (32, 64, 128), "hnsw": (200, 400)}  # nprobe; efSearch (≥ the 200 candidates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path)
    parser.add_argument("--questions", type=Path)
    parser.add_argument("--synthetic", type=int, help="N random unit vectors instead of an index (see above)")
    parser.add_argument("--name", default="county", help="names the JSON file: docs/benchmarks/dense_index-NAME.json")
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--kinds", default="flat,fp16,ivf,hnsw")
    parser.add_argument("--work", type=Path, help="folder for the vectors and index files (default: temporary)")
    parser.add_argument("--stores", action="store_true", help="BM25 and float16 store costs (see above)")
    parser.add_argument(
        "--searches-only",
        action="store_true",
        help="keep the build and memory figures of the last run in --work, time the searches again",
    )
    parser.add_argument("--child", nargs=3, metavar=("STEP", "KIND", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return
    if args.stores:
        store_speed(args.index, args.questions, args.limit)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="dense-index-"))
    work.mkdir(parents=True, exist_ok=True)
    out = OUT.with_name(f"dense_index-{args.name}.json")
    if args.searches_only:
        results = json.loads(out.read_text(encoding="utf-8"))
        results["searches"] = _interleaved(work, list(results["kinds"]), synthetic=results["synthetic"])
        results["searches_timed"] = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "load_avg_1min": round(os.getloadavg()[0], 1),
        }
    else:
        results = table(_inputs(args, work), work, args.kinds.split(","))
    results["name"] = args.name
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(markdown(results))


def _inputs(args, work: Path) -> dict:
    """Write the vectors and the query vectors into ``work``; what they are, for the results."""
    if args.synthetic:
        rng = np.random.default_rng(13)
        vectors = _unit(rng.standard_normal((args.synthetic, 384), dtype=np.float32))
        queries = _unit(rng.standard_normal((args.limit, 384), dtype=np.float32))
        source = f"{args.synthetic} random unit vectors (Gaussian, normalised), {args.limit} random queries"
    else:
        from knowledge.config import Settings

        vectors = np.load(args.index / "articles.npy")
        questions = [q.question for q in read_queries(args.questions)][: args.limit]
        queries = Settings().encoder(build=True).encode_queries(questions)
        source = f"the {args.name} index's article vectors, {len(questions)} questions of {args.questions.name}"
    np.save(work / "articles.npy", vectors)
    np.save(work / "queries.npy", np.asarray(queries, dtype=np.float32))
    return {
        "source": source,
        "articles": len(vectors),
        "dimension": int(vectors.shape[1]),
        "queries": len(queries),
        "synthetic": bool(args.synthetic),
    }


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def table(inputs: dict, work: Path, kinds: list[str]) -> dict:
    results = {
        **inputs,
        "candidates": CANDIDATES,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_avg_1min_start": round(os.getloadavg()[0], 1),
        "kinds": {},
    }
    for kind in kinds:  # one at a time: builds use every core
        built = _run_child("build", kind, work)
        served = _run_child("serve", kind, work)
        results["kinds"][kind] = {**built, **served, "params": build_params(kind, inputs["articles"])}
        print(kind, results["kinds"][kind], flush=True)
    results["searches"] = _interleaved(work, kinds, synthetic=inputs["synthetic"])
    results["load_avg_1min_end"] = round(os.getloadavg()[0], 1)
    return results


def _run_child(step: str, kind: str, work: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", step, kind, str(work)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child(step: str, kind: str, work: str) -> dict:
    work_dir = Path(work)
    if step == "build":
        vectors = np.load(work_dir / "articles.npy", mmap_mode="r")
        started = time.perf_counter()
        if kind in PERSISTED:
            write_faiss(build_faiss(vectors, kind, os.cpu_count() or 1), work_dir / f"ann-{kind}.faiss")
            size = (work_dir / f"ann-{kind}.faiss").stat().st_size
        else:  # made when the engine loads; the folder holds articles.npy
            DenseIndex(np.array(vectors), kind)
            size = (work_dir / "articles.npy").stat().st_size
        return {
            "build_s": round(time.perf_counter() - started, 1),
            "file_mb": round(size / 1e6),
            "build_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "build_load_avg_1min": round(os.getloadavg()[0], 1),
        }
    queries = np.load(work_dir / "queries.npy")
    before = _memory()
    index = _load(work_dir, kind)
    for query in queries:
        index.top(query, CANDIDATES)
    after = _memory()
    return {
        "serve_rss_mb": after["VmRSS"] - before["VmRSS"],
        "serve_anon_mb": after["RssAnon"] - before["RssAnon"],
        "serve_mapped_mb": after["RssFile"] - before["RssFile"],
    }


def _load(work_dir: Path, kind: str, depth: int | None = None) -> DenseIndex:
    """As the search process loads it: the exact kinds from articles.npy, the others mapped from their file."""
    if kind in PERSISTED:
        return DenseIndex.from_faiss(read_faiss(work_dir / f"ann-{kind}.faiss"), kind, depth)
    return DenseIndex(np.load(work_dir / "articles.npy"), kind)


def _interleaved(work: Path, kinds: list[str], synthetic: bool) -> dict:
    """Latency and recall of every configuration, timed on the same question in turn, one thread."""
    import faiss

    queries = np.load(work / "queries.npy")
    configs: dict[str, DenseIndex] = {}
    for kind in kinds:
        if kind in PERSISTED:
            loaded = _load(work, kind)
            for depth in DEPTHS[kind]:
                configs[f"{kind} {'nprobe' if kind == 'ivf' else 'efSearch'}={depth}"] = loaded.with_depth(depth)
        else:
            configs[kind] = _load(work, kind)
    faiss.omp_set_num_threads(1)
    exact = configs.get("flat") or DenseIndex(np.load(work / "articles.npy"), "flat")
    truth = [exact.top(q, CANDIDATES)[0] for q in queries]
    names = list(configs)
    for query in queries[:20]:  # warm: pages of the mapped files, caches
        for name in names:
            configs[name].top(query, CANDIDATES)
    ms: dict[str, list[float]] = {name: [] for name in names}
    recall10: dict[str, list[float]] = {name: [] for name in names}
    recall200: dict[str, list[float]] = {name: [] for name in names}
    for i, (query, gold) in enumerate(zip(queries, truth)):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            ids, _ = configs[name].top(query, CANDIDATES)
            ms[name].append((time.perf_counter() - started) * 1000)
            recall10[name].append(len(set(ids[:10]) & set(gold[:10])) / 10)
            recall200[name].append(len(set(ids) & set(gold)) / len(gold))
    flat_p50 = float(np.percentile(ms["flat"], 50)) if "flat" in ms else None
    out = {}
    for name in names:
        p50 = float(np.percentile(ms[name], 50))
        out[name] = {
            "p50_ms": round(p50, 3),
            "p95_ms": round(float(np.percentile(ms[name], 95)), 3),
            "p50_vs_flat": round(p50 / flat_p50, 3) if flat_p50 else None,
            "recall@10_vs_exact": None if synthetic else round(float(np.mean(recall10[name])), 4),
            "recall@200_vs_exact": None if synthetic else round(float(np.mean(recall200[name])), 4),
        }
    return out


def store_speed(index_dir: Path, questions: Path, limit: int) -> None:
    lexical = LexicalIndex.load(index_dir / "lexical", mmap=True)
    tokens = [tokenize(q.question) for q in read_queries(questions)][:limit]
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
    result = {
        "articles": len(lexical),
        "questions": len(timings["flat"]),
        "date": time.strftime("%Y-%m-%d"),
        "load_avg_1min": round(os.getloadavg()[0], 1),
        "p50_ms": {k: round(float(np.percentile(v, 50)), 3) for k, v in timings.items()},
        "p95_ms": {k: round(float(np.percentile(v, 95)), 3) for k, v in timings.items()},
    }
    p50 = result["p50_ms"]
    result["ratios_p50"] = {
        "bincount / bm25s": round(p50["bincount (served)"] / p50["bm25s get_scores"], 3),
        "fp16 / flat": round(p50["fp16"] / p50["flat"], 3),
    }
    OUT.with_name("store_speed.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


def _ms(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return (time.perf_counter() - started) * 1000


def _memory() -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of this process, MB."""
    fields = ("VmRSS", "RssAnon", "RssFile")
    lines = Path("/proc/self/status").read_text().splitlines()
    return {line.split(":")[0]: round(int(line.split()[1]) / 1024) for line in lines if line.startswith(fields)}


def markdown(results: dict) -> str:
    """The table of docs/benchmarks.md: one row per configuration, build and memory on each kind's first row."""
    lines = [
        "| index | build s (peak RSS MB) | file MB | serving RSS MB (anon / mapped) | top-200 p50 / p95 ms "
        "| p50 vs flat | recall@10 | recall@200 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    shown = set()
    for name, search in results["searches"].items():
        kind = name.split()[0]
        k = results["kinds"][kind]
        built = (
            ""
            if kind in shown
            else (
                f"{k['build_s']} ({k['build_peak_rss_mb']}) | {k['file_mb']} | "
                f"{k['serve_rss_mb']} ({k['serve_anon_mb']} / {k['serve_mapped_mb']})"
            )
        )
        shown.add(kind)
        recall = (
            ("n/a (random vectors)", "n/a")
            if results["synthetic"]
            else (search["recall@10_vs_exact"], search["recall@200_vs_exact"])
        )
        lines.append(
            f"| {name} | {built or ' |  | '} | {search['p50_ms']} / {search['p95_ms']} | "
            f"{search['p50_vs_flat']} | {recall[0]} | {recall[1]} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
