"""Corpus loading: validation errors name file and line; local rules in Markdown and JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.config import REPO_ROOT
from knowledge.corpus import CorpusError, in_force, load_corpus

LAWS = REPO_ROOT / "knowledge" / "data" / "laws"
EXAMPLES = REPO_ROOT / "knowledge" / "examples" / "local"


def _record(**overrides) -> dict:
    base = {
        "id": "测试法-1",
        "law": "测试法",
        "law_short": "测试法",
        "article_cn": "第一条",
        "article_num": 1,
        "text": "第一条的内容。",
    }
    return {**base, **overrides}


def _write_jsonl(path: Path, lines: list) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


def test_shipped_corpus_loads_every_article():
    articles = load_corpus([LAWS])
    # 27 texts (2,993 articles) and the 2025 versions of two of them (144 + 50), which supersede the old ones.
    assert len(articles) == 2993 + 144 + 50
    assert len({a.id for a in articles}) == len(articles)
    assert len(in_force(articles)) == 2993 - 119 - 41 + 144 + 50
    civil = {a.id: a for a in articles if a.law_short == "民法典"}
    assert len(civil) == 1260
    assert civil["民法典-1165"].text.startswith("行为人因过错侵害他人民事权益造成损害的，应当承担侵权责任。")
    assert civil["民法典-1165"].citation == "《中华人民共和国民法典》第一千一百六十五条"


def test_duplicate_ids_are_reported_with_both_places(tmp_path):
    _write_jsonl(tmp_path / "a.jsonl", [_record()])
    _write_jsonl(tmp_path / "b.jsonl", [_record(text="另一段")])
    with pytest.raises(CorpusError) as err:
        load_corpus([tmp_path])
    assert err.value.problems == ["b.jsonl:1: duplicate id '测试法-1' (first in a.jsonl:1)"]


def test_empty_text_malformed_json_and_missing_fields_name_their_lines(tmp_path):
    _write_jsonl(
        tmp_path / "bad.jsonl",
        [
            _record(),
            _record(id="测试法-2", article_num=2, text="   "),
            '{"id": "测试法-3", "law": ',
            _record(id="测试法-4", law_short=None),
            "[1, 2]",
            _record(id="测试法-6", effective_date="2024/01/01"),
        ],
    )
    with pytest.raises(CorpusError) as err:
        load_corpus([tmp_path])
    problems = err.value.problems
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5", "6"]
    assert "empty field(s) text" in problems[0] or "empty text" in problems[0]
    assert "not valid JSON" in problems[1]
    assert "law_short" in problems[2]
    assert "JSON object" in problems[3]
    assert "YYYY-MM-DD" in problems[4]


def test_markdown_and_jsonl_local_rules_load_with_their_metadata():
    articles = {a.id: a for a in load_corpus([EXAMPLES])}
    rule = articles["石桥村村规民约-4"]
    assert rule.law == "石桥村村规民约（示例）"
    assert rule.article_cn == "第四条"
    assert rule.doc_type == "村规民约"
    assert rule.jurisdiction == "城关镇石桥村"
    assert rule.effective_date == "2024-03-01"
    assert rule.chapter == "第二章 邻里关系"
    assert rule.text.startswith("村民种植树木应当与邻居房屋保持适当距离")
    # An article continuing over two lines keeps both.
    assert articles["石桥村村规民约-5"].text.endswith("调解委员会应当在受理后十五日内组织调解。")
    assert articles["示例县宅基地管理办法-2"].doc_type == "县级规范性文件"


def test_repealed_and_future_texts_are_never_in_force(tmp_path):
    articles = load_corpus([EXAMPLES])
    repealed = [a.id for a in articles if a.repealed]
    assert repealed == ["示例县宅基地管理办法-3"]
    assert "示例县宅基地管理办法-3" not in {a.id for a in in_force(articles)}
    _write_jsonl(tmp_path / "future.jsonl", [_record(effective_date="2999-01-01")])
    assert in_force(load_corpus([tmp_path])) == []


def test_markdown_without_front_matter_or_required_fields_is_an_error(tmp_path):
    (tmp_path / "no_header.md").write_text("第一条 内容。\n", encoding="utf-8")
    (tmp_path / "no_jurisdiction.md").write_text(
        "---\nlaw: 某规定\ndoc_type: 村规民约\neffective_date: 2024-01-01\n---\n第一条 内容。\n",
        encoding="utf-8",
    )
    with pytest.raises(CorpusError) as err:
        load_corpus([tmp_path])
    assert any(p.startswith("no_header.md:1:") for p in err.value.problems)
    assert any("no_jurisdiction.md:1: front matter lacks jurisdiction" in p for p in err.value.problems)


def test_markdown_article_without_text_is_an_error(tmp_path):
    (tmp_path / "empty.md").write_text(
        "---\nlaw: 某规定\ndoc_type: 村规民约\njurisdiction: 某村\neffective_date: 2024-01-01\n---\n"
        "第一条 内容。\n第二条\n第三条 还有内容。\n",
        encoding="utf-8",
    )
    with pytest.raises(CorpusError) as err:
        load_corpus([tmp_path])
    assert err.value.problems == ["empty.md:8: missing or empty field(s) text"]
