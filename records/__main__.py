"""Command line: ``python -m records init`` creates the tables and seeds the village list.

The database is ``LEGAL_DB_URL`` (see :mod:`records.config`) unless ``--url`` is given.
"""

from __future__ import annotations

import argparse

from sqlalchemy.engine import make_url

from records.bootstrap import init_db
from records.db import get_engine
from records.villages import list_advisers, list_villages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m records")
    parser.add_argument("command", choices=["init"])
    parser.add_argument("--url", help="database URL (default: LEGAL_DB_URL or var/legal.db)")
    args = parser.parse_args(argv)
    engine = get_engine(args.url)
    added = init_db(engine)
    villages, advisers = list_villages(engine), list_advisers(engine)
    where = make_url(engine.url).render_as_string(hide_password=True)
    print(f"{where}: {len(villages)} villages ({added} new), {len(advisers)} advisers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
