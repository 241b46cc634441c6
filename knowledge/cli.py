"""Command line: ``python -m knowledge {build,status,search,show,evaluate,ship-vectors}``.

``search`` and ``show`` say which version of its text each article comes from (title, effective date, status).
"""

from __future__ import annotations

import argparse
import json
import sys

from knowledge.config import REPO_ROOT, Settings
from knowledge.corpus import (
    VERSION_MARK,
    Article,
    CorpusError,
    load_corpus,
    status_label,
    version_label,
    withheld_reason,
)
from knowledge.evaluate import QueryFileError
from knowledge.normalize import EmptyQueryError


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (EmptyQueryError, CorpusError, QueryFileError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    commands = parser.add_subparsers(required=True)

    build = commands.add_parser("build", help="prepare the model and build or update the index")
    # Progress (one line per step, bars with rate and ETA) always goes to stderr, so a long first build
    # never looks frozen; stdout holds only the JSON report. --quiet is kept for old scripts.
    build.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    build.add_argument("--quick", action="store_true",
                       help="leave fine-tuning to a later full build when not done yet: index with the model the "
                            "index already names, else the base model (make run's first step)")
    build.set_defaults(run=_build)

    status = commands.add_parser(
        "status", help="which model made the index and whether it is the configured one (exit status 1: not yet)")
    status.set_defaults(run=_status)

    search = commands.add_parser("search", help="search the law")
    search.add_argument("question")
    search.add_argument("--top-k", type=int, default=5)
    search.add_argument("--law", help="law name or short name, e.g. 民法典")
    search.add_argument("--doc-type", help="法律, 行政法规, 司法解释, 地方性法规 …")
    search.add_argument("--jurisdiction", help="全国 or a local jurisdiction")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(run=_search)

    show = commands.add_parser("show", help="an article with the version of its text and its status")
    show.add_argument("article_id", help="e.g. 治安管理处罚法-1 (the version in force) or 治安管理处罚法-1@2012-10-26")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(run=_show)

    evaluate = commands.add_parser("evaluate", help="measure retrieval on a JSONL file of questions")
    evaluate.add_argument("--queries", required=True, help='JSONL lines {"id", "question", "gold": [...]}')
    evaluate.add_argument("--top-k", type=int, default=10)
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(run=_evaluate)

    ship = commands.add_parser(
        "ship-vectors", help="write the vectors of built indexes into knowledge/data/vectors (a maintainer's step "
                             "after the corpus or the encoder changes; fresh clones then embed nothing)")
    ship.add_argument("index_dirs", nargs="+", help="index folders built with the same encoder (e.g. var/index "
                                                    "var/index-national)")
    ship.set_defaults(run=_ship)
    return parser


def _ship(args) -> int:
    from pathlib import Path

    from knowledge.index import load_vectors, read_manifest
    from knowledge.shipped_vectors import merge, question_key, save

    settings = Settings()
    with settings.faq_file.open(encoding="utf-8") as lines:  # every question (each corpus keeps those it can cite)
        questions = {str(r["id"]): r["question"] for r in map(json.loads, filter(str.strip, lines))}
    fingerprints, passages, faq = set(), [], []
    for folder in map(Path, args.index_dirs):
        manifest = read_manifest(folder)
        articles, asked = (load_vectors(folder, name, manifest or {}) for name in ("articles", "faq"))
        if manifest is None or articles is None or asked is None:
            raise FileNotFoundError(f"no complete index in {folder}")
        fingerprints.add(manifest["encoder_fingerprint"])
        passages.append(zip((e["hash"] for e in manifest["articles"]), articles))
        faq.append((question_key(questions[i]), v) for i, v in zip(manifest["faq"], asked) if i in questions)
    if len(fingerprints) != 1:
        raise ValueError(f"the folders were built with different encoders: {sorted(fingerprints)}")
    path = save(fingerprints.pop(), merge(*passages), merge(*faq))
    print(json.dumps({"file": str(path.relative_to(REPO_ROOT)), "mb": round(path.stat().st_size / 2**20, 1)}))
    return 0


def _build(args) -> int:
    from knowledge.setup import prepare

    report = prepare(Settings(), progress=True, quick=args.quick)
    print(json.dumps(report, ensure_ascii=False))
    return 0


def _status(args) -> int:
    """Exit status 0 when the index holds today's content embedded by the configured model: nothing to build."""
    from knowledge.content import searchable
    from knowledge.index import holds, index_model, is_current, model_entry, read_manifest

    settings = Settings()
    manifest = read_manifest(settings.index_dir)
    content = searchable(settings.corpus_dirs, settings.faq_file)
    named = index_model(manifest)
    final = is_current(manifest, settings, content)
    print(json.dumps({
        "index_dir": str(settings.index_dir),
        "index_model": model_entry(*named)["dir"] if named else None,
        "configured_model": model_entry(settings.model_dir, settings.precision)["dir"],
        "articles": len((manifest or {}).get("articles") or []),
        "current_content": holds(manifest, content),
        "servable": final or (named is not None and holds(manifest, content)),
        "final": final,
    }, ensure_ascii=False))
    return 0 if final else 1


def _search(args) -> int:
    from knowledge.engine import load_engine

    if args.top_k < 1:
        raise ValueError("--top-k must be at least 1")
    engine = load_engine()
    hits = engine.search(
        args.question, args.top_k, law=args.law, doc_type=args.doc_type, jurisdiction=args.jurisdiction
    )
    articles = {a.id: a for a in engine.articles}
    if args.json:
        print(json.dumps([{**h.to_dict(), "version": _version(articles[h.id])} for h in hits], ensure_ascii=False,
                         indent=1))
    else:
        for rank, hit in enumerate(hits, start=1):
            article = articles[hit.id]
            print(f"{rank}. {hit.citation}  ({hit.id}, score {hit.score:.3f})\n"
                  f"   {version_label(article)} · {status_label(article)}\n   {hit.text}\n")
    return 0


def _show(args) -> int:
    corpus = load_corpus(Settings().corpus_dirs)
    article = next((a for a in corpus if a.id == args.article_id), None)
    if article is None:
        raise ValueError(f"no article {args.article_id!r} in the corpus")
    plain = article.id.split(VERSION_MARK)[0]
    others = [a for a in corpus if a.id != article.id and a.id.split(VERSION_MARK)[0] == plain]
    if args.json:
        print(json.dumps({**article.to_dict(), "citation": article.citation, "version": _version(article),
                          "other_versions": [{"id": a.id, **_version(a)} for a in others]},
                         ensure_ascii=False, indent=1))
        return 0
    print(f"{article.citation}  ({article.id})\n版本：{version_label(article)}\n状态：{status_label(article)}\n"
          f"来源：{article.source}\n\n{article.text}")
    for other in others:
        print(f"\n其他版本：{other.id}  {version_label(other)} · {status_label(other)}")
    return 0


def _version(article: Article) -> dict:
    return {"law": article.law, "effective_date": article.effective_date, "version_date": article.version_date,
            "status": status_label(article), "citable": withheld_reason(article) is None,
            "label": version_label(article)}


def _evaluate(args) -> int:
    from knowledge.engine import load_engine
    from knowledge.evaluate import evaluate, read_queries

    queries = read_queries(args.queries)
    engine = load_engine()
    engine.exclude_faq_questions(q.question for q in queries)
    metrics = evaluate(queries, lambda q, k: [h.id for h in engine.search(q, k)], args.top_k)
    print(json.dumps(metrics, ensure_ascii=False) if args.json else _table(metrics))
    return 0


def _table(metrics: dict) -> str:
    return "\n".join(f"{name:>10}  {value}" for name, value in metrics.items())
