"""Retrieval quality and speed of the search engine against its baselines, in one run.

    .venv/bin/python benchmarks/retrieval.py [--quick]

Every configuration is scored on the held-out STARD split (never used for tuning) and, for reference,
on the tuning split; FAQ entries asked with an evaluated question are hidden from the engine, so no
question sees its own answer. The second stage (knowledge/rerank.py) is scored as shipped
(knowledge/data/rerank/second_stage.json) and, for the ablation, retrained here on the tuning split with
each feature group left out (same setting as the shipped one; benchmarks/train_rerank.py); a paired
bootstrap over the held-out questions gives the interval of its difference to the product. Its own cost
(features + scoring, without the search) is timed separately. Writes docs/benchmarks/retrieval.json and
prints a Markdown table.
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

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.train_rerank import collect, faq_queries, train  # noqa: E402
from knowledge.config import Settings  # noqa: E402
from knowledge.engine import Weights, open_engine  # noqa: E402
from knowledge.evaluate import evaluate, read_queries, recall_at, reciprocal_rank  # noqa: E402
from knowledge.rerank import FEATURES, GROUPS, WEIGHTS_FILE, SecondStage  # noqa: E402

EVAL = REPO / "knowledge" / "data" / "eval"
OUT = REPO / "docs" / "benchmarks" / "retrieval.json"

PRODUCT = "fine-tuned e5 + bm25 + faq (product)"
SECOND_STAGE = "product + second stage"
CONFIGS = {  # label → (model, fusion weights, second stage: None, "shipped" or "-group" to leave out)
    "bm25 (jieba)": ("base", Weights(dense=0.0, lexical=1.0, faq=0.0), None),
    "e5-small (plain)": ("base", Weights(dense=1.0, lexical=0.0, faq=0.0), None),
    "e5-small + bm25": ("base", Weights(faq=0.0), None),
    "e5-small + bm25 + faq": ("base", Weights(), None),
    "fine-tuned e5 (dense)": ("tuned", Weights(dense=1.0, lexical=0.0, faq=0.0), None),
    PRODUCT: ("tuned", Weights(), None),
    SECOND_STAGE: ("tuned", Weights(), "shipped"),
    **{f"product + second stage − {group}": ("tuned", Weights(), f"-{group}") for group in GROUPS},
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
    shipped = SecondStage.load(WEIGHTS_FILE)
    stages = {None: None, "shipped": shipped, **_ablations(engines["tuned"], shipped)}
    per_question = {}
    for label, (model, weights, stage) in CONFIGS.items():
        engine = engines[model]
        engine.weights = weights
        engine.second_stage = stages[stage]
        row = {}
        for split, queries in splits.items():
            engine.exclude_faq_questions(q.question for q in queries)
            row[split] = evaluate(queries, lambda q, k, e=engine: [h.id for h in e.search(q, k)])
            if split == "heldout" and label in (PRODUCT, SECOND_STAGE):
                per_question[label] = _per_question(engine, queries)
        engine.second_stage = None
        results["configs"][label] = row
        print(label, json.dumps(row["heldout"], ensure_ascii=False), flush=True)
    results["second_stage"] = {
        "file": str(WEIGHTS_FILE.relative_to(REPO)),
        "about": {k: v for k, v in (shipped.about or {}).items() if k != "cross_validation"},
        "paired_bootstrap_heldout": _paired_bootstrap(per_question[PRODUCT], per_question[SECOND_STAGE]),
        "cost_ms": _second_stage_cost(engines["tuned"], shipped, splits["heldout"]),
    }
    print(json.dumps(results["second_stage"], ensure_ascii=False), flush=True)
    results["rss_mb"] = _search_process_rss()
    if not args.quick:
        results["full_build_seconds"] = _full_build_seconds(settings)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(markdown(results))


def _ablations(engine, shipped: SecondStage) -> dict[str, SecondStage]:
    """The shipped setting retrained on the tuning split without each feature group in turn."""
    chosen = (shipped.about or {}).get("chosen", "")
    c = float(chosen.split("C=")[1].split()[0]) if "C=" in chosen else 1.0
    data = chosen.split("data=")[1].split()[0] if "data=" in chosen else "tune"
    tune = read_queries(EVAL / "stard_tune.jsonl")
    cases = collect(engine, tune) if data.startswith("tune") else []
    if data.endswith("faq"):
        cases += collect(engine, faq_queries(engine, read_queries(EVAL / "stard_heldout.jsonl") + tune))
    return {
        f"-{group}": train(cases, tuple(n for n in FEATURES if n not in names and n in shipped.names), c, shipped.depth)
        for group, names in GROUPS.items()
    }


def _per_question(engine, queries) -> dict[str, list[float]]:
    ranked = [[h.id for h in engine.search(q.question, 10)] for q in queries]
    return {"recall@10": [recall_at(r, q.gold, 10) for r, q in zip(ranked, queries)],
            "mrr@10": [reciprocal_rank(r, q.gold) for r, q in zip(ranked, queries)]}


def _paired_bootstrap(before: dict, after: dict, rounds: int = 10000) -> dict:
    """The mean difference (after − before) per metric with a 95% interval from resampling questions."""
    rng = np.random.default_rng(0)
    out = {}
    for key in before:
        diff = np.array(after[key]) - np.array(before[key])
        means = diff[rng.integers(0, len(diff), size=(rounds, len(diff)))].mean(axis=1)
        out[key] = {"difference": round(float(diff.mean()), 4),
                    "ci95": [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)],
                    "share_of_rounds_above_0": round(float((means > 0).mean()), 4),
                    "questions_better": int((diff > 0).sum()), "questions_worse": int((diff < 0).sum())}
    return out


def _second_stage_cost(engine, stage: SecondStage, queries) -> dict:
    """Per question: the fusion alone vs fusion + second stage, on the same signals (interleaved)."""
    engine.exclude_faq_questions(q.question for q in queries)
    signals = [engine.signals(q.question) for q in queries]
    engine.exclude_faq_questions([])
    timings: dict[str, list[float]] = {"fusion": [], "fusion + second stage": []}
    for _ in range(3):
        for s in signals:
            for label, value in (("fusion", None), ("fusion + second stage", stage)):
                engine.second_stage = value
                started = time.perf_counter()
                engine.ranking(s, 10)
                timings[label].append((time.perf_counter() - started) * 1000)
    engine.second_stage = None
    return {label: {"p50": round(float(np.percentile(t, 50)), 3), "p95": round(float(np.percentile(t, 95)), 3)}
            for label, t in timings.items()}


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

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg(),
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
