"""The Celery application. `celery -A worker.app ...` and `copydesk worker|beat|flower` load it."""

from __future__ import annotations

from celery import Celery

from worker.config import Settings

# Stable, documented task names: other systems send_task() to these without importing copydesk.
INGEST_URL = "copydesk.ingest_url"
INGEST_HTML = "copydesk.ingest_html"
INGEST_TEXT = "copydesk.ingest_text"
REPAIR = "copydesk.repair"


def make_celery(settings: Settings) -> Celery:
    app = Celery("copydesk", include=["worker.tasks"])
    broker = settings.redis_url or "redis://127.0.0.1:6379/0"
    app.conf.update(
        broker_url=broker,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue="copydesk",
        # Nothing lost: a task is acknowledged only once it has finished, and re-queued if its
        # worker process dies; each process holds one message at a time.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=settings.task_time_limit * 0.8,
        # Redis re-delivers an unacknowledged task after the visibility timeout: keep it far above
        # the longest task (the hard time limit) so a slow task is never run twice.
        broker_transport_options={"visibility_timeout": max(3600, int(settings.task_time_limit * 10))},
        broker_connection_retry_on_startup=True,
        worker_send_task_events=True,  # Flower shows tasks live
        task_send_sent_event=True,
        beat_schedule={"repair": {"task": REPAIR, "schedule": 300.0}},
    )
    return app


settings = Settings.from_env()
app = make_celery(settings)
