"""One call for a process that writes records: bring the schema up to date and seed the villages."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from records import outbox
from records.db import get_engine
from records.migrate import upgrade
from records.village_db import seed_villages

logger = logging.getLogger(__name__)


def init_db(engine: Engine | None = None) -> int:
    """Create missing tables and add missing columns and indexes to existing ones
    (:mod:`records.migrate`), seed villages and advisers; returns the number of new villages.

    Then writes the records that waited in the outbox for this database (see :mod:`records.outbox`).
    """
    engine = engine or get_engine()
    upgrade(engine)
    added = seed_villages(engine)
    _replay_outbox(engine)
    return added


def _replay_outbox(engine: Engine) -> None:
    try:
        landed = outbox.replay(engine)
    except OSError:  # an unreadable outbox must not stop the database from being used
        logger.exception("could not replay the outbox")
        return
    if landed:
        logger.info("wrote %d records from the outbox", landed)
