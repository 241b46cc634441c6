"""Choose the fusion weights on the STARD tuning split (never on the held-out split).

    .venv/bin/python benchmarks/tune_fusion.py

Each tuning question's own FAQ entry is hidden while it is scored (leave-one-out), so the FAQ
evidence it gets is what an unseen question would get. Prints the best weights by MRR@10 with
Recall@10 as tie-breaker; copy them into knowledge.engine.Weights.
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
from knowledge.dense import all_scores  # noqa: E402
from knowledge.engine import Weights, _scaled, faq_votes, open_engine  # noqa: E402
from knowledge.evaluate import read_queries, recall_at, reciprocal_rank  # noqa: E402
from knowledge.lexical import tokenize  # noqa: E402
from knowledge.normalize import normalize, normalize_query  # noqa: E402


def signals(engine, question: str):
    query = normalize_query(question)
    vector = engine.embedder.encode_queries([query])[0]
    dense = all_scores(engine._dense, vector)
    lexical = _scaled(engine._lexical.scores(tokenize(query)))
    faq_sims = all_scores(engine._faq_index, vector)
    own = [i for i, e in enumerate(engine.faq) if normalize(e.question) == normalize(question)]
    faq_sims[own] = -1.0
    return dense, lexical, faq_sims


def main() -> None:
    engine = open_engine(Settings())
    queries = read_queries(REPO / "knowledge" / "data" / "eval" / "stard_tune.jsonl")
    ids = [a.id for a in engine.articles]
    cached = [signals(engine, q.question) for q in queries]
    results = []
    for neighbours, sharpness in itertools.product((4, 8, 16), (5.0, 10.0, 20.0, 40.0)):
        weights = replace(Weights(), faq_neighbours=neighbours, faq_sharpness=sharpness)
        votes = [faq_votes(s[2], engine._faq_cites, len(engine.articles), weights) for s in cached]
        for lexical_w, faq_w in itertools.product((0.0, 0.1, 0.2, 0.3, 0.5), (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5)):
            mrr, recall = [], []
            for query, (dense, lexical, _), vote in zip(queries, cached, votes):
                ranked = [ids[i] for i in np.argsort(-(dense + lexical_w * lexical + faq_w * vote))[:10]]
                mrr.append(reciprocal_rank(ranked, query.gold))
                recall.append(recall_at(ranked, query.gold, 10))
            results.append((np.mean(mrr), np.mean(recall), lexical_w, faq_w, neighbours, sharpness))
    results.sort(reverse=True)
    for mrr, recall, lexical_w, faq_w, neighbours, sharpness in results[:10]:
        print(f"mrr@10 {mrr:.4f}  recall@10 {recall:.4f}  lexical {lexical_w}  faq {faq_w}  "
              f"neighbours {neighbours}  sharpness {sharpness}")
    best = results[0]
    print(replace(Weights(), lexical=best[2], faq=best[3], faq_neighbours=best[4], faq_sharpness=best[5]))


if __name__ == "__main__":
    main()
