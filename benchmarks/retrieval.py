"""Retrieval quality and speed of the search engine against its baselines, in one run.

    .venv/bin/python benchmarks/retrieval.py [--quick]

Every configuration is scored on the held-out STARD split (never used for tuning) and, for reference,
on the tuning split; FAQ entries asked with an evaluated question are hidden from the engine, so no
question sees its own answer. The second stage (knowledge/rerank.py) is scored as shipped
(knowledge/data/rerank/second_stage.json) and, for the ablation, retrained here on the tuning split with
each feature group left out (same setting as the shipped one; benchmarks/train_rerank.py); a paired
bootstrap over the held-out questions gives the interval of its difference to the fusion. ``--finetuned``
adds the model ``KNOWLEDGE_FINETUNE=1`` makes on this machine (off by default) with a second stage trained
on its own features, and the paired difference of the product to it. Its own cost
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
from dataclasses import replace
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

FUSION = "e5-small + bm25 + faq (fusion)"
PRODUCT = "fusion + second stage (product)"
TUNED_PRODUCT = "fine-tuned e5: fusion + its own second stage"
CONFIGS = {  # label → (model, fusion weights, second stage: None, "shipped", "own" or "-group" to leave out)
    "bm25 (jieba)": ("base", Weights(dense=0.0, lexical=1.0, faq=0.0), None),
    "e5-small (plain)": ("base", Weights(dense=1.0, lexical=0.0, faq=0.0), None),
    "e5-small + bm25": ("base", Weights(faq=0.0), None),
    FUSION: ("base", Weights(), None),
    PRODUCT: ("base", Weights(), "shipped"),
    **{f"product − {group}": ("base", Weights(), f"-{group}") for group in GROUPS},
    # With --finetuned: the model KNOWLEDGE_FINETUNE=1 makes on this machine, its second stage trained here on its
    # own features (tuning split + FAQ questions, C = 1: the setting its cross-validation chose on 2026-12-08).
    "fine-tuned e5 (dense)": ("tuned", Weights(dense=1.0, lexical=0.0, faq=0.0), None),
    "fine-tuned e5 + bm25 + faq (fusion)": ("tuned", Weights(), None),
    TUNED_PRODUCT: ("tuned", Weights(), "own"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="held-out split only")
    parser.add_argument("--finetuned", action="store_true",
                        help="also the fine-tuned model (KNOWLEDGE_FINETUNE=1; trained and indexed first if missing)")
    args = parser.parse_args()
    settings = Settings()
    splits = {"heldout": read_queries(EVAL / "stard_heldout.jsonl")}
    if not args.quick:
        splits["tune"] = read_queries(EVAL / "stard_tune.jsonl")
    results: dict = {"configs": {}, "machine": _machine()}
    engines = {"base": open_engine(settings, strict=True)}
    if args.finetuned:
        engines["tuned"] = _finetuned_engine(settings)
    shipped = SecondStage.load(WEIGHTS_FILE)
    stages = {None: None, "shipped": shipped, **_ablations(engines["base"], shipped)}
    if "tuned" in engines:
        stages["own"] = _own_stage(engines["tuned"])
    per_question = {}
    for label, (model, weights, stage) in CONFIGS.items():
        if model not in engines:
            continue
        engine = engines[model]
        engine.weights = weights
        engine.second_stage = stages[stage]
        row = {}
        for split, queries in splits.items():
            engine.exclude_faq_questions(q.question for q in queries)
            row[split] = evaluate(queries, lambda q, k, e=engine: [h.id for h in e.search(q, k)])
            if split == "heldout" and label in (FUSION, PRODUCT, TUNED_PRODUCT):
                per_question[label] = _per_question(engine, queries)
        engine.second_stage = None
        results["configs"][label] = row
        print(label, json.dumps(row["heldout"], ensure_ascii=False), flush=True)
    results["second_stage"] = {
        "file": str(WEIGHTS_FILE.relative_to(REPO)),
        "about": {k: v for k, v in (shipped.about or {}).items() if k != "cross_validation"},
        "paired_bootstrap_heldout": _paired_bootstrap(per_question[FUSION], per_question[PRODUCT]),
        "cost_ms": _second_stage_cost(engines["base"], shipped, splits["heldout"]),
    }
    if TUNED_PRODUCT in per_question:
        results["finetuned"] = {
            "encoder_fingerprint": engines["tuned"].encoder.fingerprint,
            "paired_bootstrap_heldout_product_minus_finetuned": _paired_bootstrap(per_question[TUNED_PRODUCT],
                                                                                  per_question[PRODUCT]),
        }
    print(json.dumps({k: results[k] for k in ("second_stage", "finetuned") if k in results}, ensure_ascii=False),
          flush=True)
    results["rss_mb"] = _search_process_rss()
    if not args.quick:
        results["full_build_seconds"] = _full_build_seconds(settings)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(markdown(results))


def _finetuned_engine(settings: Settings):
    """The engine of the model fine-tuning makes here, on an index of its own (both built if missing)."""
    import os

    from knowledge.setup import prepare

    os.environ["KNOWLEDGE_FINETUNE"] = "1"
    try:
        tuned = Settings().teacher_dir
        index_dir = settings.index_dir.with_name(settings.index_dir.name + "-finetuned")
        tuned_settings = replace(settings, model_dir=tuned, teacher_dir=tuned, index_dir=index_dir,
                                 shipped_vectors=None)
        prepare(tuned_settings, progress=True)
        return open_engine(tuned_settings, strict=True)
    finally:
        del os.environ["KNOWLEDGE_FINETUNE"]


def _own_stage(engine) -> SecondStage:
    """A second stage trained on this engine's own features (tuning split + FAQ questions, C = 1)."""
    return train(_training_cases(engine, "tune+faq"), c=1.0)


def _training_cases(engine, data: str) -> list:
    """The second stage's training cases of train_rerank.py's ``data`` setting (tune, faq or tune+faq)."""
    tune = read_queries(EVAL / "stard_tune.jsonl")
    cases = collect(engine, tune) if data.startswith("tune") else []
    if data.endswith("faq"):
        cases += collect(engine, faq_queries(engine, read_queries(EVAL / "stard_heldout.jsonl") + tune))
    return cases


def _ablations(engine, shipped: SecondStage) -> dict[str, SecondStage]:
    """The shipped setting retrained on the tuning split without each feature group in turn."""
    chosen = (shipped.about or {}).get("chosen", "")
    c = float(chosen.split("C=")[1].split()[0]) if "C=" in chosen else 1.0
    data = chosen.split("data=")[1].split()[0] if "data=" in chosen else "tune"
    cases = _training_cases(engine, data)
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
        build_from_settings(replace(settings, index_dir=Path(scratch), shipped_vectors=None), progress=False)
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
