"""Coverage: what share of the articles lawyers cite can the assistant quote, per corpus selection.

    .venv/bin/python benchmarks/corpus_coverage.py

The cited articles are (1) the statutes the lawyers' FAQ answers rest on (LeCoQA ``cites``, every text they
name, not only those of the corpus), (2) the gold articles of the STARD questions shipped in the repo
(``stard_train``: chosen so that they lie in the county corpus) and (3) the national STARD questions
(``stard_national_train``: chosen so that they lie in the national corpus). An article counts as covered
only if it is citable today (:func:`knowledge.content.searchable`: in force, current version, no known
defect, numbered). Each corpus (``KNOWLEDGE_CORPUS=county`` and ``national``) is loaded as the engine loads
it. Writes docs/benchmarks/corpus_coverage.json.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from knowledge.config import CORPORA  # noqa: E402
from knowledge.content import FAQ_LAW_AS_OF, searchable  # noqa: E402
from knowledge.corpus import law_key  # noqa: E402
from knowledge.faq import resolve_cite  # noqa: E402

DATA = REPO / "knowledge" / "data"
OUT = REPO / "docs" / "benchmarks" / "corpus_coverage.json"
FAQ = DATA / "faq" / "lecoqa_train.jsonl"
STARD = {"stard_train": DATA / "eval" / "stard_train.jsonl",
         "stard_national_train": DATA / "eval" / "stard_national_train.jsonl"}


def main() -> None:
    cites = [c for r in _jsonl(FAQ) for c in r.get("cites", [])]
    stard = {name: _jsonl(path) for name, path in STARD.items()}
    results: dict = {"date": time.strftime("%Y-%m-%d"), "faq_cites": len(cites),
                     "stard_questions": {n: len(q) for n, q in stard.items()}, "corpora": {}}
    for corpus, (laws, _, _) in CORPORA.items():
        started = time.perf_counter()
        content = searchable([REPO / laws, DATA / "local"], FAQ)
        load_s = time.perf_counter() - started
        articles = {a.id: a for a in content.articles}
        by_key = {}
        for article in content.articles:
            by_key[law_key(article.law)] = article.law_short
            by_key[law_key(article.law_short)] = article.law_short
        resolved = [resolve_cite(c, by_key) for c in cites]
        found = [r for r in resolved if r in articles]
        missing = Counter(_law_of(c) for c, r in zip(cites, resolved) if r not in articles)
        # A lawyer's "第X条" of a text amended since the answer was written may name a renumbered article.
        newer = sum(1 for r in found if (articles[r].in_force_from or "") >= FAQ_LAW_AS_OF.isoformat())
        entry = {
            "texts": len({(a.jurisdiction, a.law) for a in content.articles}),
            "citable_articles": len(articles),
            "withheld": content.withheld_by_reason,
            "load_s": round(load_s, 1),
            "faq_cites_covered": _share(len(found), len(cites)),
            "faq_unique_cites_covered": _share(len({c for c, r in zip(cites, resolved) if r in articles}),
                                               len(set(cites))),
            "faq_cites_to_texts_in_force_since_faq": newer,
            "faq_cites_missing_by_text": dict(missing.most_common(15)),
            "faq_entries_searchable": len(content.faq),
            "faq_entries_fully_grounded": sum(e.fully_grounded for e in content.faq),
        }
        for name, questions in stard.items():
            gold = [g for q in questions for g in q["gold"]]
            entry[f"{name}_gold_covered"] = _share(sum(g in articles for g in gold), len(gold))
            entry[f"{name}_questions_all_gold_covered"] = _share(
                sum(all(g in articles for g in q["gold"]) for q in questions), len(questions))
        gold = [g for questions in stard.values() for q in questions for g in q["gold"]]
        entry["all_citations_covered"] = _share(len(found) + sum(g in articles for g in gold), len(cites) + len(gold))
        results["corpora"][corpus] = entry
    print(json.dumps(results, ensure_ascii=False, indent=1))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _share(part: int, whole: int) -> dict:
    return {"covered": part, "of": whole, "share": round(part / whole, 4) if whole else None}


def _law_of(cite: str) -> str:
    return cite.split("第", 1)[0].strip()


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    main()
