"""The persisted search index: article and FAQ-question embeddings, a manifest, and incremental rebuilds.

Layout of ``KNOWLEDGE_INDEX_DIR``::

    manifest.json   model fingerprint, corpus hash, article ids and content hashes, FAQ ids, timings
    articles.npy    one L2-normalised embedding per in-force article, in manifest order
    faq.npy         one embedding per FAQ question, in manifest order
    tokens.json     BM25 tokens per article content hash

A rebuild re-embeds only articles whose passage text changed (keyed by content hash) and reuses the
rest, as long as the model is the same; a different model re-embeds everything.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.corpus import Article, corpus_hash, in_force, load_corpus, passage_text
from knowledge.dense import Embedder
from knowledge.faq import FaqEntry, load_faq
from knowledge.lexical import tokenize

MANIFEST = "manifest.json"
VOLATILE_FILES = {"conversion.json", "training.json", "README.md"}  # manifests with timings


class IndexOutOfDate(RuntimeError):
    """The index was built from another corpus or model; run ``python -m knowledge build``."""


@dataclass
class BuildReport:
    articles: int
    embedded: int
    reused: int
    repealed_or_pending: int
    faq_entries: int
    seconds: float

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def model_fingerprint(model_dir: Path) -> str:
    """Identifies a model by the content of its files, not by build logs that change on every rebuild."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        if path.name in VOLATILE_FILES:
            continue
        digest.update(f"{path.relative_to(model_dir)}\n".encode())
        with path.open("rb") as content:
            while chunk := content.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def read_manifest(index_dir: Path) -> dict | None:
    path = index_dir / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def build_index(
    articles: list[Article],
    faq: list[FaqEntry],
    embedder: Embedder,
    model_dir: Path,
    index_dir: Path,
    progress: bool = True,
) -> BuildReport:
    started = time.perf_counter()
    searchable = in_force(articles)
    fingerprint = model_fingerprint(model_dir)
    old = _previous_vectors(index_dir, fingerprint)
    hashes = [a.content_hash for a in searchable]
    missing = [i for i, h in enumerate(hashes) if h not in old]
    _say(progress, f"{len(searchable)} articles in force; embedding {len(missing)} new or changed")
    fresh = embedder.encode_passages([passage_text(searchable[i]) for i in missing], progress=progress)
    vectors = np.zeros((len(searchable), embedder.dimension), dtype=np.float32)
    for row, i in enumerate(missing):
        vectors[i] = fresh[row]
    for i, h in enumerate(hashes):
        if h in old:
            vectors[i] = old[h]
    faq_vectors = _faq_vectors(index_dir, fingerprint, faq, embedder, progress)
    tokens = {h: tokenize(passage_text(a)) for a, h in zip(searchable, hashes)}
    _write(index_dir, searchable, hashes, vectors, faq, faq_vectors, tokens, fingerprint, model_dir)
    report = BuildReport(
        articles=len(searchable),
        embedded=len(missing),
        reused=len(searchable) - len(missing),
        repealed_or_pending=len(articles) - len(searchable),
        faq_entries=len(faq),
        seconds=round(time.perf_counter() - started, 2),
    )
    _say(progress, f"index written to {index_dir} in {report.seconds} s")
    return report


def build_from_settings(settings, progress: bool = True) -> BuildReport:
    articles = load_corpus(settings.corpus_dirs)
    faq = load_faq(settings.faq_file, articles)
    embedder = Embedder(settings.model_dir, threads=settings.build_threads)
    return build_index(articles, faq, embedder, settings.model_dir, settings.index_dir, progress)


def _faq_vectors(index_dir: Path, fingerprint: str, faq: list[FaqEntry], embedder: Embedder, progress: bool):
    """FAQ question embeddings, reusing the stored ones when the model and the questions are unchanged."""
    manifest = read_manifest(index_dir)
    if manifest and manifest.get("model_fingerprint") == fingerprint and manifest.get("faq") == [e.id for e in faq]:
        stored = load_vectors(index_dir, "faq", manifest)
        if stored is not None and manifest.get("faq_hash") == _faq_hash(faq):
            return stored
    _say(progress, f"embedding {len(faq)} FAQ questions")
    return embedder.encode_queries([e.question for e in faq]) if faq else np.zeros((0, embedder.dimension))


def _faq_hash(faq: list[FaqEntry]) -> str:
    return hashlib.sha256("\n".join(e.question for e in faq).encode()).hexdigest()[:16]


def _previous_vectors(index_dir: Path, fingerprint: str) -> dict[str, np.ndarray]:
    manifest = read_manifest(index_dir)
    if not manifest or manifest.get("model_fingerprint") != fingerprint:
        return {}
    vectors = load_vectors(index_dir, "articles", manifest)
    if vectors is None:
        return {}
    return {entry["hash"]: vectors[i] for i, entry in enumerate(manifest["articles"])}


def load_vectors(index_dir: Path, name: str, manifest: dict) -> np.ndarray | None:
    """The stored vectors, or None when they do not match the manifest (e.g. a build was interrupted)."""
    path = index_dir / f"{name}.npy"
    if not path.exists() or _file_sha(path) != manifest.get("checksums", {}).get(name):
        return None
    return np.load(path)


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _write(index_dir, articles, hashes, vectors, faq, faq_vectors, tokens, fingerprint, model_dir) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    np.save(index_dir / "articles.npy", vectors)
    np.save(index_dir / "faq.npy", np.asarray(faq_vectors, dtype=np.float32))
    (index_dir / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=False), encoding="utf-8")
    manifest = {
        "model_dir": str(model_dir),
        "model_fingerprint": fingerprint,
        "corpus_hash": corpus_hash(articles),
        "dimension": int(vectors.shape[1]),
        "articles": [{"id": a.id, "hash": h} for a, h in zip(articles, hashes)],
        "faq": [e.id for e in faq],
        "faq_hash": _faq_hash(faq),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "checksums": {name: _file_sha(index_dir / f"{name}.npy") for name in ("articles", "faq")},
    }
    # Written last, with checksums: after a crash mid-build the old manifest no longer matches its files.
    (index_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)
