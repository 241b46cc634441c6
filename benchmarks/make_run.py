"""``make run`` on a fresh clone until the first cited answer, the improved index going live, a second run (issue 13).

    .venv/bin/python benchmarks/make_run.py [--ref HEAD] [--side-by-side] [--keep]

Clones the commit ``--ref`` of this repository into a temporary folder (nothing of ``var/``, ``models/``
or the virtual environments: what a new machine has; pip's wheel cache stays warm, as in CI), runs
``make run`` there on free ports and asks the REST webhook a legal question every 2 s from the start,
recording:

- when each step started, from the lines the steps print (set-up, knowledge build, Rasa training, servers);
- the first answer that quotes an article (``《…》第…条``), in seconds from the start;
- the line saying the improved (fine-tuned) index is live, from the background build (only when one runs:
  ``KNOWLEDGE_FINETUNE=1``);

then stops it (Ctrl-C, as a user would) and runs ``make run`` again in the same clone: the time to the first
cited answer with everything cached, and whether anything heavy ran (embedding, fine-tuning, Rasa training,
a background build). ``--side-by-side`` then measures the quick knowledge build and the Rasa training from
empty caches (base model, index, Rasa models removed), one after the other and side by side (``make -j2``),
in the same clone. The load average is sampled every 5 s throughout. Writes
docs/benchmarks/make_run.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "benchmarks" / "make_run.json"
QUESTION = "老板拖欠工资三个月了怎么办"
CITED = re.compile(r"《[^》]+》第[一二三四五六七八九十百千零〇0-9]+条")
# Lines that mark a step (printed by the Makefile's scripts and the knowledge build); the first match counts.
MARKS = {
    "setup app env": r"\[setup_app_env\]",
    "setup rasa env": r"\[setup_rasa_env\]",
    "staff assets": r"setup_staff_assets",
    # The three set-up steps run side by side (make -j3): when each was done.
    "app env ready": r"\[setup_app_env\] (ready|up to date)",
    "rasa env ready": r"\[setup_rasa_env\] (done|up to date)",
    "staff assets ready": r"\[setup_staff_assets\] (ready|up to date)",
    "knowledge step 1 (base model)": r"step 1/5",
    "knowledge step 2 (base export)": r"step 2/5",
    "knowledge step 3": r"step 3/5",
    "knowledge step 5 (index)": r"step 5/5",
    "rasa training": r"\[train_model\] training",
    "rasa trained": r"\[train_model\] trained in",
    "rasa up to date": r"\[train_model\] up to date",
    "action server and staff app starting": r"Action server and staff app starting",
    "servers starting": r"Starting \(logs in var/log/\)",
    "assistant ready": r"The assistant is ready",
    "background build started": r"fine-tuning and re-indexing in the",
    "improved index live": r"The improved search index is live",
}
HEAVY = {  # what a second run must not do
    "embedding": r"embedding \d+ new or changed|loading the encoder",
    # Not the "step 3/5 fine-tuning" header: the build prints every step's header, also when it skips the step.
    "fine-tuning": r"fine-tuning: mining",
    "model export": r"exporting .* to ONNX",
    "rasa training": r"\[train_model\] training",
    "background build": r"fine-tuning and re-indexing in the",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Loads:
    """The 1-minute load average every 5 s, in a thread."""

    def __init__(self):
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(5)

    def __enter__(self) -> Loads:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self, since: int = 0) -> dict:
        part = self.samples[since:] or [os.getloadavg()[0]]
        return {"min": round(min(part), 2), "mean": round(statistics.mean(part), 2), "max": round(max(part), 2)}


class Run:
    """One ``make …`` in the clone: its output timestamped into a log, and the webhook asked meanwhile."""

    def __init__(self, clone: Path, target: list[str], env: dict, log: Path):
        self.clone, self.log_path = clone, log
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self._log = log.open("w", encoding="utf-8")
        # A session of its own: Ctrl-C goes to make and everything it started, as in a terminal.
        self.process = subprocess.Popen(["make", *target], cwd=clone, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1,
                                        start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            at = time.monotonic() - self.started
            self.lines.append((at, line.rstrip("\n")))
            self._log.write(f"{at:8.1f} {line}")
            self._log.flush()

    def seen(self, pattern: str) -> float | None:
        return next((at for at, line in list(self.lines) if re.search(pattern, line)), None)

    def marks(self) -> dict[str, float]:
        return {name: round(at, 1) for name, pattern in MARKS.items() if (at := self.seen(pattern)) is not None}

    def wait_for(self, pattern: str, seconds: float) -> float | None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            if (at := self.seen(pattern)) is not None:
                return at
            time.sleep(1)
        return self.seen(pattern)

    def first_cited_answer(self, url: str, seconds: float) -> tuple[float | None, str | None]:
        """Seconds from the start to the first reply that quotes an article, asking every 2 s."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                reply = requests.post(url, json={"sender": f"bench-{uuid.uuid4().hex[:8]}", "message": QUESTION},
                                      timeout=60)
                text = "\n".join(m.get("text") or "" for m in reply.json())
                if CITED.search(text):
                    return round(time.monotonic() - self.started, 1), CITED.search(text).group(0)
            except (requests.RequestException, ValueError):
                pass
            time.sleep(2)
        return None, None

    def stop(self) -> int:
        """Ctrl-C to make and everything it started; the exit status."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._reader.join(timeout=10)
        self._log.close()
        return self.process.returncode

    def run_to_end(self, seconds: float) -> float:
        self.process.wait(timeout=seconds)
        self._reader.join(timeout=10)
        self._log.close()
        if self.process.returncode:
            raise RuntimeError(f"make failed; see {self.log_path}")
        return round(time.monotonic() - self.started, 1)


def make_run(clone: Path, env: dict, log: Path, url: str, improved: bool, wait: bool = True) -> dict:
    run = Run(clone, ["run"], env, log)
    answered_at, citation = run.first_cited_answer(url, 3600)
    result = {"first_cited_answer_s": answered_at, "citation": citation}
    if wait and improved and run.seen(MARKS["background build started"]) is not None:  # fine-tuning is on
        result["improved_index_live_s"] = run.wait_for(MARKS["improved index live"], 3600)
    elif wait:
        time.sleep(20)  # a background build would have said so by now
    result["marks_s"] = run.marks()
    result["heavy_steps_seen"] = [name for name, pattern in HEAVY.items() if run.seen(pattern) is not None]
    result["exit_status_after_ctrl_c"] = run.stop()
    return result


def phases(clone: Path, env: dict, log_dir: Path) -> dict:
    """The quick knowledge build and the Rasa training from empty caches: one after the other, then side by side."""
    def empty_caches() -> None:
        for path in (clone / "var" / "index", clone / "var" / "models" / "multilingual-e5-small"):
            shutil.rmtree(path, ignore_errors=True)
        for model in (clone / "models").glob("*.tar.gz"):
            model.unlink()

    result = {}
    empty_caches()
    sequential = {}
    for step in ("build-knowledge-quick", "train"):
        sequential[step] = Run(clone, [step], env, log_dir / f"sequential-{step}.log").run_to_end(3600)
    result["one_after_the_other_s"] = {**sequential, "total": round(sum(sequential.values()), 1)}
    empty_caches()
    result["side_by_side_s"] = Run(clone, ["-j2", "build-knowledge-quick", "train"], env,
                                   log_dir / "side-by-side.log").run_to_end(3600)
    result["side_by_side_ratio"] = round(result["side_by_side_s"] / result["one_after_the_other_s"]["total"], 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="HEAD", help="commit to clone (default HEAD)")
    parser.add_argument("--side-by-side", action="store_true", help="also time the two long steps alone and together")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its var/log/ and the run logs)")
    parser.add_argument("--first-answer-only", action="store_true",
                        help="stop at the fresh clone's first cited answer (no background build, no second run)")
    args = parser.parse_args()

    commit = subprocess.run(["git", "rev-parse", args.ref], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.strip()
    scratch = Path(tempfile.mkdtemp(prefix="make-run-"))
    clone = scratch / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=clone, check=True)
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "STAFF_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KNOWLEDGE_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env |= {k: str(v) for k, v in ports.items()}
    url = f"http://127.0.0.1:{ports['RASA_PORT']}/webhooks/rest/webhook"
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit[:12], "cpus": os.cpu_count(),
                     "question": QUESTION}
    print(f"clone in {clone}; logs in {scratch}", flush=True)
    try:
        with Loads() as loads:
            results["fresh_clone"] = make_run(clone, env, scratch / "first-run.log", url, improved=True,
                                              wait=not args.first_answer_only)
            results["fresh_clone"]["load_avg_1min"] = loads.summary()
            print(json.dumps(results["fresh_clone"], ensure_ascii=False), flush=True)
            if not args.first_answer_only:
                mark = len(loads.samples)
                results["second_run"] = make_run(clone, env, scratch / "second-run.log", url, improved=False)
                results["second_run"]["load_avg_1min"] = loads.summary(mark)
                print(json.dumps(results["second_run"], ensure_ascii=False), flush=True)
            if args.side_by_side and not args.first_answer_only:
                mark = len(loads.samples)
                results["long_steps"] = phases(clone, env, scratch)
                results["long_steps"]["load_avg_1min"] = loads.summary(mark)
                print(json.dumps(results["long_steps"], ensure_ascii=False), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
