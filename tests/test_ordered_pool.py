"""worker.ordered_pool: results in the items' order from real worker processes, items read a bounded way ahead,
and nothing lost when a worker dies."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from worker.ordered_pool import cpu_count, ordered_map

PARENT = os.getpid()


def square_where(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def die_on_seven(n: int) -> tuple[int, int]:
    """Kills the worker process that gets item 7 (as a crash in C code would); in this process it works."""
    if n == 7 and os.getpid() != PARENT:
        os._exit(1)
    return n * n, os.getpid()


def fail_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n


def test_results_in_order_from_the_workers() -> None:
    results = list(ordered_map(square_where, range(200), jobs=2, ahead=16))
    assert [(item, square) for item, (square, _) in results] == [(n, n * n) for n in range(200)]
    assert PARENT not in {pid for _, (_, pid) in results}  # all of it in the workers


def test_one_job_works_here_item_by_item() -> None:
    read: list[int] = []

    def items() -> Iterator[int]:
        for n in range(5):
            read.append(n)
            yield n

    for item, (square, pid) in ordered_map(square_where, items(), jobs=1, ahead=16):
        assert (square, pid, read[-1]) == (item * item, PARENT, item)


def test_items_are_read_at_most_ahead_of_the_last_result() -> None:
    read: list[int] = []

    def items() -> Iterator[int]:
        for n in range(100):
            read.append(n)
            yield n

    for item, _ in ordered_map(square_where, items(), jobs=2, ahead=8):
        assert len(read) <= item + 8


def test_a_dead_worker_loses_no_item() -> None:
    results = list(ordered_map(die_on_seven, range(40), jobs=2, ahead=8))
    assert [(item, square) for item, (square, _) in results] == [(n, n * n) for n in range(40)]
    assert dict(results)[7][1] == PARENT  # the item that killed its worker, done here


def test_an_exception_of_the_work_is_raised_here_in_its_place() -> None:
    results = ordered_map(fail_on_three, range(10), jobs=2, ahead=4)
    assert [next(results) for _ in range(3)] == [(0, 0), (1, 1), (2, 2)]
    with pytest.raises(ValueError, match="three"):
        next(results)


def test_cpu_count() -> None:
    assert 1 <= cpu_count() <= (os.cpu_count() or 1)


def test_a_single_item_is_done_here() -> None:
    assert [(item, pid) for item, (_, pid) in ordered_map(square_where, [3], jobs=2, ahead=8)] == [(3, PARENT)]
    assert list(ordered_map(square_where, [], jobs=2, ahead=8)) == []
