"""Residents talking to the real Rasa server and action server through the REST webhook, in Chinese."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from e2e_stack import HANDOFF_TIMEOUT_MINUTES, Stack
from sqlalchemy import select

import records
from knowledge.config import REPO_ROOT
from knowledge.corpus import in_force, load_corpus
from records.schema import referrals

pytestmark = pytest.mark.e2e
HANDOFF_TIMEOUT_S = float(HANDOFF_TIMEOUT_MINUTES) * 60

CORPUS = {(a.law, a.article_cn): a for a in in_force(load_corpus([REPO_ROOT / "knowledge" / "data" / "laws"]))}
QUOTE = re.compile(r"《(?P<law>[^》]+)》(?P<article>第[零一二三四五六七八九十百千]+条)：(?P<text>.+?)(?=\n\n|$)", re.S)


def new_sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def texts(replies: list[dict]) -> str:
    """The replies as one text; each reply is its own paragraph (Rasa splits plain texts at blank lines)."""
    return "\n\n".join(r.get("text") or "" for r in replies)


def quoted_articles(reply: str) -> list[tuple[str, str, str]]:
    return [(m["law"], m["article"], m["text"].strip()) for m in QUOTE.finditer(reply)]


def test_greeting_gets_a_greeting(stack: Stack):
    reply = texts(stack.send(new_sender(), "你好"))
    assert "您好" in reply or "你好" in reply


def test_wage_arrears_answer_quotes_real_articles_verbatim(stack: Stack):
    sender = new_sender()
    replies = stack.send(sender, "老板拖欠我三个月工资不给，我该怎么办")
    answer = texts(replies)
    quotes = quoted_articles(answer)
    assert 1 <= len(quotes) <= 3, answer
    for law, article, text in quotes:
        assert (law, article) in CORPUS, f"cited article not in corpus: 《{law}》{article}"
        assert text == CORPUS[(law, article)].text, f"《{law}》{article} is not quoted verbatim"
    assert any(law in ("中华人民共和国劳动合同法", "保障农民工工资支付条例", "中华人民共和国劳动法")
               for law, _, _ in quotes), answer
    assert "不是针对您个案的法律意见" in answer  # the disclaimer
    assert "仲裁" in answer or "劳动保障监察" in answer  # the next step
    buttons = {b["title"]: b["payload"] for r in replies for b in r.get("buttons", [])}
    assert buttons["👍 有帮助"] == '/feedback{"helpful": "yes"}'
    assert buttons["👎 没帮助"] == '/feedback{"helpful": "no"}'
    logged = stack.consultations(sender)
    assert logged and logged[-1]["outcome"] in ("answered", "faq")
    assert logged[-1]["topic"] == "劳动纠纷"
    assert logged[-1]["articles"]


def test_feedback_button_is_stored(stack: Stack):
    sender = new_sender()
    stack.send(sender, "邻居家的树倒了砸坏了我家的车，谁赔")
    replies = stack.send(sender, '/feedback{"helpful": "no"}')
    assert "法律顾问" in texts(replies)
    consultation_id = stack.consultations(sender)[-1]["id"]
    feedback = records.get_feedback(consultation_id, engine=records.get_engine(stack.db_url))
    assert feedback is not None and feedback.helpful is False


def test_referral_conversation_ends_with_a_stored_record(stack: Stack):
    sender = new_sender()
    stack.send(sender, "我想找村里的法律顾问帮忙")
    stack.send(sender, "石桥村")
    stack.send(sender, "138 1234 5678")
    confirm = texts(stack.send(sender, "包工头欠我们八个人的工资两万多块钱，过年前都没给"))
    assert "13812345678" in confirm or "138 1234 5678" in confirm
    assert "石桥村" in confirm
    unclear = texts(stack.send(sender, "行吧我考虑下"))  # not a plain yes: nothing is sent, asked again
    assert "同意" in unclear and "13812345678" in unclear, unclear
    done = texts(stack.send(sender, "/affirm"))
    assert "法律顾问" in done
    with records.get_engine(stack.db_url).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(referrals))]
    mine = [r for r in rows if r["description"].startswith("包工头欠我们八个人的工资")]
    assert len(mine) == 1
    assert mine[0]["contact_phone"] == "13812345678"
    assert mine[0]["consent"] is True and mine[0]["status"] == "new"
    assert "5678" in mine[0]["summary"] or "包工头" in mine[0]["summary"]


def test_invalid_phone_is_asked_again(stack: Stack):
    sender = new_sender()
    stack.send(sender, "帮我联系法律顾问")
    stack.send(sender, "石桥村")
    reply = texts(stack.send(sender, "12345"))
    assert "号码" in reply


def test_emergency_gets_110_at_once(stack: Stack):
    sender = new_sender()
    replies = stack.send(sender, "我老公现在拿着刀要砍我，救命")
    first = replies[0].get("text") or ""
    assert "110" in first
    assert "12338" in texts(replies)
    assert stack.consultations(sender)[-1]["outcome"] == "emergency"


def test_a_resident_waiting_for_a_human_is_answered_and_the_bot_resumes(stack: Stack):
    """转人工 in hotline hours: every message gets the queue position, an emergency still gets 110, and
    after HANDOFF_TIMEOUT_MINUTES without an operator (E2E_HANDOFF_TIMEOUT_MINUTES) the bot resumes."""
    sender = new_sender()
    started = time.monotonic()
    queued = texts(stack.send(sender, "转人工"))
    assert "转接人工" in queued and re.search(r"排在第 \d+ 位", queued), queued
    assert stack.tracker(sender)["paused"] is False
    engine = records.get_engine(stack.db_url)
    handoff = records.open_handoff_for(sender, engine=engine)
    assert handoff is not None and handoff.status == "waiting"
    status = texts(stack.send(sender, "老板拖欠工资怎么办"))
    assert re.search(r"排在第 \d+ 位", status) and "《" not in status, status  # no answer from the bot yet
    assert "排在第" in texts(stack.send(sender, "好的"))
    emergency = stack.send(sender, "我老公现在拿着刀要砍我，救命")
    assert "110" in (emergency[0].get("text") or ""), emergency  # never swallowed by the waiting rule
    time.sleep(max(0.0, started + HANDOFF_TIMEOUT_S + 1 - time.monotonic()))
    resumed = texts(stack.send(sender, "还要等多久"))
    assert "工作人员现在都在忙" in resumed, resumed
    assert records.open_handoff_for(sender, engine=engine) is None  # closed when the bot resumed
    answer = texts(stack.send(sender, "老板拖欠我三个月工资不给，我该怎么办"))
    assert quoted_articles(answer), answer  # the bot answers again


@pytest.mark.parametrize("message", ["asdkjh qwe zxc", "？？？。。。", "😀😀😀", "啊" * 5000, "工资" * 2500])
def test_gibberish_and_huge_messages_get_a_polite_reply(stack: Stack, message: str):
    replies = stack.send(new_sender(), message)
    assert replies, "the bot must always answer"
    reply = texts(replies)
    assert reply.strip()
    assert "Traceback" not in reply and "error" not in reply.lower()
