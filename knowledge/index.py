"""The persisted search index: article and FAQ-question embeddings, a manifest, and incremental rebuilds.

Layout of ``KNOWLEDGE_INDEX_DIR``::

    manifest.json   encoder fingerprint, corpus hash, article ids and content hashes, FAQ ids, checksums
    articles.npy    one L2-normalised embedding per searchable article, in manifest order
    faq.npy         one embedding per FAQ question, in manifest order
    tokens.json     BM25 tokens per article content hash (reused by rebuilds)
    lexical/        the BM25 weights as arrays (bm25s format), memory-mapped by the search process
    ann-hnsw.faiss  the approximate nearest-neighbour index of ``KNOWLEDGE_DENSE_INDEX`` (``hnsw`` or
    ann-ivf.faiss   ``ivf``) over articles.npy, memory-mapped by the search process

Every file is written under a temporary name and moved into place (``os.replace``), the manifest last: a
search process that maps or reads the old files keeps them intact, and one that opens the folder mid-build
finds files that do not match the manifest's checksums and refuses them (:class:`IndexOutOfDate`). The
manifest names the model that made the vectors (``model``: folder relative to the repository root and ONNX
precision), so the index can be served with that model while the settings name another one not yet built
(:func:`index_model`; e.g. ``make run`` serves an index on the base model while the fine-tuned one trains).

What is indexed is decided by :func:`knowledge.content.searchable`, as for loading. A rebuild embeds
only articles whose passage text is new (keyed by content hash) and reuses the rest, as long as the
encoder is the same; a different encoder re-embeds everything. When nothing changed the encoder is
never loaded, so a no-op rebuild takes seconds. A first build takes the vectors the repository ships for
its encoder (:mod:`knowledge.shipped_vectors`, checked against the local encoder on a sample) and embeds
only what they lack: a fresh clone's national index embeds nothing.

The approximate index is built from articles.npy after the vectors, and again only when they or its
build parameters change: switching ``KNOWLEDGE_DENSE_INDEX`` to ``hnsw`` on an existing index builds the
graph and embeds nothing. The manifest records, per kind, its parameters, the checksum of the vectors it
was built from and its own checksum; a file that does not match is not loaded (:func:`load_dense` falls
back to exact search and says so), so a search process never spends minutes building one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from knowledge.config import REPO_ROOT
from knowledge.content import Searchable, searchable
from knowledge.corpus import corpus_hash, passage_text
from knowledge.dense import PERSISTED, DenseIndex, build_faiss, build_params, read_faiss, write_faiss
from knowledge.encoders import Encoder, onnx_fingerprint
from knowledge.faq import FaqEntry
from knowledge.lexical import ARRAY_FILES, LexicalIndex, tokenize
from knowledge.shipped_vectors import MIN_COSINE, agrees, question_key
from knowledge.shipped_vectors import load as load_shipped

MANIFEST = "manifest.json"
LEXICAL_DIR = "lexical"
VOLATILE_FILES = {"conversion.json", "training.json", "README.md"}  # manifests with timings
log = logging.getLogger(__name__)


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
    articles_per_second: float | None = None
    dense_index: str = "flat"
    ann_build_seconds: float | None = None  # None: no approximate index was (re)built


    def to_dict(self) -> dict:
        return self.__dict__.copy()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as content:
        while chunk := content.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def read_json(path: Path) -> dict | None:
    """A JSON manifest, or None when it is missing or unreadable (an interrupted write)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def model_fingerprint(model_dir: Path) -> str:
    """Identifies a model by the content of its files, not by build logs that change on every rebuild."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        if path.name in VOLATILE_FILES or path.relative_to(model_dir).parts[0].startswith("onnx"):
            continue
        digest.update(f"{path.relative_to(model_dir)}\n{file_sha256(path)}\n".encode())
    return digest.hexdigest()[:16]


def read_manifest(index_dir: Path) -> dict | None:
    return read_json(Path(index_dir) / MANIFEST)


def folder_stamp(index_dir: Path) -> tuple:
    """Inode, size and modification time of every file of the index folder: cheap (stat only).

    Files are replaced, never rewritten in place, so any write changes the stamp; a search process
    compares stamps to notice a new index and to be sure nothing changed while it loaded one.
    """
    index_dir = Path(index_dir)
    paths = [index_dir / MANIFEST, *sorted(p for p in index_dir.glob("*") if p.name != MANIFEST),
             *sorted((index_dir / LEXICAL_DIR).glob("*"))]
    stamp = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:  # missing (no index yet) or removed while listed
            stamp.append((path.name, None))
            continue
        stamp.append((path.name, info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(stamp)


def manifest_stamp(index_dir: Path) -> tuple | None:
    """Inode, size and modification time of the manifest (None: no index): one stat, to poll for a new index."""
    try:
        info = (Path(index_dir) / MANIFEST).stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def holds(manifest: dict | None, content: Searchable) -> bool:
    """True when the index holds exactly the searchable content (whatever model embedded it)."""
    return bool(
        manifest
        and manifest.get("corpus_hash") == corpus_hash(content.articles)
        and manifest.get("faq") == [e.id for e in content.faq]
        and manifest.get("faq_hash") == _faq_hash(content.faq)
    )


def is_current(manifest: dict | None, settings, content: Searchable) -> bool:
    """True when the index holds exactly the searchable content, embedded by the configured encoder."""
    return holds(manifest, content) and manifest.get("encoder_fingerprint") == settings.encoder_fingerprint()


def model_entry(model_dir: Path, precision: str) -> dict:
    """How a manifest names its model: the folder relative to the repository root (portable), and the precision."""
    model_dir = Path(model_dir).resolve()
    name = model_dir.relative_to(REPO_ROOT) if model_dir.is_relative_to(REPO_ROOT) else model_dir
    return {"dir": name.as_posix(), "precision": precision}


def index_model(manifest: dict | None) -> tuple[Path, str] | None:
    """The model folder and precision that made this index, when their ONNX export still makes its vectors.

    None for an index that names no model (built before models were named) or whose model was since
    removed or re-exported: then only the configured encoder may serve it, if its fingerprint matches.
    """
    entry = (manifest or {}).get("model") or {}
    if not entry.get("dir") or not entry.get("precision"):
        return None
    model_dir = Path(entry["dir"])
    model_dir = model_dir if model_dir.is_absolute() else REPO_ROOT / model_dir
    if onnx_fingerprint(model_dir, entry["precision"]) != manifest.get("encoder_fingerprint"):
        return None
    return model_dir, entry["precision"]


def build_index(
    content: Searchable,
    encoder: Callable[[], Encoder],
    fingerprint: str,
    index_dir: Path,
    progress: bool = True,
    dense_index: str = "flat",
    threads: int = 1,
    made_by: dict | None = None,
    shipped_dir: Path | None = None,
) -> BuildReport:
    """Write the index for ``content``; ``encoder`` is called only if something must be embedded.

    ``dense_index``: the configured kind; for ``hnsw`` and ``ivf`` its file is built (with ``threads``)
    unless the folder already holds one of these vectors and parameters. ``made_by``: the manifest's name of
    the encoder's model (:func:`model_entry`), so a search process can open it (:func:`index_model`).
    """
    started = time.perf_counter()
    articles, faq = content.articles, content.faq
    hashes = [a.content_hash for a in articles]
    if _unchanged(index_dir, content, hashes, fingerprint):
        # Nothing to embed or rewrite: the no-op rebuild at national size is the corpus load and these checks.
        manifest = read_manifest(index_dir)
        if made_by and manifest.get("model") != made_by:  # an index of an older build names no model yet
            _write_manifest(index_dir, {**manifest, "model": made_by})
        ann_seconds = _update_ann(index_dir, dense_index, threads, progress)
        seconds = round(time.perf_counter() - started, 2)
        _say(progress, f"index in {index_dir} is up to date ({seconds} s)")
        return BuildReport(len(articles), 0, len(articles), content.withheld, len(faq), seconds,
                           dense_index=dense_index, ann_build_seconds=ann_seconds)
    old = _previous_vectors(index_dir, fingerprint)
    stored_faq = _stored_faq_vectors(index_dir, fingerprint, faq)
    loaded: list[Encoder] = []

    def model() -> Encoder:
        if not loaded:
            _say(progress, "loading the encoder")
            loaded.append(encoder())
        return loaded[0]

    shipped_questions: dict[str, np.ndarray] = {}
    if shipped_dir is not None and (any(h not in old for h in hashes) or stored_faq is None):
        shipped = _shipped(fingerprint, articles, hashes, old, model, progress, shipped_dir)
        if shipped is not None:
            old = {**{h: shipped.passages[h] for h in hashes if h in shipped.passages}, **old}
            shipped_questions = shipped.questions
    missing = [i for i, h in enumerate(hashes) if h not in old]
    embed_started = time.perf_counter()
    if missing:
        _say(progress, f"embedding {len(missing)} new or changed articles, reusing {len(articles) - len(missing)}")
        fresh = model().encode_passages([passage_text(articles[i]) for i in missing], progress=progress)
    embed_seconds = time.perf_counter() - embed_started
    dimension = model().dimension if missing or not old else next(iter(old.values())).shape[0]
    vectors = np.zeros((len(articles), dimension), dtype=np.float32)
    for i, h in enumerate(hashes):
        if h in old:
            vectors[i] = old[h]
    if missing:
        vectors[missing] = fresh
    if stored_faq is None:
        stored_faq = _faq_vectors(faq, shipped_questions, model, dimension, progress)
    tokens = _tokens(index_dir, articles, hashes)
    _write(index_dir, content, hashes, vectors, stored_faq, tokens, fingerprint, made_by)
    del vectors, old  # the approximate index is built from articles.npy: one copy of the vectors in memory
    ann_seconds = _update_ann(index_dir, dense_index, threads, progress)
    report = BuildReport(
        articles=len(articles),
        embedded=len(missing),
        reused=len(articles) - len(missing),
        repealed_or_pending=content.withheld,
        faq_entries=len(faq),
        seconds=round(time.perf_counter() - started, 2),
        articles_per_second=round(len(missing) / embed_seconds, 1) if missing else None,
        dense_index=dense_index,
        ann_build_seconds=ann_seconds,
    )
    _say(progress, f"index written to {index_dir} in {report.seconds} s")
    return report


def build_from_settings(settings, progress: bool = True) -> BuildReport:
    """Build or update the index of these settings (the model must already be exported)."""
    content = searchable(settings.corpus_dirs, settings.faq_file)
    fingerprint = settings.encoder_fingerprint()
    if fingerprint is None:
        raise FileNotFoundError(f"no ONNX export in {settings.model_dir}: run `python -m knowledge build`")
    made_by = model_entry(settings.model_dir, settings.precision)
    return build_index(content, lambda: settings.encoder(build=True), fingerprint, settings.index_dir, progress,
                       settings.dense_index, settings.build_threads, made_by, settings.shipped_vectors)


def _unchanged(index_dir: Path, content: Searchable, hashes: list[str], fingerprint: str) -> bool:
    """True when the folder holds exactly this content's index, every file matching its checksum."""
    manifest = read_manifest(index_dir)
    if not manifest or manifest.get("encoder_fingerprint") != fingerprint:
        return False
    stored = manifest.get("articles") or []
    if [(e["id"], e["hash"]) for e in stored] != [(a.id, h) for a, h in zip(content.articles, hashes)]:
        return False
    if manifest.get("faq") != [e.id for e in content.faq] or manifest.get("faq_hash") != _faq_hash(content.faq):
        return False
    lexical = manifest.get("lexical") or {}
    index_dir = Path(index_dir)
    lexical_ok = lexical.get("checksum") == _lexical_checksum(index_dir / LEXICAL_DIR)
    if lexical.get("key") != lexical_key(hashes) or not lexical_ok:
        return False
    return all((index_dir / f"{name}.npy").exists()
               and file_sha256(index_dir / f"{name}.npy")[:16] == manifest.get("checksums", {}).get(name)
               for name in ("articles", "faq"))


def _stored_faq_vectors(index_dir: Path, fingerprint: str, faq: list[FaqEntry]) -> np.ndarray | None:
    """FAQ question embeddings of the last build, when the encoder and the questions are unchanged."""
    manifest = read_manifest(index_dir)
    if manifest and manifest.get("encoder_fingerprint") == fingerprint and manifest.get("faq_hash") == _faq_hash(faq):
        return load_vectors(index_dir, "faq", manifest)
    return None


def _faq_hash(faq: list[FaqEntry]) -> str:
    return hashlib.sha256("\n".join(f"{e.id}\t{e.question}\t{e.cites}" for e in faq).encode()).hexdigest()[:16]


def _shipped(fingerprint: str, articles, hashes: list[str], old: dict, model: Callable[[], Encoder],
             progress: bool, folder: Path):
    """The shipped vectors of this encoder, if the repository has them and the local encoder agrees."""
    wanted = {h: passage_text(a) for a, h in zip(articles, hashes) if h not in old}
    shipped = load_shipped(fingerprint, folder, passages=wanted)
    if shipped is None:
        return None
    lowest = agrees(shipped.passages, wanted, lambda texts: model().encode_passages(texts, progress=False))
    if lowest < MIN_COSINE:
        log.warning("shipped vectors of %s ignored: the local encoder differs (min cosine %.4f)", fingerprint, lowest)
        _say(progress, f"shipped vectors not used: this machine's encoder differs (min cosine {lowest:.4f})")
        return None
    usable = sum(h in shipped.passages for h in wanted)
    _say(progress, f"taking {usable} of {len(wanted)} article vectors shipped for this encoder (checked: min cosine "
                   f"{lowest:.4f})")
    return shipped


def _faq_vectors(faq: list[FaqEntry], shipped: dict[str, np.ndarray], model: Callable[[], Encoder],
                 dimension: int, progress: bool) -> np.ndarray:
    """FAQ question vectors: the shipped ones, the rest embedded."""
    vectors = np.zeros((len(faq), dimension), dtype=np.float32)
    todo = []
    for i, entry in enumerate(faq):
        vector = shipped.get(question_key(entry.question))
        if vector is None:
            todo.append(i)
        else:
            vectors[i] = vector
    if todo:
        _say(progress, f"embedding {len(todo)} FAQ questions")
        vectors[todo] = model().encode_queries([faq[i].question for i in todo])
    return vectors


def _previous_vectors(index_dir: Path, fingerprint: str) -> dict[str, np.ndarray]:
    manifest = read_manifest(index_dir)
    if not manifest or manifest.get("encoder_fingerprint") != fingerprint:
        return {}
    vectors = load_vectors(index_dir, "articles", manifest)
    if vectors is None:
        return {}
    return {entry["hash"]: vectors[i] for i, entry in enumerate(manifest["articles"])}


def _tokens(index_dir: Path, articles, hashes: list[str]) -> dict[str, list[str]]:
    cached = read_json(index_dir / "tokens.json") or {}
    return {h: cached.get(h) or tokenize(passage_text(a)) for a, h in zip(articles, hashes)}


def load_vectors(index_dir: Path, name: str, manifest: dict, mmap: bool = False) -> np.ndarray | None:
    """The stored vectors, or None when they do not match the manifest (e.g. a build was interrupted)."""
    path = index_dir / f"{name}.npy"
    if not path.exists() or file_sha256(path)[:16] != manifest.get("checksums", {}).get(name):
        return None
    return np.load(path, mmap_mode="r" if mmap else None)


def ann_path(index_dir: Path, kind: str) -> Path:
    return Path(index_dir) / f"ann-{kind}.faiss"


def _ann_is_current(index_dir: Path, manifest: dict, kind: str) -> bool:
    """True when the folder holds the ``kind`` index of the manifest's vectors, built with today's parameters."""
    entry = (manifest.get("ann") or {}).get(kind) or {}
    path = ann_path(index_dir, kind)
    return bool(
        entry
        and entry.get("vectors") == manifest.get("checksums", {}).get("articles")
        and entry.get("params") == build_params(kind, len(manifest.get("articles") or []))
        and path.exists()
        and file_sha256(path)[:16] == entry.get("checksum")
    )


def _update_ann(index_dir: Path, kind: str, threads: int, progress: bool) -> float | None:
    """Build the ``kind`` approximate index unless it is current; drop files of other vectors. Build seconds."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir) or {}
    vectors_sum = manifest.get("checksums", {}).get("articles")
    kept = {k: e for k, e in (manifest.get("ann") or {}).items() if e.get("vectors") == vectors_sum}
    for stale in PERSISTED:
        if stale not in kept and stale != kind:
            ann_path(index_dir, stale).unlink(missing_ok=True)  # built from vectors no longer in the index
    seconds = None
    if kind in PERSISTED and not _ann_is_current(index_dir, manifest, kind):
        vectors = load_vectors(index_dir, "articles", manifest, mmap=True)
        params = build_params(kind, len(vectors))
        _say(progress, f"building the {kind} index over {len(vectors)} articles ({params}, {threads} threads)")
        started = time.perf_counter()
        index = build_faiss(vectors, kind, threads, params)
        del vectors
        path = ann_path(index_dir, kind)
        write_faiss(index, path)
        seconds = round(time.perf_counter() - started, 2)
        kept[kind] = {"params": params, "vectors": vectors_sum, "checksum": file_sha256(path)[:16],
                      "build_seconds": seconds}
        _say(progress, f"{kind} index written in {seconds} s ({path.stat().st_size / 1e6:.0f} MB)")
    if kept != manifest.get("ann", {}):
        _write_manifest(index_dir, {**manifest, "ann": kept})
    return seconds


def load_dense(index_dir: Path, manifest: dict, kind: str, vectors: np.ndarray, depth: int | None = None
               ) -> DenseIndex:
    """The dense index of ``kind``: the persisted file for hnsw/ivf, or exact search when it is missing or stale."""
    if kind not in PERSISTED:
        return DenseIndex(vectors, kind)
    if _ann_is_current(index_dir, manifest, kind):
        return DenseIndex.from_faiss(read_faiss(ann_path(index_dir, kind)), kind, depth)
    log.warning("KNOWLEDGE_DENSE_INDEX=%s but %s is missing or was built from other vectors or parameters: "
                "searching exactly (flat) instead; run `python -m knowledge build` to build it",
                kind, ann_path(index_dir, kind))
    return DenseIndex(np.array(vectors, dtype=np.float32), "flat")  # a copy: the file may be rewritten


def lexical_key(hashes: list[str]) -> str:
    """Identifies the BM25 arrays of exactly these articles in this order."""
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:16]


def _lexical_checksum(folder: Path) -> str | None:
    if not all((folder / name).exists() for name in (*ARRAY_FILES, "vocab.index.json")):
        return None
    return hashlib.sha256("".join(file_sha256(folder / n) for n in (*ARRAY_FILES, "vocab.index.json")).encode()
                          ).hexdigest()[:16]


def load_lexical(index_dir: Path, manifest: dict, hashes: list[str]) -> LexicalIndex | None:
    """The stored BM25 arrays (memory-mapped) when they are of these articles; None: tokenize instead."""
    stored = manifest.get("lexical") or {}
    folder = Path(index_dir) / LEXICAL_DIR
    if stored.get("key") != lexical_key(hashes) or stored.get("checksum") != _lexical_checksum(folder):
        return None
    return LexicalIndex.load(folder, mmap=True)


def _write_lexical(index_dir: Path, hashes: list[str], tokens: dict[str, list[str]]) -> dict:
    """Write the BM25 arrays unless the last build wrote them for the same articles."""
    key, folder = lexical_key(hashes), index_dir / LEXICAL_DIR
    stored = (read_manifest(index_dir) or {}).get("lexical") or {}
    checksum = _lexical_checksum(folder)
    if stored.get("key") == key and stored.get("checksum") == checksum:
        return stored
    # Saved into a folder of its own, then each file moved into place: the arrays a search process has
    # mapped stay intact (its old inodes), and the manifest, written after, says which arrays are current.
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    LexicalIndex([tokens[h] for h in hashes]).save(partial)
    folder.mkdir(exist_ok=True)
    for path in sorted(partial.iterdir()):
        os.replace(path, folder / path.name)
    partial.rmdir()
    return {"key": key, "checksum": _lexical_checksum(folder)}


def replace_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file under a temporary name and move it into place (``os.replace``).

    np.save and write_text truncate the file in place: a process that has it memory-mapped would read
    the new bytes under its old offsets, or fault past the new end. A replaced file is a new inode; the
    old one lives on for whoever holds it open or mapped.
    """
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        write(out)
    os.replace(partial, path)


def _write_manifest(index_dir: Path, manifest: dict) -> None:
    text = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
    replace_file(Path(index_dir) / MANIFEST, lambda out: out.write(text))


def _write(index_dir, content: Searchable, hashes, vectors, faq_vectors, tokens, fingerprint, made_by) -> None:
    index_dir.mkdir(parents=True, exist_ok=True)
    # Approximate indexes stay listed: those built from other vectors are dropped by _update_ann, by checksum.
    ann = (read_manifest(index_dir) or {}).get("ann") or {}
    replace_file(index_dir / "articles.npy", lambda out: np.save(out, vectors))
    replace_file(index_dir / "faq.npy", lambda out: np.save(out, np.asarray(faq_vectors, dtype=np.float32)))
    token_text = json.dumps(tokens, ensure_ascii=False).encode("utf-8")
    replace_file(index_dir / "tokens.json", lambda out: out.write(token_text))
    lexical = _write_lexical(index_dir, hashes, tokens)
    manifest = {
        "encoder_fingerprint": fingerprint,
        "model": made_by,
        "corpus_hash": corpus_hash(content.articles),
        "dimension": int(vectors.shape[1]),
        "articles": [{"id": a.id, "hash": h} for a, h in zip(content.articles, hashes)],
        "faq": [e.id for e in content.faq],
        "faq_hash": _faq_hash(content.faq),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "checksums": {name: file_sha256(index_dir / f"{name}.npy")[:16] for name in ("articles", "faq")},
        "lexical": lexical,
        "ann": ann,
    }
    # Written last, with checksums: after a crash mid-build the old manifest no longer matches its files.
    _write_manifest(index_dir, manifest)


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"[knowledge] {message}", file=sys.stderr, flush=True)
