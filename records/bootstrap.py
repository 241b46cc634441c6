"""One call for a process that writes records: create missing tables and seed the villages."""

from __future__ import annotations

from sqlalchemy import Engine

from records.db import create_schema, get_engine
from records.villages import seed_villages


def init_db(engine: Engine | None = None) -> int:
    """Create missing tables, seed villages and advisers; returns the number of new villages."""
    engine = engine or get_engine()
    create_schema(engine)
    return seed_villages(engine)
