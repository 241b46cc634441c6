"""Load benchmark: concurrent residents holding multi-turn conversations through production mode.

The script starts ``scripts/run_prod.sh`` once on free ports, with its own Redis server and a fresh
PostgreSQL schema, with as many servers as the largest configuration (``--configs 2x2,1x1``: Rasa
servers x action servers); for each configuration nginx is reloaded to use only that many of them,
so every configuration is measured in the same run. (``--attach URL --run-dir DIR --db-url URL``
measures a stack that is already running, e.g. ``make run-prod``; set ``LEGAL_SENDER_SALT`` as it
has it.) ``--users`` simulated residents (threads) talk for ``--duration`` seconds through nginx, half over
the REST webhook and half over the web chat webhook. Each resident repeats a conversation drawn
from realistic scripts: greeting + legal question + feedback; legal question + referral form with
consent; 转人工 for some. Recorded per configuration: replies/s, latency p50/p95/p99 (all and per
kind of message), errors (non-200 or an empty answer), and — after the outbox has drained — the
consultations and referrals in PostgreSQL against what the residents were told was recorded
(each stored exactly once), plus the stack's RSS. Where the time goes (``--profile``): the median
of a whole legal question against NLU alone (Rasa's ``/model/parse``) and a database query, on the
loaded stack; the rest is dialogue, the action server's search and the write.

    .venv/bin/python benchmarks/load.py --users 50 --duration 300 --configs 1x1,2x1,1x2,2x2 \\
        --out docs/benchmarks/load.json

The machine is shared: say so next to the figures (the JSON records the load average).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import signal
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, func, select, text

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import records  # noqa: E402
from benchmarks.proctree import command, cpu_seconds, servers, summed, tree_rss_mb  # noqa: E402
from benchmarks.prod_stack import TOKEN, own_services, start_prod  # noqa: E402
from channels.webchat_identity import COOKIE as WEBCHAT_COOKIE  # noqa: E402
from records.schema import consultations, referrals  # noqa: E402

SALT = "load-benchmark-salt"
QUESTIONS = [
    "老板拖欠我三个月工资不给，我该怎么办",
    "离婚以后孩子的抚养权归谁",
    "邻居家的树倒了砸坏了我的车，谁赔",
    "借给朋友五万块钱不还怎么办",
    "土地承包合同到期了村里要收回",
    "骑电动车被汽车撞了，对方全责怎么赔",
    "网上买的东西是假货可以退吗",
    "工地上摔伤了老板不给治",
    "父母的房子几个兄弟怎么分",
    "被狗咬了找谁赔",
]


@dataclass
class Sample:
    kind: str
    channel: str
    seconds: float
    ok: bool
    status: int


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    referrals_confirmed: list[str] = field(default_factory=list)  # tags of referrals the bot confirmed
    questions_asked: list[str] = field(default_factory=list)  # sender ids, one per legal question answered
    lock: threading.Lock = field(default_factory=threading.Lock)


def resident(base_url: str, channel: str, run: Run, stop_at: float, rng: random.Random) -> None:
    path = "/webhooks/rest/webhook" if channel == "rest" else "/webhooks/webchat/webhook"
    rest_session = requests.Session()
    while time.monotonic() < stop_at:
        sender = f"load-{uuid.uuid4().hex[:16]}"
        tag = sender[-10:]
        # The web chat issues the conversation id itself, in a signed cookie (channels/webchat_identity.py):
        # a new browser sends no sender, then the cookie; REST clients name their sender.
        session = rest_session if channel == "rest" else requests.Session()
        roll = rng.random()
        if roll < 0.55:
            script = [
                ("greet", "你好"),
                ("question", rng.choice(QUESTIONS)),
                ("feedback", '/feedback{"helpful": "' + rng.choice(["yes", "no"]) + '"}'),
                ("goodbye", "谢谢，再见"),
            ]
        elif roll < 0.9:
            script = [
                ("question", rng.choice(QUESTIONS)),
                ("referral", "我想找村里的法律顾问帮忙"),
                ("referral", "石桥村"),
                ("referral", "13812345678"),
                ("referral", f"包工头欠我们工钱两万多，编号{tag}"),
                ("submit", "/affirm"),
            ]
        else:
            script = [("greet", "你好"), ("handoff", "转人工"), ("handoff", "好的")]
        for kind, message in script:
            if time.monotonic() >= stop_at:
                return
            started = time.monotonic()
            try:
                body_out = {"sender": sender, "message": message} if channel == "rest" else {"message": message}
                reply = session.post(base_url + path, json=body_out, timeout=60)
                status = reply.status_code
                if channel == "webchat" and session.cookies.get(WEBCHAT_COOKIE):
                    sender = session.cookies[WEBCHAT_COOKIE].rpartition(".")[0]
                body = reply.json() if status == 200 else []
            except (requests.RequestException, ValueError):
                status, body = 0, []
            seconds = time.monotonic() - started
            said = "\n".join(m.get("text") or "" for m in body) if isinstance(body, list) else ""
            ok = status == 200 and bool(said.strip() or any(m.get("buttons") for m in body))
            with run.lock:
                run.samples.append(Sample(kind, channel, seconds, ok, status))
                if kind == "submit" and ok and "登记编号" in said:
                    run.referrals_confirmed.append(tag)
                if kind == "question" and ok:
                    run.questions_asked.append(sender)
            time.sleep(rng.uniform(0.5, 2.0))  # a resident reads and types


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_snapshot() -> dict[str, float]:
    """CPU seconds used so far by each part: the servers this script started, PostgreSQL, and the load client.

    PostgreSQL is the machine's (its processes are counted whoever they serve: run on a quiet machine);
    the client line is this process — the simulated residents and the TCP proxy in front of PostgreSQL.
    """
    used = summed(servers(os.getpid()), cpu_seconds)
    postgres = [int(p.name) for p in Path("/proc").glob("[0-9]*") if _is_postgres(int(p.name))]
    used.update(summed({"postgres (machine)": postgres}, cpu_seconds))
    own = resource.getrusage(resource.RUSAGE_SELF)
    used["load client"] = round(own.ru_utime + own.ru_stime, 2)
    return used


def _is_postgres(pid: int) -> bool:
    try:
        return command(pid).startswith("postgres")
    except OSError:
        return False


def cpu_per_reply(before: dict[str, float], after: dict[str, float], replies: int) -> dict[str, Any]:
    """Milliseconds of CPU each part spent per reply, and the replies/s the machine's cores could give at that cost."""
    per = {name: round((after[name] - before.get(name, 0.0)) * 1000 / max(replies, 1), 1) for name in after}
    total = round(sum(per.values()), 1)
    cores = os.cpu_count() or 1
    return {"cpu_ms_per_reply": per, "cpu_ms_per_reply_total": total,
            "replies_per_s_if_cpu_bound": round(cores * 1000 / total, 1) if total else None}


def stored_counts(db_url: str, run: Run) -> dict[str, Any]:
    engine = records.get_engine(db_url)
    salt = os.environ.get("LEGAL_SENDER_SALT") or SALT
    hashes = {records.hash_sender(s, salt.encode()) for s in run.questions_asked}
    with engine.connect() as conn:
        rows = conn.execute(select(consultations.c.sender_hash, consultations.c.question)).all()
        refs = conn.execute(select(referrals.c.description)).scalars().all()
        total_refs = conn.execute(select(func.count()).select_from(referrals)).scalar_one()
    per_question = Counter((h, q) for h, q in rows if h in hashes)
    confirmed = set(run.referrals_confirmed)
    per_tag = Counter(tag for d in refs for tag in confirmed if tag in d)
    return {
        "questions_answered": len(run.questions_asked),
        "consultations_stored_for_them": sum(per_question.values()),
        "duplicate_consultations": sum(n - 1 for n in per_question.values() if n > 1),
        "referrals_confirmed": len(confirmed),
        "referrals_in_database": total_refs,
        "confirmed_referrals_missing": len(confirmed - set(per_tag)),
        "duplicate_referrals": sum(n - 1 for n in per_tag.values() if n > 1),
    }


def summarise(run: Run, seconds: float) -> dict[str, Any]:
    lat = [s.seconds for s in run.samples]
    by_kind: dict[str, list[float]] = {}
    for s in run.samples:
        by_kind.setdefault(s.kind, []).append(s.seconds)
    return {
        "replies": len(run.samples),
        "replies_per_s": round(len(run.samples) / seconds, 1),
        "p50_s": round(percentile(lat, 0.5), 3),
        "p95_s": round(percentile(lat, 0.95), 3),
        "p99_s": round(percentile(lat, 0.99), 3),
        "errors": sum(1 for s in run.samples if not s.ok),
        "statuses": dict(Counter(str(s.status) for s in run.samples)),
        "by_channel": dict(Counter(s.channel for s in run.samples)),
        "p95_by_kind_s": {k: round(percentile(v, 0.95), 3) for k, v in sorted(by_kind.items())},
        "p50_by_kind_s": {k: round(percentile(v, 0.5), 3) for k, v in sorted(by_kind.items())},
    }


def profile(stack_url: str, rasa_url: str, db_url: str, n: int = 20) -> dict[str, float]:
    """Median time of the pieces of one legal question, each measured alone on the loaded stack."""
    parse, full = [], []
    for question in (QUESTIONS * n)[:n]:
        started = time.monotonic()
        requests.post(f"{rasa_url}/model/parse", params={"token": TOKEN}, json={"text": question}, timeout=60)
        parse.append(time.monotonic() - started)
        started = time.monotonic()
        requests.post(
            f"{stack_url}/webhooks/rest/webhook",
            json={"sender": f"prof-{uuid.uuid4().hex}", "message": question},
            timeout=60,
        )
        full.append(time.monotonic() - started)
    engine = create_engine(db_url)
    writes = []
    for _ in range(n):
        started = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM consultations"))
        writes.append(time.monotonic() - started)
    engine.dispose()
    return {
        "question_round_trip_s": round(statistics.median(full), 3),
        "nlu_parse_s": round(statistics.median(parse), 3),
        "database_query_s": round(statistics.median(writes), 4),
        "dialogue_actions_search_rest_s": round(statistics.median(full) - statistics.median(parse), 3),
    }


def use_servers(run_dir: Path, conf: str, rasa: int, actions: int) -> None:
    """Let nginx send to the first ``rasa`` Rasa and ``actions`` action servers only (graceful reload)."""

    def keep(match: re.Match[str], count: int) -> str:
        servers = re.findall(r"^\s*server .*;$", match.group(2), re.M)
        if len(servers) < count:
            raise SystemExit(f"the stack has {len(servers)} servers in upstream {match.group(1)}, not {count}")
        kept = re.findall(r"^\s*keepalive .*;$", match.group(2), re.M)  # as the template has it
        return f"upstream {match.group(1)} {{\n" + "\n".join(servers[:count] + kept) + "\n    }"

    limited = re.sub(r"upstream (rasa) \{(.*?)\}", lambda m: keep(m, rasa), conf, flags=re.S)
    limited = re.sub(r"upstream (actions) \{(.*?)\}", lambda m: keep(m, actions), limited, flags=re.S)
    (run_dir / "nginx.conf").write_text(limited, encoding="utf-8")
    os.kill(int((run_dir / "nginx.pid").read_text().strip()), signal.SIGHUP)
    time.sleep(3)  # old workers finish, new ones take over


def measure(url: str, rasa_url: str, db_url: str, pid: int | None, args: argparse.Namespace) -> dict[str, Any]:
    """``args.users`` residents for ``args.duration`` seconds against ``url``; the figures."""
    run = Run()
    rng = random.Random(args.seed)
    stop_at = time.monotonic() + args.duration
    load_before = os.getloadavg()
    threads = [
        threading.Thread(
            target=resident, args=(url, "rest" if i % 2 == 0 else "webchat", run, stop_at, random.Random(rng.random()))
        )
        for i in range(args.users)
    ]
    started = time.monotonic()
    cpu_before = cpu_snapshot()
    for t in threads:
        t.start()
        time.sleep(args.ramp / max(args.users, 1))
    peak_rss = 0.0
    while any(t.is_alive() for t in threads):
        if pid:
            peak_rss = max(peak_rss, tree_rss_mb(pid))
        time.sleep(5)
    cpu_after = cpu_snapshot()
    result = {
        "users": args.users,
        "duration_s": args.duration,
        **summarise(run, time.monotonic() - started),
        **cpu_per_reply(cpu_before, cpu_after, len(run.samples)),
        "peak_rss_mb": peak_rss or None,
        "load_average_before": [round(x, 1) for x in load_before],
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
    }
    if args.profile:
        result["where_the_time_goes"] = profile(url, rasa_url, db_url)
    time.sleep(40)  # an outbox replay round, in case a write was spooled
    result["records"] = stored_counts(db_url, run)
    return result


def run_configs(configs: list[tuple[int, int]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """One production stack with the most servers asked for; nginx is narrowed for each configuration."""
    most = (max(r for r, _ in configs), max(a for _, a in configs))
    results = []

    def each(url: str, rasa_url: str, run_dir: Path, db_url: str, pid: int | None) -> None:
        conf = (run_dir / "nginx.conf").read_text(encoding="utf-8")
        try:
            for rasa, actions in configs:
                print(f"--- {rasa} Rasa x {actions} action servers, {args.users} residents, {args.duration:.0f} s")
                use_servers(run_dir, conf, rasa, actions)
                result = {"rasa_servers": rasa, "action_servers": actions, **measure(url, rasa_url, db_url, pid, args)}
                print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
                results.append(result)
        finally:
            (run_dir / "nginx.conf").write_text(conf, encoding="utf-8")

    if args.attach:  # a running `make run-prod` (or test) stack
        each(args.attach, args.attach_rasa, Path(args.run_dir), args.db_url, None)
        return results
    tmp = Path(args.work_dir) / f"load-{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    env = {
        **os.environ,
        "LEGAL_SENDER_SALT": SALT,
        "LEGAL_OUTBOX_DIR": str(tmp / "outbox"),
        "RATE_LIMIT_ADDRESS": "0",  # every simulated resident comes from 127.0.0.1
        "HOTLINE_HOURS": "mon-sun 00:00-24:00",
        "PYTHONUNBUFFERED": "1",
    }
    with own_services(tmp, args.postgres_url, "load") as services:
        stack = start_prod(tmp, env, services, rasa=most[0], actions=most[1])
        try:
            each(stack.url, stack.rasa_urls[0], stack.run_dir, services.db_url, stack.process.pid)
        finally:
            stack.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the residents arrive")
    parser.add_argument("--configs", default="2x2,1x1,2x1,1x2", help="RASAxACTIONS, comma-separated")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LEGAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--work-dir", default=str(REPO_ROOT / "var" / "load"))
    parser.add_argument("--attach", help="URL of a running production stack instead of starting one")
    parser.add_argument("--attach-rasa", help="with --attach: one Rasa server's URL (for --profile)")
    parser.add_argument("--run-dir", help="with --attach: its PROD_RUN_DIR (nginx.conf, nginx.pid)")
    parser.add_argument("--db-url", help="with --attach: its LEGAL_DB_URL")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also time NLU, the full question and a DB query")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    configs = [(int(r), int(a)) for r, a in (c.lower().split("x") for c in args.configs.split(","))]
    results = run_configs(configs, args)
    report = {
        "machine": {"cpus": os.cpu_count(), "note": "a shared machine: see each run's load average"},
        "runs": results,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
