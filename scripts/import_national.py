"""Import the national corpus (laws, administrative regulations, judicial interpretations in force) into the repo.

    .venv/bin/python scripts/import_national.py [PATH/TO/shared/data/national]

Copies one JSONL per text into ``knowledge/data/national/<kind>/`` in the record shape of
``knowledge/data/laws`` (with ``doc_type``, ``effective_date``, ``version_date``, ``status`` and ``source``),
the national STARD questions into ``knowledge/data/eval/stard_national_train.jsonl``, and, for each of the
county corpus's texts whose national version is newer, that version next to it in ``knowledge/data/laws``
(the loader then supersedes the older one); county texts identical to the national ones get the effective
date and status they lacked. Known defects of the source (its README) are handled here so
that re-running the import reproduces the shipped files exactly:

- corrected (``corrections`` field on the record says what changed): the source typo 农民专业合作社法 第十九条
  "报登已机关" (→ "报登记机关", the official wording); table rules (``+----+`` / ``-----`` lines, tables whose
  cells the source lost) and the next chapter's heading glued by the source dropped from the end of an
  article's text (also in the county corpus's copy of 农村土地承包纠纷司法解释-19);
- flagged ``defect`` (loaded but never searched or cited until fixed from the official text): texts the
  source truncated, texts whose article numbering has gaps (amendments to the Constitution excepted: their
  articles continue the numbering of the previous amendment), and the two articles of 生态环境法典 that
  carry the tail of a missing article (1120, 1201) after their own text.
Records without an article number (preambles, notices, appendices) are kept as they are; the loader never
lets them be searched or quoted as 第X条.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "knowledge" / "data" / "national"
COUNTY = REPO / "knowledge" / "data" / "laws"
EVAL = REPO / "knowledge" / "data" / "eval" / "stard_national_train.jsonl"
KINDS = ("laws", "regulations", "interpretations", "departmental")
FIELDS = ("id", "law", "law_short", "part", "subpart", "chapter", "section", "article_cn", "article_num",
          "article_suffix", "text", "doc_type", "doc_subtype", "effective_date", "version_date", "status",
          "adopted", "source")

CORRECTIONS = {  # id → (wrong, right, why)
    "农民专业合作社法-19": ("报登已机关", "报登记机关", "source typo (报登已机关), official wording 报登记机关"),
}
TRUNCATED = {  # title → what the source lacks
    "麻醉药品和精神药品管理条例": "the source has 3 of its articles",
    "公安部对部分刀具实行管制的暂行规定": "the source text looks truncated (14 articles)",
}
ARTICLE_DEFECTS = {
    "生态环境法典-1119": "the source lost article 1120; the tail of 1120 is appended to this article",
    "生态环境法典-1200": "the source lost article 1201; the tail of 1201 is appended to this article",
}
_TABLE_RULE = re.compile(r"^\s*\+?[-=+|]{10,}\+?\s*$")
# The next chapter's or section's heading that the source glued to the end of an article (a line of its own
# after the article's last sentence, or right after its final 。).
_GLUED_HEADING = re.compile(r"^(第[一二三四五六七八九十百]+[章节].{0,20}|[一二三四五六七八九十]+、[^。；，：]{1,30}"
                            r"|（[一二三四五六七八九十]+）[^。；，：]{1,30}|[^。；，：、“”\"（）()附]{2,12})$")
_GLUED_CHAPTER = re.compile(r"(?<=。)第[一二三四五六七八九十]+章\S{0,20}$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, nargs="?", default=REPO.parent / "shared" / "data" / "national")
    args = parser.parse_args()
    if not (args.source / "MANIFEST.json").is_file():
        parser.error(f"{args.source} is not the national data folder (no MANIFEST.json)")
    texts = _read(args.source)
    flags = _text_defects(texts)
    shutil.rmtree(OUT, ignore_errors=True)
    counts: dict[str, int] = defaultdict(int)
    for (kind, name), records in sorted(texts.items()):
        fixed = [_fix(record, flags.get(records[0]["law"]), counts) for record in records]
        _write(OUT / kind / name, fixed)
        counts["texts"] += 1
        counts["records"] += len(fixed)
    shutil.copyfile(args.source / "stard_national_train.jsonl", EVAL)
    counts["county texts updated"] = _update_county(texts)
    (OUT / "README.md").write_text(_readme(args.source, texts, flags, counts), encoding="utf-8")
    print(json.dumps(counts, ensure_ascii=False))


def _read(source: Path) -> dict[tuple[str, str], list[dict]]:
    texts: dict[tuple[str, str], list[dict]] = {}
    for kind in KINDS:
        for path in sorted((source / kind).glob("*.jsonl")):
            lines = path.read_text(encoding="utf-8").splitlines()
            texts[(kind, path.name)] = [json.loads(line) for line in lines if line.strip()]
    return texts


def _text_defects(texts: dict[tuple[str, str], list[dict]]) -> dict[str, str]:
    """Title → defect of the whole text: truncated by the source, or its numbering has gaps."""
    flags = dict(TRUNCATED)
    for records in texts.values():
        law = records[0]["law"]
        numbers = [r["article_num"] for r in records if r["article_num"] is not None and not r.get("article_suffix")]
        if not numbers or "宪法修正案" in law or law == "中华人民共和国生态环境法典":  # the code: per article
            continue
        if numbers != list(range(1, len(numbers) + 1)):
            flags.setdefault(law, f"article numbering has gaps in the source ({len(numbers)} articles, "
                                  f"numbers {numbers[0]}…{max(numbers)})")
    return flags


def _fix(record: dict, text_defect: str | None, counts: dict[str, int]) -> dict:
    record = {k: record.get(k) for k in FIELDS if k in record}
    corrections = []
    if record["id"] in CORRECTIONS:
        wrong, right, why = CORRECTIONS[record["id"]]
        assert wrong in record["text"], record["id"]
        record["text"] = record["text"].replace(wrong, right)
        corrections.append(why)
    lines = record["text"].split("\n")
    if len(lines) > 1 and _TABLE_RULE.match(lines[-1]):
        while lines and (_TABLE_RULE.match(lines[-1]) or "|" in lines[-1]):
            lines.pop()
        record["text"] = "\n".join(lines).strip()
        corrections.append("table rules and broken table rows at the end of the text dropped")
    heading = _glued_heading(record["text"]) if record["article_num"] is not None else None
    if heading:
        record["text"] = record["text"][: -len(heading)].rstrip()
        corrections.append(f"heading {heading.strip()!r} glued to the end of the text by the source dropped")
    if corrections:
        record["corrections"] = corrections
        counts["records corrected"] += 1
    defect = ARTICLE_DEFECTS.get(record["id"]) or text_defect
    if defect:
        record["defect"] = defect
        counts["records flagged defective"] += 1
    if record["article_num"] is None:
        counts["records without article number"] += 1
    return record


def _glued_heading(text: str) -> str | None:
    """The heading glued to the end of an article's text (with its line break), if any."""
    lines = text.split("\n")
    if len(lines) > 1 and lines[-2].endswith("。") and _GLUED_HEADING.match(lines[-1].strip()):
        return "\n" + lines[-1]
    inline = _GLUED_CHAPTER.search(text)
    return inline.group(0) if inline else None


def _update_county(texts: dict[tuple[str, str], list[dict]]) -> int:
    """For each county text: fix the source defects it shares; when the national text is the same, take the
    dates and status it lacks from it; when the national text is a newer version, write it next to the county
    file (``<text>_<year>.jsonl``), where the loader supersedes the old one. Returns the versions written."""
    national = {records[0]["law"]: records for records in texts.values()}
    updated = 0
    for path in sorted(COUNTY.glob("*.jsonl")):
        county = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        county = [_fix(r, None, defaultdict(int)) if _glued_heading(r["text"]) else r for r in county]
        newer = national.get(county[0]["law"]) or []
        texts_now = {r["id"]: r["text"] for r in newer}
        same = bool(newer) and all(texts_now.get(r["id"]) == r["text"] for r in county)
        if same:
            known = {k: newer[0][k] for k in ("effective_date", "version_date", "status") if newer[0].get(k)}
            county = [{**r, **{k: v for k, v in known.items() if not r.get(k)}} for r in county]
        _write(path, county)  # an unchanged record is written back byte for byte
        county_date = county[0].get("effective_date") or county[0].get("version_date") or ""
        if same or not newer or newer[0]["version_date"] <= county_date:
            continue
        stem = re.sub(r"_\d{4}$", "", path.stem)
        _write(COUNTY / f"{stem}_{newer[0]['version_date'][:4]}.jsonl",
               [{k: r.get(k) for k in FIELDS if k in r} for r in newer])
        updated += 1
    return updated


def _write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _readme(source: Path, texts: dict, flags: dict[str, str], counts: dict[str, int]) -> str:
    kinds = {kind: [r for (k, _), rs in texts.items() if k == kind for r in rs] for kind in KINDS}
    titles = {kind: sum(1 for (k, _) in texts if k == kind) for kind in KINDS}
    source_readme = (source / "README.md").read_text(encoding="utf-8")
    sources = source_readme.split("## Sources", 1)[1].split("\n## ", 1)[0].strip()
    table = "\n".join(f"| `{kind}/` | {', '.join(sorted({r['doc_type'] for r in kinds[kind]}))} | {titles[kind]} | "
                      f"{len(kinds[kind]):,} |" for kind in KINDS)
    flagged = "\n".join(f"- {law}: {why}" for law, why in sorted(flags.items()))
    flagged += "\n" + "\n".join(f"- `{i}`: {why}" for i, why in ARTICLE_DEFECTS.items())
    today = dt.date.today().isoformat()
    pending = "\n".join(sorted({f"- {rs[0]['law']}: from {rs[0]['effective_date']}" for rs in texts.values()
                                if (rs[0].get("effective_date") or "") > today})) or "- none"
    fixes = "\n".join(f"- `{i}`: {why}" for i, (_, _, why) in CORRECTIONS.items())
    return f"""# National corpus (`KNOWLEDGE_CORPUS=national`)

National laws, administrative regulations, judicial interpretations and a small selection of departmental
rules in force: {counts['texts']:,} texts, {counts['records']:,} records, one JSONL per text in the record shape of
`../laws/` plus `doc_type`, `effective_date` (empty when the source does not give it: never guessed),
`version_date`, `status` and `source`; `article_suffix` for inserted articles (`刑法-133之一`). Generated by
`scripts/import_national.py` (do not edit by hand: fix the script and re-run it).

| folder | doc_type | texts | records |
|---|---|---|---|
{table}

## Sources

{sources}

## Relation to `../laws/` (the default county corpus)

Every article id of the 27 county texts is here with the same id. Two county texts were out of date
(治安管理处罚法 2012 → the 2025 revision in force from 2026-01-01; 村民委员会组织法 2018 → amended 2025-10-28):
their new versions are also added to `../laws/`, where the loader supersedes the old ones automatically. The
other county texts are the same as here and take their effective date and status from here.

## Known defects and what is done about them

Regulations, interpretations and departmental rules are only as current as 2025-04-19 (anything amended
since is not reflected), and nothing here was checked against the National Database of Laws and
Regulations (国家法律法规数据库), which cannot be reached from where the corpus was built.

Corrected (each record says so in its `corrections` field):
{fixes}
- table rules and broken table rows at the end of an article's text dropped (the tables themselves are
  missing in the source), and chapter or section headings the source glued to the end of an article's text
  dropped ({counts['records corrected'] - len(CORRECTIONS)} records in all).

Flagged `defect` and never searched or cited until fixed from the official text
({counts['records flagged defective']} records):
{flagged}

Records without an article number (preambles, notices, appendices; {counts['records without article number']})
are kept but never searched or quoted as 第X条.

Texts not yet in effect when imported (the loader withholds them until their effective date; where they revise
a text, the version in force until then is not in the source, so that text cannot be quoted meanwhile):
{pending}
"""


if __name__ == "__main__":
    main()
