"""Train the second stage (knowledge/rerank.py) on the STARD tuning split and choose it by cross-validation.

    .venv/bin/python benchmarks/train_rerank.py [--no-write]

Each tuning question's candidates and features come from the product engine with its own FAQ entry
hidden (leave-one-out, as benchmarks/tune_fusion.py does), so the FAQ evidence it sees is what an unseen
question would see. Optionally the LeCoQA FAQ questions join the training data (each with its own entry
hidden; gold = the articles its lawyer's answer cites), except those asked with a STARD question (every
STARD question is also a FAQ question). The held-out split is never read for anything but that exclusion.

Five folds over the tuning questions (by a hash of the id) compare the regularisation, the depth, the
training data and, for reference, a gradient-boosted model (not served: the serving code scores a linear
model in numpy). The best setting by mean fold MRR@10 (Recall@10 as tie-breaker) is fitted on all the
training data and written to knowledge/data/rerank/second_stage.json with what it was trained on and
its cross-validation table. The numbers are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.config import Settings  # noqa: E402
from knowledge.engine import SearchEngine, open_engine  # noqa: E402
from knowledge.evaluate import Query, read_queries, recall_at, reciprocal_rank  # noqa: E402
from knowledge.normalize import normalize  # noqa: E402
from knowledge.rerank import DEPTH, FEATURES, WEIGHTS_FILE, SecondStage, fit  # noqa: E402

EVAL = REPO / "knowledge" / "data" / "eval"
FOLDS = 5
C_VALUES = (0.01, 0.1, 1.0, 10.0)
DEPTHS = (30, DEPTH)


@dataclass(frozen=True)
class Case:
    """One question's fused top ``DEPTH`` candidates: article ids, features and gold labels."""

    id: str
    gold: tuple[str, ...]
    ids: list[str]  # fused order
    matrix: np.ndarray
    labels: np.ndarray


def collect(engine: SearchEngine, queries: list[Query]) -> list[Case]:
    """The candidates and features of each question with its own FAQ entry hidden (leave-one-out)."""
    cases = []
    for query in queries:
        engine.exclude_faq_questions([query.question])
        signals = engine.signals(query.question)
        top, _, matrix = engine.second_stage_features(signals, depth=DEPTH)
        ids = [engine.articles[int(signals.candidates[i])].id for i in top]
        labels = np.array([i in query.gold for i in ids], dtype=np.int64)
        cases.append(Case(query.id, query.gold, ids, matrix, labels))
    engine.exclude_faq_questions([])
    return cases


def faq_queries(engine: SearchEngine, stard: list[Query]) -> list[Query]:
    """The FAQ questions as training questions, except those asked with a STARD question: every STARD
    question is also a LeCoQA FAQ question, so those would be a held-out question (never trained on) or
    a tuning question twice (and leak across the cross-validation folds)."""
    banned = {normalize(q.question) for q in stard}
    return [Query(f"faq-{e.id}", e.question, e.cites) for e in engine.faq if normalize(e.question) not in banned]


def ranked(case: Case, scores: np.ndarray, depth: int) -> list[str]:
    """The case's article ids with its top ``depth`` reordered by ``scores`` (best first)."""
    order = np.argsort(-scores[:depth], kind="stable")
    return [case.ids[i] for i in order] + case.ids[depth:]


def metrics(cases: list[Case], rankings: list[list[str]]) -> dict[str, float]:
    return {
        "recall@10": round(float(np.mean([recall_at(r, c.gold, 10) for c, r in zip(cases, rankings)])), 4),
        "mrr@10": round(float(np.mean([reciprocal_rank(r, c.gold) for c, r in zip(cases, rankings)])), 4),
    }


def train(cases: list[Case], names=FEATURES, c: float = 1.0, depth: int = DEPTH, about: dict | None = None):
    """A second stage fitted on the top ``depth`` of these cases (questions without gold there included:
    their candidates are all negatives)."""
    return fit([k.matrix[:depth] for k in cases], [k.labels[:depth] for k in cases], names, c, depth, about)


def evaluate_stage(stage: SecondStage | None, cases: list[Case]) -> dict[str, float]:
    if stage is None:
        return metrics(cases, [c.ids for c in cases])
    return metrics(cases, [ranked(c, stage.score(c.matrix[: stage.depth]), stage.depth) for c in cases])


def fold_of(question_id: str) -> int:
    return int(hashlib.sha256(question_id.encode()).hexdigest()[:8], 16) % FOLDS


def cross_validate(tune: list[Case], extra: list[Case], train_fn, use_tune: bool = True) -> dict[str, float]:
    """Mean over the folds of the held-back tuning questions' metrics; ``extra`` always trains, the other
    tuning folds only with ``use_tune``."""
    rows = []
    for fold in range(FOLDS):
        inside = [c for c in tune if fold_of(c.id) != fold] if use_tune else []
        held = [c for c in tune if fold_of(c.id) == fold]
        rows.append(train_fn(inside + extra, held))
    return {key: round(float(np.mean([r[key] for r in rows])), 4) for key in rows[0]}


def boosted(train_cases: list[Case], held: list[Case], depth: int = DEPTH) -> dict[str, float]:
    """Gradient-boosted trees on the same features (reference only: not servable in numpy here)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.concatenate([c.matrix[:depth] for c in train_cases])
    y = np.concatenate([c.labels[:depth] for c in train_cases])
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, random_state=0)
    model.fit(x, y)
    return metrics(held, [ranked(c, model.predict_proba(c.matrix[:depth])[:, 1], depth) for c in held])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="cross-validate only")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = Settings()
    engine = open_engine(settings, strict=True)
    tune_queries = read_queries(EVAL / "stard_tune.jsonl")
    heldout = read_queries(EVAL / "stard_heldout.jsonl")
    tune = collect(engine, tune_queries)
    faq = collect(engine, faq_queries(engine, heldout + tune_queries))
    print(f"features of {len(tune)} tuning and {len(faq)} FAQ questions in {time.perf_counter() - started:.0f} s")
    table = {"fusion (no second stage)": cross_validate(tune, [], lambda _, held: evaluate_stage(None, held))}
    data_sets = {"tune": ([], True), "tune+faq": (faq, True), "faq": (faq, False)}
    for (data, (extra, use_tune)), depth, c in itertools.product(data_sets.items(), DEPTHS, C_VALUES):
        label = f"logistic C={c} depth={depth} data={data}"
        table[label] = cross_validate(
            tune, extra, lambda inside, held, c=c, depth=depth: evaluate_stage(train(inside, c=c, depth=depth), held),
            use_tune,
        )
        print(label, table[label], flush=True)
    for data, (extra, use_tune) in data_sets.items():
        label = f"gradient boosting depth={DEPTH} data={data} (reference)"
        table[label] = cross_validate(tune, extra, boosted, use_tune)
        print(label, table[label], flush=True)
    logistic = {k: v for k, v in table.items() if k.startswith("logistic")}
    best = max(logistic, key=lambda k: (logistic[k]["mrr@10"], logistic[k]["recall@10"]))
    c, depth, data = (part.split("=")[1] for part in best.split()[1:])
    print("best:", best, table[best], "fusion:", table["fusion (no second stage)"])
    if args.no_write:
        return
    about = {
        "trained_on": {"tune": f"STARD tuning split ({len(tune)} questions)",
                       "tune+faq": f"STARD tuning split ({len(tune)}) + {len(faq)} LeCoQA FAQ questions",
                       "faq": f"{len(faq)} LeCoQA FAQ questions (leave-one-out)"}[data],
        "encoder_fingerprint": engine.encoder.fingerprint,
        "weights": "knowledge.engine.Weights defaults",
        "chosen": best,
        "cross_validation": {"folds": FOLDS, "table": table},
    }
    extra, use_tune = data_sets[data]
    stage = train((tune if use_tune else []) + extra, c=float(c), depth=int(depth), about=about)
    WEIGHTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    WEIGHTS_FILE.write_text(stage.to_json(), encoding="utf-8")
    print(f"wrote {WEIGHTS_FILE.relative_to(REPO)} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
