"""The processes of a running stack, read from /proc: which server each belongs to, its memory and CPU time.

Shared by the benchmarks that start a stack (``stack_memory.py``, ``load.py``, ``rest_roundtrip.py``). A
server's worker processes (Sanic and the action server spawn them; their command line is
``multiprocessing.spawn``) are counted with the server whose process started them.
"""

from __future__ import annotations

import os
from pathlib import Path

# Substring of a command line → the server it is (first match wins; checked up the parent chain).
SERVERS = {
    "rasa run": "rasa",
    "rasa_sdk": "action server",
    "staff serve": "staff app",
    "nginx": "nginx",
    "redis-server": "redis",
}
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(root: int) -> list[int]:
    """The pids of ``root``'s descendants (not ``root`` itself)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            children.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def servers(root: int) -> dict[str, list[int]]:
    """The processes under ``root`` grouped by server (processes of no server — shells, curl — left out)."""
    parents, commands = {}, {}
    for pid in descendants(root):
        try:
            parents[pid], commands[pid] = int(_stat(pid)[1]), command(pid)
        except (OSError, IndexError, ValueError):
            continue
    grouped: dict[str, list[int]] = {}
    for pid in commands:
        current = pid
        while current in commands:
            name = next((n for needle, n in SERVERS.items() if needle in commands[current]), None)
            if name:
                grouped.setdefault(name, []).append(pid)
                break
            current = parents.get(current, 0)
    return grouped


def memory_mb(pid: int) -> dict[str, float]:
    """RSS and PSS (shared pages split among the processes that map them) of one process."""
    values = {"rss_mb": 0.0, "pss_mb": 0.0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key.lower() + "_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return values


def memory(groups: dict[str, list[int]]) -> dict[str, dict[str, float]]:
    """RSS and PSS summed per server, each process read once (processes that ended meanwhile are skipped)."""
    out = {}
    for name, pids in groups.items():
        total = {"rss_mb": 0.0, "pss_mb": 0.0}
        for pid in pids:
            try:
                values = memory_mb(pid)
            except OSError:
                continue
            for key in total:
                total[key] += values[key]
        out[name] = {key: round(value, 1) for key, value in total.items()}
    return out


def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants."""
    return memory({"tree": [root, *descendants(root)]})["tree"]["rss_mb"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS


def summed(groups: dict[str, list[int]], read) -> dict[str, float]:
    """``read(pid)`` (a number) summed per server; processes that ended meanwhile are skipped."""
    out: dict[str, float] = {}
    for name, pids in groups.items():
        total = 0.0
        for pid in pids:
            try:
                total += read(pid)
            except (OSError, IndexError, ValueError):
                continue
        out[name] = round(total, 2)
    return out
