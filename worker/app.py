"""The Celery application. `celery -A worker.app ...` and `copydesk worker|beat|flower` load it."""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from worker.config import Settings, celery_broker_url
from worker.routing import all_queues

# Stable, documented task names: other systems send_task() to these without importing copydesk.
INGEST_URL = "copydesk.ingest_url"
INGEST_HTML = "copydesk.ingest_html"
INGEST_PAGES = "copydesk.ingest_pages"  # ([{"html", "url"}, ...]): many pushed pages in one task
INGEST_TEXT = "copydesk.ingest_text"
REPAIR = "copydesk.repair"
DISPATCH = "copydesk.dispatch"  # beat: queue a poll of every due source
POLL_SOURCE = "copydesk.poll_source"  # (url, refresh=False): read one source, queue its new entries


def make_celery(settings: Settings) -> Celery:
    app = Celery("copydesk", include=["worker.tasks", "worker.polling", "worker.monitoring"])
    broker = celery_broker_url(settings.redis_url or "redis://127.0.0.1:6379/0")
    app.conf.update(
        broker_url=broker,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue="copydesk",
        # Plus one queue per host bucket, which polls route their entries to (see worker.routing).
        task_queues=[Queue(name) for name in all_queues()],
        # Nothing lost: a task is acknowledged only once it has finished, and re-queued if its
        # worker process dies; each process holds one message at a time.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task killed by the hard time limit is a lost worker too: re-queue it, and let the attempt
        # counter in worker.tasks record it as `poison` once it has killed its worker a few times.
        task_acks_on_timeout=False,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=settings.task_time_limit * 0.8,
        # Redis re-delivers an unacknowledged task after the visibility timeout: keep it far above
        # the longest task (the hard time limit) so a slow task is never run twice.
        # COPYDESK_VISIBILITY_TIMEOUT lowers it: the tasks of a machine that died whole come back sooner,
        # and a task slower than it runs twice (harmless: the archive stores a URL once).
        # kombu looks for such tasks only every unacked_restore_interval x unacked_restore_throttle
        # seconds (100 by default): look every 10 s at most, and at least three times per visibility
        # timeout, so that a task whose acknowledgement was lost with a Redis connection comes back
        # about when the timeout says (a ZRANGE on the unacked index: cheap).
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": min(10.0, max(1.0, settings.visibility_timeout / 3)),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        worker_consumer="worker.consumer:Consumer",  # survives a lost connection: see worker/consumer.py
        worker_send_task_events=True,  # Flower shows tasks live
        task_send_sent_event=True,
        beat_schedule={
            "repair": {"task": REPAIR, "schedule": 300.0},
            "dispatch": {"task": DISPATCH, "schedule": settings.dispatch_every},
        },
        # Several beats may run (a spare, a second `copydesk run`): only the holder of a Redis lock sends.
        beat_scheduler="worker.beat:SingleBeatScheduler",
    )
    return app


settings = Settings.from_env()
app = make_celery(settings)
