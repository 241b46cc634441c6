"""The law corpus: national texts shipped with the repo plus local rules an administrator adds.

Two national selections ship (``KNOWLEDGE_CORPUS`` in :mod:`knowledge.config`): the 27 texts residents of
the county ask about most (``knowledge/data/laws``) and the national laws, administrative regulations and
judicial interpretations in force (``knowledge/data/national``, one JSONL per text under a folder per kind).
Local rules (地方性法规, county normative documents, 村规民约) are dropped into the local folder either as
JSONL of the same shape as the national files, or as Markdown in the common "第X条 …" layout with a
front-matter header (see ``knowledge/data/local/README.md``). Loading validates everything and raises
:class:`CorpusError` listing every problem with its file and line; nothing is skipped silently.

What is loaded is not all citable (:func:`withheld_reason`): texts marked repealed (``status: 已废止`` or
``repealed: true``), texts not yet in effect, records flagged with a known ``defect`` (e.g. a text the
source truncated), records without an article number (preambles, appendices: never quoted as 第X条), and
superseded versions. Versions: when several versions of one text are loaded (same jurisdiction and title,
see :func:`text_key`), the one in effect today with the latest date is current and keeps the plain ids;
every other version's ids get ``@<date>`` (``治安管理处罚法-1@2012-10-26``), so a newer version supersedes
an older one just by being added, and an id always names the version in force.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import yaml

from knowledge.numerals import cn_to_int

NATIONAL = "全国"
IN_FORCE = "有效"
REPEALED_STATUSES = {"已废止", "废止", "已失效", "失效", "repealed", "superseded"}
REQUIRED_FIELDS = ("id", "law", "law_short", "text")
LOCAL_REQUIRED_META = ("law", "doc_type", "jurisdiction", "effective_date")
VERSION_MARK = "@"  # separates an article id from the date of a version that is not the current one

_ARTICLE_HEAD = re.compile(r"^\s*第([零〇一二两三四五六七八九十百千万\d]+)条[\s\u3000]*(.*)$")
_HEADING = re.compile(r"^\s*(#+\s*)?(第[零〇一二三四五六七八九十百千\d]+[编章节][\s\u3000].*|附则|总则)\s*$")
# "（2018年修正）" after a title names a version of the same text, not another text.
_VERSION_NOTE = re.compile(r"[（(]\d{4}年?(?:修正|修订|修改)(?:本|文本)?[）)]$")


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
    article_cn: str  # 第X条; for a record without an article number its label (序言) or ""
    article_num: int | None
    text: str
    chapter: str | None = None
    doc_type: str = "法律"
    jurisdiction: str = NATIONAL
    effective_date: str | None = None  # as the source gives it; None when unknown (never guessed)
    repealed: bool = False
    source: str = ""
    version_date: str | None = None  # date of the version (promulgation or last amendment)
    status: str = IN_FORCE
    defect: str | None = None  # a known defect of the record: withheld until fixed from the official text
    superseded_by: str | None = None  # date of the version in force that replaces this one

    @property
    def citation(self) -> str:
        """《中华人民共和国民法典》第一千一百六十五条 (《…》序言 for a record without an article number)"""
        return f"《{self.law}》{self.article_cn or self.id.rsplit('-', 1)[-1]}"

    @property
    def numbered(self) -> bool:
        return self.article_num is not None

    @property
    def in_force_from(self) -> str | None:
        """The date the version takes effect: its effective date, else its version date."""
        return self.effective_date or self.version_date

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


def law_key(name: str) -> str:
    """A law's name without the state prefix and book-title marks, for matching cites to the corpus."""
    return re.sub(r"[《》〈〉\s]|中华人民共和国", "", name)


def text_key(article: Article) -> tuple[str, str]:
    """The identity of a text across its versions: jurisdiction and title without state prefix or version note."""
    return article.jurisdiction, _VERSION_NOTE.sub("", law_key(article.law))


def load_corpus(folders: Iterable[Path], today: dt.date | None = None) -> list[Article]:
    """Load every ``*.jsonl`` and ``*.md`` file of the folders and their subfolders; raise CorpusError on any
    problem. Versions of one text are resolved as of ``today`` (see the module docstring)."""
    loaded: list[tuple[str, Article]] = []
    problems: list[str] = []
    for folder in folders:
        folder = Path(folder)
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if path.suffix == ".jsonl":
                loaded.extend(_read_jsonl(path, name, problems))
            elif path.suffix == ".md" and path.name.lower() != "readme.md":
                loaded.extend(_read_markdown(path, name, problems))
    loaded = _resolve_versions(loaded, today or dt.date.today(), problems)
    articles: list[Article] = []
    seen: dict[str, str] = {}
    for where, article in loaded:
        if article.id in seen:
            problems.append(f"{where}: duplicate id {article.id!r} (first in {seen[article.id]})")
            continue
        seen[article.id] = where
        articles.append(article)
    if problems:
        raise CorpusError(problems)
    return articles


Located = tuple[str, Article]  # ("file:line", article)


def _resolve_versions(loaded: list[Located], today: dt.date, problems: list[str]) -> list[Located]:
    """Mark every version of a text but the current one superseded (or pending) and date-suffix its ids.

    A version is the records of one text with the same dates (they may span files); versions without a
    date cannot be ordered, which is reported rather than guessed."""
    versions: dict[tuple[str, str], dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, (_, article) in enumerate(loaded):
        versions[text_key(article)][(article.in_force_from or "", article.version_date or "")].append(index)
    out = list(loaded)
    for key, by_version in versions.items():
        if len(by_version) < 2:
            continue
        ordered = sorted(by_version)
        if not ordered[0][0]:
            where = loaded[by_version[ordered[0]][0]][0]
            problems.append(f"{where}: {key[1]!r} has several versions and this one has no effective_date or "
                            "version_date to order it by")
            continue
        started = [v for v in ordered if dt.date.fromisoformat(v[0]) <= today]
        current = started[-1] if started else ordered[0]
        for version in ordered:
            if version == current:
                continue
            for index in by_version[version]:
                where, article = out[index]
                out[index] = (where, replace(
                    article,
                    id=f"{article.id}{VERSION_MARK}{version[0]}",
                    superseded_by=current[0] if version < current else None,
                ))
    return out


def withheld_reason(article: Article, today: dt.date | None = None) -> str | None:
    """Why an article may not be searched or cited today (None: it may)."""
    today = today or dt.date.today()
    if article.repealed:
        return "repealed"
    if article.superseded_by:
        return "superseded"
    if article.in_force_from and dt.date.fromisoformat(article.in_force_from) > today:
        return "not yet in effect"
    if VERSION_MARK in article.id:
        return "superseded"  # a later version of a text none of whose versions is in effect yet
    if article.defect:
        return "known defect"
    if not article.numbered:
        return "no article number"
    return None


def in_force(articles: Iterable[Article], today: dt.date | None = None) -> list[Article]:
    """Articles that may be cited: in force today, the current version, no known defect, numbered."""
    return [a for a in articles if withheld_reason(a, today) is None]


def status_label(article: Article, today: dt.date | None = None) -> str:
    """The article's standing for a reader, e.g. ``现行有效`` or ``已被修订（现行版本 2026-01-01 起施行）``."""
    reason = withheld_reason(article, today)
    if reason is None:
        return "现行有效"
    if reason == "repealed":
        return "已废止"
    if reason == "superseded":
        return f"已被修订（现行版本 {article.superseded_by} 起施行）" if article.superseded_by else "已被修订"
    if reason == "not yet in effect":
        return f"尚未施行（{article.in_force_from} 起施行）"
    if reason == "known defect":
        return f"暂不引用：文本有已知缺陷（{article.defect}）"
    return "不作为条文引用：无条文序号（序言、附件等）"


def version_label(article: Article) -> str:
    """Which version an article comes from: title, effective date (or version date) and kind."""
    if article.effective_date:
        dates = f"{article.effective_date} 起施行"
        if article.version_date and article.version_date != article.effective_date:
            dates += f"（{article.version_date} 版）"
    elif article.version_date:
        dates = f"{article.version_date} 版（施行日期未载明）"
    else:
        dates = "日期未载明"
    return f"《{article.law}》{dates}，{article.doc_type}，{article.jurisdiction}"


def corpus_hash(articles: Iterable[Article]) -> str:
    digest = hashlib.sha256()
    for article in articles:
        digest.update(f"{article.id}\t{article.content_hash}\n".encode())
    return digest.hexdigest()[:16]


def _read_jsonl(path: Path, name: str, problems: list[str]) -> Iterator[tuple[str, Article]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            where = f"{name}:{number}"
            if not line.strip():
                problems.append(f"{where}: empty line")
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not valid JSON ({exc.msg})")
                continue
            article = _article_from_record(record, where, name, problems)
            if article:
                yield where, article


def _article_from_record(record: object, where: str, source: str, problems: list[str]) -> Article | None:
    if not isinstance(record, dict):
        problems.append(f"{where}: expected a JSON object")
        return None
    # A record without article_num is a preamble, notice or appendix (article_cn, if any, names it: 序言).
    numbered = record.get("article_num") not in (None, "")
    missing = [f for f in REQUIRED_FIELDS + (("article_cn",) if numbered else ()) if record.get(f) in (None, "")]
    if missing:
        problems.append(f"{where}: missing or empty field(s) {', '.join(missing)}")
        return None
    text = str(record["text"]).strip()
    if not text:
        problems.append(f"{where}: empty text")
        return None
    try:
        number = int(record["article_num"]) if numbered else None
        effective = _iso_date(record.get("effective_date"))
        version = _iso_date(record.get("version_date"))
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: {exc}")
        return None
    status = str(record.get("status") or IN_FORCE).strip()
    return Article(
        id=str(record["id"]),
        law=str(record["law"]),
        law_short=str(record["law_short"]),
        article_cn=str(record.get("article_cn") or ""),
        article_num=number,
        text=text,
        chapter=record.get("chapter") or None,
        doc_type=record.get("doc_type") or "法律",
        jurisdiction=record.get("jurisdiction") or NATIONAL,
        effective_date=effective,
        repealed=bool(record.get("repealed")) or status.lower() in REPEALED_STATUSES,
        source=source,
        version_date=version,
        status=status,
        defect=record.get("defect") or None,
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


def _read_markdown(path: Path, name: str, problems: list[str]) -> Iterator[tuple[str, Article]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    meta, body_start = _front_matter(lines, name, problems)
    if meta is None:
        return
    missing = [f for f in LOCAL_REQUIRED_META if not meta.get(f)]
    if missing:
        problems.append(f"{name}:1: front matter lacks {', '.join(missing)}")
        return
    for start, article_cn, text, chapter in _split_articles(lines, body_start):
        where = f"{name}:{start}"
        record = {
            **meta,
            "id": f"{meta.get('law_short') or meta['law']}-{cn_to_int(article_cn[1:-1])}",
            "law_short": meta.get("law_short") or meta["law"],
            "article_cn": article_cn,
            "article_num": cn_to_int(article_cn[1:-1]),
            "text": text,
            "chapter": chapter,
        }
        article = _article_from_record(record, where, name, problems)
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
