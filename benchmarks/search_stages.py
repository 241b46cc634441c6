"""Where a warm search spends its time: query encoding, the dense top-N, the other evidence, the ranking.

    .venv/bin/python benchmarks/search_stages.py [--questions FILE] [--out FILE]

Loads the engine the ``KNOWLEDGE_*`` settings name (e.g. the national corpus: ``KNOWLEDGE_CORPUS=national``,
or a benchmark's own folders through ``KNOWLEDGE_LAWS_DIR`` / ``KNOWLEDGE_INDEX_DIR``), warms it up, then for
each question times, one after the other in the same process: the query encoder alone, the dense index's
top-N alone, the whole evidence step (``SearchEngine.signals``: normalisation, encoding, BM25, FAQ, dense,
candidates) and the ranking, and the whole public ``search``. Issue 13's target is on the last: warm p50
≤ 15 ms, p95 ≤ 40 ms with the national corpus loaded. Writes docs/benchmarks/search_stages.json.
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
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from knowledge.engine import CANDIDATES, load_engine  # noqa: E402
from knowledge.evaluate import read_queries  # noqa: E402
from knowledge.normalize import normalize_query  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "search_stages.json"
QUESTIONS = REPO / "knowledge" / "data" / "eval" / "stard_national_train.jsonl"


def timed(call, *args) -> float:
    started = time.perf_counter()
    call(*args)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    engine = load_engine()
    questions = [q.question for q in read_queries(args.questions)][: args.limit]
    engine.exclude_faq_questions(questions)
    for question in questions[:10]:
        engine.search(question, 10)
    stages: dict[str, list[float]] = {"encode": [], "dense_top": [], "evidence": [], "ranking": [], "search": []}
    for question in questions:
        query = normalize_query(question)
        vector = engine.encoder.encode_queries([query])[0]
        stages["encode"].append(timed(engine.encoder.encode_queries, [query]))
        stages["dense_top"].append(timed(engine._dense.top, vector, CANDIDATES))  # the index alone
        signals = engine.signals(question)
        stages["evidence"].append(timed(engine.signals, question))
        stages["ranking"].append(timed(engine.ranking, signals, 10))
        stages["search"].append(timed(engine.search, question, 10))
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "articles": len(engine.articles),
        "questions": len(questions),
        "knowledge": {k: v.replace(f"{REPO}/", "") for k, v in os.environ.items() if k.startswith("KNOWLEDGE_")},
        "stages_ms": {name: {"p50": round(float(np.percentile(v, 50)), 2), "p95": round(float(np.percentile(v, 95)), 2)}
                      for name, v in stages.items()},
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "target_ms": {"p50": 15, "p95": 40},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
