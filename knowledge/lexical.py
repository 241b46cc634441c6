"""Lexical ranker: jieba word segmentation + BM25 (bm25s)."""

from __future__ import annotations

import functools
import logging
import re

import bm25s
import numpy as np

_WORD = re.compile(r"[\w\u4e00-\u9fff]")
# Function words that match almost every article and every question.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 或 及 等 对 有 被 把 我 你 他 她 它 我们 他们 这 那 个 吗 呢 吧 啊 么 怎么 怎么办 "
    "什么 如何 可以 能 能否 是否 应该 应当 会 要 就 都 也 还 又 但 而 之 其 为 以 于 由 从 向 让 给 "
    "没有 不 请问 一下 一个 这个 那个 哪些 多少 法律 规定".split()
)


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
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in tokenized]
        self._vocab = vocab
        self._size = len(tokenized)
        self._bm25.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        known = [self._vocab[t] for t in query_tokens if t in self._vocab]
        if not known:
            return np.zeros(self._size, dtype=np.float32)
        return self._bm25.get_scores(known).astype(np.float32)
