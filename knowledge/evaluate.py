"""Retrieval metrics over a JSONL file of ``{"id", "question", "gold": [article ids]}`` lines."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Query:
    id: str
    question: str
    gold: tuple[str, ...]


class QueryFileError(ValueError):
    """The evaluation file is malformed; the message names the file and line."""


def read_queries(path: Path) -> list[Query]:
    queries = []
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                gold = record["gold"]
                if not isinstance(gold, list) or not gold or not str(record["question"]).strip():
                    raise ValueError("needs a question and a non-empty gold list")
                queries.append(Query(str(record.get("id", number)), str(record["question"]), tuple(gold)))
            except (json.JSONDecodeError, KeyError, ValueError) as exc:
                raise QueryFileError(f"{path}:{number}: {exc}") from None
    if not queries:
        raise QueryFileError(f"{path}: no queries")
    return queries


def recall_at(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold articles found in the top k."""
    return len(set(ranked[:k]) & set(gold)) / len(set(gold))


def reciprocal_rank(ranked: Sequence[str], gold: Sequence[str], k: int = 10) -> float:
    """1 / rank of the first gold article within the top k, else 0."""
    for rank, article_id in enumerate(ranked[:k], start=1):
        if article_id in gold:
            return 1.0 / rank
    return 0.0


def evaluate(
    queries: Sequence[Query], rank: Callable[[str, int], list[str]], top_k: int = 10
) -> dict[str, float]:
    """Run ``rank(question, k)`` for each query and average the metrics; latency per query in ms."""
    rows, latencies = [], []
    depth = max(top_k, 10)
    for query in queries:
        started = time.perf_counter()
        ranked = rank(query.question, depth)
        latencies.append((time.perf_counter() - started) * 1000)
        rows.append(
            [recall_at(ranked, query.gold, k) for k in (1, 5, 10, top_k)]
            + [reciprocal_rank(ranked, query.gold, 10)]
        )
    means = np.mean(rows, axis=0)
    return {
        "n": len(queries),
        "recall@1": round(float(means[0]), 4),
        "recall@5": round(float(means[1]), 4),
        "recall@10": round(float(means[2]), 4),
        f"recall@{top_k}": round(float(means[3]), 4),
        "mrr@10": round(float(means[4]), 4),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
    }
