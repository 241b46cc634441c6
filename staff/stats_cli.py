"""``python -m staff stats``: the statistics of a period as JSON, XLSX, CSV files or the PDF report.

    python -m staff stats --from 2026-01-01 --to 2026-12-31 --json
    python -m staff stats --from 2026-01-01 --to 2026-12-31 --township 城关镇 --xlsx out.xlsx --csv outdir --pdf r.pdf

Without an output option it prints the JSON. Every file written is logged in the audit log as
written by ``cli``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from records import audit, stats
from records.stats import Period, StatsScope
from staff.config import Settings
from staff.stats_report import PdfError, pdf_bytes
from staff.stats_tables import tables, write_csv_dir, xlsx_bytes


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("stats", help="statistics of a period: --json, --xlsx FILE, --csv DIR, --pdf FILE")
    parser.add_argument("--from", dest="start", required=True, help="first local day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, help="last local day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--township", help="one township's villages (default: the whole county)")
    parser.add_argument("--grain", choices=stats.GRAINS, help="trend by day/week/month/year")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--xlsx", type=Path, metavar="FILE")
    parser.add_argument("--csv", type=Path, metavar="DIR")
    parser.add_argument("--pdf", type=Path, metavar="FILE")


def cmd_stats(args: argparse.Namespace) -> int:
    zone = Settings().timezone
    period = Period.parse(args.start, args.end, zone)
    scope = StatsScope(args.township or None)
    summary = stats.summary(period, scope, grain=args.grain)
    caption = f"{scope.label} {period.start.isoformat()} 至 {period.end.isoformat()}"
    items = tables(summary, zone)
    written = []
    if args.xlsx:
        args.xlsx.write_bytes(xlsx_bytes(items, caption))
        written.append(f"xlsx {args.xlsx.name}")
    if args.csv:
        write_csv_dir(items, args.csv)
        written.append(f"csv {args.csv.name}/")
    if args.pdf:
        try:
            args.pdf.write_bytes(pdf_bytes(summary, zone))
        except PdfError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        written.append(f"pdf {args.pdf.name}")
    for what in written:
        audit.log("cli", "stats_export", detail=f"{what} {caption}")
        print(f"wrote {what}", file=sys.stderr)
    if args.json or not written:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return 0
