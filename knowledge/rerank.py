"""The second stage (issue 10): a learned linear reranker over the fused top candidates.

The fusion (:func:`knowledge.engine.fuse`) ranks a few hundred candidates by a weighted sum of three
signals. The second stage takes its best ``depth`` candidates and scores each (question, article) pair
again from features the fusion does not see or sees only as one number:

| group | features |
|---|---|
| ``dense`` | cosine; its gap to the best candidate's cosine; log rank among the candidates by cosine |
| ``lexical`` | BM25 scaled by the best article; log rank by BM25 |
| ``faq`` | the FAQ neighbours' votes for the article; the same as a share of the best-voted candidate's |
| ``fused`` | gap to the best fused score; log rank in the fused order |
| ``law_prior`` | P(law | question) from the laws the FAQ neighbours cite; the fused top 10's share of the law;
  the best fused score of the law's candidates, as a gap to the best |
| ``article`` | log length of the text; position in its law (article number / the law's last number); 司法解释 |

The model is a logistic regression, chosen by cross-validation on the STARD tuning split
(``benchmarks/train_rerank.py``, which writes the weights file; measurement in docs/benchmarks.md). Serving
is pure numpy: :func:`features` builds the matrix and :meth:`SecondStage.score` is one standardised dot
product — well under a millisecond for 50 candidates. Only the order changes: the candidates are the
fusion's, so the second stage can never return an article outside the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.corpus import Article

WEIGHTS_FILE = Path(__file__).resolve().parent / "data" / "rerank" / "second_stage.json"  # shipped, see above
DEPTH = 50  # fused candidates reranked (issue 10 asks for 30–50; the fused top 50 holds ~0.8 of the gold)
TOP_LAWS = 10  # the fused top this many give the pseudo-relevance law share

GROUPS: dict[str, tuple[str, ...]] = {
    "dense": ("dense", "dense_gap", "dense_rank"),
    "lexical": ("lexical", "lexical_rank"),
    "faq": ("faq_votes", "faq_share"),
    "fused": ("fused_gap", "fused_rank"),
    "law_prior": ("law_faq", "law_top", "law_best_gap"),
    "article": ("log_length", "position", "interpretation"),
}
FEATURES: tuple[str, ...] = tuple(name for names in GROUPS.values() for name in names)


@dataclass(frozen=True)
class ArticleTable:
    """Per-article constants the features need, computed once when the engine loads."""

    law: np.ndarray  # int: index of the article's text (law short name)
    log_length: np.ndarray
    position: np.ndarray  # article number / the last article number of its law, in (0, 1]; 0 if unnumbered
    interpretation: np.ndarray  # 1.0 for a judicial interpretation

    @classmethod
    def of(cls, articles: Sequence[Article]) -> ArticleTable:
        laws: dict[str, int] = {}
        law = np.array([laws.setdefault(a.law_short, len(laws)) for a in articles], dtype=np.int64)
        last = np.zeros(len(laws), dtype=np.float32)
        numbers = np.array([a.article_num or 0 for a in articles], dtype=np.float32)
        np.maximum.at(last, law, numbers)
        position = np.where(last[law] > 0, numbers / np.maximum(last[law], 1.0), 0.0).astype(np.float32)
        return cls(
            law=law,
            log_length=np.log1p(np.array([len(a.text) for a in articles], dtype=np.float32)),
            position=position,
            interpretation=np.array([a.doc_type == "司法解释" for a in articles], dtype=np.float32),
        )


def _log_rank(values: np.ndarray) -> np.ndarray:
    """log(1 + rank) of each value, rank 0 for the largest (ties broken by position)."""
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[np.argsort(-values, kind="stable")] = np.arange(len(values), dtype=np.float32)
    return np.log1p(ranks)


def features(
    top: np.ndarray,
    candidates: np.ndarray,
    dense: np.ndarray,
    lexical: np.ndarray,
    fused: np.ndarray,
    votes: np.ndarray,
    law_votes: dict[int, float],
    table: ArticleTable,
) -> np.ndarray:
    """The feature matrix (len(top) × len(FEATURES)) of the candidates at positions ``top`` (fused order).

    ``candidates``, ``dense``, ``lexical``, ``fused`` and ``votes`` are per candidate (the engine's
    Signals plus the fused score and FAQ votes); ``law_votes`` maps a law index of ``table`` to the share
    of the FAQ neighbours citing it.
    """
    articles = candidates[top]
    law = table.law[articles]
    top_laws = law[:TOP_LAWS]
    best_votes = float(votes.max()) if len(votes) else 0.0
    law_best = np.full(int(table.law.max()) + 1, -np.inf, dtype=np.float32)
    np.maximum.at(law_best, table.law[candidates], fused)
    columns = {
        "dense": dense[top],
        "dense_gap": dense[top] - float(dense.max()),
        "dense_rank": _log_rank(dense)[top],
        "lexical": lexical[top],
        "lexical_rank": _log_rank(lexical)[top],
        "faq_votes": votes[top],
        "faq_share": votes[top] / best_votes if best_votes > 0 else np.zeros(len(top), dtype=np.float32),
        "fused_gap": fused[top] - float(fused.max()),
        "fused_rank": np.log1p(np.arange(len(top), dtype=np.float32)),
        "law_faq": np.array([law_votes.get(int(x), 0.0) for x in law], dtype=np.float32),
        "law_top": np.array([(top_laws == x).mean() for x in law], dtype=np.float32),
        "law_best_gap": law_best[law] - float(fused.max()),
        "log_length": table.log_length[articles],
        "position": table.position[articles],
        "interpretation": table.interpretation[articles],
    }
    return np.column_stack([np.asarray(columns[name], dtype=np.float32) for name in FEATURES])


@dataclass(frozen=True)
class SecondStage:
    """A fitted linear scorer over a subset of :data:`FEATURES` (standardised, then one dot product)."""

    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    depth: int = DEPTH
    about: dict | None = None  # how it was trained (data, settings, cross-validation), for the record

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """The score of each row of a :func:`features` matrix (higher is better)."""
        columns = [FEATURES.index(name) for name in self.names]
        return ((matrix[:, columns] - self.mean) / self.scale) @ self.coef + self.intercept

    def to_json(self) -> str:
        return json.dumps(
            {"names": list(self.names), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
             "coef": self.coef.tolist(), "intercept": self.intercept, "depth": self.depth, "about": self.about},
            ensure_ascii=False, indent=1,
        ) + "\n"

    @classmethod
    def load(cls, path: Path) -> SecondStage:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        unknown = set(data["names"]) - set(FEATURES)
        if unknown:
            raise ValueError(f"{path}: unknown features {sorted(unknown)}")
        return cls(
            names=tuple(data["names"]),
            mean=np.array(data["mean"], dtype=np.float32),
            scale=np.array(data["scale"], dtype=np.float32),
            coef=np.array(data["coef"], dtype=np.float32),
            intercept=float(data["intercept"]),
            depth=int(data["depth"]),
            about=data.get("about"),
        )


def fit(
    matrices: Sequence[np.ndarray], labels: Sequence[np.ndarray], names: Sequence[str] = FEATURES,
    c: float = 1.0, depth: int = DEPTH, about: dict | None = None,
) -> SecondStage:
    """A logistic regression on the candidates of several questions (training only: imports scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    columns = [FEATURES.index(name) for name in names]
    x = np.concatenate([m[:, columns] for m in matrices]).astype(np.float64)
    y = np.concatenate(labels).astype(np.int64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((x - mean) / scale, y)
    return SecondStage(tuple(names), mean.astype(np.float32), scale.astype(np.float32),
                       model.coef_[0].astype(np.float32), float(model.intercept_[0]), depth, about)
