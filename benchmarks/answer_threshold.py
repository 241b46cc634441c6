"""Calibrate ANSWER_MIN_SCORE: the best article's fused score for legal questions vs. non-legal chat.

    .venv/bin/python benchmarks/answer_threshold.py

Legal questions: the held-out STARD split (its FAQ entries hidden). Non-legal: every out_of_scope and
small-talk example of the NLU data. For each threshold, the share of legal questions still answered and
of non-legal messages that would wrongly get articles. Writes docs/benchmarks/answer_threshold.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.engine import load_engine  # noqa: E402
from knowledge.evaluate import read_queries  # noqa: E402

NON_LEGAL = ["bot/nlu/out_of_scope.yml", "bot/nlu/smalltalk.yml"]
OUT = REPO / "docs" / "benchmarks" / "answer_threshold.json"


def examples(path: Path) -> list[str]:
    found = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        for line in (item.get("examples") or "").splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text:
                found.append(text)
    return found


def main() -> None:
    engine = load_engine()
    queries = read_queries(REPO / "knowledge" / "data" / "eval" / "stard_heldout.jsonl")
    engine.exclude_faq_questions(q.question for q in queries)
    legal = np.array([engine.consult(q.question, 1).hits[0].score for q in queries])
    chat = []
    for name in NON_LEGAL:
        for text in examples(REPO / name):
            try:
                chat.append(engine.consult(text, 1).hits[0].score)
            except ValueError:  # nothing searchable: never answered
                continue
    chat = np.array(chat)
    rows = [{"threshold": t, "legal_answered": round(float(np.mean(legal >= t)), 3),
             "non_legal_answered": round(float(np.mean(chat >= t)), 3)}
            for t in (0.6, 0.62, 0.64, 0.66, 0.68, 0.7, 0.72)]
    result = {"legal_questions": len(legal), "non_legal_messages": len(chat), "rows": rows}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
