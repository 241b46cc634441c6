"""The law corpus: national texts shipped in ``knowledge/data/laws`` plus local rules an administrator adds.

Local rules (地方性法规, county normative documents, 村规民约) are dropped into the local folder either as
JSONL of the same shape as the national files, or as Markdown in the common "第X条 …" layout with a
front-matter header (see ``knowledge/data/local/README.md``). Loading validates everything and raises
:class:`CorpusError` listing every problem with its file and line; nothing is skipped silently.
Texts marked repealed (``status: 已废止`` or ``repealed: true``) are loaded but never searched or cited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from knowledge.numerals import cn_to_int

NATIONAL = "全国"
REPEALED_STATUSES = {"已废止", "废止", "已失效", "失效", "repealed", "superseded"}
REQUIRED_FIELDS = ("id", "law", "law_short", "article_cn", "article_num", "text")
LOCAL_REQUIRED_META = ("law", "doc_type", "jurisdiction", "effective_date")

_ARTICLE_HEAD = re.compile(r"^\s*第([零〇一二两三四五六七八九十百千万\d]+)条[\s\u3000]*(.*)$")
_HEADING = re.compile(r"^\s*(#+\s*)?(第[零〇一二三四五六七八九十百千\d]+[编章节][\s\u3000].*|附则|总则)\s*$")


class CorpusError(ValueError):
    """The corpus has malformed records; ``problems`` lists ``file:line: message`` strings."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("corpus has errors:\n" + "\n".join(problems))


@dataclass(frozen=True)
class Article:
    id: str
    law: str
    law_short: str
    article_cn: str
    article_num: int
    text: str
    chapter: str | None = None
    doc_type: str = "法律"
    jurisdiction: str = NATIONAL
    effective_date: str | None = None
    repealed: bool = False
    source: str = ""

    @property
    def citation(self) -> str:
        """《中华人民共和国民法典》第一千一百六十五条"""
        return f"《{self.law}》{self.article_cn}"

    @property
    def content_hash(self) -> str:
        """Hash of what the embedding sees; a changed article is re-embedded on the next build."""
        return hashlib.sha256(passage_text(self).encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return asdict(self)


def passage_text(article: Article) -> str:
    """What the search models read for an article: its law, chapter and text."""
    chapter = f" {article.chapter}" if article.chapter else ""
    return f"{article.law_short}{chapter} {article.article_cn} {article.text}"


def load_corpus(folders: Iterable[Path]) -> list[Article]:
    """Load every ``*.jsonl`` and ``*.md`` file of the folders; raise CorpusError on any problem."""
    articles: list[Article] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*")):
            if path.suffix == ".jsonl":
                records = _read_jsonl(path, problems)
            elif path.suffix == ".md" and path.name.lower() != "readme.md":
                records = _read_markdown(path, problems)
            else:
                continue
            for where, article in records:
                if article.id in seen:
                    problems.append(f"{where}: duplicate id {article.id!r} (first in {seen[article.id]})")
                    continue
                seen[article.id] = where
                articles.append(article)
    if problems:
        raise CorpusError(problems)
    return articles


def in_force(articles: Iterable[Article], today: dt.date | None = None) -> list[Article]:
    """Articles that may be cited: not repealed and already in effect."""
    today = today or dt.date.today()
    return [
        a
        for a in articles
        if not a.repealed and (not a.effective_date or dt.date.fromisoformat(a.effective_date) <= today)
    ]


def corpus_hash(articles: Iterable[Article]) -> str:
    digest = hashlib.sha256()
    for article in articles:
        digest.update(f"{article.id}\t{article.content_hash}\n".encode())
    return digest.hexdigest()[:16]


def _read_jsonl(path: Path, problems: list[str]) -> Iterator[tuple[str, Article]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            where = f"{path.name}:{number}"
            if not line.strip():
                problems.append(f"{where}: empty line")
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not valid JSON ({exc.msg})")
                continue
            article = _article_from_record(record, where, path.name, problems)
            if article:
                yield where, article


def _article_from_record(record: object, where: str, source: str, problems: list[str]) -> Article | None:
    if not isinstance(record, dict):
        problems.append(f"{where}: expected a JSON object")
        return None
    missing = [f for f in REQUIRED_FIELDS if record.get(f) in (None, "")]
    if missing:
        problems.append(f"{where}: missing or empty field(s) {', '.join(missing)}")
        return None
    text = str(record["text"]).strip()
    if not text:
        problems.append(f"{where}: empty text")
        return None
    try:
        number = int(record["article_num"])
        effective = _iso_date(record.get("effective_date") or record.get("version_date"))
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: {exc}")
        return None
    status = str(record.get("status", "")).strip().lower()
    return Article(
        id=str(record["id"]),
        law=str(record["law"]),
        law_short=str(record["law_short"]),
        article_cn=str(record["article_cn"]),
        article_num=number,
        text=text,
        chapter=record.get("chapter") or None,
        doc_type=record.get("doc_type") or "法律",
        jurisdiction=record.get("jurisdiction") or NATIONAL,
        effective_date=effective,
        repealed=bool(record.get("repealed")) or status in REPEALED_STATUSES,
        source=source,
    )


def _iso_date(value: object) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD") from None


def _read_markdown(path: Path, problems: list[str]) -> Iterator[tuple[str, Article]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    meta, body_start = _front_matter(lines, path.name, problems)
    if meta is None:
        return
    missing = [f for f in LOCAL_REQUIRED_META if not meta.get(f)]
    if missing:
        problems.append(f"{path.name}:1: front matter lacks {', '.join(missing)}")
        return
    for start, article_cn, text, chapter in _split_articles(lines, body_start):
        where = f"{path.name}:{start}"
        record = {
            **meta,
            "id": f"{meta.get('law_short') or meta['law']}-{cn_to_int(article_cn[1:-1])}",
            "law_short": meta.get("law_short") or meta["law"],
            "article_cn": article_cn,
            "article_num": cn_to_int(article_cn[1:-1]),
            "text": text,
            "chapter": chapter,
        }
        article = _article_from_record(record, where, path.name, problems)
        if article:
            yield where, article


def _front_matter(lines: list[str], name: str, problems: list[str]) -> tuple[dict | None, int]:
    if not lines or lines[0].strip() != "---":
        problems.append(f"{name}:1: Markdown rules must start with a '---' front-matter block")
        return None, 0
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        problems.append(f"{name}:1: front matter is not closed with '---'")
        return None, 0
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        problems.append(f"{name}:2: front matter is not valid YAML ({exc})")
        return None, 0
    if not isinstance(meta, dict):
        problems.append(f"{name}:2: front matter must be key: value lines")
        return None, 0
    return meta, end + 1


def _split_articles(lines: list[str], start: int) -> Iterator[tuple[int, str, str, str | None]]:
    """Yield (line number, 第X条, text, chapter) for each article of a Markdown body."""
    chapter: str | None = None
    current: tuple[int, str, list[str], str | None] | None = None
    for index in range(start, len(lines)):
        line = lines[index].strip()
        head = _ARTICLE_HEAD.match(line.lstrip("#").strip())
        heading = _HEADING.match(line)
        if head:
            if current:
                yield current[0], current[1], "\n".join(current[2]).strip(), current[3]
            current = (index + 1, f"第{head.group(1)}条", [head.group(2)], chapter)
        elif heading:
            chapter = heading.group(2).strip()
        elif line.startswith("#"):
            continue
        elif current and line:
            current[2].append(line)
    if current:
        yield current[0], current[1], "\n".join(current[2]).strip(), current[3]
