"""A wall-clock limit for one page's extraction, for code that runs without Celery's time limits."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


class PageTimeLimitExceeded(BaseException):
    """A page took longer than its time limit.

    A BaseException, not a TimeoutError: trafilatura wraps its slowest fallbacks (readability,
    jusText) in `except Exception`, which would swallow an Exception raised from the alarm there,
    and the limit would never fire again.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"processing took longer than {seconds:g} s")
        self.seconds = seconds


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise PageTimeLimitExceeded inside the block once it has run for `seconds` of wall time.

    SIGALRM based, so it also interrupts pure-Python loops that never do I/O. Signals are only
    delivered to the main thread: elsewhere (and with no or a non-positive limit) the block runs
    without a limit. An enclosing alarm that ends sooner is left alone; one that ends later is
    suspended meanwhile and re-armed with what is left of it.
    """
    if not seconds or seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        log.warning("no page time limit outside the main thread")
        yield
        return
    outer = signal.getitimer(signal.ITIMER_REAL)[0]
    if outer and outer <= seconds:  # an enclosing limit fires first anyway
        yield
        return
    active = True

    def expire(signum: int, frame: FrameType | None) -> None:
        if active:  # the alarm may land after the block ended but before it was disarmed
            raise PageTimeLimitExceeded(seconds)

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            # Re-arm the enclosing limit with what is left of it (at least a tick, so it still fires).
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))
