"""worker.collector: copydesk's own processes raise the collector's first threshold, and never lower it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from worker.collector import FIRST_THRESHOLD, tune_collector


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_the_first_threshold_is_raised_the_others_kept(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(700, 10, 10)
    tune_collector()
    assert gc.get_threshold() == (FIRST_THRESHOLD, 10, 10)


def test_a_higher_threshold_is_kept(thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(50_000, 5, 5)
    tune_collector()
    assert gc.get_threshold() == (50_000, 5, 5)
