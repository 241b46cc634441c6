"""Plain-language drafts (ANSWER_LLM_URL) through the real answer action, against a real local HTTP server.

``action_answer_question`` runs as in the action server (a small real engine, a temporary records
database) and asks a scripted OpenAI-compatible server (``chat_completions_server.py``) for a draft
of the articles it found. A draft that passes the guard comes first, with the articles verbatim under
it; an invented article, a misquote, a timeout, an HTTP error or a body that is no chat completion
leaves the plain answer, and the consultation record says whether a draft was used or dropped.
"""

from __future__ import annotations

import logging
import re
import time

import pytest
from action_helpers import recorded, render, rows, run, slots
from chat_completions_server import chat_server, given_articles, reply

from actions import config
from actions.answer_question import ActionAnswerQuestion
from knowledge.config import REPO_ROOT
from knowledge.corpus import in_force, load_corpus
from records.schema import consultations

pytestmark = [pytest.mark.model, pytest.mark.usefixtures("small_engine")]
CORPUS = {(a.law, a.article_cn): a.text for a in in_force(load_corpus([REPO_ROOT / "knowledge" / "data" / "laws"]))}
QUOTE = re.compile(r"《(?P<law>[^》]+)》(?P<article>第[零一二三四五六七八九十百千]+条)：(?P<text>.+?)(?=\n\n|$)", re.S)
# Answered from the search (no curated FAQ answer is close enough), so a draft is asked for; the phone
# number shows the question reaches the model redacted.
QUESTION = "公司让我每天加班到晚上十点，一分钱加班费都没有，我电话13912345678"
PHONE = "13912345678"
TIMEOUT = 1.5


@pytest.fixture
def model(monkeypatch):
    with chat_server() as server:
        monkeypatch.setattr(config, "ANSWER_LLM_URL", server.url)
        monkeypatch.setattr(config, "ANSWER_LLM_MODEL", "qwen-county")
        monkeypatch.setattr(config, "ANSWER_LLM_KEY", "county-key")
        monkeypatch.setattr(config, "ANSWER_LLM_TIMEOUT", TIMEOUT)
        yield server


def ask(text: str = QUESTION):
    started = time.monotonic()
    messages, events = run(ActionAnswerQuestion(), recorded("wage_question", text=text))
    return messages, events, time.monotonic() - started


def verbatim_articles(lead: str) -> list[tuple[str, str]]:
    """The articles quoted in the lead, each checked against the corpus."""
    quotes = list(QUOTE.finditer(lead))
    for q in quotes:
        assert CORPUS[(q["law"], q["article"])] == q["text"].strip()
    return [(q["law"], q["article"]) for q in quotes]


def law_of(request) -> str:
    """《the law》 of the first article the request gives."""
    return given_articles(request)[0][0].split("》")[0] + "》"


def assert_plain_answer(messages, events, db, draft: str | None):
    lead = render(messages[0])
    assert messages[0]["response"] == "utter_legal_question/labor"
    assert lead.startswith("关于拖欠工资和打工用工的问题，法律是这样规定的：")
    assert 1 <= len(verbatim_articles(lead)) <= 3
    assert [m["response"] for m in messages[1:]] == ["utter_next_step_labor", "utter_disclaimer"]
    (logged,) = rows(db, consultations)
    assert logged["id"] == slots(events)["consultation_id"] and logged["draft"] == draft


def test_without_a_model_url_the_plain_answer_goes_out_and_no_draft_is_counted(db):
    assert config.ANSWER_LLM_URL == ""  # off by default
    messages, events, _ = ask()
    assert_plain_answer(messages, events, db, draft=None)


def test_a_good_draft_comes_first_with_the_articles_verbatim_under_it(db, model):
    def good(request):
        (citation, text), *_ = given_articles(request)
        return reply(
            f"<think>先看法条。</think>简单说：加班要给加班费。{citation}写明了「{text[:12]}」。"
            "拿不准可以拨打12348问一问。"
        )

    model.script = good
    messages, events, _ = ask()
    lead = render(messages[0])
    assert messages[0]["response"] == "utter_drafted_answer"
    draft, note, articles = lead.split("\n\n", 2)
    assert draft.startswith("简单说：加班要给加班费。《") and "think" not in draft
    assert "以法条原文为准" in note and articles.startswith("相关法条：\n《")
    cited = verbatim_articles(articles)
    assert cited and [f"《{law}》{article}" for law, article in cited] == [
        c for c, _ in given_articles(model.requests[0]["json"])
    ]
    assert [m["response"] for m in messages[1:]] == ["utter_next_step_labor", "utter_disclaimer"]
    (logged,) = rows(db, consultations)
    assert logged["draft"] == "used" and logged["articles"] == slots(events)["cited_articles"]
    (request,) = model.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer county-key"
    assert request["json"]["model"] == "qwen-county" and request["json"]["stream"] is False
    user = request["json"]["messages"][1]["content"]
    assert PHONE not in user and "139****5678" in user  # redacted before it leaves the action server


@pytest.mark.parametrize(
    ("name", "script", "reason"),
    [
        (
            "invented article",
            lambda r: reply(f"老板要付加班费，见{law_of(r)}第九百九十九条。"),
            "article not among the quoted articles",
        ),
        (
            "wrong law",
            lambda r: reply("按《中华人民共和国刑法》第二百七十六条之一，老板可能犯罪。"),
            "law not among the quoted articles: 《中华人民共和国刑法》第276条之一",
        ),
        (
            "misquote",
            lambda r: reply(f"法律写的是「{given_articles(r)[0][1][:15]}，加倍支付」。"),
            "quotation not verbatim",
        ),
        ("invented phone", lambda r: reply("加班要给加班费，可以打13800138000找劳动监察。"), "phone number"),
        ("over-long", lambda r: reply("加班要给加班费。" * 80), "too long"),
        ("empty", lambda r: reply("   "), "empty answer"),
        ("HTTP 500", lambda r: (500, b'{"error": "model crashed"}', 0.0), "HTTP 500"),
        ("bad JSON", lambda r: (200, b"<html>upstream error</html>", 0.0), "not a chat completion"),
        ("no choices", lambda r: (200, b'{"choices": []}', 0.0), "not a chat completion"),
    ],
)
def test_a_draft_that_fails_or_errs_is_dropped_for_the_plain_answer(db, model, caplog, name, script, reason):
    model.script = script
    with caplog.at_level(logging.WARNING, logger="actions.reply"):
        messages, events, _ = ask()
    assert len(model.requests) == 1, name
    assert_plain_answer(messages, events, db, draft="dropped")
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "actions.reply"]
    assert logged.startswith("answer draft dropped: ") and reason in logged
    assert PHONE not in logged and "13800138000" not in logged  # the log names reasons, not words


def test_a_model_that_does_not_answer_in_time_leaves_the_plain_answer_within_the_timeout(db, model, caplog):
    model.script = lambda r: reply("加班要给加班费。")
    _, _, quick = ask()  # the search and the records database warmed up, a draft in no time
    model.script = lambda r: reply("加班要给加班费。", delay=TIMEOUT + 5)
    with caplog.at_level(logging.WARNING, logger="actions.reply"):
        messages, events, waited = ask()
    assert TIMEOUT <= waited < TIMEOUT + quick + 2.0, (waited, quick)  # margin: a noisy shared machine
    assert messages[0]["response"] == "utter_legal_question/labor" and len(verbatim_articles(render(messages[0])))
    assert [r["draft"] for r in rows(db, consultations)] == ["used", "dropped"]
    assert any(f"no answer within {TIMEOUT:g} s" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("setting", ["down", "127.0.0.1:8000/v1", "http://[::1/v1"])
def test_a_model_server_that_is_down_or_misconfigured_leaves_the_plain_answer(db, monkeypatch, setting):
    with chat_server() as gone:
        url = gone.url if setting == "down" else setting  # down: nothing listens there any more
    monkeypatch.setattr(config, "ANSWER_LLM_URL", url)
    messages, events, elapsed = ask()
    assert_plain_answer(messages, events, db, draft="dropped")
    assert elapsed < config.ANSWER_LLM_TIMEOUT


def test_a_written_answer_is_not_redrafted(db, model, monkeypatch):
    """An approved operator answer (like a curated FAQ one) is a person's own words: no draft is asked for."""
    from actions import services
    from records import knowledge_entries

    monkeypatch.setattr(services, "ENTRIES_TTL_S", 0.0)
    answer = "加班应当支付加班费，可以向劳动保障监察机构投诉。"
    entry = knowledge_entries.propose(QUESTION, answer, ["劳动法-44"], "lin", engine=db)
    knowledge_entries.review(entry.id, True, "bureau", engine=db)
    messages, _, _ = ask()
    assert messages[0]["response"] == "utter_faq_answer" and render(messages[0]).startswith(answer)
    assert model.requests == [] and rows(db, consultations)[0]["draft"] is None
