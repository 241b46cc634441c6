"""The search engine through its public API: verbatim hits, filters, FAQ evidence, bad input, rebuilds."""

from __future__ import annotations

import json
import shutil

import pytest

from knowledge.config import REPO_ROOT, Settings
from knowledge.corpus import load_corpus
from knowledge.engine import open_engine
from knowledge.normalize import EmptyQueryError

pytestmark = pytest.mark.model
LAWS = REPO_ROOT / "knowledge" / "data" / "laws"
CORPUS = {a.id: a for a in load_corpus([LAWS])}


# Each question with the articles a lawyer would accept as governing it (any one must be in the top 5).
@pytest.mark.parametrize(
    ("question", "governing"),
    [
        ("邻居家的树倒了砸坏了我的车", {"民法典-1257"}),
        ("老板拖欠我三个月工资不给怎么办", {"劳动合同法-30", "劳动法-50", "劳动合同法-85", "保障农民工工资支付条例-3"}),
        ("借钱给朋友没写借条他不还", {"民法典-667", "民法典-675", "民法典-679", "民间借贷司法解释-2"}),
        ("离婚后孩子的抚养权归谁", {"民法典-1084"}),
        ("在超市买到过期食品怎么赔", {"消费者权益保护法-48", "消费者权益保护法-49", "消费者权益保护法-55"}),
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


def _small_corpus(tmp_path, count: int = 12):
    laws = tmp_path / "laws"
    laws.mkdir()
    lines = (LAWS / "labor_contract_law.jsonl").read_text(encoding="utf-8").splitlines()[:count]
    (laws / "labor.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return laws


def test_rebuild_embeds_only_new_or_changed_articles(tmp_path, base_model_dir):
    laws = _small_corpus(tmp_path)
    settings = Settings(model_dir=base_model_dir, index_dir=tmp_path / "index", laws_dir=laws,
                        local_dir=tmp_path / "local", faq_file=tmp_path / "none.jsonl")
    from knowledge.index import build_from_settings

    first = build_from_settings(settings, progress=False)
    assert (first.articles, first.embedded, first.reused) == (12, 12, 0)
    again = build_from_settings(settings, progress=False)
    assert (again.embedded, again.reused) == (0, 12)

    records = [json.loads(line) for line in (laws / "labor.jsonl").read_text(encoding="utf-8").splitlines()]
    records[3]["text"] += "（本条文字经修改）"
    records.append({**records[0], "id": "劳动合同法-999", "article_num": 999, "article_cn": "第九百九十九条"})
    (laws / "labor.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n",
                                      encoding="utf-8")
    third = build_from_settings(settings, progress=False)
    assert (third.articles, third.embedded, third.reused) == (13, 2, 11)

    engine = open_engine(settings, auto_build=False)
    hit = engine.hit("劳动合同法-4")
    assert hit is not None and hit.text.endswith("（本条文字经修改）")


def test_stale_index_is_rebuilt_on_load_and_repealed_articles_never_cited(tmp_path, base_model_dir):
    laws = _small_corpus(tmp_path, count=5)
    local = tmp_path / "local"
    shutil.copytree(REPO_ROOT / "knowledge" / "examples" / "local", local)
    settings = Settings(model_dir=base_model_dir, index_dir=tmp_path / "index", laws_dir=laws,
                        local_dir=local, faq_file=tmp_path / "none.jsonl")
    engine = open_engine(settings)
    ids = {h.id for h in engine.search("宅基地审批时限", top_k=20)}
    assert "示例县宅基地管理办法-3" not in ids
    assert "示例县宅基地管理办法-2" in ids
    local_hits = engine.search("邻居的树要倒了", top_k=3, doc_type="村规民约")
    assert local_hits[0].id == "石桥村村规民约-4"
    assert local_hits[0].jurisdiction == "城关镇石桥村"
