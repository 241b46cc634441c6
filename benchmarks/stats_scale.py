"""Statistics at county scale on PostgreSQL: 1,000,000 consultations, 50,000 referrals with their
histories and 100,000 feedback rows over three years (2024–2026, Asia/Shanghai) and 300 villages.

Targets (issue 8): the yearly summary and each dashboard query ≤ 2 s, the full year's XLSX export
≤ 30 s. The data is generated inside PostgreSQL (``generate_series``, seeded ``random()``) in a
schema of its own, which is dropped at the end. Each query is timed on the schema as shipped;
the tables are vacuumed after loading, as autovacuum would.
``--runs`` repeats (best and median are kept, the machine is shared). The summary is timed
first without the index ``ix_consultations_stats`` (the baseline, same run), then every query with it.

    python benchmarks/stats_scale.py [--url postgresql+psycopg://...] [--runs 3]
                                     [--out docs/benchmarks/stats_scale.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from records import stats  # noqa: E402
from records.db import create_schema, dispose_engines, get_engine  # noqa: E402
from records.schema import consultations  # noqa: E402
from records.stats import Period, StatsScope  # noqa: E402
from staff.stats_tables import tables, xlsx_bytes  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TOWNSHIPS = 20
VILLAGES = 300
ADVISERS = 150
CONSULTATIONS = 1_000_000
REFERRALS = 50_000
FEEDBACK = 100_000
# Three local years as UTC instants: 2024-01-01 00:00 and 2027-01-01 00:00 in Asia/Shanghai.
SPAN = "(timestamptz '2024-01-01 00:00+08' + random() * interval '1096 days')"

SEED_SQL = [
    "SELECT setseed(0.42)",
    f"""INSERT INTO advisers (id, name, phone)
        SELECT g, '顾问' || g, '139' || lpad(g::text, 8, '0') FROM generate_series(1::bigint, {ADVISERS}) g""",
    f"""INSERT INTO villages (id, name, township, adviser_id)
        SELECT g, '第' || g || '村', '第' || (1 + g % {TOWNSHIPS}) || '镇', 1 + g % {ADVISERS}
        FROM generate_series(1::bigint, {VILLAGES}) g""",
    f"""INSERT INTO consultations (id, created_at, channel, sender_hash, village_id, topic, question, articles,
                                   outcome, confidence)
        SELECT md5('c' || g)::uuid::text,
               {SPAN},
               (ARRAY['web','web','web','wechat','wechat','wechat','wechat','hotline','hotline','rest'])[1 + g % 10],
               md5('s' || (g % 200000)) || md5('t' || (g % 200000)),
               CASE WHEN g % 7 = 0 THEN NULL ELSE 1 + (g * 7919) % {VILLAGES} END,
               (ARRAY['婚姻家庭','劳动纠纷','借贷/债务','交通事故','土地/房屋','邻里纠纷','继承','消费权益',
                      '人身损害','刑事','行政','其他',NULL])[1 + (g * 31) % 13],
               '问题模板' || (g % 997) || '：电话138****5678',
               '[]'::jsonb,
               (ARRAY['answered','answered','answered','answered','faq','faq','referred','handoff','emergency',
                      'fallback'])[1 + (g * 13) % 10],
               random()
        FROM generate_series(1::bigint, {CONSULTATIONS}) g""",
    f"""INSERT INTO referrals (id, created_at, updated_at, consultation_id, village_id, adviser_id, contact_phone,
                               description, summary, topic, urgent, consent, status)
        SELECT md5('r' || g)::uuid::text, t, t,
               CASE WHEN g % 2 = 0 THEN md5('c' || (g * 20))::uuid::text END,
               v, 1 + v % {ADVISERS}, '13800000000', '描述', '摘要 138****0000', '劳动纠纷', g % 20 = 0, true,
               (ARRAY['new','accepted','in_progress','resolved','resolved','resolved','resolved','closed',
                      'escalated','resolved'])[1 + g % 10]
        FROM (SELECT g, {SPAN} AS t, 1 + (g * 104729) % {VILLAGES} AS v
              FROM generate_series(1::bigint, {REFERRALS}) g) s""",
    """INSERT INTO referral_events (referral_id, at, from_status, to_status, actor)
        SELECT id, created_at, NULL, 'new', 'resident' FROM referrals""",
    """INSERT INTO referral_events (referral_id, at, from_status, to_status, actor)
        SELECT id, created_at + random() * interval '48 hours', 'new', 'accepted', 'adviser'
        FROM referrals WHERE status <> 'new'""",
    """INSERT INTO referral_events (referral_id, at, from_status, to_status, actor)
        SELECT id, created_at + interval '48 hours' + random() * interval '20 days', 'accepted', status, 'adviser'
        FROM referrals WHERE status IN ('resolved', 'closed', 'in_progress', 'escalated')""",
    """INSERT INTO referral_resolutions (referral_id, outcome, summary, by, at)
        SELECT id, (ARRAY['answered','mediated','legal_aid','litigation','other'])[1 + abs(hashtext(id)) % 5],
               '已处理', 'adviser', created_at + interval '3 days'
        FROM referrals WHERE status = 'resolved'""",
    """INSERT INTO referral_routing (referral_id, township, to_township, reason, notified_at, escalated_at,
                                     resolve_flagged_at)
        SELECT r.id, v.township, false, 'village_adviser', r.created_at,
               CASE WHEN r.status = 'escalated' THEN r.created_at + interval '1 day' END,
               CASE WHEN r.status IN ('accepted', 'in_progress') THEN r.created_at + interval '7 days' END
        FROM referrals r JOIN villages v ON v.id = r.village_id""",
    f"""INSERT INTO feedback (consultation_id, helpful, created_at)
        SELECT c.id, random() < 0.7, c.created_at + interval '2 minutes'
        FROM consultations c WHERE c.id IN (SELECT md5('c' || (g * 10))::uuid::text
                                            FROM generate_series(1::bigint, {FEEDBACK}) g)""",
    """INSERT INTO feedback_callbacks (consultation_id, at, by)
        SELECT consultation_id, created_at + interval '1 day', 'bureau'
        FROM feedback WHERE NOT helpful AND id % 2 = 0""",
    "ANALYZE",
]


STATS_INDEX = next(ix for ix in consultations.indexes if ix.name == "ix_consultations_stats")


def vacuum(engine: Engine) -> None:
    """What autovacuum does to a live table (the visibility map lets index-only scans skip the heap)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return {"best_s": round(min(seconds), 3), "median_s": round(statistics.median(seconds), 3)}


def queries(period: Period, scope: StatsScope, engine: Engine) -> dict[str, Callable[[], Any]]:
    """Every query the dashboard runs, by name."""
    out: dict[str, Callable[[], Any]] = {
        "headline": lambda: stats.headline(period, scope, engine=engine),
        "over_time_month": lambda: stats.consultations_over_time("month", period, scope, engine=engine),
        "over_time_day": lambda: stats.consultations_over_time("day", period, scope, engine=engine),
        "unsure_questions": lambda: stats.unsure_questions(period, scope, engine=engine),
        "referrals_per_adviser": lambda: stats.referrals_per_adviser(period, scope, engine=engine),
        "referral_times": lambda: stats.referral_times(period, scope, engine=engine),
        "overdue": lambda: stats.overdue_referrals(period, scope, engine=engine),
        "satisfaction_by_topic": lambda: stats.satisfaction_by_topic(period, scope, engine=engine),
        "callback_list": lambda: stats.callback_list(period, scope, engine=engine),
        "callback_list_pending_200": lambda: stats.callback_list(
            period, scope, pending_only=True, limit=200, engine=engine
        ),
        "legal_aid_requests": lambda: stats.legal_aid_requests(period, scope, engine=engine),
    }
    for key in ("topic", "channel", "outcome", "township", "village"):
        out[f"consultations_by_{key}"] = lambda key=key: stats.consultations_by(key, period, scope, engine=engine)
    for key in ("status", "outcome", "village"):
        out[f"referrals_by_{key}"] = lambda key=key: stats.referrals_by(key, period, scope, engine=engine)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("LEGAL_TEST_POSTGRES_URL") or DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks" / "stats_scale.json")
    parser.add_argument("--schema", help="reuse this generated schema (from --keep) instead of generating")
    parser.add_argument("--keep", action="store_true", help="keep the schema (default: dropped at the end)")
    args = parser.parse_args()

    schema = args.schema or f"stats_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.url)
    if not args.schema:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.url else "?"
    url = f"{args.url}{separator}options=-csearch_path%3D{schema}"
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared with other engineers' test runs",
        "rows": {"consultations": CONSULTATIONS, "referrals": REFERRALS, "feedback": FEEDBACK, "villages": VILLAGES},
    }
    try:
        engine = get_engine(url)
        create_schema(engine)  # also adds indexes the code defines since --keep
        start = time.perf_counter()
        if not args.schema:
            with engine.begin() as conn:
                for statement in SEED_SQL:
                    conn.execute(text(statement))
            result["generate_s"] = round(time.perf_counter() - start, 1)
        vacuum(engine)
        with engine.connect() as conn:
            counts = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("consultations", "referrals", "referral_events", "feedback", "feedback_callbacks")
            }
        result["counted"] = counts
        print(f"generated in {result.get('generate_s')} s: {counts}", flush=True)

        year = Period(date(2025, 1, 1), date(2025, 12, 31))
        scopes = {"county": StatsScope(), "township": StatsScope("第3镇")}
        result["year"] = "2025"
        result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
        # Baseline in the same run: the schema without the statistics index.
        with engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {STATS_INDEX.name}"))
        vacuum(engine)
        result["without_stats_index"] = {
            f"summary_dashboard_{label}": timed(
                lambda scope=scope: stats.summary(year, scope, callbacks="pending", engine=engine), args.runs
            )
            for label, scope in scopes.items()
        }
        print(f"without {STATS_INDEX.name}: {result['without_stats_index']}", flush=True)
        STATS_INDEX.create(engine)
        vacuum(engine)
        for label, scope in scopes.items():
            timings = {name: timed(fn, args.runs) for name, fn in queries(year, scope, engine).items()}
            timings["summary_dashboard"] = timed(
                lambda scope=scope: stats.summary(year, scope, callbacks="pending", engine=engine), args.runs
            )
            timings["summary_export"] = timed(lambda scope=scope: stats.summary(year, scope, engine=engine), args.runs)
            result[f"queries_{label}"] = timings
            worst = max(
                (kv for kv in timings.items() if not kv[0].startswith("summary")), key=lambda kv: kv[1]["best_s"]
            )
            print(f"{label}: {timings['summary_dashboard']=} {timings['summary_export']=} {worst=}", flush=True)

        def export() -> int:
            summary = stats.summary(year, engine=engine)
            return len(xlsx_bytes(tables(summary, "Asia/Shanghai"), "全县 2025"))

        size = export()
        result["xlsx_full_year"] = timed(export, max(1, args.runs - 1)) | {"bytes": size}
        print(f"xlsx: {result['xlsx_full_year']}", flush=True)
        result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        dispose_engines()
        if args.keep:
            print(f'kept schema {schema}; drop it with DROP SCHEMA "{schema}" CASCADE')
        else:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
