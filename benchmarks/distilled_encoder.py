"""A distilled (shallower) encoder against the search model it was distilled from, in one process (issue 13).

    .venv/bin/python benchmarks/distilled_encoder.py STUDENT_DIR [STUDENT_DIR ...] [--out FILE]

Each student (``knowledge.distill``, exported to ONNX) gets a county index of its own next to the product's
(``var/index-distilled-<folder>``, built once, then reused); the teacher is the configured search model with
its index. Measured, all models interleaved so the shared machine's noise falls on all alike:

- query encoding alone (one thread, as the search process): every question encoded by every model in turn,
  p50 / p95 and the ratio of p50s to the teacher's;
- passages/s of the build's runtime (two single-threaded streams) on 384 national passages, sorted by length
  and cut into chunks of 128 embedded by every model in turn, the order rotating (``benchmarks/embed_speed.py``);
- the whole warm county search per question, every engine in turn;
- quality on the held-out STARD split: Recall@10 and MRR@10 with the fusion alone, with the shipped second
  stage (trained on the teacher's scores) and with a second stage retrained on the student's own (tuning split,
  the shipped C and depth: ``benchmarks/train_rerank.py``); a paired bootstrap of each student's difference to
  the teacher with the shipped second stage (the product).

Writes docs/benchmarks/distilled_encoder.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.retrieval import _paired_bootstrap, _per_question  # noqa: E402
from benchmarks.train_rerank import collect, train  # noqa: E402
from knowledge.config import Settings  # noqa: E402
from knowledge.content import searchable  # noqa: E402
from knowledge.corpus import passage_text  # noqa: E402
from knowledge.distill import summary_of  # noqa: E402
from knowledge.encoders import OnnxEncoder, build_runtime  # noqa: E402
from knowledge.engine import open_engine  # noqa: E402
from knowledge.evaluate import evaluate, read_queries  # noqa: E402
from knowledge.index import build_from_settings  # noqa: E402
from knowledge.normalize import normalize_query  # noqa: E402
from knowledge.rerank import WEIGHTS_FILE, SecondStage  # noqa: E402

EVAL = REPO / "knowledge" / "data" / "eval"
NATIONAL = REPO / "knowledge" / "data" / "national"
OUT = REPO / "docs" / "benchmarks" / "distilled_encoder.json"
TEACHER = "teacher"


def percentiles(values: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(values, 50)), 2), "p95": round(float(np.percentile(values, 95)), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("students", type=Path, nargs="+")
    parser.add_argument("--questions", type=int, default=300, help="questions timed for query encoding")
    parser.add_argument("--sample", type=int, default=384, help="national passages for passages/s")
    parser.add_argument("--chunk", type=int, default=128)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    settings = Settings()
    models = {TEACHER: settings.model_dir, **{_label(p): p.resolve() for p in args.students}}
    results: dict = {"models": {name: _describe(path) for name, path in models.items()}, "load_average": {}}
    results["load_average"]["start"] = os.getloadavg()

    # Indexes: the teacher's is the product's; each student's is built next to it (once).
    engines = {}
    for name, path in models.items():
        engine_settings = settings if name == TEACHER else replace(
            settings, model_dir=path, index_dir=settings.index_dir.with_name(f"index-distilled-{path.name}"))
        if name != TEACHER:
            started = time.perf_counter()
            report = build_from_settings(engine_settings, progress=True)
            results["models"][name]["county_index_build_s"] = round(time.perf_counter() - started, 1)
            results["models"][name]["county_index_embedded"] = report.to_dict().get("embedded")
        engines[name] = open_engine(engine_settings, strict=True)
    names = list(engines)

    questions = [q.question for q in read_queries(EVAL / "stard_national_train.jsonl")][: args.questions]
    results["query_encoding_ms"] = _query_encoding(engines, names, questions)
    results["load_average"]["after_query_encoding"] = os.getloadavg()
    results["passages_per_s"] = _passage_speed(models, names, settings, args.sample, args.chunk)
    results["load_average"]["after_passages"] = os.getloadavg()
    heldout = read_queries(EVAL / "stard_heldout.jsonl")
    results["county_search_ms"] = _search_speed(engines, names, heldout)
    results["load_average"]["after_search"] = os.getloadavg()
    if not args.skip_quality:
        results["quality_heldout"] = _quality(engines, names, heldout)
        results["load_average"]["end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(markdown(results))


def _label(path: Path) -> str:
    summary = summary_of(path) or {}
    config = summary.get("config", {})
    return f"{config.get('layers', '?')} layers ({config.get('pick', '?')}, {path.name})"


def _describe(path: Path) -> dict:
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    export = json.loads((path / "onnx" / "export.json").read_text(encoding="utf-8"))
    return {"dir": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name,
            "layers": config["num_hidden_layers"], "int8_mb": export["files"]["int8"]["mb"],
            "int8_min_cosine_vs_torch": export.get("verification", {}).get("int8", {}).get("min_cosine"),
            "distillation": summary_of(path)}


def _query_encoding(engines: dict, names: list[str], questions: list[str]) -> dict:
    queries = [normalize_query(q) for q in questions]
    for name in names:  # warm up
        for query in queries[:10]:
            engines[name].encoder.encode_queries([query])
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, query in enumerate(queries):
        for name in names[i % len(names):] + names[: i % len(names)]:
            started = time.perf_counter()
            engines[name].encoder.encode_queries([query])
            times[name].append((time.perf_counter() - started) * 1000)
    teacher = float(np.percentile(times[TEACHER], 50))
    return {name: {**percentiles(t), "p50_ratio_to_teacher": round(float(np.percentile(t, 50)) / teacher, 3),
                   "questions": len(t)} for name, t in times.items()}


def _passage_speed(models: dict, names: list[str], settings: Settings, size: int, chunk: int) -> dict:
    texts = [passage_text(a) for a in searchable([NATIONAL], settings.faq_file).articles]
    sample = sorted(random.Random(13).sample(texts, min(size, len(texts))), key=len)
    chunks = [sample[i: i + chunk] for i in range(0, len(sample), chunk)]
    encoders = {name: OnnxEncoder(models[name], settings.precision, runtime=build_runtime(os.cpu_count() or 1))
                for name in names}
    for encoder in encoders.values():
        encoder.encode_passages(chunks[0][:8])
    seconds = {name: 0.0 for name in names}
    per_chunk: dict[str, list[float]] = {name: [] for name in names}
    for c, texts_chunk in enumerate(chunks):
        for name in names[c % len(names):] + names[: c % len(names)]:
            started = time.perf_counter()
            encoders[name].encode_passages(texts_chunk)
            elapsed = time.perf_counter() - started
            seconds[name] += elapsed
            per_chunk[name].append(len(texts_chunk) / elapsed)
    out = {}
    for name in names:
        ratios = [s / t for s, t in zip(per_chunk[name], per_chunk[TEACHER])]
        out[name] = {"passages_per_s": round(len(sample) / seconds[name], 1),
                     "ratio_to_teacher": round(seconds[TEACHER] / seconds[name], 3),
                     "per_chunk_ratio_min_max": [round(min(ratios), 3), round(max(ratios), 3)]}
    return {"sample": len(sample), "chunks": len(chunks), "streams": os.cpu_count(), **out}


def _search_speed(engines: dict, names: list[str], queries) -> dict:
    for engine in engines.values():
        engine.exclude_faq_questions(q.question for q in queries)
        for q in queries[:10]:
            engine.search(q.question, 10)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, q in enumerate(queries):
        for name in names[i % len(names):] + names[: i % len(names)]:
            started = time.perf_counter()
            engines[name].search(q.question, 10)
            times[name].append((time.perf_counter() - started) * 1000)
    teacher = float(np.percentile(times[TEACHER], 50))
    return {name: {**percentiles(t), "p50_ratio_to_teacher": round(float(np.percentile(t, 50)) / teacher, 3)}
            for name, t in times.items()}


def _quality(engines: dict, names: list[str], heldout) -> dict:
    shipped = SecondStage.load(WEIGHTS_FILE)
    about = shipped.about or {}
    chosen = about.get("chosen", "")
    c = float(chosen.split("C=")[1].split()[0]) if "C=" in chosen else 1.0
    tune = read_queries(EVAL / "stard_tune.jsonl")
    out: dict = {}
    per_question: dict[str, dict] = {}
    for name in names:
        engine = engines[name]
        retrained = train(collect(engine, tune), shipped.names, c, shipped.depth)
        row = {}
        for label, stage in (("fusion", None), ("second stage (shipped)", shipped),
                             ("second stage (retrained on this encoder)", retrained)):
            engine.second_stage = stage
            engine.exclude_faq_questions(q.question for q in heldout)
            row[label] = evaluate(heldout, lambda q, k, e=engine: [h.id for h in e.search(q, k)])
            per_question[f"{name} / {label}"] = _per_question(engine, heldout)
        engine.second_stage = shipped
        out[name] = row
        print(name, json.dumps({k: (v["recall@10"], v["mrr@10"]) for k, v in row.items()}), flush=True)
    product = per_question[f"{TEACHER} / second stage (shipped)"]
    out["paired_bootstrap_vs_teacher_product"] = {
        key: _paired_bootstrap(product, values) for key, values in per_question.items()
        if not key.startswith(f"{TEACHER} /") and "second stage" in key
    }
    return out


def markdown(results: dict) -> str:
    lines = ["| model | layers | query encode p50 / p95 ms (ratio) | passages/s (ratio) | county search p50 ms |"
             " R@10 / MRR@10 fusion | shipped 2nd stage | retrained 2nd stage |",
             "|---|---|---|---|---|---|---|---|"]
    quality = results.get("quality_heldout", {})
    for name, model in results["models"].items():
        q = results["query_encoding_ms"][name]
        p = results["passages_per_s"][name]
        s = results["county_search_ms"][name]
        cells = []
        for label in ("fusion", "second stage (shipped)", "second stage (retrained on this encoder)"):
            m = quality.get(name, {}).get(label)
            cells.append(f"{m['recall@10']} / {m['mrr@10']}" if m else "")
        lines.append(f"| {name} | {model['layers']} | {q['p50']} / {q['p95']} ({q['p50_ratio_to_teacher']}) | "
                     f"{p['passages_per_s']} ({p['ratio_to_teacher']}) | {s['p50']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
