"""Command line of ``records``.

``python -m records init``
    Create the tables, seed the village list, write what waited in the outbox.
``python -m records outbox``
    How many records wait in the outbox (and how many it rejected).
``python -m records replay [--any-database]``
    Write the outbox's records now; ``--any-database`` also lands records that were spooled for
    another database URL (e.g. after moving the database).
``python -m records forget --sender ID``
    Deletion on request (PIPL): delete the consultations, their feedback and the operator
    handoffs of one sender (the Rasa sender id, e.g. a WeChat OpenID), in the database and in the
    outbox, and print what was deleted (see :mod:`records.forget`).
``python -m records retention [--days N]``
    Anonymise consultation texts, finished referrals' details and operator handoffs older than
    ``RETENTION_DAYS`` (or ``N``) days, keeping the statistics (see :mod:`records.retention`).
    Rasa's tracker store is cleared by ``python -m staff retention``, which also runs this.

The database is ``LEGAL_DB_URL`` (see :mod:`records.config`) unless ``--url`` is given.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from records import outbox
from records.bootstrap import init_db
from records.db import get_engine
from records.forget import forget_sender
from records.retention import apply_retention
from records.village_db import list_advisers, list_villages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m records")
    parser.add_argument("command", choices=["init", "outbox", "replay", "forget", "retention"])
    parser.add_argument("--url", help="database URL (default: LEGAL_DB_URL or var/legal.db)")
    parser.add_argument(
        "--any-database", action="store_true", help="replay: also records spooled for other URLs"
    )
    parser.add_argument("--sender", help="forget: the sender id whose records are deleted")
    parser.add_argument("--days", type=float, help="retention: keep this many days (default RETENTION_DAYS)")
    args = parser.parse_args(argv)
    if args.command == "forget" and not (args.sender or "").strip():
        parser.error("forget needs --sender ID")
    engine = get_engine(args.url)
    if args.command == "init":
        return _init(engine)
    if args.command == "forget":
        return _forget(engine, args.sender)
    if args.command == "retention":
        return _retention(engine, args.days)
    if args.command == "replay":
        print(f"{outbox.replay(engine, any_database=args.any_database)} records written")
    print(f"outbox: {outbox.pending_count()} waiting, {outbox.rejected_count()} rejected")
    return 0


def _init(engine: Engine) -> int:
    added = init_db(engine)
    villages, advisers = list_villages(engine), list_advisers(engine)
    where = make_url(engine.url).render_as_string(hide_password=True)
    print(f"{where}: {len(villages)} villages ({added} new), {len(advisers)} advisers")
    return 0


def _forget(engine: Engine, sender_id: str) -> int:
    try:
        gone = forget_sender(sender_id, engine=engine)
    except Exception as exc:
        if not outbox.is_unavailable(exc):
            raise
        print(f"nothing deleted: the database is unavailable ({type(exc).__name__}); try again", file=sys.stderr)
        return 1
    print(
        f"deleted {gone.consultations} consultations, {gone.feedback} feedback, "
        f"{gone.handoffs} handoffs ({gone.spooled} of them from the outbox)"
    )
    return 0


def _retention(engine: Engine, days: float | None) -> int:
    done = apply_retention(days, engine=engine)
    if done.cutoff is None:
        print("retention is off (RETENTION_DAYS <= 0): nothing changed")
        return 0
    print(
        f"before {done.cutoff:%Y-%m-%d %H:%M} UTC: anonymised {done.consultations} consultations, "
        f"{done.referrals} referrals, {done.handoffs} handoffs; deleted {done.notes} notes, "
        f"{done.notifications} notifications"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
