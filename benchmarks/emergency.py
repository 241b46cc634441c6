"""Emergency detection: recall and false-alarm rate per kind, on the dev and held-out parts.

    .venv/bin/python benchmarks/emergency.py [--nlu] [--leave-one-round-out]

Every message of the emergency test set (tests/safety/data/, dev and held-out parts) at three
levels: the rules alone, ``safety.detect`` (the rules, and the learned score when they find nothing),
and with ``--nlu`` the trained Rasa model. An emergency counts as caught when the numbers given
include the ones its kind needs (119 for a fire, 122 and 120 for a traffic accident with injuries,
…); a non-emergency counts as a false alarm when any number is given. Also the false-alarm rate on
the real laypeople's legal questions of STARD and the LeCoQA FAQ shipped in knowledge/data (none
of them reports a danger happening now).

``--nlu`` also sends every message through the real trained Rasa model (``/model/parse`` of a Rasa
server started as the e2e tests do): the NLU component plus the DIET classifier's own ``emergency``
intent. A message the classifier calls an emergency without kinds gets 110 / 120 from the action.

``--leave-one-round-out`` scores each held-out round with a learned score trained on every other part
(scripts/train_emergency_score.py ``build(leave_out=round)``): the shipped score is trained on all
rounds, so this is how it does on phrasings it has not seen — the figure that predicts a kept-back set.

Writes docs/benchmarks/emergency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "e2e")]

import safety  # noqa: E402
from benchmarks.rasa_parse import Parse, rasa_parser  # noqa: E402
from safety.emergency import UNSPECIFIED  # noqa: E402
from scripts.train_emergency_score import build  # noqa: E402
from tests.safety.emergency_sets import HELD_OUT_PARTS, PARTS, REQUIRED, Example, load  # noqa: E402

OUT = REPO / "docs" / "benchmarks" / "emergency.json"
REAL_QUESTIONS = [
    *sorted((REPO / "knowledge" / "data" / "eval").glob("stard_*.jsonl")),
    REPO / "knowledge" / "data" / "faq" / "lecoqa_train.jsonl",
]

Numbers = Callable[[str], tuple[str, ...]]


def rules_numbers(text: str) -> tuple[str, ...]:
    detection = safety.detect(text)
    return () if detection.learned else detection.numbers


def detect_numbers(text: str) -> tuple[str, ...]:
    return safety.detect(text).numbers


def scores(numbers: Numbers, part: str) -> dict:
    """Per kind: recall of the emergencies (right numbers) and false-alarm rate of the others."""
    result: dict = {"emergencies": {}, "non_emergencies": {}, "missed": [], "false_alarms": []}
    emergencies: list[Example] = load(True, part)
    for kind in [*REQUIRED, "all"]:
        group = [e for e in emergencies if kind in (e.kind, "all")]
        caught = [e for e in group if e.caught_by(numbers(e.text))]
        flagged = [e for e in group if numbers(e.text)]
        result["emergencies"][kind] = {
            "n": len(group), "recall": round(len(caught) / len(group), 3) if group else None,
            "flagged": round(len(flagged) / len(group), 3) if group else None,
        }
    result["missed"] = [[e.kind, e.text, list(numbers(e.text))] for e in emergencies
                        if not e.caught_by(numbers(e.text))]
    others = load(False, part)
    for kind in [*sorted({e.kind for e in others}), "all"]:
        group = [e for e in others if kind in (e.kind, "all")]
        alarms = [e for e in group if numbers(e.text)]
        result["non_emergencies"][kind] = {"n": len(group), "false_alarm_rate": round(len(alarms) / len(group), 3)}
    result["false_alarms"] = [[e.kind, e.text, list(numbers(e.text))] for e in others if numbers(e.text)]
    return result


def real_questions(numbers: Numbers) -> dict:
    questions = sorted({json.loads(line)["question"] for path in REAL_QUESTIONS
                        for line in path.read_text(encoding="utf-8").splitlines() if line.strip()})
    alarms = [q for q in questions if numbers(q)]
    return {"n": len(questions), "false_alarm_rate": round(len(alarms) / len(questions), 4), "false_alarms": alarms}


def detect_latency_us() -> float:
    texts = [e.text for part in PARTS for emergency in (True, False) for e in load(emergency, part)]
    samples = []
    for text in texts:
        started = time.perf_counter()
        safety.detect(text)
        samples.append((time.perf_counter() - started) * 1e6)
    return round(statistics.median(samples), 1)


def nlu_numbers_from(parse: Parse) -> Numbers:
    def numbers(text: str) -> tuple[str, ...]:
        parsed = parse(text)
        kinds = [e["value"] for e in parsed.get("entities", []) if e["entity"] == "emergency_kind"]
        if kinds:
            return safety.numbers_for(kinds)
        if parsed["intent"]["name"] == "emergency":
            return safety.numbers_for([UNSPECIFIED])
        return ()

    return numbers


def leave_one_round_out() -> dict:
    """Each held-out round through the rules and a score trained without it; pooled over the rounds."""
    by_part = {}
    for part in HELD_OUT_PARTS:
        model = build(leave_out=part)
        by_part[part] = scores(lambda text, model=model: safety.detect(text, model).numbers, part)
    emergencies = [by_part[p]["emergencies"]["all"] for p in HELD_OUT_PARTS]
    others = [by_part[p]["non_emergencies"]["all"] for p in HELD_OUT_PARTS]
    caught = sum(round(e["recall"] * e["n"]) for e in emergencies)
    alarms = sum(round(o["false_alarm_rate"] * o["n"]) for o in others)
    n_emergencies, n_others = sum(e["n"] for e in emergencies), sum(o["n"] for o in others)
    pooled = {"emergencies": n_emergencies, "caught": caught, "recall": round(caught / n_emergencies, 3),
              "non_emergencies": n_others, "false_alarms": alarms, "false_alarm_rate": round(alarms / n_others, 3)}
    return {"pooled": pooled, "parts": by_part}


def run_nlu() -> tuple[dict, dict]:
    with rasa_parser() as parse:
        numbers = nlu_numbers_from(parse)
        return {part: scores(numbers, part) for part in PARTS}, real_questions(numbers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nlu", action="store_true", help="also through the trained Rasa NLU (starts the servers)")
    parser.add_argument("--leave-one-round-out", action="store_true",
                        help="also each held-out round with a score trained without it (~2 min)")
    args = parser.parse_args()
    levels = {"rules": rules_numbers, "rules_and_score": detect_numbers}
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "levels": {name: {part: scores(numbers, part) for part in PARTS} for name, numbers in levels.items()},
        "real_questions": {name: real_questions(numbers) for name, numbers in levels.items()},
        "detect_latency_p50_us": detect_latency_us(),
    }
    previous = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    if args.leave_one_round_out:
        result["leave_one_round_out"] = leave_one_round_out()
    elif "leave_one_round_out" in previous:
        result["leave_one_round_out"] = previous["leave_one_round_out"]
        result["leave_one_round_out_note"] = previous.get("leave_one_round_out_note") or (
            f"kept from the run of {previous['date']}, not rerun")
    if args.nlu:
        result["levels"]["nlu"], result["real_questions"]["nlu"] = run_nlu()
        result["nlu_date"] = result["date"]
    elif "nlu" in previous.get("levels", {}):
        # Without --nlu the NLU level of the last run that had it is kept, with the date it was measured.
        result["levels"]["nlu"] = previous["levels"]["nlu"]
        result["real_questions"]["nlu"] = previous["real_questions"]["nlu"]
        result["nlu_date"] = previous.get("nlu_date", previous["date"])
        result["nlu_note"] = (f"kept from the --nlu run of {result['nlu_date']}: measured on the dev and "
                              "held-out parts as they were then, not rerun")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for level, by_part in result["levels"].items():
        for part, score in by_part.items():
            e, n = score["emergencies"]["all"], score["non_emergencies"]["all"]
            print(f"{level:15} {part:7} recall {e['recall']:.3f} (n={e['n']})  "
                  f"false alarms {n['false_alarm_rate']:.3f} (n={n['n']})")
            print("        recall per kind: " + ", ".join(
                f"{k} {r['recall']} ({r['n']})" for k, r in score["emergencies"].items() if k != "all"))
            print("        false alarms per kind: " + ", ".join(
                f"{k} {r['false_alarm_rate']} ({r['n']})" for k, r in score["non_emergencies"].items() if k != "all"))
    for level, real in result["real_questions"].items():
        print(f"{level} on real legal questions: false alarms {real['false_alarm_rate']} (n={real['n']})")
    if "leave_one_round_out" in result:
        loro = result["leave_one_round_out"]
        for part, score in loro["parts"].items():
            e, n = score["emergencies"]["all"], score["non_emergencies"]["all"]
            print(f"left out {part:7} recall {e['recall']:.3f} (n={e['n']})  "
                  f"false alarms {n['false_alarm_rate']:.3f} (n={n['n']})")
        print(f"leave-one-round-out pooled: {loro['pooled']}" + (
            f" ({result['leave_one_round_out_note']})" if "leave_one_round_out_note" in result else ""))
    if "nlu_note" in result:
        print(f"nlu: {result['nlu_note']}")
    print(f"detect latency p50 {result['detect_latency_p50_us']} µs; wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
