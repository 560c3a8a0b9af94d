"""The ledger of sent tasks (worker/ledger.py) on a real Redis, with kombu's own consumer and no worker:
a message taken off its queue by a process that died before recording it in `unacked` (kombu#305) is
sent again, and nothing queued or delivered is."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from celery import Celery, states
from celery.exceptions import Reject
from celery.signals import task_postrun
from kombu import Connection

from worker import ledger
from worker.app import INGEST_HTML, INGEST_PAGES, INGEST_URL, make_celery
from worker.cli import _celery_client
from worker.config import Settings, celery_broker_url
from worker.routing import QUEUE, queue_for


@pytest.fixture
def app(redis_url: str, redis_client: redis.Redis) -> Celery:
    """copydesk's app on the test Redis (made last, so it is the current app the ledger writes through)."""
    return make_celery(dataclasses.replace(Settings.from_env(), redis_url=redis_url))


def queued(client: redis.Redis, queue: str) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in client.lrange(queue, 0, -1)]


def ids_in(client: redis.Redis, queue: str) -> list[str]:
    return [message["headers"]["id"] for message in queued(client, queue)]


class EndedTask:
    """What the ledger reads of the task that ended (signal senders must be hashable)."""

    name = INGEST_URL

    def __init__(self, app: Celery, queue: str) -> None:
        self.app = app
        self.request = SimpleNamespace(delivery_info={"routing_key": queue})


def ended(app: Celery, task_id: str, state: str = states.SUCCESS, retval: Any = None, queue: str = QUEUE) -> None:
    """task_postrun as a worker's pool process sends it when a task ends."""
    task = EndedTask(app, queue)
    task_postrun.send(sender=task, task_id=task_id, task=task, args=[], kwargs={}, retval=retval, state=state)


def test_a_task_taken_by_a_worker_that_died_is_sent_again_and_nothing_else(
    app: Celery, redis_url: str, redis_client: redis.Redis
) -> None:
    sent = [app.send_task(INGEST_URL, args=[f"https://a.example/{i}"]).id for i in range(4)]
    time.sleep(0.01)
    host_queue = queue_for("https://b.example/x")
    cli = _celery_client(redis_url)  # what `copydesk enqueue` sends with
    by_cli = cli.send_task(INGEST_URL, args=["https://b.example/x"], kwargs={"refresh": False}, queue=host_queue).id
    for task_id in [*sent, by_cli]:
        assert redis_client.hexists(ledger.LEDGER, task_id)
    entry = json.loads(redis_client.hget(ledger.LEDGER, by_cli))  # type: ignore[arg-type]
    assert (entry["task"], entry["args"], entry["kwargs"], entry["queue"]) == (
        INGEST_URL,
        ["https://b.example/x"],
        {"refresh": False},
        host_queue,
    )
    assert all(ledger.SENT_HEADER in message["headers"] for message in queued(redis_client, QUEUE))

    # The oldest message, taken with BRPOP by a worker SIGKILLed before it wrote `unacked`: gone.
    lost = redis_client.rpop(QUEUE)
    assert json.loads(lost)["headers"]["id"] == sent[0]  # type: ignore[arg-type]
    # The next one, taken by kombu's consumer and not acknowledged: in `unacked`, as a running task is.
    with Connection(celery_broker_url(redis_url)) as conn:
        message = conn.default_channel.basic_get(QUEUE, no_ack=False)
        assert message is not None and message.headers["id"] == sent[1]
        assert redis_client.hlen("unacked") == 1
        # The third one ran and ended: the worker forgot it.
        redis_client.rpop(QUEUE)
        ended(app, sent[2])
        assert not redis_client.hexists(ledger.LEDGER, sent[2])
        # The host queue's only message, lost the same way: an empty queue, and the entry past the grace.
        redis_client.rpop(host_queue)

        resent = ledger.recover(app, redis_client, grace=0.0, confirm=0.0)

        assert sorted(resent) == sorted([sent[0], by_cli])
        # Back in its queue, with its id and its arguments, behind the one still queued.
        assert ids_in(redis_client, QUEUE) == [sent[0], sent[3]]
        again = queued(redis_client, QUEUE)[0]
        assert again["headers"]["task"] == INGEST_URL
        assert json.loads(base64.b64decode(again["body"]))[:2] == [["https://a.example/0"], {}]
        assert ids_in(redis_client, host_queue) == [by_cli]
        assert redis_client.hlen("unacked") == 1  # the delivered one is left to its worker
        # Re-sent tasks are recorded again (as sent now): a second look finds nothing missing.
        assert redis_client.hexists(ledger.LEDGER, sent[0])
        assert ledger.recover(app, redis_client, grace=0.0, confirm=0.0) == []
        message.ack()


def test_a_task_that_goes_back_to_its_queue_or_is_retried_stays_in_the_ledger(
    app: Celery, redis_client: redis.Redis
) -> None:
    task_id = app.send_task(INGEST_URL, args=["https://a.example/r"]).id
    before = redis_client.zscore(ledger.queue_key(QUEUE), task_id)
    ended(app, task_id, states.RETRY)  # Task.retry and politeness.defer sent it again under its id
    assert redis_client.hexists(ledger.LEDGER, task_id)
    # Reject(requeue=True): back at the far end of its queue, so recorded as sent now.
    ended(app, task_id, states.REJECTED, Reject("outage", requeue=True))
    assert redis_client.hexists(ledger.LEDGER, task_id)
    assert (redis_client.zscore(ledger.queue_key(QUEUE), task_id) or 0) > (before or 0)
    ended(app, task_id, states.FAILURE)
    assert not redis_client.hexists(ledger.LEDGER, task_id)
    assert redis_client.zscore(ledger.queue_key(QUEUE), task_id) is None
    # The same id sent again (a retry) updates its one entry.
    app.send_task(INGEST_URL, args=["https://a.example/r"], task_id=task_id)
    app.send_task(INGEST_URL, args=["https://a.example/r"], task_id=task_id, countdown=5)
    assert ledger.outstanding(redis_client) == 1


def test_big_or_inline_pages_and_foreign_queues_are_not_recorded(app: Celery, redis_client: redis.Redis) -> None:
    app.send_task(INGEST_HTML, args=["<html><p>a page</p></html>", "https://a.example/h"])
    app.send_task(INGEST_URL, args=["https://a.example/" + "x" * ledger.MAX_ENTRY])
    app.send_task(INGEST_URL, args=["https://a.example/p"], queue="parked")
    big = "<html><p>" + "x" * ledger.MAX_ENTRY + "</p></html>"
    app.send_task(INGEST_PAGES, args=[[{"html": big, "url": None}]])
    assert ledger.outstanding(redis_client) == 0
    # A batch of pages kept in Redis is recorded at any size: it carries their keys, not the pages.
    refs = [{"stored": f"copydesk:pushed:{i:032x}", "url": f"https://a.example/{i}"} for i in range(500)]
    app.send_task(INGEST_PAGES, args=[refs])
    assert ledger.outstanding(redis_client) == 1
    # Every message to a copydesk queue carries its sent time all the same: recovery reads it.
    assert all(ledger.SENT_HEADER in message["headers"] for message in queued(redis_client, QUEUE))


def test_a_queue_whose_oldest_message_has_no_known_time_is_left_for_later(
    app: Celery, redis_client: redis.Redis
) -> None:
    lost = app.send_task(INGEST_URL, args=["https://a.example/l"]).id
    redis_client.rpop(QUEUE)
    # A message from a system that sends without copydesk's signal handlers: no sent time, no entry.
    foreign = queued_without_header(app, redis_client)
    assert ledger.recover(app, redis_client, grace=0.0, confirm=0.0) == []
    redis_client.rpop(QUEUE)
    assert foreign not in ids_in(redis_client, QUEUE)
    assert ledger.recover(app, redis_client, grace=0.0, confirm=0.0) == [lost]


def queued_without_header(app: Celery, client: redis.Redis) -> str:
    task_id = app.send_task(INGEST_URL, args=["https://a.example/f"]).id
    raw = client.lpop(QUEUE)
    message = json.loads(raw)  # type: ignore[arg-type]
    del message["headers"][ledger.SENT_HEADER]
    client.hdel(ledger.LEDGER, task_id)
    client.zrem(ledger.queue_key(QUEUE), task_id)
    client.lpush(QUEUE, json.dumps(message))
    return str(task_id)


def test_any_client_of_a_process_that_imported_copydesk_records(redis_url: str, redis_client: redis.Redis) -> None:
    """Signals are process-wide: a plain Celery client (another system's code, the fault tests' client)
    records too, into its own broker."""
    client = Celery("elsewhere", broker=celery_broker_url(redis_url))
    task_id = client.send_task(INGEST_URL, args=["https://a.example/e"], queue=QUEUE).id
    assert json.loads(redis_client.hget(ledger.LEDGER, task_id))["args"] == ["https://a.example/e"]  # type: ignore[arg-type]
