"""Command line of the staff app.

    python -m staff serve [--host H] [--port P]
    python -m staff user add --username U --role adviser --adviser NAME_OR_ID [--password-stdin]
    python -m staff user add --username U --role township --township 城关镇 [--email E]
    python -m staff user list | user disable U | user enable U | user set-password U [--password-stdin]
    python -m staff import FILE.csv|FILE.xlsx [--dry-run]
    python -m staff demo          # on an empty account table: the demo county's accounts
    python -m staff stats --from 2026-01-01 --to 2026-12-31 [--json] [--xlsx F] [--csv DIR] [--pdf F]
    python -m staff retention     # records and Rasa conversations older than RETENTION_DAYS
    python -m staff rasa-token    # the token of Rasa's HTTP API (RASA_TOKEN or var/rasa_token)

Without ``--password-stdin`` a password is generated and printed once. Exit status 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import timedelta
from pathlib import Path

from records import bootstrap, list_advisers, list_villages, users
from records.errors import RecordError
from staff import importer, passwords, stats_cli
from staff.config import Settings, rasa_api_token
from staff.sessions import make_store


def _password(from_stdin: bool) -> tuple[str, bool]:
    """(password, generated?)"""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return passwords.generate(), True


def _end_sessions(user_id: int) -> None:
    settings = Settings()
    asyncio.run(make_store(timedelta(hours=1), settings.redis_url).delete_user(user_id))


def cmd_user(args: argparse.Namespace) -> int:
    if args.action == "add":
        roles = users.parse_roles(r for part in args.role for r in part.split(","))
        adviser_id = users.adviser_id_for(args.adviser) if args.adviser else None
        password, generated = _password(args.password_stdin)
        user = users.create_user(
            args.username,
            passwords.hash_password(password),
            roles,
            adviser_id=adviser_id,
            township=args.township,
            email=args.email,
        )
        print(f"created {user.username} ({','.join(user.roles)})")
        if generated:
            print(f"password: {password}  (shown once)")
    elif args.action == "list":
        for u in users.list_users():
            state = "disabled" if u.disabled else "active"
            bound = f" adviser={u.adviser_id}" if u.adviser_id else ""
            bound += f" township={u.township}" if u.township else ""
            print(f"{u.id}\t{u.username}\t{','.join(u.roles)}\t{state}{bound}")
    elif args.action in ("disable", "enable"):
        users.set_disabled(args.name, args.action == "disable")
        if args.action == "disable":
            _end_sessions(users.get_user(args.name).id)
        print(f"{args.name} {args.action}d")
    elif args.action == "set-password":
        password, generated = _password(args.password_stdin)
        users.set_password_hash(args.name, passwords.hash_password(password))
        _end_sessions(users.get_user(args.name).id)
        print(f"password of {args.name} changed" + (f": {password}  (shown once)" if generated else ""))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    report = importer.import_file(Path(args.file), dry_run=args.dry_run)
    for issue in report.issues:
        print(issue, file=sys.stderr)
    if not report.ok:
        print(f"nothing imported: {len(report.issues)} problem(s)", file=sys.stderr)
        return 2
    verb = "checked" if args.dry_run else "imported"
    print(f"{verb} {report.rows} rows ({report.new_villages} new villages)")
    return 0


def cmd_demo(_args: argparse.Namespace) -> int:
    """Demo accounts for a newcomer: one per adviser, one per township office, an operator, an admin."""
    if users.list_users():
        print("staff accounts exist already; demo accounts not created")
        return 0
    made: list[tuple[str, str, str]] = []

    def add(username: str, roles: list[str], note: str, **kw: object) -> None:
        password = passwords.generate()
        users.create_user(username, passwords.hash_password(password), roles, **kw)  # type: ignore[arg-type]
        made.append((username, password, note))

    for n, adviser in enumerate(list_advisers(), start=1):
        add(f"adviser{n}", ["adviser"], f"{adviser.name}（{'、'.join(adviser.villages)}）", adviser_id=adviser.id)
    townships = list(dict.fromkeys(v.township for v in list_villages()))
    for n, township in enumerate(townships, start=1):
        add(f"township{n}", ["township"], f"{township}司法所", township=township)
    add("operator", ["operator"], "12348 热线话务员")
    add("admin", ["admin"], "司法局管理员")
    print("Demo accounts (passwords shown once):")
    for username, password, note in made:
        print(f"  {username:<10} {password}   {note}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from staff.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    app = create_app(settings)
    app.run(host=args.host or settings.host, port=args.port or settings.port, single_process=True, access_log=False)
    return 0


def cmd_retention(_args: argparse.Namespace) -> int:
    from staff.retention import run_retention

    settings = Settings()
    done = run_retention(settings)
    if done.records.cutoff is None:
        print("retention is off (RETENTION_DAYS <= 0): nothing changed")
        return 0
    kept = done.records
    print(
        f"before {kept.cutoff:%Y-%m-%d %H:%M} UTC: anonymised {kept.consultations} consultations, "
        f"{kept.referrals} referrals, {kept.handoffs} handoffs; deleted {kept.notes} notes, "
        f"{kept.notifications} notifications, {done.tracker_events} tracker events, "
        f"{done.tracker_conversations} Redis conversations"
    )
    return 0


def cmd_rasa_token(_args: argparse.Namespace) -> int:
    # The start scripts pass this to `rasa run --auth-token`; created on first run.
    print(rasa_api_token(create=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m staff", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the staff web app")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    user = sub.add_parser("user", help="manage staff accounts")
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add")
    add.add_argument("--username", required=True)
    add.add_argument("--role", action="append", required=True, help="adviser, township, operator, admin")
    add.add_argument("--adviser", help="adviser name or id (role adviser)")
    add.add_argument("--township", help="township name (role township)")
    add.add_argument("--email")
    add.add_argument("--password-stdin", action="store_true")
    actions.add_parser("list")
    for name in ("disable", "enable"):
        actions.add_parser(name).add_argument("name")
    setpw = actions.add_parser("set-password")
    setpw.add_argument("name")
    setpw.add_argument("--password-stdin", action="store_true")
    imp = sub.add_parser("import", help="import villages, townships and advisers (CSV/XLSX)")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true")
    sub.add_parser("demo", help="create demo accounts on an empty account table")
    sub.add_parser("retention", help="anonymise records and delete conversations older than RETENTION_DAYS")
    sub.add_parser("rasa-token", help="print the token of Rasa's HTTP API (created on first run)")
    stats_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "rasa-token":  # needs no database
        return cmd_rasa_token(args)
    handlers = {
        "serve": cmd_serve, "user": cmd_user, "import": cmd_import, "demo": cmd_demo, "retention": cmd_retention,
        "stats": stats_cli.cmd_stats,
    }  # fmt: skip
    try:
        bootstrap.init_db()
        return handlers[args.command](args)
    except (RecordError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
