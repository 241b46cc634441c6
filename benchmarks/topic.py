"""Topic accuracy: the NLU's topic alone, the laws of the articles found alone, and the two combined.

    .venv/bin/python benchmarks/topic.py

Labelled sets:

* ``own``: benchmarks/data/topic_questions.tsv, colloquial questions written for this benchmark and
  labelled by hand (not NLU training data, not STARD, not FAQ), in two halves by line: ``own_dev``
  (odd lines) takes part in choosing the weights, ``own_test`` (even lines) is the test;
* ``stard_heldout``: the held-out STARD questions labelled by the topic of the law their gold articles
  come from (knowledge/topics.py's map; questions whose gold laws map to no topic, or to several, are
  left out) — a second test;
* ``calibration``: the STARD tuning questions and the FAQ questions labelled the same way (FAQ: the
  articles its answer cites).

The weights are chosen by the mean accuracy on ``calibration`` and ``own_dev``: the law-labelled
sets alone always favour the laws (their labels come from the same map), while hand-labelled
colloquial questions show what the NLU knows that the corpus's laws cannot say (刑事: the corpus
holds no criminal law; 邻里: only a few articles of the civil code).

Every question goes through the real trained Rasa model (``/model/parse``: the ``legal_question``
response selector's ranking) and the search engine (its own FAQ entry hidden); ``--reuse`` reads the
NLU rankings and articles of the last run (var/benchmarks/topic_cases.json) instead. The configured
weights, the best ones and the baselines (the NLU's topic as before: its top topic when its
confidence ≥ 0.4, else other; the laws alone) are reported on every set. Writes docs/benchmarks/topic.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.rasa_parse import Parse, rasa_parser  # noqa: E402
from knowledge.engine import SearchEngine, load_engine  # noqa: E402
from knowledge.evaluate import read_queries  # noqa: E402
from knowledge.topics import OTHER, WEIGHTS, TopicWeights, article_topic, choose_topic  # noqa: E402
from records import TOPICS  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "topic.json"
OWN = REPO / "benchmarks" / "data" / "topic_questions.tsv"
EVAL = REPO / "knowledge" / "data" / "eval"
OLD_MIN_CONFIDENCE = 0.4  # the NLU-only rule before the combination
DEPTH = 10
CASES = REPO / "var" / "benchmarks" / "topic_cases.json"
GRID = {
    "nlu": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0),
    "law_vote_depth": (1, 3, 5, 10),
    "law_vote_decay": (0.5, 0.7, 0.85, 1.0),
}


@dataclass(frozen=True)
class Labelled:
    question: str
    topics: frozenset[str]  # any of these is right
    nlu: dict[str, float]
    hits: list


def gold_topic(article_ids: list[str] | tuple[str, ...]) -> str | None:
    found = {t for a in article_ids if (t := article_topic(a))}
    return found.pop() if len(found) == 1 else None


def nlu_ranking(parsed: dict) -> dict[str, float]:
    selector = parsed.get("response_selector", {}).get("legal_question", {})
    ranking: dict[str, float] = {}
    for entry in selector.get("ranking") or []:
        key = (entry.get("intent_response_key") or "").removeprefix("legal_question/")
        if key in TOPICS:
            ranking[key] = max(ranking.get(key, 0.0), float(entry.get("confidence") or 0.0))
    return ranking


def labelled(engine: SearchEngine, parse: Parse, items: list[tuple[str, frozenset[str]]]) -> list[Labelled]:
    out = []
    for question, topics in items:
        engine.exclude_faq_questions([question])  # the question's own FAQ answer must not vote
        out.append(Labelled(question, topics, nlu_ranking(parse(question)), engine.consult(question, DEPTH).hits))
    engine.exclude_faq_questions([])
    return out


def own_items() -> list[tuple[str, frozenset[str]]]:
    items = []
    for line in OWN.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            topics, question = line.split("\t")
            items.append((question, frozenset(topics.split("|"))))
    return items


def law_labelled(pairs: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, frozenset[str]]]:
    return [(q, frozenset([t])) for q, gold in pairs if (t := gold_topic(gold))]


def old_rule(case: Labelled) -> str:
    if not case.nlu:
        return OTHER
    key = max(case.nlu, key=case.nlu.__getitem__)
    return key if case.nlu[key] >= OLD_MIN_CONFIDENCE else OTHER


def accuracy(cases: list[Labelled], choose) -> float:  # noqa: ANN001 - Labelled → topic key
    return round(sum(choose(c) in c.topics for c in cases) / max(len(cases), 1), 3)


def combined(weights: TopicWeights):  # noqa: ANN201
    return lambda c: choose_topic(c.nlu, c.hits, TOPICS, weights)


def collect() -> dict[str, list[Labelled]]:
    """Every question through the Rasa model and the search engine; the result is kept for --reuse."""
    engine = load_engine()
    heldout = [(q.question, q.gold) for q in read_queries(EVAL / "stard_heldout.jsonl")]
    tune = [(q.question, q.gold) for q in read_queries(EVAL / "stard_tune.jsonl")]
    faq = [(e.question, e.cites) for e in engine.faq]
    with rasa_parser() as parse:
        sets = {
            "own": labelled(engine, parse, own_items()),
            "stard_heldout": labelled(engine, parse, law_labelled(heldout)),
            "calibration": labelled(engine, parse, law_labelled(tune + faq)),
        }
    CASES.parent.mkdir(parents=True, exist_ok=True)
    CASES.write_text(json.dumps({name: [{"question": c.question, "topics": sorted(c.topics), "nlu": c.nlu,
                                         "hits": [[h.id, h.law] for h in c.hits]} for c in cases]
                                 for name, cases in sets.items()}, ensure_ascii=False), encoding="utf-8")
    return sets


def load_cases() -> dict[str, list[Labelled]]:
    stored = json.loads(CASES.read_text(encoding="utf-8"))
    return {name: [Labelled(c["question"], frozenset(c["topics"]), c["nlu"], [Stub(i, law) for i, law in c["hits"]])
                   for c in cases] for name, cases in stored.items()}


@dataclass(frozen=True)
class Stub:
    """What the topic reads of an article found: its id and law."""

    id: str
    law: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="reuse the NLU rankings and articles of the last run")
    args = parser.parse_args()
    started = time.perf_counter()
    sets = load_cases() if args.reuse else collect()
    own = sets.pop("own")
    sets = {"own_dev": own[0::2], "own_test": own[1::2], **sets}
    searched = []
    for nlu, depth, decay in itertools.product(*GRID.values()):
        weights = TopicWeights(nlu, depth, decay)
        choose = combined(weights)
        objective = (accuracy(sets["calibration"], choose) + accuracy(sets["own_dev"], choose)) / 2
        searched.append((round(objective, 3), weights))
    best_score, best = max(searched, key=lambda s: s[0])
    methods = {
        "nlu_only_before": old_rule,
        "laws_only": combined(TopicWeights(0.0, WEIGHTS.law_vote_depth, WEIGHTS.law_vote_decay)),
        "combined_configured": combined(WEIGHTS),
        "combined_best": combined(best),
    }
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "sizes": {name: len(cases) for name, cases in sets.items()},
        "labels": {name: dict(Counter(sorted(c.topics)[0] for c in cases)) for name, cases in sets.items()},
        "configured": WEIGHTS.__dict__,
        "best": {**best.__dict__, "objective": best_score},
        "grid": [{**w.__dict__, "objective": o} for o, w in searched],
        "accuracy": {m: {name: accuracy(cases, f) for name, cases in sets.items()} for m, f in methods.items()},
        "own_mistakes_configured": [[c.question, sorted(c.topics), topic] for c in own
                                    if (topic := combined(WEIGHTS)(c)) not in c.topics],
        "seconds": round(time.perf_counter() - started, 1),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("sizes", "configured", "best", "accuracy")},
                     ensure_ascii=False, indent=1))
    print(f"wrote {OUT.relative_to(REPO)} in {result['seconds']} s")


if __name__ == "__main__":
    main()
