"""The answer the assistant gives to a question: which articles it quotes, from which source, or none.

One composition, used by the bot (``actions/answer_question.py``) and by the hotline operators'
agent assist (``staff/``), so an operator sees exactly the answer the bot would give:

1. an **operator entry** (a Q&A written by a hotline operator and approved by the justice bureau,
   passed in by the caller, which reads them from the records database) whose question is
   similar enough to the resident's, and whose cited articles are all in the corpus, wins;
2. else, when the fused search's best article scores below ``ANSWER_MIN_SCORE``, no answer
   (``outcome == "fallback"``): the bot says it is not sure and offers a person;
3. else a curated **FAQ answer** (lawyer-written, shipped with the corpus) whose question is similar
   enough and whose every cite resolved to the corpus;
4. else the fused search's best articles.

| variable | default | meaning |
|---|---|---|
| ``ANSWER_MIN_SCORE`` | ``0.92`` | fused score of the best article below which the bot does not answer alone
  (calibrated by ``benchmarks/answer_threshold.py`` and ``benchmarks/answer_precision.py``) |
| ``FAQ_MIN_SIMILARITY`` | ``0.92`` | question similarity above which a curated FAQ answer (or an approved
  operator entry) is given (checked by ``benchmarks/answer_threshold.py``) |
| ``ANSWER_MAX_ARTICLES`` | ``3`` | articles quoted in one answer (``benchmarks/answer_precision.py``) |
| ``ANSWER_SCORE_GAP`` | ``0.05`` | an article scoring more than this below the best one is not quoted
  (``benchmarks/answer_precision.py``) |

Of the search's best articles, those worth quoting (:func:`choose_articles`): none that only points to
other laws, none scoring more than ``ANSWER_SCORE_GAP`` below the best — a weak second article misleads
more than it helps; when nothing is left, the answer is ``fallback``.

Operator entries need no index rebuild: :class:`EntryMatcher` embeds their questions with the
engine's own encoder when they are first seen and keeps the vectors in memory.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.engine import Consultation, FaqMatch, Hit, SearchEngine
from knowledge.normalize import normalize_query

ANSWER_MIN_SCORE = float(os.environ.get("ANSWER_MIN_SCORE", "0.92"))
FAQ_MIN_SIMILARITY = float(os.environ.get("FAQ_MIN_SIMILARITY", "0.92"))
ANSWER_MAX_ARTICLES = int(os.environ.get("ANSWER_MAX_ARTICLES", "3"))
ANSWER_SCORE_GAP = float(os.environ.get("ANSWER_SCORE_GAP", "0.05"))

# An article that only points elsewhere (违反本条例规定拖欠农民工工资的，依照有关法律规定执行。) decides
# nothing for the resident, however close its words are to the question: it is never quoted.
_POINTER_ONLY = re.compile(
    r"^[^。；]{0,40}?(依照|按照)(有关法律|该法律|其他法律)[^。；]{0,16}?(执行|处理|处罚|办理)。?$"
)


def points_elsewhere(hit: Hit) -> bool:
    return bool(_POINTER_ONLY.match(hit.text.strip()))


def choose_articles(hits: Sequence[Hit], max_articles: int, score_gap: float) -> list[Hit]:
    """The articles worth quoting, best first: at most ``max_articles``, none that only points to
    other laws, none scoring more than ``score_gap`` below the best quoted. Settings and their
    measurement: benchmarks/answer_precision.py."""
    useful = [h for h in hits if not points_elsewhere(h)]
    if not useful:
        return []
    floor = useful[0].score - score_gap
    return [h for h in useful[:max_articles] if h.score >= floor]


@dataclass(frozen=True)
class OperatorEntry:
    """An approved operator Q&A entry, as the records database keeps it."""

    id: str
    question: str
    answer: str
    cites: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """What the assistant answers: ``outcome`` is ``operator``, ``faq``, ``answered`` or ``fallback``.

    ``hits`` are the quoted articles (empty for ``fallback``), ``text`` the written answer of an
    operator entry or FAQ (None for a plain search answer), ``entry_id`` the operator entry used.
    ``found`` keeps the full search result (its ``hits`` also serve as the further results).
    """

    outcome: str
    hits: list[Hit]
    text: str | None
    found: Consultation
    entry_id: str | None = None
    similarity: float | None = None

    @property
    def confidence(self) -> float | None:
        return self.found.hits[0].score if self.found.hits else None


class EntryMatcher:
    """Approved operator entries, embedded once each with the engine's encoder, matched by cosine."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str], np.ndarray] = {}
        self._lock = threading.Lock()

    def best(
        self, engine: SearchEngine, question: str, entries: Sequence[OperatorEntry]
    ) -> tuple[OperatorEntry, float] | None:
        if not entries:
            return None
        with self._lock:
            missing = [e for e in entries if (e.id, e.question) not in self._vectors]
            if missing:
                vectors = engine.encoder.encode_queries([normalize_query(e.question) for e in missing])
                for entry, vector in zip(missing, vectors):
                    self._vectors[(entry.id, entry.question)] = np.asarray(vector, dtype=np.float32)
            query = np.asarray(engine.encoder.encode_queries([normalize_query(question)])[0], dtype=np.float32)
            sims = [float(self._vectors[(e.id, e.question)] @ query) for e in entries]
        best = int(np.argmax(sims))
        return entries[best], sims[best]


_matcher = EntryMatcher()


def compose(
    engine: SearchEngine,
    question: str,
    entries: Sequence[OperatorEntry] = (),
    *,
    top_k: int | None = None,
    **filters: str | None,
) -> Answer:
    """The answer to ``question`` (see the module docstring). Raises ``EmptyQueryError``.

    ``top_k`` ranks that many articles into ``found.hits`` (at least ``ANSWER_MAX_ARTICLES`` + 2, so
    that an article that only points elsewhere leaves room for the next);
    ``filters`` (law, doc_type, jurisdiction) narrow the search as in ``SearchEngine.consult``.
    """
    found = engine.consult(question, max(top_k or 0, ANSWER_MAX_ARTICLES + 2), **filters)
    matched = _matcher.best(engine, question, entries)
    if matched is not None and matched[1] >= FAQ_MIN_SIMILARITY:
        entry, similarity = matched
        cited = _cited(engine, entry.cites)
        if cited is not None:
            return Answer("operator", cited, entry.answer, found, entry.id, similarity)
    best = choose_articles(found.hits, ANSWER_MAX_ARTICLES, ANSWER_SCORE_GAP)
    if not best or found.hits[0].score < ANSWER_MIN_SCORE:
        return Answer("fallback", [], None, found)
    faq = close_faq(found)
    if faq:
        cited = _cited(engine, faq.entry.cites)
        if cited:
            return Answer("faq", cited, faq.entry.answer, found, similarity=faq.similarity)
    return Answer("answered", best, None, found)


def close_faq(found: Consultation) -> FaqMatch | None:
    """The curated FAQ answer close enough to give (every cite resolved to the corpus, question
    similarity at least ``FAQ_MIN_SIMILARITY``), or None."""
    faq = found.faq
    return faq if faq and faq.entry.fully_grounded and faq.similarity >= FAQ_MIN_SIMILARITY else None


def _cited(engine: SearchEngine, article_ids: Sequence[str]) -> list[Hit] | None:
    """The cited in-force articles, at most ``ANSWER_MAX_ARTICLES``; None if any is not in the corpus."""
    hits = [engine.hit(article_id) for article_id in article_ids]
    if not hits or any(h is None for h in hits):
        return None
    return [h for h in hits if h is not None][:ANSWER_MAX_ARTICLES]


def unknown_articles(engine: SearchEngine, article_ids: Sequence[str]) -> list[str]:
    """The ids that name no in-force article of the corpus (an operator entry must cite none)."""
    return [a for a in article_ids if engine.hit(a) is None]


def quote(hit: Hit) -> str:
    """《law》第X条：the article's text, verbatim."""
    return f"{hit.citation}：{hit.text}"


def answer_responses(
    hits: Sequence[Hit], topic: str, text: str | None, draft: str | None = None
) -> list[tuple[str, dict[str, str]]]:
    """The domain responses that carry an answer, in order, with their variables.

    The lead (a written answer: ``utter_faq_answer``; else a plain-language draft that passed
    ``knowledge.drafting.check_draft``: ``utter_drafted_answer``; else the topic's
    ``utter_legal_question/<topic>``) with the articles quoted verbatim, the topic's next step, the
    disclaimer. The wording is ``domain.yml``'s; the bot sends these responses and the agent assist
    fills them in the same way.
    """
    articles = "\n\n".join(quote(h) for h in hits)
    if text:
        lead = ("utter_faq_answer", {"answer": text.strip(), "articles": articles})
    elif draft:
        lead = ("utter_drafted_answer", {"draft": draft.strip(), "articles": articles})
    else:
        lead = (f"utter_legal_question/{topic}", {"articles": articles})
    return [lead, (f"utter_next_step_{topic}", {}), ("utter_disclaimer", {})]
