"""Answer precision: how often the 1–3 articles the bot quotes contain one that decides the question.

    .venv/bin/python benchmarks/answer_precision.py

The bot answers only when its best article scores at least ``ANSWER_MIN_SCORE``; it then quotes at most
``ANSWER_MAX_ARTICLES`` articles and leaves out those scoring more than ``ANSWER_SCORE_GAP`` below the
best (``knowledge.answers.choose_articles``), or the articles a close curated FAQ answer cites. This script
replays that choice, for a grid of the three settings, on questions with known gold articles:

* the held-out STARD questions (knowledge/splits.py; their own FAQ entries hidden);
* the LeCoQA FAQ questions, each with its own entry hidden (leave-one-out), gold = the articles its
  lawyer's answer cites (the fusion weights were tuned with the FAQ as evidence, never on these as
  questions; the encoder was fine-tuned on the STARD tuning split only).

For each setting: the share of questions answered; of those answered, the share whose quoted set
contains a gold article and the share quoting only articles that are not gold; the share of quoted
articles that are gold; the mean number quoted. Also the share of the non-legal NLU messages (small
talk, out of scope) that would get articles at each threshold (benchmarks/answer_threshold.py has the
same sets and the FAQ similarity check). Writes docs/benchmarks/answer_precision.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.answer_threshold import non_legal_consultations  # noqa: E402
from knowledge import answers  # noqa: E402
from knowledge.answers import choose_articles, close_faq  # noqa: E402
from knowledge.engine import SearchEngine, load_engine  # noqa: E402
from knowledge.evaluate import read_queries  # noqa: E402
from knowledge.rerank import WEIGHTS_FILE, SecondStage  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "answer_precision.json"
THRESHOLDS = (0.62, 0.66, 0.68, 0.7, 0.72, 0.74, 0.76, 0.78, 0.8)
MAX_ARTICLES = (1, 2, 3)
GAPS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 1.0)  # 1.0: no gap rule
DEPTH = 10  # articles asked for per question (more than any setting quotes)


@dataclass(frozen=True)
class Case:
    question: str
    gold: frozenset[str]
    hits: list  # knowledge.Hit, best first
    faq_cites: tuple[str, ...]  # what a close, fully grounded FAQ answer would quote; () when none


def consult(engine: SearchEngine, question: str, gold: frozenset[str]) -> Case:
    found = engine.consult(question, DEPTH)
    match = close_faq(found)  # the bot's own rule (knowledge.answers.compose)
    faq = tuple(c for c in match.entry.cites if engine.hit(c) is not None) if match else ()
    return Case(question, gold, found.hits, faq)


def stard_cases(engine: SearchEngine) -> list[Case]:
    queries = read_queries(REPO / "knowledge" / "data" / "eval" / "stard_heldout.jsonl")
    engine.exclude_faq_questions(q.question for q in queries)
    try:
        return [consult(engine, q.question, frozenset(q.gold)) for q in queries]
    finally:
        engine.exclude_faq_questions([])


def faq_cases(engine: SearchEngine) -> list[Case]:
    cases = []
    for entry in engine.faq:
        engine.exclude_faq_questions([entry.question])  # leave one out: its own answer is hidden
        cases.append(consult(engine, entry.question, frozenset(entry.cites)))
    engine.exclude_faq_questions([])
    return cases


def quoted(case: Case, threshold: float, max_articles: int, gap: float) -> list[str] | None:
    """The article ids the bot would quote; None when it says it is not sure."""
    if not case.hits or case.hits[0].score < threshold:
        return None
    if case.faq_cites:
        return list(case.faq_cites[:max_articles])
    return [h.id for h in choose_articles(case.hits, max_articles, gap)]


def measure(cases: list[Case], threshold: float, max_articles: int, gap: float) -> dict:
    answered = [(c, ids) for c in cases if (ids := quoted(c, threshold, max_articles, gap)) is not None]
    n = max(len(answered), 1)
    with_gold = sum(1 for c, ids in answered if c.gold & set(ids))
    quoted_total = sum(len(ids) for _, ids in answered)
    gold_quoted = sum(len(c.gold & set(ids)) for c, ids in answered)
    return {
        "answered": round(len(answered) / len(cases), 3),
        "contains_gold": round(with_gold / n, 3),
        "only_irrelevant": round(1 - with_gold / n, 3) if answered else 0.0,
        "article_precision": round(gold_quoted / max(quoted_total, 1), 3),
        "mean_quoted": round(quoted_total / n, 2),
        "gold_answered_of_all": round(with_gold / len(cases), 3),
    }


def non_legal_scores(engine: SearchEngine) -> list[float]:
    return [found.hits[0].score for _, found in non_legal_consultations(engine)]


def second_stage_comparison(engine: SearchEngine, configured: dict) -> dict:
    """The configured settings with the fusion's order and with the shipped second stage, same process."""
    kept = engine.second_stage
    out = {}
    try:
        for label, stage in (("fusion", None), ("fusion + second stage", SecondStage.load(WEIGHTS_FILE))):
            engine.second_stage = stage
            sets = {"stard_heldout": stard_cases(engine), "faq_leave_one_out": faq_cases(engine)}
            out[label] = {name: measure(cases, **configured) for name, cases in sets.items()}
    finally:
        engine.second_stage = kept
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    engine = load_engine()
    started = time.perf_counter()
    sets = {"stard_heldout": stard_cases(engine), "faq_leave_one_out": faq_cases(engine)}
    chat = non_legal_scores(engine)
    rows = []
    for threshold in THRESHOLDS:
        for max_articles in MAX_ARTICLES:
            for gap in GAPS:
                row = {"threshold": threshold, "max_articles": max_articles, "gap": gap,
                       "non_legal_answered": round(sum(s >= threshold for s in chat) / len(chat), 3)}
                for name, cases in sets.items():
                    row[name] = measure(cases, threshold, max_articles, gap)
                rows.append(row)
    configured = {"threshold": answers.ANSWER_MIN_SCORE, "max_articles": answers.ANSWER_MAX_ARTICLES,
                  "gap": answers.ANSWER_SCORE_GAP}
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "load_average": os.getloadavg(),
        "second_stage": second_stage_comparison(engine, configured),
        "questions": {name: len(cases) for name, cases in sets.items()},
        "non_legal_messages": len(chat),
        "faq_min_similarity": answers.FAQ_MIN_SIMILARITY,
        "configured": {**configured, **{name: measure(cases, **configured) for name, cases in sets.items()}},
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"questions {result['questions']}, non-legal {len(chat)}; configured {configured}")
    print("threshold k gap | non-legal | STARD answered/contains gold/only irrelevant/article precision/quoted"
          " | FAQ same")
    for row in rows:
        s, f = row["stard_heldout"], row["faq_leave_one_out"]
        print(f"{row['threshold']:.2f} {row['max_articles']} {row['gap']:.2f} | {row['non_legal_answered']:.3f} | "
              f"{s['answered']:.3f} {s['contains_gold']:.3f} {s['only_irrelevant']:.3f} {s['article_precision']:.3f} "
              f"{s['mean_quoted']:.2f} | {f['answered']:.3f} {f['contains_gold']:.3f} {f['only_irrelevant']:.3f} "
              f"{f['article_precision']:.3f} {f['mean_quoted']:.2f}")
    for label, row in result["second_stage"].items():
        print(label, json.dumps(row, ensure_ascii=False))
    print(f"wrote {OUT.relative_to(REPO)} in {result['seconds']} s")


if __name__ == "__main__":
    main()
