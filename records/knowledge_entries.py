"""Q&A entries the hotline operators write from their calls, reviewed by the justice bureau.

An operator proposes an entry (the question in residents' words, the answer, the ids of the corpus
articles it rests on — the staff app checks them against the corpus first); an admin approves or
rejects it. The action server reads :func:`approved` and the bot matches those entries before
anything else (``knowledge.answers``), without rebuilding the article index. Every entry keeps who
wrote it and who reviewed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from records import validate
from records.db import transaction
from records.errors import InvalidTransition, InvalidValue, NotFound
from records.redact import redact
from records.schema import knowledge_entries, utcnow

MAX_QUESTION = 500
MAX_ANSWER = 3000
MAX_ARTICLES = 5


class UnknownEntry(NotFound):
    pass


@dataclass(frozen=True)
class Entry:
    id: str
    question: str
    answer: str
    articles: list[str]
    status: str
    proposed_by: str
    proposed_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    consultation_id: str | None


def _bounded(value: object, what: str, limit: int) -> str:
    text = validate.text(value, what)
    if len(text) > limit:
        raise InvalidValue(f"{what} is longer than {limit} characters")
    return redact(text)  # an entry is shown to every resident: never a phone or ID number in it


def propose(
    question: object,
    answer: object,
    articles: object,
    by: str,
    consultation_id: str | None = None,
    *,
    engine: Engine | None = None,
) -> Entry:
    """Store a proposed entry; ``articles`` must already be checked against the corpus."""
    ids = validate.string_list(articles, "articles")
    if not 1 <= len(ids) <= MAX_ARTICLES:
        raise InvalidValue(f"articles must name 1 to {MAX_ARTICLES} article ids")
    entry = Entry(
        validate.new_id(),
        _bounded(question, "question", MAX_QUESTION),
        _bounded(answer, "answer", MAX_ANSWER),
        list(dict.fromkeys(ids)),
        "proposed",
        validate.text(by, "by"),
        utcnow(),
        None,
        None,
        consultation_id,
    )
    with transaction(engine) as conn:
        conn.execute(insert(knowledge_entries).values(**entry.__dict__))
    return entry


def review(entry_id: str, approve: bool, by: str, *, engine: Engine | None = None) -> Entry:
    """Approve or reject a proposed entry (InvalidTransition once it was reviewed)."""
    status = "approved" if approve else "rejected"
    with transaction(engine) as conn:
        current = _load(conn, entry_id)
        changed = conn.execute(
            update(knowledge_entries)
            .where(knowledge_entries.c.id == entry_id, knowledge_entries.c.status == "proposed")
            .values(status=status, reviewed_by=validate.text(by, "by"), reviewed_at=utcnow())
        ).rowcount
        if changed != 1:
            raise InvalidTransition(current.status, status)
        return _load(conn, entry_id)


def entries(status: str | None = None, *, engine: Engine | None = None) -> list[Entry]:
    query = select(knowledge_entries).order_by(knowledge_entries.c.proposed_at.desc())
    if status:
        query = query.where(knowledge_entries.c.status == status)
    with transaction(engine, write=False) as conn:
        return [_from_row(r) for r in conn.execute(query)]


def approved(*, engine: Engine | None = None) -> list[Entry]:
    """The entries the bot may use, oldest first."""
    return list(reversed(entries("approved", engine=engine)))


def get_entry(entry_id: str, *, engine: Engine | None = None) -> Entry:
    with transaction(engine, write=False) as conn:
        return _load(conn, entry_id)


def _load(conn, entry_id: str) -> Entry:  # noqa: ANN001 - a SQLAlchemy Connection
    row = conn.execute(select(knowledge_entries).where(knowledge_entries.c.id == str(entry_id))).first()
    if row is None:
        raise UnknownEntry(f"unknown knowledge entry {entry_id!r}")
    return _from_row(row)


def _from_row(row) -> Entry:  # noqa: ANN001 - a SQLAlchemy Row
    data = dict(row._mapping)
    data["articles"] = list(data["articles"] or [])
    return Entry(**data)
