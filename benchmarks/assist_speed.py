"""Agent assist latency: how long a hotline operator waits for the suggested answer (target: under a second).

    .venv/bin/python benchmarks/assist_speed.py [--questions 60]

Starts the real servers on free ports (Rasa and the action server as the end-to-end tests do, and the
staff app with the engine preloaded), logs in as an operator over HTTP and asks ``GET /api/assist`` the
held-out STARD questions one after another — what the console does when the operator presses Enter:
search, answer composition and Rasa's NLU for the topic, in one request. The baseline measured in the
same run is an authenticated request that does no search (``GET /api/handoffs``), so the app's own
overhead and the machine's noise show beside the figure. Writes docs/benchmarks/assist_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

from e2e_stack import free_ports, local_stack  # noqa: E402
from rest_roundtrip import heldout_questions, summary  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "assist_speed.json"
OPERATOR, PASSWORD = "bench-operator", "bench-operator-password"


class Operator:
    """A logged-in operator. The session cookie is ``Secure``, which ``requests`` would not send over
    plain HTTP to 127.0.0.1, so it is sent by hand."""

    def __init__(self, base: str) -> None:
        self.base = base
        reply = requests.post(f"{base}/api/session", json={"username": OPERATOR, "password": PASSWORD}, timeout=30)
        reply.raise_for_status()
        self.headers = {"Cookie": f"staff_session={reply.cookies['staff_session']}"}

    def timed(self, path: str, **params: str) -> float:
        started = time.perf_counter()
        reply = requests.get(self.base + path, params=params, headers=self.headers, timeout=120)
        elapsed = (time.perf_counter() - started) * 1000
        reply.raise_for_status()
        return elapsed


def start_staff(env: dict[str, str], log_dir: Path) -> tuple[subprocess.Popen, str]:
    python = str(REPO / ".venv" / "bin" / "python")
    subprocess.run(
        [python, "-m", "staff", "user", "add", "--username", OPERATOR, "--role", "operator", "--password-stdin"],
        input=PASSWORD, text=True, cwd=REPO, env=env, check=True, capture_output=True,
    )  # fmt: skip
    (port,) = free_ports(1)
    log = (log_dir / "staff.log").open("w")
    process = subprocess.Popen(
        [python, "-m", "staff", "serve", "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/login", timeout=2).ok:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.5)
    process.kill()
    raise TimeoutError("the staff app did not start; see staff.log")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=60)
    args = parser.parse_args()
    questions = heldout_questions(args.questions)
    with tempfile.TemporaryDirectory() as scratch, local_stack(Path(scratch)) as (stack, env):
        staff_env = dict(env, RASA_URL=stack.base_url, STAFF_ASSIST_PRELOAD="1", STAFF_TRUST_PROXY="0")
        staff, base = start_staff(staff_env, Path(scratch))
        try:
            operator = Operator(base)
            first = operator.timed("/api/assist", q="老板拖欠工资怎么办")  # waits for the engine if still loading
            for text in ["离婚孩子归谁", "邻居占了我家的地", "交通事故对方不赔钱"]:
                operator.timed("/api/assist", q=text)  # warm-up
            # Interleaved, so the machine's noise falls on both alike.
            assist, baseline = [], []
            for question in questions:
                assist.append(operator.timed("/api/assist", q=question))
                baseline.append(operator.timed("/api/handoffs"))
            result = {
                "date": time.strftime("%Y-%m-%d"),
                "load_avg_1min": round(os.getloadavg()[0], 1),
                "first_question_ms": round(first, 1),
                "assist": summary(assist),
                "baseline_handoffs_list": summary(baseline),
                "target_ms": 1000,
            }
        finally:
            staff.terminate()
            staff.wait(timeout=20)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
