"""A shallower query and passage encoder distilled from the search model (issue 13: encoding is most of a search).

The student keeps the teacher's embeddings, tokenizer and prompts and a subset of its transformer layers
(every other layer by default, as DistilBERT initialised its student; or the first ``layers``), then learns to
reproduce the teacher's vectors (1 − cosine to the teacher's ONNX export) on the corpus passages and on
questions: the STARD tuning questions and the FAQ questions, never a held-out STARD question (the split that
measures quality). The teacher's vectors are what the index of the teacher holds, so the student answers the
same questions in the same space, at a fraction of the compute per layer removed.

Cached like fine-tuning (``knowledge.finetune``): one folder per *distillation key*
(``var/models/distilled/<key>``) — a hash of the teacher's export, the question files and the settings, not of
the corpus, so an article's status or text change neither retrains a student nor touches one another index uses.
Written to a temporary folder and renamed, so a key's folder is complete; the word embeddings stay frozen
(most of the parameters: no optimizer state for them), sequences are cut at ``max_tokens``; progress is a bar.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowledge.config import MODELS_DIR, REPO_ROOT
from knowledge.corpus import Article, passage_text
from knowledge.encoders import onnx_fingerprint, progress_bar
from knowledge.finetune import save_trained, seed_everything
from knowledge.index import file_sha256, read_json

STUDENTS_DIR = MODELS_DIR / "distilled"  # one folder per distillation key
EVAL_DIR = REPO_ROOT / "knowledge" / "data" / "eval"
QUESTION_FILES = (EVAL_DIR / "stard_tune.jsonl", REPO_ROOT / "knowledge" / "data" / "faq" / "lecoqa_train.jsonl")
HELDOUT = EVAL_DIR / "stard_heldout.jsonl"
SUMMARY = "distillation.json"


@dataclass(frozen=True)
class DistillConfig:
    layers: int = 6
    pick: str = "spread"  # "spread": every other layer (evenly spaced, the last kept); "first": the lowest ones
    epochs: int = 1  # a 6-layer student's step took 5–15 s on the shared 2 cores: one pass is what fits
    batch_size: int = 32
    learning_rate: float = 2e-4
    warmup_share: float = 0.1
    max_tokens: int = 128  # the median county or national passage is ~80 tokens (docs/benchmarks.md)
    seed: int = 13


def kept_layers(total: int, config: DistillConfig) -> list[int]:
    """Which of the teacher's ``total`` layers the student starts from."""
    if not 0 < config.layers <= total:
        raise ValueError(f"a student of {config.layers} layers from a teacher of {total}")
    if config.pick == "first":
        return list(range(config.layers))
    if config.pick != "spread":
        raise ValueError(f"pick={config.pick!r}: expected 'spread' or 'first'")
    # Evenly spaced, ending on the teacher's last layer (12 → 6: 1, 3, 5, 7, 9, 11).
    return sorted({round(total - 1 - i * total / config.layers) for i in range(config.layers)})


def distill_key(teacher_dir: Path, config: DistillConfig = DistillConfig(), precision: str = "int8",
                question_files: tuple[Path, ...] = QUESTION_FILES) -> str:
    digest = hashlib.sha256()
    digest.update(str(onnx_fingerprint(teacher_dir, precision)).encode())
    for path in (*question_files, HELDOUT):
        digest.update(file_sha256(path).encode())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def student_dir(teacher_dir: Path, config: DistillConfig = DistillConfig(), precision: str = "int8") -> Path:
    return STUDENTS_DIR / distill_key(teacher_dir, config, precision)


def is_distilled(model_dir: Path) -> bool:
    return (Path(model_dir) / SUMMARY).exists()


def training_questions(question_files: tuple[Path, ...] = QUESTION_FILES, heldout: Path = HELDOUT) -> list[str]:
    """Distinct questions of these files, without any question (by id or text) of the held-out split."""
    def records(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    held = records(heldout)
    held_ids = {r["id"] for r in held}
    held_texts = {r["question"].strip() for r in held}
    questions = [r["question"].strip() for path in question_files for r in records(path)
                 if r["id"] not in held_ids and r["question"].strip() not in held_texts]
    return list(dict.fromkeys(q for q in questions if q))


def truncate(model, keep: list[int]) -> None:
    """Keep only these transformer layers of a sentence-transformers BERT model (in place)."""
    import torch

    bert = model[0].auto_model
    bert.encoder.layer = torch.nn.ModuleList([bert.encoder.layer[i] for i in keep])
    bert.config.num_hidden_layers = len(keep)


def distill(
    teacher_dir: Path,
    articles: list[Article],
    teacher,
    config: DistillConfig = DistillConfig(),
    question_files: tuple[Path, ...] = QUESTION_FILES,
    out_dir: Path | None = None,
    progress: bool = True,
    threads: int = 1,
) -> Path:
    """Train (unless this key's student exists) and return its folder.

    ``teacher`` is the teacher's encoder (its ONNX export, as the index of the teacher was built with): its
    vectors are the targets.
    """
    out_dir = Path(out_dir or student_dir(teacher_dir, config, getattr(teacher, "precision", "int8")))
    if is_distilled(out_dir):
        return out_dir
    import torch

    from knowledge.encoders import load_sentence_transformer

    started = time.perf_counter()
    seed_everything(config.seed)
    passages = [passage_text(a) for a in articles]
    questions = training_questions(question_files)
    targets = np.concatenate([teacher.encode_passages(passages, progress=progress), teacher.encode_queries(questions)])
    model = load_sentence_transformer(teacher_dir, threads)
    q_prompt, p_prompt = model.prompts.get("query", ""), model.prompts.get("passage", "")
    texts = [p_prompt + p for p in passages] + [q_prompt + q for q in questions]
    bert = model[0].auto_model
    total = len(bert.encoder.layer)
    keep = kept_layers(total, config)
    truncate(model, keep)
    model.max_seq_length = config.max_tokens
    for parameter in bert.embeddings.parameters():
        parameter.requires_grad_(False)  # most of the weights: the vocabulary stays the teacher's
    batches = _batches(model, texts, config)
    optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=config.learning_rate)
    warmup = max(1, int(len(batches) * config.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (len(batches) - step) / (len(batches) - warmup)))
    )
    target = torch.from_numpy(targets)
    model.train()
    losses = []
    with progress_bar(len(batches), f"distilling {len(keep)} of {total} layers", progress) as bar:
        bar.unit = " steps"
        for batch in batches:
            features = model.preprocess([texts[i] for i in batch])
            vectors = model(features)["sentence_embedding"]
            vectors = torch.nn.functional.normalize(vectors, dim=-1)
            loss = (1 - (vectors * target[batch]).sum(dim=-1)).mean()
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
            bar.update(1)
    model.eval()
    summary = {
        "key": out_dir.name,
        "teacher": str(Path(teacher_dir).relative_to(REPO_ROOT) if Path(teacher_dir).is_relative_to(REPO_ROOT)
                       else Path(teacher_dir).name),
        "teacher_fingerprint": getattr(teacher, "fingerprint", None),
        "kept_layers": keep,
        "passages": len(passages),
        "questions": len(questions),
        "steps": len(batches),
        "loss_first_last_50": [round(float(np.mean(losses[:50])), 5), round(float(np.mean(losses[-50:])), 5)]
        if losses else None,
        "config": asdict(config),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return save_trained(model, out_dir, SUMMARY, summary)


def _batches(model, texts: list[str], config: DistillConfig) -> list[list[int]]:
    """Batches of texts of similar length (little padding), in shuffled order, for every epoch."""
    lengths = [len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=config.max_tokens)["input_ids"]]
    rng = random.Random(config.seed)
    out: list[list[int]] = []
    for _ in range(config.epochs):
        order = sorted(range(len(texts)), key=lambda i: (lengths[i], rng.random()))
        epoch = [order[i: i + config.batch_size] for i in range(0, len(order), config.batch_size)]
        rng.shuffle(epoch)
        out += epoch
    return out


def summary_of(model_dir: Path) -> dict | None:
    return read_json(Path(model_dir) / SUMMARY)
