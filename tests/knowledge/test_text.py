"""Normalisation of residents' input and Chinese article numerals."""

from __future__ import annotations

import pytest

from knowledge.normalize import MAX_QUERY_CHARS, EmptyQueryError, normalize_query
from knowledge.numerals import cn_to_int


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３ 工资", "ABC123 工资"),  # full-width → half-width
        ("鄰居家的樹倒了", "邻居家的树倒了"),  # traditional → simplified
        ("老板不给钱😡😡怎么办", "老板不给钱 怎么办"),  # emoji removed
        ("  工资\n\t拖欠  ", "工资 拖欠"),
        ("Мой 工资", "Мой 工资"),  # other scripts kept
    ],
)
def test_queries_are_normalised(raw, expected):
    assert normalize_query(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "😀😀", "？？！！", "…"])
def test_empty_questions_raise(raw):
    with pytest.raises(EmptyQueryError):
        normalize_query(raw)


def test_long_questions_are_truncated_not_rejected():
    assert len(normalize_query("工资" * 10_000)) == MAX_QUERY_CHARS


@pytest.mark.parametrize(
    ("number", "chinese"),
    [
        (1, "一"),
        (10, "十"),
        (11, "十一"),
        (20, "二十"),
        (101, "一百零一"),
        (110, "一百一十"),
        (1001, "一千零一"),
        (1010, "一千零一十"),
        (1165, "一千一百六十五"),
        (1260, "一千二百六十"),
        (9999, "九千九百九十九"),
    ],
)
def test_chinese_numerals_parse(number, chinese):
    assert cn_to_int(chinese) == number


def test_every_corpus_article_number_matches_its_chinese_heading():
    from knowledge.config import REPO_ROOT
    from knowledge.corpus import load_corpus

    for article in load_corpus([REPO_ROOT / "knowledge" / "data" / "laws"]):
        assert cn_to_int(article.article_cn[1:-1]) == article.article_num, article.id
