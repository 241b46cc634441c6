"""Static checks of the Rasa training data (bot/, domain.yml) against the dialogue contract."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from records.topics import TOPICS

ROOT = Path(__file__).resolve().parents[2]
MIN_EXAMPLES = 20
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def _nlu_blocks(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", [])


def _examples(block: dict) -> list[str]:
    lines = [line.strip() for line in block["examples"].splitlines()]
    return [line[2:].strip() for line in lines if line.startswith("- ")]


def _plain(example: str) -> str:
    return ANNOTATION.sub(r"\1", example)


def _intent_examples(paths: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        for block in _nlu_blocks(path):
            if "intent" in block:
                found.setdefault(block["intent"], []).extend(_examples(block))
    return found


@pytest.fixture(scope="module")
def train() -> dict[str, list[str]]:
    return _intent_examples(sorted((ROOT / "bot" / "nlu").glob("*.yml")))


@pytest.fixture(scope="module")
def test_split() -> dict[str, list[str]]:
    return _intent_examples([ROOT / "tests" / "nlu" / "test_nlu.yml"])


@pytest.fixture(scope="module")
def domain() -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def test_every_topic_has_examples_and_a_lead(train: dict, domain: dict) -> None:
    for key in TOPICS:
        assert len(train.get(f"legal_question/{key}", [])) >= MIN_EXAMPLES, key
        assert f"utter_legal_question/{key}" in domain["responses"], key
    topics_in_data = {i.split("/", 1)[1] for i in train if i.startswith("legal_question/")}
    assert topics_in_data == set(TOPICS)


def test_every_domain_intent_has_enough_examples(train: dict, domain: dict) -> None:
    for intent in domain["intents"]:
        if intent == "legal_question":
            continue
        assert len(train.get(intent, [])) >= MIN_EXAMPLES, intent


def test_no_example_is_in_two_intents(train: dict) -> None:
    owners = Counter(_plain(e) for examples in train.values() for e in set(examples))
    assert [text for text, n in owners.items() if n > 1] == []


def test_held_out_split_is_not_in_training_data(train: dict, test_split: dict) -> None:
    seen = {_plain(e) for examples in train.values() for e in examples}
    leaked = [e for examples in test_split.values() for e in examples if _plain(e) in seen]
    assert leaked == []
    assert set(test_split) <= set(train)


def test_villages_are_in_lookup_table_and_tokenizer_dictionary() -> None:
    with (ROOT / "records" / "data" / "villages.csv").open(encoding="utf-8") as fh:
        villages = {row["village"] for row in csv.DictReader(fh)}
    lookup = next(
        _examples(block)
        for block in _nlu_blocks(ROOT / "bot" / "nlu" / "forms.yml")
        if block.get("lookup") == "village"
    )
    userdict = (ROOT / "bot" / "jieba" / "userdict.txt").read_text(encoding="utf-8")
    words = {line.split()[0] for line in userdict.splitlines() if line.strip()}
    assert villages <= set(lookup)
    assert villages <= words


def test_form_slots_never_take_a_stop_or_an_emergency(domain: dict) -> None:
    for slot in ("referral_village", "referral_phone", "referral_description"):
        (mapping,) = domain["slots"][slot]["mappings"]
        assert mapping["type"] == "from_text"
        assert {"stop", "emergency", "request_human"} <= set(mapping["not_intent"])
