"""REST round trip of the whole assistant (Rasa server + action server + search + records), one user.

    .venv/bin/python benchmarks/rest_roundtrip.py [--questions 60]

Starts the real servers on free ports (as the end-to-end tests do), warms them up, then sends
held-out STARD questions one after another, each from a new sender, and a greeting as the
baseline measured in the same run (the greeting needs no custom action). Reports p50/p95 and the
servers' resident memory; writes docs/benchmarks/rest_roundtrip.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from e2e_stack import Stack, local_stack  # noqa: E402

from benchmarks.proctree import tree_rss_mb  # noqa: E402
from knowledge.evaluate import read_queries  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "rest_roundtrip.json"


def timed(stack: Stack, text: str) -> float:
    started = time.perf_counter()
    replies = stack.send(f"bench-{uuid.uuid4().hex[:10]}", text)
    elapsed = (time.perf_counter() - started) * 1000
    if not replies:
        raise RuntimeError(f"no reply to {text!r}")
    return elapsed


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"n": len(samples), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1), "max_ms": round(ordered[-1], 1)}


def heldout_questions(limit: int) -> list[str]:
    """The first ``limit`` held-out STARD questions (the ones fine-tuning never saw)."""
    return [q.question for q in read_queries(REPO / "knowledge/data/eval/stard_heldout.jsonl")][:limit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    questions = heldout_questions(args.questions)
    with tempfile.TemporaryDirectory() as scratch, local_stack(Path(scratch)) as (stack, _):
        for text in ["你好", "老板拖欠工资怎么办", "离婚孩子归谁", "你好", "邻居占了我家的地"]:
            timed(stack, text)  # warm-up
        greeting = [timed(stack, "你好") for _ in range(20)]
        legal = [timed(stack, q) for q in questions]
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "legal_question": summary(legal),
            "greeting_baseline": summary(greeting),
            "ratio_p50_legal_to_greeting": round(statistics.median(legal) / statistics.median(greeting), 2),
            "rss_mb": {s.name: tree_rss_mb(s.process.pid) for s in stack.servers},
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
