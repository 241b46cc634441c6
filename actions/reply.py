"""How an answer is sent: the lead with the verbatim articles, the next step for the topic, the disclaimer.

The wording lives in ``domain.yml`` (responses ``utter_legal_question/<topic>``, ``utter_faq_answer``,
``utter_drafted_answer``, ``utter_next_step_<topic>``, ``utter_disclaimer``); which responses carry an
answer, with the articles quoted from the corpus as the ``articles`` variable, is
``knowledge.answers.answer_responses`` (the operators' agent assist fills the same ones); this module
sends them.

With ``ANSWER_LLM_URL`` set (``actions.config``), :func:`plain_draft` asks the county's model
(``actions.llm_client``) for a plain-language explanation of the articles found; the draft is shown
only if ``knowledge.drafting.check_draft`` finds nothing wrong with it, above the same verbatim
articles. Whatever goes wrong — off, timeout, error, a failed check — the plain answer goes out and
the reason is logged (citations and error kinds only: never the question or the draft).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rasa_sdk.executor import CollectingDispatcher

import safety
from actions import config, llm_client
from knowledge import Hit
from knowledge.answers import answer_responses, quote
from knowledge.drafting import check_draft, clean_draft, draft_messages
from records import redact

__all__ = ["REFERRAL_BUTTONS", "Draft", "plain_draft", "quote", "send_answer"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """What became of the draft of one answer: ``status`` ``used`` (``text`` is shown) or ``dropped``."""

    status: str
    text: str | None = None


def send_answer(
    dispatcher: CollectingDispatcher, hits: list[Hit], topic: str, faq_answer: str | None, draft: str | None = None
) -> None:
    """The answer from the law: a written (FAQ or operator) answer, a checked draft or the topic's
    lead, then the articles.

    ``topic`` is a key of ``records.TOPICS`` (``knowledge.topics.choose_topic`` gives ``other`` when
    nothing points to one). Which responses carry the answer is ``knowledge.answers.answer_responses``.
    """
    for response, values in answer_responses(hits, topic, faq_answer, draft):
        dispatcher.utter_message(response=response, **values)


async def plain_draft(question: str, hits: list[Hit], domain: dict[str, Any] | None) -> Draft | None:
    """A plain-language draft of the answer quoting ``hits``, checked; None when drafting is off.

    The question goes to the model redacted (phone, ID and card numbers masked), as it is logged.
    ``domain``: the phone numbers and addresses its responses give are the only ones a draft may give.
    """
    if not config.ANSWER_LLM_URL or not hits:
        return None
    try:
        reply = await llm_client.complete(
            config.ANSWER_LLM_URL,
            draft_messages(redact(question), hits),
            model=config.ANSWER_LLM_MODEL,
            key=config.ANSWER_LLM_KEY,
            timeout=config.ANSWER_LLM_TIMEOUT,
        )
        draft = clean_draft(reply)
        problems = check_draft(draft, hits, known_texts=_known_texts(domain), max_chars=config.ANSWER_LLM_MAX_CHARS)
    except llm_client.DraftUnavailable as exc:
        logger.warning("answer draft dropped: %s", exc)
        return Draft("dropped")
    except Exception as exc:  # noqa: BLE001 - whatever else fails, the plain answer goes out
        logger.warning("answer draft dropped: %s", type(exc).__name__, exc_info=True)
        return Draft("dropped")
    if problems:
        logger.warning("answer draft dropped: %s", "; ".join(problems))
        return Draft("dropped")
    return Draft("used", draft)


def _known_texts(domain: dict[str, Any] | None) -> Iterator[str]:
    """Our own wording: every response text of the domain, and the emergency numbers."""
    for variants in ((domain or {}).get("responses") or {}).values():
        for variant in variants or ():
            yield str(variant.get("text") or "")
    yield "\n".join(number for numbers in safety.NUMBERS.values() for number in numbers)


# Used by actions/emergency.py until its wording moves into the domain (utter_unsure_answer and
# utter_offer_referral carry the same buttons there).
REFERRAL_BUTTONS = [
    {"title": "是，帮我联系", "payload": "/affirm"},
    {"title": "不用了", "payload": "/deny"},
]
