"""What `copydesk status` reports: queue depth, tasks per minute, and what the last hour stored or lost.

Tasks per minute come from counters every worker process bumps in Redis when a task ends (one hash
per minute, kept two hours), so they cover every worker on every machine without Flower running.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import timedelta
from typing import Any

import redis
from celery.signals import task_postrun
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Cluster, Document, Failure, Source, utcnow
from worker.beat import LOCK_KEY
from worker.config import redis_client_url
from worker.ledger import outstanding
from worker.routing import all_queues

log = logging.getLogger(__name__)

STATS_PREFIX = "copydesk:stats:"
STATS_TTL = 2 * 3600


@functools.cache
def _client() -> redis.Redis:
    from worker.app import app, settings  # late: this module is imported while the app is being built

    return redis.Redis.from_url(settings.redis_url or redis_client_url(app.conf.broker_url), socket_timeout=2)


@task_postrun.connect
def _count_task(sender: Any = None, state: str | None = None, **_: Any) -> None:
    name = getattr(sender, "name", None) or "unknown"
    key = f"{STATS_PREFIX}{int(time.time() // 60)}"
    try:
        with _client().pipeline() as pipe:
            pipe.hincrby(key, name, 1)
            if state == "FAILURE":
                pipe.hincrby(key, f"{name}!failed", 1)
            pipe.expire(key, STATS_TTL)
            pipe.execute()
    except redis.RedisError as err:  # statistics must never fail a task
        log.debug("task counter not updated: %s", err)


def task_rates(client: redis.Redis, minutes: int = 5, now: float | None = None) -> dict[str, float]:
    """Tasks per minute by task name, over the last `minutes` minutes (the current, partial one included)."""
    now = now if now is not None else time.time()
    totals = task_counts(client, minutes, now)
    span = minutes - 1 + (now % 60) / 60  # in minutes; never zero, the window starts a whole minute back
    return {name: count / span for name, count in totals.items()} if span > 0 else {}


def task_counts(client: redis.Redis, minutes: int = 60, now: float | None = None) -> dict[str, int]:
    """Tasks ended by task name (`name!failed`: those that ended FAILURE), over the last `minutes` minutes."""
    now = now if now is not None else time.time()
    current = int(now // 60)
    with client.pipeline() as pipe:
        for minute in range(current - minutes + 1, current + 1):
            pipe.hgetall(f"{STATS_PREFIX}{minute}")
        hashes = pipe.execute()
    totals: dict[str, int] = {}
    for counts in hashes:
        for name, count in counts.items():
            key = name.decode() if isinstance(name, bytes) else str(name)
            totals[key] = totals.get(key, 0) + int(count)
    return dict(sorted(totals.items()))


def queue_status(client: redis.Redis) -> dict[str, Any]:
    holder = client.get(LOCK_KEY)
    return {
        "queued": sum(int(client.llen(name)) for name in all_queues()),
        # Delivered to a worker and not yet acknowledged: running, or held for a countdown.
        "unacked": int(client.hlen("unacked")),
        # Sent and not ended yet (worker.ledger): queued, running, scheduled, or lost and soon sent again.
        "ledgered": outstanding(client),
        "beat": (holder.decode() if isinstance(holder, bytes) else holder) or None,
        "tasks_per_minute": task_rates(client),
        "tasks_last_hour": task_counts(client, 60),
    }


def store_status(session: Session) -> dict[str, Any]:
    hour_ago = utcnow() - timedelta(hours=1)
    now = utcnow()

    def count(query: Any) -> int:
        return int(session.scalar(query) or 0)

    return {
        "documents": count(select(func.count()).select_from(Document)),
        "documents_last_hour": count(select(func.count()).select_from(Document).where(Document.fetched >= hour_ago)),
        "clusters": count(select(func.count()).select_from(Cluster)),
        "copies": count(select(func.count()).select_from(Cluster).where(Cluster.size > 1)),
        "failures_last_hour": count(select(func.count()).select_from(Failure).where(Failure.last_seen >= hour_ago)),
        "sources": count(select(func.count()).select_from(Source)),
        "sources_due": count(select(func.count()).select_from(Source).where(Source.next_poll <= now)),
        "sources_failing": count(select(func.count()).select_from(Source).where(Source.last_error.is_not(None))),
    }
