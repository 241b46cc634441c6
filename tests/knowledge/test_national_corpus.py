"""The shipped corpora and their versions: national records, supersession of older versions, records that are
loaded but never searchable (known defects, no article number), ids of the county articles, the corpus setting
and the ``show`` command. No model needed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.config import REPO_ROOT, Settings
from knowledge.content import searchable
from knowledge.corpus import CorpusError, in_force, load_corpus, status_label, withheld_reason

DATA = REPO_ROOT / "knowledge" / "data"
COUNTY = DATA / "laws"
NATIONAL = DATA / "national"
FAQ = DATA / "faq" / "lecoqa_train.jsonl"
# The 27 files of the county corpus before national law was added, and the sorted ids of their 2,993 articles.
COUNTY_FILES = sorted(p.name for p in COUNTY.glob("*.jsonl") if not p.stem.endswith("_2025"))
COUNTY_IDS_SHA256 = "0ba4961113166423"


@pytest.fixture(scope="module")
def national():
    return searchable([NATIONAL], FAQ)


def _write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _law(version_date: str, texts: list[str], effective_date: str | None = None, **extra) -> list[dict]:
    return [{"id": f"测试法-{n}", "law": "中华人民共和国测试法", "law_short": "测试法", "article_cn": f"第{cn}条",
             "article_num": n, "text": text, "version_date": version_date, "effective_date": effective_date, **extra}
            for n, cn, text in zip((1, 2, 3), "一二三", texts)]


def test_national_records_load_with_kind_dates_and_status(national):
    articles = {a.id: a for a in load_corpus([NATIONAL])}
    assert len(articles) == 57888  # every record of the source, none dropped or duplicated
    assert {a.doc_type for a in articles.values()} == {"宪法", "法律", "立法解释", "行政法规", "司法解释", "部门规章"}
    assert {a.status for a in articles.values()} == {"有效"}
    assert not [i for i in articles if "@" in i]  # only one version of each text is shipped
    security = articles["治安管理处罚法-1"]
    assert (security.effective_date, security.version_date, security.doc_type) == ("2026-01-01", "2025-06-27", "法律")
    inserted = articles["刑法-133之一"]
    assert (inserted.article_cn, inserted.article_num, inserted.citation) == (
        "第一百三十三条之一", 133, "《中华人民共和国刑法》第一百三十三条之一")
    assert articles["社会保险法-1"].law == "中华人民共和国社会保险法"
    # Texts the issue found missing from the county corpus are searchable nationally.
    citable = {a.law_short for a in national.articles}
    assert {"社会保险法", "民事诉讼法", "刑法", "工资支付暂行规定"} <= citable
    assert len(national.articles) > 57000


def test_defective_and_unnumbered_records_are_loaded_but_never_searchable(national):
    loaded = {a.id: a for a in load_corpus([NATIONAL])}
    citable = {a.id for a in national.articles}
    defective = [i for i, a in loaded.items() if a.defect]
    unnumbered = [i for i, a in loaded.items() if a.article_num is None]
    assert "生态环境法典-1119" in defective and "麻醉药品和精神药品管理条例-1" in defective
    assert "宪法-序言" in unnumbered and len(unnumbered) == 467
    assert not citable & set(defective) and not citable & set(unnumbered)
    assert national.withheld_by_reason["known defect"] == len(defective)
    assert status_label(loaded["宪法-序言"]).startswith("不作为条文引用")
    assert loaded["宪法-序言"].citation == "《中华人民共和国宪法》序言"  # never 第X条
    # The rest of the code is searchable; the corrected typo is served corrected.
    assert "生态环境法典-1118" in citable
    assert "报登记机关" in loaded["农民专业合作社法-19"].text and "报登已机关" not in loaded["农民专业合作社法-19"].text
    # Headings the source glued to the end of an article are not quoted as part of it, in either corpus.
    county = {a.id: a for a in load_corpus([COUNTY])}
    for corpus in (loaded, county):
        assert corpus["农村土地承包纠纷司法解释-19"].text.endswith("不得作为确定土地经营权的依据。")
    assert loaded["未成年人网络保护条例-12"].text.endswith("给予表彰和奖励。")
    # Amendments to the Constitution are separate texts (numbered on from the previous one), not versions.
    amendments = {a.law for a in national.articles if a.law.startswith("中华人民共和国宪法修正案")}
    assert len(amendments) == 5  # 1988, 1993, 1999, 2004, 2018


def test_county_article_ids_are_unchanged_and_citable_in_both_corpora(national):
    ids = [json.loads(line)["id"] for name in COUNTY_FILES
           for line in (COUNTY / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(COUNTY_FILES) == 27 and len(ids) == len(set(ids)) == 2993
    assert hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16] == COUNTY_IDS_SHA256
    county = {a.id for a in searchable([COUNTY], FAQ).articles}
    assert set(ids) <= county
    assert set(ids) <= {a.id for a in national.articles}


def test_the_newer_version_supersedes_the_older_and_only_it_is_cited(tmp_path):
    _write(tmp_path / "old.jsonl", _law("2012-10-26", ["旧一", "旧二"]))
    _write(tmp_path / "new.jsonl", _law("2025-06-27", ["新一", "新二", "新三"], effective_date="2026-01-01"))
    today = dt.date(2026, 6, 1)
    articles = {a.id: a for a in load_corpus([tmp_path], today)}
    assert articles["测试法-1"].text == "新一" and articles["测试法-3"].text == "新三"
    old = articles["测试法-1@2012-10-26"]
    assert (old.text, old.superseded_by, withheld_reason(old, today)) == ("旧一", "2026-01-01", "superseded")
    assert status_label(old, today) == "已被修订（现行版本 2026-01-01 起施行）"
    content = searchable([tmp_path], FAQ, today)
    assert [a.text for a in content.articles] == ["新一", "新二", "新三"]
    assert content.withheld_by_reason == {"superseded": 2}


def test_a_version_not_yet_in_effect_supersedes_nothing_until_its_day(tmp_path):
    _write(tmp_path / "old.jsonl", _law("2012-10-26", ["旧一", "旧二"]))
    _write(tmp_path / "new.jsonl", _law("2025-06-27", ["新一", "新二", "新三"], effective_date="2026-01-01"))
    before = {a.id: a.text for a in in_force(load_corpus([tmp_path], dt.date(2025, 12, 31)), dt.date(2025, 12, 31))}
    assert before == {"测试法-1": "旧一", "测试法-2": "旧二"}
    after = {a.id: a.text for a in in_force(load_corpus([tmp_path], dt.date(2026, 1, 1)), dt.date(2026, 1, 1))}
    assert after == {"测试法-1": "新一", "测试法-2": "新二", "测试法-3": "新三"}


def test_versions_that_cannot_be_ordered_are_an_error(tmp_path):
    _write(tmp_path / "a.jsonl", _law("2012-10-26", ["一"]))
    _write(tmp_path / "b.jsonl", [{**r, "version_date": None} for r in _law("", ["二"])])
    with pytest.raises(CorpusError) as err:
        load_corpus([tmp_path])
    assert err.value.problems[0] == ("b.jsonl:1: '测试法' has several versions and this one has no effective_date or "
                                     "version_date to order it by")


def test_county_corpus_serves_the_2025_security_law_and_faq_cites_of_the_old_one_are_dropped():
    content = searchable([COUNTY], FAQ)
    articles = {a.id: a for a in content.articles}
    assert articles["治安管理处罚法-1"].effective_date == "2026-01-01"
    assert len([a for a in content.articles if a.law_short == "治安管理处罚法"]) == 144
    assert not [i for i in articles if "@" in i]
    assert content.withheld_by_reason == {"superseded": 119 + 41}
    # lecoqa-144 quotes the 2012 numbering of the security law: not served as an answer against the 2025 text.
    assert not [e for e in content.faq if e.id == "lecoqa-144" and e.fully_grounded]


def test_record_without_number_needs_no_article_cn_but_an_article_number_needs_it(tmp_path):
    _write(tmp_path / "a.jsonl", [{"id": "测试法-附件", "law": "测试法", "law_short": "测试法", "text": "附件：表格"},
                                  {"id": "测试法-2", "law": "测试法", "law_short": "测试法", "article_num": 2,
                                   "text": "内容"}])
    with pytest.raises(CorpusError) as err:
        load_corpus([tmp_path])
    assert err.value.problems == ["a.jsonl:2: missing or empty field(s) article_cn"]


def test_corpus_setting_selects_folder_and_index(monkeypatch):
    monkeypatch.delenv("KNOWLEDGE_LAWS_DIR", raising=False)
    monkeypatch.delenv("KNOWLEDGE_INDEX_DIR", raising=False)
    monkeypatch.delenv("KNOWLEDGE_CORPUS", raising=False)
    monkeypatch.delenv("KNOWLEDGE_DENSE_INDEX", raising=False)
    assert (Settings().corpus, Settings().laws_dir, Settings().index_dir, Settings().dense_index) == (
        "county", COUNTY, REPO_ROOT / "var" / "index", "flat")
    monkeypatch.setenv("KNOWLEDGE_CORPUS", "national")
    # Exact search over 57,059 vectors is most of a search's time beyond the encoder; HNSW finds the same top 10
    # (docs/benchmarks.md), so the national corpus defaults to it.
    assert (Settings().corpus, Settings().laws_dir, Settings().index_dir, Settings().dense_index) == (
        "national", NATIONAL, REPO_ROOT / "var" / "index-national", "hnsw")
    assert Settings.of_corpus("national").dense_index == "hnsw" and Settings.of_corpus("county").dense_index == "flat"
    monkeypatch.setenv("KNOWLEDGE_DENSE_INDEX", "fp16")  # a site's choice wins
    assert Settings().dense_index == Settings.of_corpus("county").dense_index == "fp16"
    monkeypatch.setenv("KNOWLEDGE_CORPUS", "nation")
    with pytest.raises(ValueError, match="KNOWLEDGE_CORPUS='nation'"):
        Settings()


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "knowledge", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1", **env})


def test_show_names_the_version_and_the_superseded_one():
    result = _cli("show", "治安管理处罚法-1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "《中华人民共和国治安管理处罚法》第一条  (治安管理处罚法-1)" in out
    assert "版本：《中华人民共和国治安管理处罚法》2026-01-01 起施行（2025-06-27 版），法律，全国" in out
    assert "状态：现行有效" in out
    assert "其他版本：治安管理处罚法-1@2012-10-26  《中华人民共和国治安管理处罚法》2012-10-26 版" in out
    assert "已被修订（现行版本 2026-01-01 起施行）" in out

    old = json.loads(_cli("show", "治安管理处罚法-1@2012-10-26", "--json").stdout)
    assert old["version"]["citable"] is False and old["superseded_by"] == "2026-01-01"
    assert [v["id"] for v in old["other_versions"]] == ["治安管理处罚法-1"]


def test_show_in_the_national_corpus_and_errors():
    preamble = json.loads(_cli("show", "宪法-序言", "--json", KNOWLEDGE_CORPUS="national").stdout)
    assert preamble["version"]["citable"] is False and preamble["article_num"] is None
    missing = _cli("show", "没有这部法-1")
    assert missing.returncode == 2 and "error: no article '没有这部法-1'" in missing.stderr
    bad = _cli("show", "民法典-1", KNOWLEDGE_CORPUS="nation")
    assert bad.returncode == 2 and "KNOWLEDGE_CORPUS" in bad.stderr and "Traceback" not in bad.stderr


SLICE = ("laws/shehuibaoxianfa.jsonl", "regulations/gongzizhifuzanxingguiding.jsonl",
         "regulations/mazuiyaopinhejingshenyaopinguanlitiaoli.jsonl",
         "departmental/guanyuzhigongquannianyuepingjungongzuoshijianhegong-7c33f649.jsonl")


@pytest.mark.model
def test_national_setting_builds_and_searches_a_slice_through_the_cli(tmp_path, base_model_dir):
    """KNOWLEDGE_CORPUS=national end to end on four shipped texts plus an older version of one of them."""
    laws = tmp_path / "national"
    for name in SLICE[1:]:
        (laws / name).parent.mkdir(parents=True, exist_ok=True)
        (laws / name).write_bytes((NATIONAL / name).read_bytes())
    # The first 40 articles of 社会保险法 (fewer to embed), and an older version of the same 40.
    current = [json.loads(line) for line in (NATIONAL / SLICE[0]).read_text(encoding="utf-8").splitlines()][:40]
    _write(laws / SLICE[0], current)
    _write(laws / "laws" / "shehuibaoxianfa-2010.jsonl",
           [{**r, "text": "（旧版）" + r["text"], "effective_date": "2011-07-01", "version_date": "2010-10-28"}
            for r in current])
    env = {"KNOWLEDGE_CORPUS": "national", "KNOWLEDGE_LAWS_DIR": str(laws), "KNOWLEDGE_INDEX_DIR": str(tmp_path / "ix"),
           "KNOWLEDGE_LOCAL_DIR": str(tmp_path / "local"), "KNOWLEDGE_MODEL_DIR": str(base_model_dir)}
    build = _cli("build", **env)
    assert build.returncode == 0, build.stderr
    index = json.loads(build.stdout)["index"]
    # Citable: 社会保险法 40, 工资支付暂行规定 20, the notice's 2 numbered items; withheld: the old version (40),
    # the truncated regulation (3), the notice's preamble (no article number).
    assert index["articles"] == 40 + 20 + 2
    assert index["repealed_or_pending"] == 40 + 3 + 1

    found = _cli("search", "公司一直不给我交社保怎么办", "--top-k", "10", "--json", **env)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert len(hits) == 10 and any(h["law_short"] == "社会保险法" for h in hits)
    assert not [h for h in hits if "@" in h["id"] or h["text"].startswith("（旧版）")]
    social = next(h for h in hits if h["law_short"] == "社会保险法")
    assert social["version"]["label"] == "《中华人民共和国社会保险法》2018-12-29 起施行，法律，全国"
    assert social["version"]["status"] == "现行有效"
    plain = _cli("search", "工资应当以货币形式支付吗", "--top-k", "3", **env)
    assert "工资支付暂行规定" in plain.stdout and "· 现行有效" in plain.stdout
    truncated = _cli("search", "麻醉药品", "--law", "麻醉药品和精神药品管理条例", "--json", **env)
    assert truncated.returncode == 0 and json.loads(truncated.stdout) == []


def test_a_cite_of_an_inserted_article_resolves_to_it_not_to_the_article_before():
    from knowledge.faq import resolve_cite

    by_key = {"刑法": "刑法"}
    assert resolve_cite("中华人民共和国刑法第一百三十三条之一", by_key) == "刑法-133之一"
    assert resolve_cite("中华人民共和国刑法第一百三十三条", by_key) == "刑法-133"
