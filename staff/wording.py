"""What the staff app says to residents, read from the ``responses`` of ``domain.yml``.

Resident-facing wording lives in the domain; the operator console and the referral notices send a
few responses themselves (no action runs them), filled with their ``{variables}`` and in the
``channel:`` variant of the resident's channel when there is one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

DOMAIN_FILE = Path(__file__).resolve().parents[1] / "domain.yml"


@functools.cache
def _responses() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8")).get("responses", {})


def response_text(name: str, channel: str | None = None, **values: object) -> str:
    """The text of response ``name`` for ``channel`` (its variant, else the plain one), filled in."""
    variants = _responses().get(name) or []
    chosen = next((v for v in variants if channel and v.get("channel") == channel), None)
    chosen = chosen or next((v for v in variants if not v.get("channel")), None)
    if chosen is None:
        raise KeyError(f"domain.yml has no response {name!r}")
    text = str(chosen.get("text") or "")
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text
