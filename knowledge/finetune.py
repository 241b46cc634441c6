"""Fine-tune the embedding model on question → article pairs (MultipleNegativesRankingLoss + hard negatives).

Only the tuning split of the STARD questions is used, so the held-out split stays a fair test.

The result is cached in a folder per *training key* (``var/models/legal-e5-small/<key>``): a hash of the
base model's identity, the tuning questions and the hyper-parameters. The corpus is not part of the
key: gold passages and hard negatives are read from the corpus of the first training, and a later
status or text change of an article (in any laws folder) neither retrains the model nor touches a model
another index uses. A model is written to a temporary folder and renamed, so a key's folder is complete.
Memory and time are bounded: only the top ``trained_layers`` layers learn (the rest run without autograd),
sequences are short, one epoch of at most ``max_steps`` steps; progress is a bar with steps/s and ETA.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowledge.config import REPO_ROOT, TUNED_MODELS_DIR
from knowledge.corpus import Article, passage_text
from knowledge.encoders import Encoder, progress_bar
from knowledge.evaluate import read_queries
from knowledge.index import file_sha256, model_fingerprint, read_json

TUNING_QUESTIONS = REPO_ROOT / "knowledge" / "data" / "eval" / "stard_tune.jsonl"
SUMMARY = "training.json"


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup_share: float = 0.1
    max_tokens: int = 128  # tuning questions and nine in ten passages are shorter
    trained_layers: int = 4  # only the top layers learn: the rest run without autograd (time and memory)
    max_steps: int = 400
    hard_negative_ranks: tuple[int, int] = (3, 30)  # skip the nearest ranks: often unlabelled positives
    seed: int = 13


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch: a training run is repeatable on one machine (same threads, same CPU)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def base_identity(base_dir: Path) -> str:
    """The base model's identity: its conversion manifest (cheap), else a hash of its files."""
    conversion = read_json(Path(base_dir) / "conversion.json")
    if conversion and "source_sha256" in conversion:
        return json.dumps({k: conversion.get(k) for k in ("source_sha256", "settings")}, sort_keys=True)
    return model_fingerprint(base_dir)


def training_key(base_dir: Path, pairs_file: Path = TUNING_QUESTIONS, config: TrainingConfig = TrainingConfig()) -> str:
    digest = hashlib.sha256()
    digest.update(base_identity(base_dir).encode())
    digest.update(file_sha256(pairs_file).encode())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    return digest.hexdigest()[:16]


def tuned_model_dir(
    base_dir: Path, pairs_file: Path = TUNING_QUESTIONS, config: TrainingConfig = TrainingConfig()
) -> Path:
    return TUNED_MODELS_DIR / training_key(base_dir, pairs_file, config)


def is_trained(model_dir: Path) -> bool:
    """True when a training key's folder is complete (written to a temporary folder, then renamed)."""
    return (Path(model_dir) / SUMMARY).exists()


def finetune(
    base_dir: Path,
    articles: list[Article],
    miner: Encoder,
    pairs_file: Path = TUNING_QUESTIONS,
    config: TrainingConfig = TrainingConfig(),
    progress: bool = True,
    threads: int = 1,
) -> Path:
    """Train (unless this key's model exists) and return the model folder.

    ``miner`` encodes the corpus to pick hard negatives (the base model's ONNX export: fast, small).
    """
    out_dir = tuned_model_dir(base_dir, pairs_file, config)
    if is_trained(out_dir):
        return out_dir
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from knowledge.encoders import load_sentence_transformer

    started = time.perf_counter()
    seed_everything(config.seed)
    model = load_sentence_transformer(base_dir, threads)
    prompts = (model.prompts.get("query", ""), model.prompts.get("passage", ""))
    triples = _triples(miner, prompts, pairs_file, articles, config, progress)
    model.max_seq_length = config.max_tokens
    transformer = model[0].auto_model
    # Embeddings and the lower layers stay as converted: no gradients, no stored activations, no optimizer
    # state for them (the full model took 6–7 GB and most of the time); the top layers adapt to the domain.
    layers = transformer.encoder.layer
    for parameter in transformer.parameters():
        parameter.requires_grad_(False)
    for layer in layers[len(layers) - config.trained_layers:]:
        for parameter in layer.parameters():
            parameter.requires_grad_(True)
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=config.learning_rate)
    batches = [b for _ in range(config.epochs) for b in _batches(triples, config)][: config.max_steps]
    warmup = max(1, int(len(batches) * config.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (len(batches) - step) / (len(batches) - warmup)))
    )
    model.train()
    with progress_bar(len(batches), "fine-tuning", progress) as bar:
        bar.unit = " steps"
        for batch in batches:
            features = [model.preprocess([row[column] for row in batch]) for column in range(3)]
            loss = loss_fn(features, labels=None)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            bar.update(1)
    model.eval()
    summary = {
        "key": out_dir.name,
        "base_model": str(Path(base_dir).name),
        "pairs_file": pairs_file.name,
        "triples": len(triples),
        "steps": len(batches),
        "config": asdict(config),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return save_trained(model, out_dir, SUMMARY, summary)


def save_trained(model, out_dir: Path, summary_name: str, summary: dict) -> Path:
    """Write a trained model and its summary to a temporary folder beside ``out_dir``, then rename it: a
    key's folder is complete (its summary file exists) or absent, never half-written."""
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp))
    (tmp / summary_name).write_text(json.dumps(summary, indent=1), encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out_dir)
    return out_dir


def _triples(miner: Encoder, prompts: tuple[str, str], pairs_file: Path, articles: list[Article],
             config: TrainingConfig, progress: bool):
    """(query, gold passage, hard negative passage) for every gold article of every tuning question."""
    by_id = {a.id: i for i, a in enumerate(articles)}
    passages = [passage_text(a) for a in articles]
    queries = [q for q in read_queries(pairs_file) if any(g in by_id for g in q.gold)]
    if progress:
        print(f"[knowledge] fine-tuning: mining hard negatives for {len(queries)} questions", file=sys.stderr)
    article_vectors = miner.encode_passages(passages, progress=progress)
    query_vectors = miner.encode_queries([q.question for q in queries])
    low, high = config.hard_negative_ranks
    rng = random.Random(config.seed)
    q_prompt, p_prompt = prompts
    triples = []
    for query, vector in zip(queries, query_vectors):
        ranked = np.argsort(-(article_vectors @ vector))[:high]
        negatives = [i for i in ranked[low:] if articles[i].id not in query.gold]
        for gold in query.gold:
            if gold in by_id and negatives:
                negative = rng.choice(negatives)
                triples.append((q_prompt + query.question, p_prompt + passages[by_id[gold]],
                                p_prompt + passages[negative]))
    return triples


def _batches(triples, config: TrainingConfig):
    """Shuffled batches in which no gold passage appears twice (it would be a false in-batch negative)."""
    pending = list(triples)
    random.shuffle(pending)
    while len(pending) > 1:
        batch, seen, deferred = [], set(), []
        for row in pending:
            if row[1] in seen or len(batch) == config.batch_size:
                deferred.append(row)
            else:
                batch.append(row)
                seen.add(row[1])
        if len(batch) < 2:
            return
        yield batch
        pending = deferred
