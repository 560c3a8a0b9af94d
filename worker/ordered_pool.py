"""An ordered map over worker processes: `copydesk dedup --jobs N` extracts pages in N processes while the
calling process stores them in arrival order, so its decisions are those of a run on one core."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import chain, islice
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, where the system tells it), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on every system
        return os.cpu_count() or 1


def ordered_map(
    work: Callable[[Item], Result], items: Iterable[Item], jobs: int, ahead: int
) -> Iterator[tuple[Item, Result]]:
    """(item, work(item)) for each item, in the items' order; work runs in `jobs` worker processes.

    `items` is read in the calling thread, at most `ahead` items before the one last yielded (so whatever
    reading an item does, it does in this thread, and memory holds at most `ahead` items), which lets the
    workers go on while the caller is busy with what it was given. `jobs` 1 or less, or a single item: work runs
    here, item by item, no process started. `work` must be picklable (a module-level function or a partial of
    one) and should return its errors rather than raise them: an exception it raises is raised here, as in one
    process.
    If a worker process dies (killed, a crash in C code), the items not yet yielded are worked on here
    instead: none is lost, and the one that killed its worker will do here what it does in one process.
    """
    if jobs <= 1:
        for item in items:
            yield item, work(item)
        return
    read = iter(items)
    opening = list(islice(read, 2))
    if len(opening) < 2:  # a single item (a one-page run) is done sooner than worker processes start
        for item in opening:
            yield item, work(item)
        return
    source = chain(opening, read)
    # fork: the workers start with this process's imports (trafilatura, lxml) instead of importing them again.
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
    broken = False

    def result(item: Item, future: Future[Result]) -> Result:
        nonlocal broken
        if not broken:
            try:
                return future.result()
            except BrokenProcessPool:
                broken = True
        return work(item)

    try:
        pending: deque[tuple[Item, Future[Result]]] = deque()
        for item in source:
            pending.append((item, pool.submit(work, item)))
            if len(pending) >= ahead:
                first, future = pending.popleft()
                yield first, result(first, future)
                if broken:
                    break
        while pending:
            first, future = pending.popleft()
            yield first, result(first, future)
        for item in source:  # left only after a worker died: the rest here
            yield item, work(item)
    finally:  # also when the caller stops early: the items read ahead are not worked on for nothing
        pool.shutdown(cancel_futures=True)
