"""Fine-tune the embedding model on question → article pairs (MultipleNegativesRankingLoss + hard negatives).

Only the tuning split of the STARD questions is used, so the held-out split stays a fair test.
The result is cached: ``training.json`` in the output directory records a key over the base model, the
training pairs and the hyper-parameters; the same key means the model is already built.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowledge.corpus import Article, passage_text
from knowledge.dense import Embedder
from knowledge.evaluate import read_queries
from knowledge.index import model_fingerprint


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup_share: float = 0.1
    max_tokens: int = 192
    hard_negative_ranks: tuple[int, int] = (3, 30)  # skip the nearest ranks: often unlabelled positives
    seed: int = 13


def training_key(base_dir: Path, pairs_file: Path, articles: list[Article], config: TrainingConfig) -> str:
    digest = hashlib.sha256()
    digest.update(model_fingerprint(base_dir).encode())
    digest.update(pairs_file.read_bytes())
    digest.update(json.dumps(asdict(config), sort_keys=True).encode())
    for article in articles:
        digest.update(article.content_hash.encode())
    return digest.hexdigest()[:16]


def is_current(out_dir: Path, key: str) -> bool:
    info = out_dir / "training.json"
    return info.exists() and json.loads(info.read_text()).get("key") == key


def finetune(
    base_dir: Path,
    out_dir: Path,
    pairs_file: Path,
    articles: list[Article],
    config: TrainingConfig = TrainingConfig(),
    progress: bool = True,
    threads: int = 1,
) -> dict:
    """Train and save to out_dir; return the training summary (also written to training.json)."""
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    key = training_key(base_dir, pairs_file, articles, config)
    if is_current(out_dir, key):
        return json.loads((out_dir / "training.json").read_text())
    started = time.perf_counter()
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    embedder = Embedder(base_dir, threads=threads)
    model = embedder.model
    triples = _triples(embedder, pairs_file, articles, config)
    model.max_seq_length = config.max_tokens
    # The token embeddings stay as converted: most rows never occur in the training questions, and
    # their optimizer state would dominate memory and time.
    model[0].auto_model.embeddings.word_embeddings.weight.requires_grad_(False)
    loss_fn = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=config.learning_rate)
    batches = [b for _ in range(config.epochs) for b in _batches(triples, config)]
    warmup = max(1, int(len(batches) * config.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (len(batches) - step) / (len(batches) - warmup)))
    )
    model.train()
    for step, batch in enumerate(batches, start=1):
        features = [_features(model, [row[column] for row in batch]) for column in range(3)]
        loss = loss_fn(features, labels=None)
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if progress and (step % 5 == 0 or step in (1, len(batches))):
            print(f"fine-tuning: step {step}/{len(batches)} loss {loss.item():.3f}", file=sys.stderr, flush=True)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    summary = {
        "key": key,
        "base_model": str(base_dir.name),
        "pairs_file": pairs_file.name,
        "triples": len(triples),
        "steps": len(batches),
        "config": asdict(config),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out_dir / "training.json").write_text(json.dumps(summary, indent=1))
    return summary


def _triples(embedder: Embedder, pairs_file: Path, articles: list[Article], config: TrainingConfig):
    """(query, gold passage, hard negative passage) for every gold article of every tuning question."""
    by_id = {a.id: i for i, a in enumerate(articles)}
    passages = [passage_text(a) for a in articles]
    queries = [q for q in read_queries(pairs_file) if any(g in by_id for g in q.gold)]
    article_vectors = embedder.encode_passages(passages, progress=False)
    query_vectors = embedder.encode_queries([q.question for q in queries])
    low, high = config.hard_negative_ranks
    rng = random.Random(config.seed)
    q_prompt, p_prompt = embedder.query_prompt, embedder.passage_prompt
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


def _features(model, texts: list[str]) -> dict:
    return model.preprocess(texts)
