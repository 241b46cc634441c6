"""The action server swaps in a newer search index while it answers: an index made with another encoder (here
the base model's fp32 export after its int8 one, as when a site changes ``KNOWLEDGE_ENCODER``; with
``KNOWLEDGE_FINETUNE=1``, ``make run``'s quick index on the base model, then the fine-tuned model's) or of
another corpus, once its build has written it.

Real indexes of a small corpus in a temporary folder, built by ``build_from_settings`` as ``python -m knowledge
build`` does; the configured index is served through ``actions.services`` and its watcher thread, and residents'
questions go through ``action_answer_question`` the whole time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time

import pytest
from action_helpers import recorded, run

from actions import services
from actions.answer_question import ActionAnswerQuestion
from knowledge.config import Settings
from knowledge.engine import load_engine, open_engine
from knowledge.index import MANIFEST, build_from_settings, read_manifest
from knowledge.serving import model_name
from tests.knowledge.conftest import write_small_corpus, write_small_faq

pytestmark = pytest.mark.model
QUESTIONS = ["公司不签劳动合同怎么办", "劳动合同解除后经济补偿怎么算", "试用期工资怎么算"]
SWAP_S = 120.0  # the new engine loads in about a second; a busy shared machine may take much longer


@pytest.fixture
def configured(tmp_path, monkeypatch, db):
    """Settings of a small corpus with its own index folder, served by ``actions.services`` as configured."""
    write_small_corpus(tmp_path / "laws")
    monkeypatch.setenv("KNOWLEDGE_LAWS_DIR", str(tmp_path / "laws"))
    monkeypatch.setenv("KNOWLEDGE_LOCAL_DIR", str(tmp_path / "local"))
    monkeypatch.setenv("KNOWLEDGE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("KNOWLEDGE_FAQ_FILE", str(write_small_faq(tmp_path / "faq.jsonl")))
    monkeypatch.delenv("KNOWLEDGE_MODEL_DIR", raising=False)
    monkeypatch.setenv("KNOWLEDGE_ENCODER", "fp32")  # the newer index's encoder; the first one is int8
    settings = Settings()
    if not (settings.model_dir / "onnx" / "model.onnx").exists():
        pytest.fail(f"the model {settings.model_dir} is not exported: run `make build-knowledge` first")
    previous = services._search.fixed
    load_engine.cache_clear()
    services.use_search_engine(None)
    yield settings
    services.use_search_engine(previous)
    load_engine.cache_clear()


class Residents:
    """Residents asking questions one after another in a thread, through the real action."""

    def __init__(self):
        self.replies: list[tuple[float, list[str]]] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ask, daemon=True)

    def _ask(self) -> None:
        number = 0
        while not self._stop.is_set():
            question = QUESTIONS[number % len(QUESTIONS)]
            number += 1
            try:
                messages, _ = run(ActionAnswerQuestion(), recorded("wage_question", text=question))
                self.replies.append((time.monotonic(), [m.get("response") or "" for m in messages]))
            except BaseException as exc:  # noqa: BLE001 - the test reports it
                self.errors.append(exc)

    def __enter__(self) -> Residents:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def since(self, moment: float) -> list[list[str]]:
        return [r for at, r in self.replies if at > moment]


def wait_for(condition, seconds: float = SWAP_S) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_newer_index_is_swapped_in_while_questions_are_answered_and_a_broken_one_is_refused(configured, caplog):
    caplog.set_level(logging.INFO, logger="knowledge.serving")
    build_from_settings(dataclasses.replace(configured, precision="int8"), progress=False)  # the index until now
    old = services.search_engine()
    assert old.encoder.precision == "int8"  # served with the encoder it names: the configured one has no index yet
    stop = threading.Event()
    watcher = services.watch_index_in_background(every=0.2, stop=stop)  # as the worker starts it, checking often
    try:
        with Residents() as residents:
            assert wait_for(lambda: len(residents.replies) >= 2)
            build_from_settings(configured, progress=False)  # the configured encoder's build lands
            built = time.monotonic()
            assert wait_for(lambda: services.search_engine() is not old), "the new index was never swapped in"
            swapped = time.monotonic()
            assert wait_for(lambda: len(residents.since(swapped)) >= 2)

            new = services.search_engine()
            reference = open_engine(configured, auto_build=False)  # the new index as a fresh process loads it

            # A build that stopped after its manifest but not its files: that index must never be served.
            manifest = read_manifest(configured.index_dir)
            broken = {**manifest, "checksums": {**manifest["checksums"], "articles": "0000000000000000"}}
            (configured.index_dir / MANIFEST).write_text(json.dumps(broken), encoding="utf-8")
            assert wait_for(lambda: "not served" in caplog.text)
            refused = time.monotonic()
            assert wait_for(lambda: len(residents.since(refused)) >= 2)
            assert services.search_engine() is new
    finally:
        stop.set()
        watcher.join(timeout=10)

    assert residents.errors == []
    answered = [r for _, r in residents.replies]
    assert all("utter_search_unavailable" not in r and r for r in answered), answered
    assert len(residents.since(built)) > len(residents.since(swapped))  # answered meanwhile, by the old engine
    assert new.encoder.model_dir == configured.model_dir and new.encoder.fingerprint != old.encoder.fingerprint
    # The answers now come from the new encoder's vectors, as a fresh load of that index gives them.
    for question in QUESTIONS:
        served = [(h.id, h.dense) for h in new.search(question, 3)]
        assert served == [(h.id, h.dense) for h in reference.search(question, 3)]
        assert [dense for _, dense in served] != [h.dense for h in old.search(question, 3)]
    swaps = [r.getMessage() for r in caplog.records if "search index swapped" in r.getMessage()]
    assert swaps == [f"search index swapped: model {model_name(new)}, 12 articles "
                     f"(was: model var/models/multilingual-e5-small, 12 articles)"]
    assert model_name(new) == "var/models/multilingual-e5-small (fp32)"
