"""Deterministic split of the STARD questions: a tuning part and a held-out part for reporting.

A question's part depends only on a hash of its id, so adding questions never moves old ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HELDOUT_SHARE = 0.3


def part_of(question_id: str) -> str:
    bucket = int(hashlib.sha256(question_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "heldout" if bucket < HELDOUT_SHARE else "tune"


def split_file(source: Path, out_dir: Path) -> dict[str, int]:
    parts: dict[str, list[str]] = {"tune": [], "heldout": []}
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip():
            parts[part_of(json.loads(line)["id"])].append(line)
    for name, lines in parts.items():
        (out_dir / f"stard_{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {name: len(lines) for name, lines in parts.items()}


if __name__ == "__main__":
    folder = Path(__file__).parent / "data" / "eval"
    print(split_file(folder / "stard_train.jsonl", folder))
