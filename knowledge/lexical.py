"""Lexical ranker: jieba word segmentation + BM25 (bm25s), stored as arrays and memory-mapped.

The BM25 weights are precomputed per (token, article) by bm25s into three compressed-sparse-column
arrays (weights, article indices, one offset per token). :meth:`LexicalIndex.save` writes them next
to the index and :meth:`LexicalIndex.load` memory-maps them, so a search process holds only the
vocabulary and the pages of the tokens its questions use — no token lists, no per-article Python objects.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import bm25s
import numpy as np

_WORD = re.compile(r"[\w\u4e00-\u9fff]")
# Function words that match almost every article and every question.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 或 及 等 对 有 被 把 我 你 他 她 它 我们 他们 这 那 个 吗 呢 吧 啊 么 怎么 怎么办 "
    "什么 如何 可以 能 能否 是否 应该 应当 会 要 就 都 也 还 又 但 而 之 其 为 以 于 由 从 向 让 给 "
    "没有 不 请问 一下 一个 这个 那个 哪些 多少 法律 规定".split()
)
ARRAY_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Search-mode segmentation (long words also yield their parts), without stopwords and punctuation."""
    words = _jieba().lcut_for_search(text)
    return [w for w in words if _WORD.search(w) and w not in STOPWORDS]


class LexicalIndex:
    """BM25 over pre-tokenised articles; scores every article so the engine can fuse and filter."""

    def __init__(self, tokenized: list[list[str]], k1: float = 1.2, b: float = 0.75):
        bm25 = bm25s.BM25(k1=k1, b=b)
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in tokenized]
        bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        self._set(bm25, len(tokenized))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> LexicalIndex:
        """The index :meth:`save` wrote; with ``mmap`` the arrays stay on disk until a question reads them."""
        bm25 = bm25s.BM25.load(str(folder), mmap=mmap, load_corpus=False)
        index = cls.__new__(cls)
        index._set(bm25, int(bm25.scores["num_docs"]))
        return index

    def save(self, folder: Path) -> None:
        self._bm25.vocab_dict = self._vocab
        self._bm25.save(str(folder), show_progress=False)

    def _set(self, bm25, size: int) -> None:
        self._bm25 = bm25
        self._vocab: dict[str, int] = bm25.vocab_dict
        self._size = size
        self._data, self._indices, self._indptr = (bm25.scores[k] for k in ("data", "indices", "indptr"))

    def __len__(self) -> int:
        return self._size

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        known = [self._vocab[t] for t in query_tokens if t in self._vocab]
        if not known:
            return np.zeros(self._size, dtype=np.float32)
        # One bincount over the postings of the question's tokens (a repeated token counts again, as in
        # bm25s): much faster than bm25s's np.add.at per token for common words at 10^5 articles.
        spans = [(int(self._indptr[t]), int(self._indptr[t + 1])) for t in known]
        articles = np.concatenate([self._indices[s:e] for s, e in spans])
        weights = np.concatenate([self._data[s:e] for s, e in spans])
        return np.bincount(articles, weights=weights, minlength=self._size).astype(np.float32)
