"""Evaluation metrics on a fixture whose answers are computed by hand."""

from __future__ import annotations

import json

import pytest

from knowledge.evaluate import (
    Query,
    QueryFileError,
    evaluate,
    read_queries,
    recall_at,
    reciprocal_rank,
)

RANKINGS = {
    "q1": ["a", "b", "c"] + [f"x{i}" for i in range(7)],  # gold a at rank 1
    "q2": ["x1", "x2", "g1", "x3", "x4", "x5", "g2", "x6", "x7", "x8"],  # gold g1 rank 3, g2 rank 7
    "q3": [f"x{i}" for i in range(10)],  # gold never found
}
QUERIES = [Query("1", "q1", ("a",)), Query("2", "q2", ("g1", "g2")), Query("3", "q3", ("z",))]


def test_metrics_match_hand_computation():
    metrics = evaluate(QUERIES, lambda q, k: RANKINGS[q][:k], top_k=10)
    assert metrics["n"] == 3
    # recall@1: q1 1, q2 0, q3 0 → 1/3;  recall@5: 1, 1/2, 0 → 0.5;  recall@10: 1, 1, 0 → 2/3
    assert metrics["recall@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["recall@5"] == pytest.approx(0.5, abs=1e-4)
    assert metrics["recall@10"] == pytest.approx(2 / 3, abs=1e-4)
    # MRR@10: 1, 1/3, 0 → 4/9
    assert metrics["mrr@10"] == pytest.approx(4 / 9, abs=1e-4)
    assert metrics["p50_ms"] >= 0 and metrics["p95_ms"] >= metrics["p50_ms"]


def test_single_metrics():
    assert recall_at(["a", "b"], ["b", "c"], 1) == 0
    assert recall_at(["a", "b"], ["b", "c"], 2) == 0.5
    assert reciprocal_rank(["a", "b", "c"], ["c"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a"] * 11 + ["c"], ["c"]) == 0


def test_query_file_errors_name_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"id": 1, "question": "问", "gold": ["民法典-1"]})
        + "\n"
        + json.dumps({"id": 2, "question": "问"})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(QueryFileError, match=r"q.jsonl:2"):
        read_queries(path)
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(QueryFileError, match="no queries"):
        read_queries(path)
