"""The guard of plain-language drafts (knowledge.drafting): citations, quotations, contacts, length.

The articles are real corpus records, as the search would return them; the drafts are what a model
might write about them, right and wrong.
"""

from __future__ import annotations

import pytest

from knowledge.config import REPO_ROOT
from knowledge.corpus import in_force, load_corpus
from knowledge.drafting import SYSTEM_PROMPT, check_draft, citations, clean_draft, contacts, draft_messages
from knowledge.engine import Hit

ARTICLES = {a.id: a for a in in_force(load_corpus([REPO_ROOT / "knowledge" / "data" / "laws"]))}
OURS = ["拨打12348公共法律服务热线", "马上拨打 110、120", "拨打12315向市场监管部门投诉"]


def hit(article_id: str) -> Hit:
    a = ARTICLES[article_id]
    return Hit(a.id, a.law, a.law_short, a.article_cn, a.text, 0.9, 0.9, a.doc_type, a.jurisdiction)


WAGES = [hit("劳动合同法-30"), hit("保障农民工工资支付条例-11")]
CONTRACT, WAGE_RULE = (h.text for h in WAGES)
BRIDE_PRICE = [hit("民法典婚姻家庭编解释（一）-5"), hit("民法典-1042")]


def problems(draft: str, hits: list[Hit] = WAGES, max_chars: int = 400) -> list[str]:
    return check_draft(draft, hits, known_texts=OURS, max_chars=max_chars)


def test_a_good_draft_passes():
    draft = (
        "老板拖欠工资是不允许的。《中华人民共和国劳动合同法》第三十条规定，用人单位要按约定及时足额发工资；"
        "《保障农民工工资支付条例》第十一条还要求工资直接发给您本人。"
        f"条例原文是「{WAGE_RULE[:20]}」。拿不准可以拨打12348问一问。"
    )
    assert problems(draft) == []


@pytest.mark.parametrize(
    "draft",
    [
        "《劳动合同法》第三十条",  # the short name
        "《劳动合同法》第30条",  # Arabic digits
        "《劳动合同法》第３０条",  # full-width digits
        "《劳动合同法》第 30 条第二款",  # spaces, and a paragraph of the article
        "中华人民共和国劳动合同法第三十条",  # no brackets
        "《保障农民工工资支付条例》第十一条和本条例第11条，还有该条例第十一条",
        "《劳动合同法》规定了工资怎么发，见第三十条",  # bare 第X条: the law named last
        "第三十条说得很清楚",  # no law named: one of the quoted articles
    ],
)
def test_the_quoted_articles_may_be_cited_in_any_number_format(draft):
    assert problems(draft) == []


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        ("《劳动合同法》第八十五条规定老板要加付赔偿金。", "《中华人民共和国劳动合同法》第85条"),  # exists, not quoted
        ("《劳动合同法》第三百条", "《中华人民共和国劳动合同法》第300条"),  # does not exist at all
        ("《劳动合同法》第三十条，还有本法第八十五条。", "《中华人民共和国劳动合同法》第85条"),
        ("《保障农民工工资支付条例》第十一条，另见第十二条。", "《保障农民工工资支付条例》第12条"),
        ("《劳动合同法》第三十条之一", "《中华人民共和国劳动合同法》第30条之一"),
        ("第九十九条", "第99条"),
    ],
)
def test_an_invented_article_fails(draft, reason):
    assert problems(draft) == [f"article not among the quoted articles: {reason}"]


@pytest.mark.parametrize(
    ("draft", "reason"),
    [
        ("《劳动法》第三十条规定要按时发工资。", "《劳动法》第30条"),  # right number, wrong law
        ("《中华人民共和国刑法》第二百七十六条之一，拒不支付劳动报酬罪。", "《中华人民共和国刑法》第276条之一"),
        ("根据《民法典》的规定，老板要还钱。", "《民法典》"),  # a law named, no article: not given either
        ("《劳动合同法》第三十条，刑法第三十条也有规定。", "…刑法第30条"),  # named without brackets
    ],
)
def test_a_wrong_law_fails(draft, reason):
    assert problems(draft) == [f"law not among the quoted articles: {reason}"]


def test_a_title_with_a_title_inside_is_one_law():
    for title in (
        "最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一）",
        "最高人民法院关于适用〈中华人民共和国民法典〉婚姻家庭编的解释（一）",
        "民法典婚姻家庭编解释（一）",
    ):
        assert problems(f"彩礼的事看《{title}》第五条，以及《民法典》第一千零四十二条。", BRIDE_PRICE) == []
    assert citations("《最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一）》第五条", BRIDE_PRICE) == [
        (BRIDE_PRICE[0].law, "第5条")
    ]
    assert problems("《最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一）》第六条", BRIDE_PRICE)


@pytest.mark.parametrize("marks", ["「」", "『』", "“”", '""'])
def test_verbatim_quotes_pass_and_misquotes_fail(marks):
    left, right = marks
    assert problems(f"法律写的是{left}{CONTRACT[:25]}{right}。") == []
    assert problems(f"原文：{left}{CONTRACT[5:40].replace('，', ' ，')}{right}") == []  # whitespace aside
    misquote = CONTRACT.replace("及时足额", "按月")
    assert misquote != CONTRACT
    assert problems(f"法律写的是{left}{misquote}{right}。") == [
        f"quotation not verbatim in the quoted articles ({len(''.join(misquote.split()))} characters)"
    ]
    joined = CONTRACT[:10] + WAGE_RULE[:10]  # two articles' words run together are no quotation
    assert problems(f"{left}{joined}{right}")


def test_quoted_words_are_the_articles_own_even_their_references():
    other = hit("民法典婚姻家庭编解释（一）-2")  # its text names 民法典 articles that are not quoted here
    assert "第一千零四十二条" in other.text
    assert problems(f"解释里说「{other.text[:30]}」。", [other]) == []
    assert problems(f"解释里说{other.text[:30]}。", [other])  # unquoted, they are citations


def test_an_unbalanced_quotation_mark_fails():
    assert problems(f"法律写的是“{CONTRACT[:10]}") == ["unbalanced quotation mark"]


def test_phone_numbers_and_addresses_must_be_ours():
    assert problems("可以拨打12348，遇到危险打110或120。") == []
    for invented in (
        "请打13812345678",
        "请打 138 1234 5678",
        "打0571-88776655咨询",
        "打12333问人社局",
        "登录www.example.com",
        "在12348.gov.cn查询",
        "看https://x.cn/a",
    ):
        reasons = problems(invented)
        assert reasons and all(r.endswith("not in our responses") for r in reasons), invented


def test_amounts_dates_and_article_numbers_are_not_phone_numbers():
    text = "欠薪3个月共36000元，2023年5月起，逾期100,000元、3.5万，第1165条，60日内，2倍工资，1165条"
    assert contacts(text) == set()
    assert contacts("12348、110 和 www.12348.gov.cn/a/") == {"tel:12348", "tel:110", "url:www.12348.gov.cn/a"}


def test_empty_and_over_long_drafts_fail():
    assert problems("") == ["empty"]
    assert problems("   \n") == ["empty"]
    assert problems("老板要按时发工资。" * 10, max_chars=60) == ["too long (90 > 60 characters)"]


def test_reasoning_is_removed_before_the_check_and_an_unfinished_block_fails():
    assert clean_draft("<think>用户问工资……第九十九条？</think>\n\n老板要按时发工资。") == "老板要按时发工资。"
    assert problems(clean_draft("<think>想一想《刑法》第九十九条")) == [
        "unfinished reasoning block",
        "law not among the quoted articles: 《刑法》第99条",
    ]


def test_the_request_gives_the_articles_verbatim_and_the_rules():
    system, user = draft_messages(" 老板不给工资怎么办 ", WAGES)
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "只用给出的法条" in SYSTEM_PROMPT and "一字不改" in SYSTEM_PROMPT
    assert user["content"].startswith("居民的问题：老板不给工资怎么办\n")
    for h in WAGES:
        assert f"{h.citation}：{h.text}" in user["content"]
