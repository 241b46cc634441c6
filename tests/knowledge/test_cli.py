"""The documented commands, run as a user runs them (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from knowledge.config import REPO_ROOT

pytestmark = pytest.mark.model


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "knowledge", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_search_json(engine):
    result = run("search", "邻居家的树倒了砸坏了我的车", "--top-k", "5", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 5
    assert {"id", "law", "article_cn", "text", "score", "citation"} <= set(hits[0])
    assert "民法典-1257" in [h["id"] for h in hits]


def test_search_with_filter_and_plain_output(engine):
    result = run("search", "拖欠工资", "--law", "劳动合同法", "--top-k", "2")
    assert result.returncode == 0, result.stderr
    assert "《中华人民共和国劳动合同法》" in result.stdout


@pytest.mark.parametrize("question", ["", "   ", "😀"])
def test_empty_question_fails_with_a_message(engine, question):
    result = run("search", question)
    assert result.returncode == 2
    assert "error: question is empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluate_prints_the_documented_metrics(engine, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"id": "a", "question": "邻居家的树倒了砸坏了我的车", "gold": ["民法典-1257"]}, ensure_ascii=False)
        + "\n" + json.dumps({"id": "b", "question": "没有这种法条的问题", "gold": ["不存在-1"]}, ensure_ascii=False)
        + "\n", encoding="utf-8")
    result = run("evaluate", "--queries", str(queries), "--top-k", "10", "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert {"n", "recall@1", "recall@5", "recall@10", "mrr@10", "p50_ms", "p95_ms"} <= set(metrics)
    assert metrics["n"] == 2
    assert metrics["recall@10"] == 0.5  # the tree article is found, the made-up one never is


def test_evaluate_reports_a_malformed_file(engine, tmp_path):
    queries = tmp_path / "bad.jsonl"
    queries.write_text('{"question": "x"}\n', encoding="utf-8")
    result = run("evaluate", "--queries", str(queries))
    assert result.returncode == 2
    assert "bad.jsonl:1" in result.stderr


def test_build_is_incremental_and_reports_json(engine):
    result = run("build", "--quiet")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["index"]["embedded"] == 0
    assert report["index"]["articles"] == 3027  # 2,993 less the 160 of two superseded texts plus their new 194
