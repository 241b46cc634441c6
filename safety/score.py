"""A simple learned score beside the rules: logistic regression on character n-grams.

The rules (``emergency.py``) miss dangers worded in ways nobody listed; on fresh phrasings they
caught about two in three. This score, trained on every part of the emergency test set (dev and the
rounds), the NLU examples and real legal questions (scripts/train_emergency_score.py), catches most of
the rest. It answers two questions about a normalised message: how likely it reports a danger now, and which
kind of danger is most likely. ``emergency.detect`` uses it only when the rules find nothing.

The weights are a JSON file next to this module (``emergency_score.json``); training and scoring use
the same ``features``. Every function takes an optional ``model`` (the same JSON shape) so that the
benchmark can score a round with a model trained without that round (leave-one-round-out). Pure
Python, standard library only.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

MODEL_FILE = Path(__file__).with_name("emergency_score.json")
NGRAM_SIZES = (1, 2, 3)


def features(normalised: str) -> set[str]:
    """Character 1–3-grams of a normalised text; n-grams across a clause boundary are left out."""
    grams: set[str] = set()
    for n in NGRAM_SIZES:
        for i in range(len(normalised) - n + 1):
            gram = normalised[i : i + n]
            if n == 1 or "，" not in gram:
                grams.add(gram)
    return grams


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def linear(model: dict, grams: set[str]) -> float:
    weights = model["weights"]
    return sigmoid(model["bias"] + sum(weights.get(g, 0.0) for g in grams))


@functools.cache
def _model() -> dict:
    return json.loads(MODEL_FILE.read_text(encoding="utf-8"))


def threshold(model: dict | None = None) -> float:
    return (model or _model())["threshold"]


def probability(normalised: str, model: dict | None = None) -> float:
    """How likely the message reports a danger happening now (0–1)."""
    return linear((model or _model())["emergency"], features(normalised))


def likely_kind(normalised: str, model: dict | None = None) -> tuple[str, float]:
    """The most likely kind of danger and its score (0–1)."""
    grams = features(normalised)
    scored = {kind: linear(weights, grams) for kind, weights in (model or _model())["kinds"].items()}
    kind = max(scored, key=scored.__getitem__)
    return kind, scored[kind]
