"""The worker's broker consumer: Celery's, surviving a broker connection lost while a task is unacknowledged.

celery 5.7.0 handles a lost connection by collecting the connection (which detaches its transport)
and then closing it. Two things then go through the detached transport and raise AttributeError:

- the close itself, which restores unacknowledged messages: the worker's main process exits
  ("Unrecoverable error"). Seen when Redis restarts under a busy worker
  (tests/test_faults.py::test_worker_survives_a_redis_restart);
- the acknowledgement of a task that finishes meanwhile, run by the event loop: the loop stops and the
  worker stalls (seen once in that test, in 1 of 4 runs).

Those messages are not lost: they stay in Redis's unacknowledged set, and the periodic sweep
(unacked_restore_interval, worker/app.py) puts them back once the visibility timeout has passed, so
an acknowledged task runs again and finds its page stored. So both errors are logged and dropped, and
the consumer reconnects as it would have. What Celery would have done after the close is skipped:
cancelling running tasks (off by default) and reducing the prefetch count while they finish (no
effect at prefetch 1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer

log = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    def on_connection_error_after_connected(self, exc: Exception) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError as err:
            log.warning(
                "closing the lost broker connection failed (%r); its unacknowledged messages come back "
                "after the visibility timeout",
                err,
            )

    def call_soon_ack(self, p: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return super().call_soon_ack(settle_message, p, *args, **kwargs)


def settle_message(ack_or_reject: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Acknowledge or reject a message; through a lost connection, leave it to come back later."""
    try:
        return ack_or_reject(*args, **kwargs)
    except AttributeError as err:
        log.warning(
            "acknowledging a task through a lost broker connection failed (%r); its message comes back "
            "after the visibility timeout",
            err,
        )
        return None
