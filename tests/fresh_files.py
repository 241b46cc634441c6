"""Start-up races: several processes opening the same brand-new files within microseconds of each other.

Servers started side by side (two WeChat workers, the action server and the staff app) open a fresh
SQLite file together; :func:`open_together` reproduces that for many files in a row and says what each
process got, so a test can require that every one of them opened every file.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable


def open_together(
    opener: Callable[[str], object], paths: list[str], errors: tuple[type[BaseException], ...], processes: int = 3
) -> list[str]:
    """Each of ``processes`` spawned processes calls ``opener(path)`` on every path, all at the same instants;
    returns per process ``"ok"`` or the repr of the first error of ``errors`` it met."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start_at = time.time() + 3.0  # time for every process to start before the first file
    args = (opener, paths, errors, start_at, queue)
    workers = [context.Process(target=_open_each, args=args) for _ in range(processes)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=90) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    return results


def _open_each(
    opener: Callable[[str], object],
    paths: list[str],
    errors: tuple[type[BaseException], ...],
    start_at: float,
    queue: multiprocessing.Queue,
) -> None:
    time.sleep(max(0.0, start_at - time.time() - 0.05))
    try:
        for path in paths:
            while time.time() < start_at:  # spin: the processes must open each file within microseconds
                pass
            opener(path)
            start_at += 0.02
        queue.put("ok")
    except errors as error:  # reported to the test instead of leaving it waiting
        queue.put(repr(error))
