"""The search engine: dense (sentence-transformers + faiss), lexical (jieba + BM25) and FAQ evidence, fused.

Three signals score every in-force article for a question:

- dense: cosine between the question and the article (e5 "query:" / "passage:" embeddings);
- lexical: BM25 over jieba search-mode tokens, scaled to [0, 1] by the best article;
- FAQ evidence: the most similar curated questions vote for the articles their answers cite,
  weighted by similarity (label transfer from questions lawyers already answered).

The fused score is a weighted sum; the weights were chosen on the tuning split of the STARD questions
(see ``benchmarks/retrieval.py`` and docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from knowledge.config import Settings
from knowledge.corpus import Article, corpus_hash, in_force, load_corpus, passage_text
from knowledge.dense import Embedder, all_scores, flat_index
from knowledge.faq import FaqEntry, load_faq
from knowledge.index import IndexOutOfDate, build_from_settings, load_vectors, model_fingerprint, read_manifest
from knowledge.lexical import LexicalIndex, tokenize
from knowledge.normalize import normalize, normalize_query


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
    top_dense: float = field(default=0.0)


class SearchEngine:
    def __init__(
        self,
        articles: list[Article],
        vectors: np.ndarray,
        tokens: list[list[str]],
        faq: list[FaqEntry],
        faq_vectors: np.ndarray,
        embedder: Embedder,
        weights: Weights | None = None,
    ):
        self.articles = articles
        self.by_id = {a.id: i for i, a in enumerate(articles)}
        self.embedder = embedder
        self.weights = weights or Weights()
        self._dense = flat_index(vectors)
        self._lexical = LexicalIndex(tokens)
        self.faq = faq
        self._faq_vectors = faq_vectors
        self._faq_index = flat_index(faq_vectors)
        self._faq_cites = [[self.by_id[c] for c in e.cites if c in self.by_id] for e in faq]
        self._excluded_faq: np.ndarray = np.zeros(len(faq), dtype=bool)
        self._lock = threading.Lock()  # torch encode is not re-entrant-safe across threads

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
        query = normalize_query(question)
        with self._lock:
            vector = self.embedder.encode_queries([query])[0]
        dense = all_scores(self._dense, vector)
        lexical = self._lexical.scores(tokenize(query))
        faq_scores, faq_match = self._faq_evidence(vector)
        fused = (
            self.weights.dense * dense
            + self.weights.lexical * _scaled(lexical)
            + self.weights.faq * faq_scores
        )
        mask = self._filter_mask(**filters)
        fused = np.where(mask, fused, -np.inf)
        order = np.argsort(-fused)[: max(1, min(top_k, int(mask.sum())))]
        hits = [self._hit(i, fused[i], dense[i]) for i in order if np.isfinite(fused[i])]
        return Consultation(query, hits, faq_match, float(dense[mask].max()) if mask.any() else 0.0)

    def get(self, article_id: str) -> Article | None:
        index = self.by_id.get(article_id)
        return self.articles[index] if index is not None else None

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

    def _faq_evidence(self, vector: np.ndarray) -> tuple[np.ndarray, FaqMatch | None]:
        if not self.faq:
            return np.zeros(len(self.articles), dtype=np.float32), None
        sims = all_scores(self._faq_index, vector)
        sims[self._excluded_faq] = -1.0
        votes = faq_votes(sims, self._faq_cites, len(self.articles), self.weights)
        best = int(np.argmax(sims))
        return votes, FaqMatch(self.faq[best], float(sims[best]))

    def _filter_mask(self, law=None, doc_type=None, jurisdiction=None) -> np.ndarray:
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


def faq_votes(sims: np.ndarray, cites: list[list[int]], articles: int, weights: Weights) -> np.ndarray:
    """Each of the nearest FAQ questions votes for the articles it cites, by a softmax share of similarity."""
    votes = np.zeros(articles, dtype=np.float32)
    k = min(weights.faq_neighbours, len(sims))
    nearest = np.argpartition(-sims, k - 1)[:k]
    nearest = nearest[np.argsort(-sims[nearest])]
    share = np.exp(weights.faq_sharpness * (sims[nearest] - sims[nearest[0]]))
    share /= share.sum()
    for entry_index, weight in zip(nearest, share):
        for article_index in cites[entry_index]:
            votes[article_index] += weight * sims[entry_index]
    return votes


def _scaled(scores: np.ndarray) -> np.ndarray:
    top = float(scores.max()) if len(scores) else 0.0
    return scores / top if top > 0 else scores


def open_engine(settings: Settings, weights: Weights | None = None, auto_build: bool = True) -> SearchEngine:
    """Load the persisted index; (re)build it first when it is missing or stale and auto_build is set."""
    articles = in_force(load_corpus(settings.corpus_dirs))
    faq = load_faq(settings.faq_file, articles)
    manifest = read_manifest(settings.index_dir)
    if not _is_current(manifest, settings, articles, faq):
        if not auto_build:
            raise IndexOutOfDate(f"index in {settings.index_dir} is missing or stale: run `python -m knowledge build`")
        build_from_settings(settings)
        manifest = read_manifest(settings.index_dir)
    vectors = load_vectors(settings.index_dir, "articles", manifest)
    faq_vectors = load_vectors(settings.index_dir, "faq", manifest)
    if vectors is None or faq_vectors is None:
        raise IndexOutOfDate(f"index files in {settings.index_dir} do not match the manifest: rebuild it")
    cached = json.loads((settings.index_dir / "tokens.json").read_text(encoding="utf-8"))
    tokens = [cached.get(a.content_hash) or tokenize(passage_text(a)) for a in articles]
    embedder = Embedder(settings.model_dir, settings.threads)
    return SearchEngine(articles, vectors, tokens, faq, faq_vectors, embedder, weights)


def _is_current(manifest: dict | None, settings: Settings, articles: list[Article], faq: list) -> bool:
    return bool(
        manifest
        and manifest.get("corpus_hash") == corpus_hash(articles)
        and manifest.get("faq") == [e.id for e in faq]
        and Path(settings.model_dir).exists()
        and manifest.get("model_fingerprint") == model_fingerprint(settings.model_dir)
    )


@functools.lru_cache(maxsize=1)
def load_engine() -> SearchEngine:
    """The process-wide engine for the default settings (built on first use if needed)."""
    return open_engine(Settings())
