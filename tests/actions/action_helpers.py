"""Helpers of the action tests: recorded trackers, running an action, and what the resident reads.

``render`` turns what an action dispatched into the text Rasa sends, from the domain response and
its variables, as Rasa's templated response generator does.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from pathlib import Path

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from knowledge.config import REPO_ROOT

TRACKERS = Path(__file__).parent / "trackers"
DOMAIN = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
VARIABLE = re.compile(r"{([^\n{}]+?)}")  # how Rasa finds the variables of a response


def recorded(name: str, **changes) -> Tracker:
    """A tracker recorded from the real Rasa server, with another latest text or slot values."""
    state = copy.deepcopy(json.loads((TRACKERS / f"{name}.json").read_text(encoding="utf-8")))
    if "text" in changes:
        state["latest_message"]["text"] = changes.pop("text")
    state["slots"].update(changes)
    return Tracker.from_dict(state)


def run(action, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def render(message: dict, tracker: Tracker | None = None, channel: str | None = None) -> str:
    """The text Rasa sends for a dispatched message: its response's variant for the channel, filled in.

    A variable the action did not pass and no slot holds fails the test (Rasa would show the braces).
    """
    if not message.get("response"):
        return message.get("text") or ""
    values = {**(tracker.current_slot_values() if tracker else {}), **message}
    return fill(_variant(message["response"], channel).get("text", ""), values, strict=True)


def buttons(message: dict, channel: str | None = None) -> list[dict]:
    """The buttons Rasa sends: the action's and the response's (Rasa fills variables in those too)."""
    found = list(message.get("buttons") or [])
    if message.get("response"):
        domain_buttons = _variant(message["response"], channel).get("buttons", [])
        found += [{k: fill(v, message) for k, v in b.items()} for b in domain_buttons]
    return found


def fill(text: str, values: dict, strict: bool = False) -> str:
    """Rasa's response interpolation (rasa.core.nlg.interpolator.interpolate_text), ``{{ }}`` escapes included."""
    try:
        filled = VARIABLE.sub(r"{0[\1]}", text).format(values)
    except KeyError:
        if strict:
            raise
        return text
    return text.format({}) if "0[" in filled else filled


def _variant(response: str, channel: str | None) -> dict:
    variants = DOMAIN["responses"][response]
    for_channel = [v for v in variants if v.get("channel") == channel]
    return (for_channel or [v for v in variants if not v.get("channel")])[0]


def said(messages: list[dict], tracker: Tracker | None = None) -> str:
    return "\n\n".join(render(m, tracker) for m in messages)


def slots(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def rows(engine, table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table))]
