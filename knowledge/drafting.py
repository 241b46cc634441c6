"""Plain-language drafts of an answer by a county's own language model, and the guard they must pass.

When ``ANSWER_LLM_URL`` is set (``actions/config.py``), the action server asks the county's model to
explain the articles it is about to quote in a few plain sentences (:func:`draft_messages` builds the
request). A draft reaches the resident only if :func:`check_draft` finds nothing wrong with it:

- every citation — ``《…》第X条``, ``民法典第X条`` (a law named without brackets), a bare ``第X条`` of the
  law last named, ``本法/该法/本条例/本解释…第X条`` —
  names one of the articles quoted for this question (Chinese numerals or Arabic digits, full or
  half width, ``第X条之一``; ``第X款/项`` after it is part of that article);
- every law named in ``《…》`` is one of the quoted articles' laws (full title or short name);
- every quotation (``「…」``, ``『…』``, ``“…”``, ``"…"``) is verbatim in one of those articles
  (whitespace aside);
- it is not empty, not longer than the limit, and has no phone number or web address other than
  the ones our own responses and the articles already give.

Everything here is a pure function of the draft and the articles: no I/O, no settings. The articles
themselves are always sent verbatim under the draft (``knowledge.answers.answer_responses``), so the
draft never has to carry the law's exact words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from knowledge.engine import Hit
from knowledge.numerals import cn_to_int

# Why it is worded so: residents read Chinese, and a model answers in the language it is asked in;
# they are villagers, not lawyers, so it asks for everyday words and short sentences; the guard below
# drops any draft citing an article it was not given or quoting words that are not the article's,
# so it says exactly that (cite only these, quote only verbatim, or better not quote at all: the
# articles are shown in full underneath); phone numbers and websites cannot be checked, and our
# own responses already give the right ones; a draft that guesses is worse than none, hence "say
# the articles do not settle it".
SYSTEM_PROMPT = """你是县公共法律服务中心的助手，给农村居民解释法律规定。
请根据下面给出的法条，用通俗、简短的大白话回答居民的问题：
1. 只用给出的法条回答，不要引用没有给出的法律或条文，不要编造条文号；
2. 提到法条时写成《法律名称》第X条，法律名称和条号要和给出的完全一样；
3. 不要用引号摘抄法条（法条原文会附在你的回答下面）；如果一定要引用，引号里必须是法条原文，一字不改；
4. 不要写电话号码、网址；
5. 给出的法条回答不了的，就直说法条里没有写，建议找村法律顾问或拨打12348；
6. 不超过200个字，不用标题、不用列表，不要说“作为AI”。"""

# A bare 第X条 may follow any of these: they point to the law named last.
_SAME_LAW = r"(?:本|该|此|上述)(?:法律|法|条例|解释|规定|办法)"
_NUMBER = r"[零〇一二两三四五六七八九十百千万]+|\d+"
_ARTICLE = re.compile(rf"({_SAME_LAW})?\s*第\s*({_NUMBER})\s*条(之[一二三四五六七八九十]+)?")
# A law named without 《》 right before 第X条: its last few characters, for the log.
_UNBRACKETED_LAW = re.compile(r"[\u4e00-\u9fff]{0,6}(?:法|法典|条例|解释|办法)$")
_QUOTES = {"「": "」", "『": "』", "“": "”", '"': '"'}
_THINKING = re.compile(r"^\s*<think>.*?</think>\s*", re.S)
_URL = re.compile(
    r"(?i)(?:https?://|www\.)[^\s，。；、）)\]】>\"'”]+"
    r"|(?<![a-z0-9-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:cn|com|net|org|gov|edu|info|top|xyz|io|me)(?![a-z0-9-])"
)
_DIGITS = re.compile(r"(?:\+|＋)?\d(?:[\d\-－ ]*\d)?")
# A number followed by one of these is an amount, a date, a duration or a count, not a phone number.
_UNITS = set("元块角分万亿千百十日号天年月周时秒岁个条款项章节编次人名位件份倍%％亩斤克吨层楼栋户级度页期届米")
_PHONE_MIN_DIGITS = 3  # 110, 119, 120, 122 are phone numbers too


def draft_messages(question: str, hits: Sequence[Hit]) -> list[dict[str, str]]:
    """The chat messages asking for a draft: the instructions, the question and the articles given."""
    articles = "\n\n".join(f"{h.citation}：{h.text}" for h in hits)
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"居民的问题：{question.strip()}\n\n给出的法条：\n{articles}"},
    ]


def clean_draft(text: str) -> str:
    """The draft as a resident would read it: a reasoning model's ``<think>…</think>`` removed, trimmed."""
    return _THINKING.sub("", text or "", count=1).strip()


def check_draft(draft: str, hits: Sequence[Hit], *, known_texts: Iterable[str] = (), max_chars: int) -> list[str]:
    """What is wrong with ``draft`` (after :func:`clean_draft`) as an answer quoting ``hits``; [] if nothing.

    ``known_texts``: texts whose phone numbers and web addresses the draft may repeat (our own
    responses); those of the articles are allowed too.
    Each problem is a short reason fit for a log: it names citations, never the draft's other text.
    """
    if not draft.strip():
        return ["empty"]
    problems: list[str] = []
    if "<think>" in draft or "</think>" in draft:
        problems.append("unfinished reasoning block")
    if len(draft) > max_chars:
        problems.append(f"too long ({len(draft)} > {max_chars} characters)")
    unquoted, quote_problems = _strip_quotes(draft, [h.text for h in hits])
    problems += quote_problems
    problems += _citation_problems(unquoted, hits)
    allowed = contacts("\n".join(known_texts)) | contacts("\n".join(h.text for h in hits))
    extra = contacts(draft) - allowed
    if any(c.startswith("url:") for c in extra):
        problems.append("web address not in our responses")
    if any(c.startswith("tel:") for c in extra):
        problems.append("phone number not in our responses")
    return problems


def citations(text: str, hits: Sequence[Hit]) -> list[tuple[str | None, str]]:
    """The articles ``text`` cites, in order, as (the quoted law it names or None, ``第X条`` key).

    A law that none of ``hits`` is from comes back as ``?《its title》`` (or ``?`` and the characters
    before 第 when named without brackets); a bare ``第X条`` with no law named before it has law None.
    """
    found: list[tuple[str | None, str]] = []
    current: str | None = None
    position = 0
    for start, end, title in _titles(text):
        current = _cite_bare(text[position:start], current, hits, found)
        current = _law_of(title, hits) or f"?《{title}》"
        following = _ARTICLE.match(text, end)
        if following and not following.group(1):
            found.append((current, _article_key(following.group(2), following.group(3))))
            end = following.end()
        else:
            found.append((current, ""))  # the law named without an article
        position = end
    _cite_bare(text[position:], current, hits, found)
    return found


def contacts(text: str) -> set[str]:
    """The phone numbers (``tel:`` + digits) and web addresses (``url:`` + lower case) in ``text``."""
    text = unicodedata.normalize("NFKC", text)
    found = {f"url:{m.group(0).lower().rstrip('/.')}" for m in _URL.finditer(text)}
    text = _URL.sub(" ", text)
    for match in _DIGITS.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        before, after = text[: match.start()], text[match.end() :]
        if len(digits) < _PHONE_MIN_DIGITS or before.rstrip().endswith(("第", "¥", "￥", "$")):
            continue
        if after.lstrip()[:1] in _UNITS or re.match(r"[.,，．]\d", after) or re.search(r"\d[.,]$", before):
            continue
        found.add(f"tel:{digits}")
    return found


def _titles(text: str) -> list[tuple[int, int, str]]:
    """Each outermost ``《…》`` as (start, end, inner text); nested ``《》``/``〈〉`` stay inside."""
    titles: list[tuple[int, int, str]] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "《":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "》" and depth:
            depth -= 1
            if depth == 0:
                titles.append((start, i + 1, text[start + 1 : i]))
    return titles


def _cite_bare(text: str, current: str | None, hits: Sequence[Hit], found: list[tuple[str | None, str]]) -> str | None:
    """Add the 第X条 of ``text`` (no 《title》 in it): of the law named just before without brackets
    (民法典第一千零四十二条, 刑法第二十条), else of the law named last. Returns the law named last."""
    for match in _ARTICLE.finditer(text):
        if not match.group(1):
            before = _law_name(text[: match.start()])
            named = next((h.law for h in hits if before.endswith(_law_name(h.law_short))), None)
            named = named or next((h.law for h in hits if before.endswith(_law_name(h.law))), None)
            if named:
                current = named
            elif unbracketed := _UNBRACKETED_LAW.search(before):
                current = f"?…{unbracketed.group(0)}"
        found.append((current, _article_key(match.group(2), match.group(3))))
    return current


def _citation_problems(text: str, hits: Sequence[Hit]) -> list[str]:
    given = {(h.law, _hit_key(h)) for h in hits}
    numbers = {key for _, key in given}
    problems: list[str] = []
    for law, key in citations(text, hits):
        if law is not None and law.startswith("?"):
            problems.append(f"law not among the quoted articles: {law[1:]}{key}")
        elif law is None and key and key not in numbers:
            problems.append(f"article not among the quoted articles: {key}")
        elif law is not None and key and (law, key) not in given:
            problems.append(f"article not among the quoted articles: 《{law}》{key}")
    return problems


def _strip_quotes(draft: str, sources: Sequence[str]) -> tuple[str, list[str]]:
    """The draft with verbatim quotations blanked out (their citations are the article's own), and
    the problems of the others."""
    flat_sources = [_flat(s) for s in sources]
    problems: list[str] = []
    kept: list[str] = []
    i = 0
    while i < len(draft):
        close = _QUOTES.get(draft[i])
        end = draft.find(close, i + 1) if close else -1
        if close and end == -1:
            problems.append("unbalanced quotation mark")
            kept.append(draft[i:])
            break
        if close:
            quoted = _flat(draft[i + 1 : end])
            if quoted and not any(quoted in s for s in flat_sources):
                problems.append(f"quotation not verbatim in the quoted articles ({len(quoted)} characters)")
            kept.append(" " * (end + 1 - i))
            i = end + 1
            continue
        kept.append(draft[i])
        i += 1
    return "".join(kept), problems


def _law_of(title: str, hits: Sequence[Hit]) -> str | None:
    """The full name of the quoted law ``title`` names (full title or short name), or None."""
    wanted = _law_name(title)
    for hit in hits:
        if wanted in (_law_name(hit.law), _law_name(hit.law_short)):
            return hit.law
    return None


def _law_name(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).replace("〈", "《").replace("〉", "》")
    name = re.sub(r"\s+", "", name)
    return name.removeprefix("中华人民共和国")


def _article_key(number: str, suffix: str | None) -> str:
    return f"第{cn_to_int(number)}条{suffix or ''}"


def _hit_key(hit: Hit) -> str:
    match = _ARTICLE.fullmatch(hit.article_cn.strip())
    return _article_key(match.group(2), match.group(3)) if match else hit.article_cn


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)
