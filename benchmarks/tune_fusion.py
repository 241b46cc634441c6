"""Choose the fusion weights on the STARD tuning split (never on the held-out split).

    .venv/bin/python benchmarks/tune_fusion.py

The engine computes each question's signals once (``SearchEngine.signals``) and ranks them under every
candidate weighting with ``SearchEngine.ranking`` — the same fusion ``consult`` serves. Each tuning
question's own FAQ entry is hidden while its signals are computed (leave-one-out), so the FAQ evidence it
gets is what an unseen question would get. Prints the best weights by MRR@10 with Recall@10 as
tie-breaker; copy them into knowledge.engine.Weights.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.config import Settings  # noqa: E402
from knowledge.engine import Weights, open_engine  # noqa: E402
from knowledge.evaluate import read_queries, recall_at, reciprocal_rank  # noqa: E402


def main() -> None:
    engine = open_engine(Settings(), strict=True)
    engine.second_stage = None  # the fusion is tuned alone; the second stage is trained on its output
    queries = read_queries(REPO / "knowledge" / "data" / "eval" / "stard_tune.jsonl")
    cached = []
    for query in queries:
        engine.exclude_faq_questions([query.question])
        cached.append(engine.signals(query.question))
    engine.exclude_faq_questions([])
    results = []
    for neighbours, sharpness, lexical_w, faq_w in itertools.product(
        (4, 8, 16), (5.0, 10.0, 20.0, 40.0), (0.0, 0.1, 0.2, 0.3, 0.5), (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5)
    ):
        weights = replace(Weights(), lexical=lexical_w, faq=faq_w, faq_neighbours=neighbours, faq_sharpness=sharpness)
        mrr, recall = [], []
        for query, signals in zip(queries, cached):
            ranked = [engine.articles[i].id for i, _, _ in engine.ranking(signals, 10, weights)]
            mrr.append(reciprocal_rank(ranked, query.gold))
            recall.append(recall_at(ranked, query.gold, 10))
        results.append((float(np.mean(mrr)), float(np.mean(recall)), weights))
    results.sort(key=lambda row: row[:2], reverse=True)
    for mrr, recall, weights in results[:10]:
        print(f"mrr@10 {mrr:.4f}  recall@10 {recall:.4f}  {weights}")
    print("best:", results[0][2])


if __name__ == "__main__":
    main()
