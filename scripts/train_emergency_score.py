"""Train the learned emergency score (safety/emergency_score.json).

    .venv/bin/python scripts/train_emergency_score.py [--check]

Logistic regression on character n-grams (safety/score.py), plain SGD, fixed seed: the same inputs
give the same file. Two models: "emergency" (danger now or not) and one per kind (which danger).
Trained on:
  * every part of the emergency test set (tests/safety/data/: dev and the held-out rounds). A round's
    first-run figures stay in its header; how the score does on a round it has not seen is measured
    by leaving that round out (``build(leave_out=...)``, benchmarks/emergency.py --leave-one-round-out);
  * the NLU examples (bot/nlu/): intent ``emergency`` against every other intent;
  * real laypeople's legal questions (STARD train/tune splits, LeCoQA FAQ) as non-emergencies.
``--check`` exits 1 when the committed file was trained on other inputs (the test suite runs it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from safety.normalise import normalise  # noqa: E402
from safety.score import MODEL_FILE, features, sigmoid  # noqa: E402
from tests.safety.emergency_sets import PARTS, load  # noqa: E402

THRESHOLD = 0.6
EPOCHS = 15
LEARNING_RATE = 0.2
L2 = 1e-4
MIN_WEIGHT = 0.02
SEED = 0
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
QUESTION_FILES = [
    REPO / "knowledge" / "data" / "eval" / "stard_train.jsonl",
    REPO / "knowledge" / "data" / "eval" / "stard_tune.jsonl",
    REPO / "knowledge" / "data" / "faq" / "lecoqa_train.jsonl",
]


def nlu_examples() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((REPO / "bot" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    found[block["intent"].split("/")[0]].append(ANNOTATION.sub(r"\1", line.strip()[2:]))
    return found


def training_data(leave_out: str | None = None) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    """(text, 1 if emergency) for the emergency model and (text, kind) for the kind models, from every part
    of the test set but ``leave_out``."""
    parts = [part for part in PARTS if part != leave_out]
    labelled = [e for part in parts for e in load(True, part)]
    nlu = nlu_examples()
    positives = [e.text for e in labelled] + nlu["emergency"]
    negatives = [e.text for part in parts for e in load(False, part)]
    negatives += [text for intent, texts in sorted(nlu.items()) if intent != "emergency" for text in texts]
    for path in QUESTION_FILES:
        negatives += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line]
    emergency = sorted({(t, 1) for t in positives} | {(t, 0) for t in negatives if t not in positives})
    kinds = sorted({(e.text, e.kind) for e in labelled})
    return emergency, kinds


def inputs_digest(emergency: list[tuple[str, int]], kinds: list[tuple[str, str]]) -> str:
    settings = [THRESHOLD, EPOCHS, LEARNING_RATE, L2, MIN_WEIGHT, SEED, sorted(features("示例，文本"))]
    # The model sees the texts as normalise() makes them: a change of normalisation makes it stale too.
    normalised = [normalise(text) for text, _ in emergency]
    blob = json.dumps([emergency, kinds, settings, normalised], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def train(examples: list[tuple[str, int]]) -> dict:
    """Class-balanced logistic regression by SGD; weights below MIN_WEIGHT are dropped."""
    rng = random.Random(SEED)
    data = [(sorted(features(normalise(text))), label) for text, label in examples]
    positives = sum(label for _, label in data)
    balance = {1: len(data) / (2 * positives), 0: len(data) / (2 * (len(data) - positives))}
    weights: dict[str, float] = defaultdict(float)
    bias = 0.0
    for _ in range(EPOCHS):
        rng.shuffle(data)
        for grams, label in data:
            p = sigmoid(bias + sum(weights[g] for g in grams))
            gradient = (p - label) * balance[label]
            for g in grams:
                weights[g] -= LEARNING_RATE * (gradient + L2 * weights[g])
            bias -= LEARNING_RATE * gradient
    kept = {g: round(w, 3) for g, w in sorted(weights.items()) if abs(w) >= MIN_WEIGHT}
    return {"bias": round(bias, 3), "weights": kept}


def build(leave_out: str | None = None) -> dict:
    """The score's weights, trained on every part of the test set but ``leave_out``."""
    emergency, kinds = training_data(leave_out)
    kind_names = sorted({kind for _, kind in kinds})
    return {
        "inputs_sha256": inputs_digest(emergency, kinds),
        "threshold": THRESHOLD,
        "emergency": train(emergency),
        "kinds": {k: train([(text, int(kind == k)) for text, kind in kinds]) for k in kind_names},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the committed file is up to date")
    args = parser.parse_args()
    if args.check:
        emergency, kinds = training_data()
        current = json.loads(MODEL_FILE.read_text(encoding="utf-8"))["inputs_sha256"]
        if current != inputs_digest(emergency, kinds):
            sys.exit(f"{MODEL_FILE.name} is out of date: run scripts/train_emergency_score.py")
        return
    model = build()
    MODEL_FILE.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    sizes = {name: len(m["weights"]) for name, m in [("emergency", model["emergency"]), *model["kinds"].items()]}
    print(f"wrote {MODEL_FILE.relative_to(REPO)} ({MODEL_FILE.stat().st_size // 1024} KiB), weights {sizes}")


if __name__ == "__main__":
    main()
