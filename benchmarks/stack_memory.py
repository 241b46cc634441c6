"""Memory of the whole stack as `make run` starts it (Rasa, action server, staff app), after real questions.

    .venv/bin/python benchmarks/stack_memory.py [--questions 60]

Runs ``scripts/run.sh`` itself — the command behind ``make run``, on the embedded defaults (SQLite, the
county index, one process of each server) — on free ports with a scratch SQLite database, waits for
"The assistant is ready", asks held-out STARD questions over the REST webhook (each from a new sender,
so trackers accumulate) and opens the staff app's login page, then reads every process of the tree the
script started (servers and the worker processes they spawn): RSS, and PSS (shared pages split between
the processes that map them, so the sum is what the stack really holds). Issue 13's target: the whole
stack ≤ 2.5 GB. Writes docs/benchmarks/stack_memory.json (``--out``); the ``KNOWLEDGE_*`` settings it ran with
(e.g. the national corpus's folders) are recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from e2e_stack import free_ports  # noqa: E402

from benchmarks.proctree import memory, servers  # noqa: E402
from benchmarks.rest_roundtrip import heldout_questions  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "stack_memory.json"


def measure(root: int) -> dict:
    """RSS and PSS per server (its worker processes included) and in total."""
    groups = servers(root)
    per_server = {name: {"processes": len(groups[name]), **values} for name, values in memory(groups).items()}
    total = {key: round(sum(s[key] for s in per_server.values()), 1) for key in ("rss_mb", "pss_mb")}
    return {"servers": per_server, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the servers")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rasa_port, action_port, staff_port = free_ports(3)
    with tempfile.TemporaryDirectory() as scratch, open(Path(scratch) / "run.log", "w+") as log:
        env = {**os.environ, "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port),
               "STAFF_PORT": str(staff_port), "LEGAL_DB_URL": f"sqlite:///{scratch}/legal.db",
               "WECHAT_STATE_DB": f"{scratch}/wechat.db"}
        started = time.perf_counter()
        run = subprocess.Popen(["scripts/run.sh"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
        try:
            while "The assistant is ready" not in Path(log.name).read_text():
                if run.poll() is not None or time.perf_counter() - started > args.timeout:
                    raise RuntimeError("the stack did not start:\n" + Path(log.name).read_text()[-3000:])
                time.sleep(1)
            ready_s = time.perf_counter() - started
            idle = measure(run.pid)
            url = f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook"
            answered = 0
            for question in ["你好", *heldout_questions(args.questions), "谢谢"]:
                reply = requests.post(url, json={"sender": f"mem-{uuid.uuid4().hex[:10]}", "message": question},
                                      timeout=120)
                answered += bool(reply.ok and reply.json())
            requests.get(f"http://127.0.0.1:{staff_port}/login", timeout=30).raise_for_status()
            result = {"date": time.strftime("%Y-%m-%d"), "ready_s": round(ready_s, 1),
                      "messages": args.questions + 2, "answered": answered, "idle": idle,
                      "after_questions": measure(run.pid), "load_avg_1min": round(os.getloadavg()[0], 1),
                      "target_mb": 2500}
        finally:
            os.killpg(run.pid, signal.SIGTERM)
            run.wait(timeout=60)
    # Relative to the repository: the figures are committed, the machine's paths are not.
    result["knowledge"] = {k: v.replace(f"{REPO}/", "") for k, v in os.environ.items() if k.startswith("KNOWLEDGE_")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
