"""The worker's broker consumer: Celery's, surviving a broker connection lost while a task is unacknowledged.

celery 5.7.0 handles a lost connection by collecting the connection (which detaches its transport)
and then closing it; closing restores unacknowledged messages through the detached transport, raises
AttributeError, and the worker's main process exits ("Unrecoverable error"). Seen when Redis restarts
under a busy worker (tests/test_faults.py::test_worker_survives_a_redis_restart).

Those messages are not lost: they stay in Redis's unacknowledged set, and the periodic sweep
(unacked_restore_interval, worker/app.py) puts them back once the visibility timeout has passed.
So the error is dropped and the consumer reconnects as it would have. What Celery would have done
after the close is skipped: cancelling running tasks (off by default) and reducing the prefetch count
while they finish (no effect at prefetch 1).
"""

from __future__ import annotations

import logging

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
