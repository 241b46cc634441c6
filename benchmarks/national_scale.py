"""Search at the national corpus size (57,888 articles): index build, rebuilds, search latency and memory.

    .venv/bin/python benchmarks/national_scale.py [--national PATH/TO/national] [--keep DIR] [--skip-build]
    .venv/bin/python benchmarks/national_scale.py --random-vectors --dense-index flat,fp16

The national texts are copied into a temporary laws folder with its own index folder (the repo's index is
never touched), then, each in a fresh process as a user would run them:

1. ``python -m knowledge build`` from an empty index: wall time, articles/s, peak RSS, and the load average
   sampled every 5 s while it ran (the machine is shared: a build's speed means little without it);
2. the same command again (no-op rebuild: nothing is embedded, the encoder is not loaded);
3. one article marked repealed and one article's text changed, rebuilt (embeds one article);
4. a search process: loads the engine, asks national STARD questions; warm p50/p95 and its RSS.

The first build takes the vectors shipped for the default encoder (``knowledge/data/vectors``, checked on a
sample), as a fresh clone's does; ``KNOWLEDGE_SHIPPED_VECTORS=0`` measures embedding everything.
The national texts default to the ones shipped in ``knowledge/data/national``. Each build's progress
(steps, the embedding bar with rate and ETA) is shown on stderr as it runs. Writes
docs/benchmarks/national_scale.json; the faiss comparison is ``benchmarks/dense_index.py``.

``--random-vectors`` measures what does not depend on the embeddings when a full embedding run cannot be
afforded (the national corpus takes 20+ minutes to embed on a quiet 2-core machine): the index is built
by the real build code (corpus, tokens, BM25 arrays, manifest) but the article and FAQ vectors are random
unit vectors, then steps 2 and 4 run as usual. Memory, load time and the latency of an exact (flat or
fp16) search are the same as with real vectors; retrieval quality is meaningless and not reported.
Writes docs/benchmarks/national_scale_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.dense import PERSISTED  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "national_scale.json"
DEFAULT_NATIONAL = REPO / "knowledge" / "data" / "national"
QUESTIONS = REPO / "knowledge" / "data" / "eval" / "stard_national_train.jsonl"

SEARCH = """
import json, os, resource, sys, time
import numpy as np
started = time.perf_counter()
from knowledge.engine import load_engine
from knowledge.evaluate import read_queries, recall_at, reciprocal_rank
engine = load_engine()
load_s = time.perf_counter() - started
queries = read_queries(sys.argv[1])[:300]
engine.exclude_faq_questions(q.question for q in queries)
for q in queries[:10]:
    engine.search(q.question, 10)
ms, recall, mrr = [], [], []
for q in queries:
    t = time.perf_counter()
    ids = [h.id for h in engine.search(q.question, 10)]
    ms.append((time.perf_counter() - t) * 1000)
    recall.append(recall_at(ids, q.gold, 10))
    mrr.append(reciprocal_rank(ids, q.gold))
status = open("/proc/self/status").read()
rss = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024
print(json.dumps({"articles": len(engine.articles), "load_s": round(load_s, 1), "questions": len(queries),
                  "p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
                  "recall@10": round(float(np.mean(recall)), 4), "mrr@10": round(float(np.mean(mrr)), 4),
                  "rss_mb": round(rss), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "torch_imported": "torch" in sys.modules}))
"""


RANDOM_INDEX = """
import json
import numpy as np
from knowledge.config import Settings
from knowledge.content import searchable
from knowledge.index import build_index
settings = Settings()
dimension = settings.encoder().dimension

class RandomVectors:
    dimension = dimension
    rng = np.random.default_rng(13)

    def unit(self, n):
        v = self.rng.standard_normal((n, self.dimension)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def encode_passages(self, texts, progress=False):
        return self.unit(len(texts))

    def encode_queries(self, texts):
        return self.unit(len(texts))

content = searchable(settings.corpus_dirs, settings.faq_file)
report = build_index(content, RandomVectors, settings.encoder_fingerprint(), settings.index_dir)
print(json.dumps({"index": report.to_dict()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--national", type=Path, default=DEFAULT_NATIONAL)
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="STARD questions on national articles")
    parser.add_argument("--keep", type=Path, help="use (and keep) this folder instead of a temporary one")
    parser.add_argument("--out", type=Path, help="where to write the results (default: docs/benchmarks/"
                                                 "national_scale.json, or national_scale_memory.json)")
    parser.add_argument("--skip-build", action="store_true", help="reuse the index in --keep")
    parser.add_argument("--dense-index", default=os.environ.get("KNOWLEDGE_DENSE_INDEX", "flat"),
                        help="kind of nearest-neighbour index for the search step; a comma list runs one each")
    parser.add_argument("--random-vectors", action="store_true",
                        help="random article vectors: memory and exact-search latency only (see above)")
    parser.add_argument("--sample", type=int, help="only whole titles drawn at random up to ~this many articles")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="national-"))
    laws, index = work / "laws", work / "index"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KNOWLEDGE_LAWS_DIR": str(laws), "KNOWLEDGE_INDEX_DIR": str(index),
           "KNOWLEDGE_LOCAL_DIR": str(work / "local")}
    results: dict = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "dense_index": args.dense_index,
                     "sample": args.sample, "random_vectors": args.random_vectors}
    if args.random_vectors and not args.skip_build:
        shutil.rmtree(index, ignore_errors=True)
        _copy_flat(args.national, laws, args.sample)
        (work / "local").mkdir(exist_ok=True)
        results["index_with_random_vectors"] = _build(env, RANDOM_INDEX)
        results["noop_rebuild"] = _build(env)
    elif not args.skip_build:
        shutil.rmtree(index, ignore_errors=True)
        _copy_flat(args.national, laws, args.sample)
        (work / "local").mkdir(exist_ok=True)
        results["full_build"] = _build(env)
        results["noop_rebuild"] = _build(env)
        _change_two_articles(laws)
        results["rebuild_after_one_repeal_and_one_edit"] = _build(env)
    results["search"], results["ann_build"] = {}, {}
    for kind in args.dense_index.split(","):
        if kind in PERSISTED:  # built into the index folder from the stored vectors: nothing is embedded
            results["ann_build"][kind] = _build({**env, "KNOWLEDGE_DENSE_INDEX": kind})
        search = _run([sys.executable, "-c", SEARCH, str(args.questions)],
                      {**env, "KNOWLEDGE_DENSE_INDEX": kind})
        if args.random_vectors:  # the ranking of random vectors says nothing about retrieval quality
            search = {k: v for k, v in search.items() if k not in ("recall@10", "mrr@10")}
        results["search"][kind] = {**search, "load_avg_1min": round(os.getloadavg()[0], 1)}
    results["load_avg_1min"] = os.getloadavg()[0]
    print(json.dumps(results, ensure_ascii=False, indent=1))
    out = args.out or (OUT.with_name("national_scale_memory.json") if args.random_vectors else OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def _copy_flat(national: Path, laws: Path, sample: int | None) -> None:
    shutil.rmtree(laws, ignore_errors=True)
    laws.mkdir(parents=True)
    paths = sorted(national.glob("*/*.jsonl"))
    if sample:
        random.Random(13).shuffle(paths)
    copied = 0
    for path in paths:
        if sample and copied >= sample:
            break
        # Preambles, whole-text notices and appendices (467 of 57,888 records) carry no article number:
        # nothing a resident can be quoted as 第X条, so the scale test leaves them out, as the loader would refuse them.
        records = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
        citable = [r for r in records if r.get("article_cn") and r.get("article_num")]
        (laws / f"{path.parent.name}-{path.name}").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in citable), encoding="utf-8"
        )
        copied += len(citable)


def _change_two_articles(laws: Path) -> None:
    path = sorted(laws.glob("laws-*.jsonl"))[0]
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    records[0]["status"] = "已废止"
    records[1]["text"] += "（本条文字经修改）"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _build(env: dict, script: str | None = None) -> dict:
    run = script or ("import runpy, sys\nsys.argv = ['knowledge', 'build']\n"
                     "try:\n    runpy.run_module('knowledge', run_name='__main__')\nexcept SystemExit:\n    pass\n")
    # Peak of this process and of the children it waited for (build steps run in child processes).
    code = (run + "\nimport json, resource\npeak = max(resource.getrusage(w).ru_maxrss for w in "
            "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
            "print(json.dumps({'peak_rss_mb': round(peak / 1024)}))\n")
    loads: list[float] = []
    done = threading.Event()

    def sample_load() -> None:
        while True:
            loads.append(os.getloadavg()[0])
            if done.wait(5):
                return

    sampler = threading.Thread(target=sample_load, daemon=True)
    started = time.perf_counter()
    sampler.start()
    # stderr is not captured: the build's progress (steps, bar with rate and ETA) shows as it runs.
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
                             check=True)
    finally:
        done.set()
        sampler.join()
    wall = round(time.perf_counter() - started, 1)
    lines = out.stdout.strip().splitlines()
    report = json.loads(lines[-2])["index"]
    load = {"min": min(loads), "mean": round(sum(loads) / len(loads), 2), "max": max(loads), "samples": len(loads)}
    return {**report, "wall_s": wall, **json.loads(lines[-1]), "load_avg_1min": load}


def _run(command: list[str], env: dict) -> dict:
    out = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
