"""Retrieval quality and speed of the search engine against its baselines, in one run.

    .venv/bin/python benchmarks/retrieval.py [--quick]

Every configuration is scored on the held-out STARD split (never used for tuning) and, for reference,
on the tuning split; FAQ entries asked with an evaluated question are hidden from the engine, so no
question sees its own answer. Writes docs/benchmarks/retrieval.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.config import Settings  # noqa: E402
from knowledge.engine import Weights, open_engine  # noqa: E402
from knowledge.evaluate import evaluate, read_queries  # noqa: E402

EVAL = REPO / "knowledge" / "data" / "eval"
OUT = REPO / "docs" / "benchmarks" / "retrieval.json"

CONFIGS = {
    "bm25 (jieba)": ("base", Weights(dense=0.0, lexical=1.0, faq=0.0)),
    "e5-small (plain)": ("base", Weights(dense=1.0, lexical=0.0, faq=0.0)),
    "e5-small + bm25": ("base", Weights(faq=0.0)),
    "e5-small + bm25 + faq": ("base", Weights()),
    "fine-tuned e5 (dense)": ("tuned", Weights(dense=1.0, lexical=0.0, faq=0.0)),
    "fine-tuned e5 + bm25 + faq (product)": ("tuned", Weights()),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="held-out split only")
    args = parser.parse_args()
    settings = Settings()
    splits = {"heldout": read_queries(EVAL / "stard_heldout.jsonl")}
    if not args.quick:
        splits["tune"] = read_queries(EVAL / "stard_tune.jsonl")
    results: dict = {"configs": {}, "machine": _machine()}
    # The baseline model gets an index of its own next to the product's (built once, then reused).
    base_index = settings.index_dir.with_name("index-base")
    engines = {
        "base": open_engine(Settings(model_dir=settings.base_model_dir, index_dir=base_index)),
        "tuned": open_engine(settings, strict=True),
    }
    for label, (model, weights) in CONFIGS.items():
        engine = engines[model]
        engine.weights = weights
        row = {}
        for split, queries in splits.items():
            engine.exclude_faq_questions(q.question for q in queries)
            row[split] = evaluate(queries, lambda q, k, e=engine: [h.id for h in e.search(q, k)])
        results["configs"][label] = row
        print(label, json.dumps(row["heldout"], ensure_ascii=False), flush=True)
    results["rss_mb"] = _search_process_rss()
    if not args.quick:
        results["full_build_seconds"] = _full_build_seconds(settings)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(markdown(results))


def _search_process_rss() -> float:
    """Peak RSS of a fresh process that loads the product engine and answers 50 questions."""
    code = (
        "import resource, json\n"
        "from knowledge.engine import load_engine\n"
        "from knowledge.evaluate import read_queries\n"
        "e = load_engine()\n"
        "for q in read_queries('knowledge/data/eval/stard_heldout.jsonl')[:50]: e.search(q.question, 10)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def _full_build_seconds(settings: Settings) -> float:
    """Time to embed and index all articles from scratch with the product model."""
    from knowledge.index import build_from_settings

    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        build_from_settings(Settings(model_dir=settings.model_dir, index_dir=Path(scratch)), progress=False)
        return round(time.perf_counter() - started, 1)


def _machine() -> dict:
    import os
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"), "max_rss_mb_this_process":
            round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def markdown(results: dict) -> str:
    lines = ["| configuration | split | n | R@1 | R@5 | R@10 | MRR@10 | p50 ms | p95 ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, row in results["configs"].items():
        for split, m in row.items():
            lines.append(f"| {label} | {split} | {m['n']} | {m['recall@1']} | {m['recall@5']} | "
                         f"{m['recall@10']} | {m['mrr@10']} | {m['p50_ms']} | {m['p95_ms']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    shutil.os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
