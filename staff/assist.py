"""Agent assist: what the bot would answer a caller's question, for the hotline operator on the phone.

The same engine and the same composition as the bot: ``knowledge.load_engine`` (the built index,
configured by ``knowledge.config``) and ``knowledge.answers.compose`` with the approved operator
entries, filled into the same ``domain.yml`` responses. The topic is chosen as the bot chooses it
(``knowledge.topics.choose_topic``): Rasa's own NLU (``POST /model/parse``: the response selector the
bot reads) combined with the laws of the articles found; without Rasa, the laws alone. The
engine loads on the first question (about a minute on a busy machine; ``STAFF_ASSIST_PRELOAD=1``
loads it when the app starts), is shared by the app's requests and is swapped for a newer index's
while the app serves (``knowledge.serving``), as the bot's is.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import requests

from knowledge import EmptyQueryError, SearchEngine, load_engine
from knowledge.answers import Answer, OperatorEntry, answer_responses, compose, quote, unknown_articles
from knowledge.serving import LiveEngine
from knowledge.topics import choose_topic
from records import knowledge_entries
from records.topics import TOPICS, nlu_topics
from staff.config import Settings
from staff.errors import StaffError, invalid
from staff.rasa_api import DEFAULT_URL
from staff.wording import response_text

logger = logging.getLogger(__name__)
FURTHER_HITS = 10
MAX_QUESTION = 1000
_engine = LiveEngine(lambda: load_engine())


def engine() -> SearchEngine:
    """The search engine (loaded once per process, then swapped for a newer index's; call off the event loop)."""
    return _engine.get()


def watch_index(stop: threading.Event) -> None:
    """Swap in a newer index when a build writes one, until ``stop`` is set."""
    _engine.watch(stop=stop)


def _nlu(question: str, settings: Settings) -> dict[str, float]:
    url = f"{(settings.rasa_url or DEFAULT_URL).rstrip('/')}/model/parse"
    params = {"token": settings.rasa_token} if settings.rasa_token else {}
    try:
        reply = requests.post(url, json={"text": question}, params=params, timeout=10)
        reply.raise_for_status()
        return nlu_topics(reply.json())
    except (requests.RequestException, ValueError):
        logger.warning("Rasa's NLU did not answer; the topic comes from the laws found alone")
        return {}


def _entries() -> list[OperatorEntry]:
    return [OperatorEntry(e.id, e.question, e.answer, tuple(e.articles)) for e in knowledge_entries.approved()]


def _answer(question: str, filters: dict[str, str | None]) -> Answer:
    return compose(engine(), question, _entries(), top_k=FURTHER_HITS + 3, **filters)


def answer_json(answer: Answer, topic: str) -> dict[str, Any]:
    quoted = {h.id for h in answer.hits}
    if answer.outcome == "fallback":
        messages = [response_text("utter_unsure_answer")]
    else:
        messages = [response_text(name, **values) for name, values in answer_responses(answer.hits, topic, answer.text)]
    return {
        "outcome": answer.outcome,
        "topic": TOPICS.get(topic, TOPICS["other"]),
        "topic_key": topic,
        "text": answer.text,
        "entry_id": answer.entry_id,
        "confidence": answer.confidence,
        "articles": [{**h.to_dict(), "quote": quote(h)} for h in answer.hits],
        "messages": messages,
        "whole": "\n\n".join(messages),
        "hits": [{**h.to_dict(), "quote": quote(h)} for h in answer.found.hits if h.id not in quoted][:FURTHER_HITS],
    }


async def assist(question: object, filters: dict[str, str | None], settings: Settings) -> dict[str, Any]:
    if not isinstance(question, str) or not question.strip():
        raise invalid("q (the caller's question) is required")
    if len(question) > MAX_QUESTION:
        raise invalid(f"q is longer than {MAX_QUESTION} characters")
    nlu_task = asyncio.to_thread(_nlu, question, settings)
    try:
        answer, nlu = await asyncio.gather(asyncio.to_thread(_answer, question, filters), nlu_task)
    except EmptyQueryError:
        raise invalid("q has no searchable words") from None
    except (OSError, RuntimeError) as exc:
        logger.exception("search engine unavailable")
        raise StaffError(503, "search_unavailable", "the search engine is not available") from exc
    # The bot's topic: the NLU's guess combined with the laws of the articles found.
    return answer_json(answer, choose_topic(nlu, answer.found.hits, TOPICS))


async def check_articles(article_ids: list[str]) -> list[str]:
    """The ids that are not in-force articles of the corpus (the articles the bot can quote)."""
    if not article_ids:
        return []
    return await asyncio.to_thread(lambda: unknown_articles(engine(), article_ids))
