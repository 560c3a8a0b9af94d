"""A ledger of the copydesk tasks sent, so that a task message the broker lost is sent again.

Why: kombu's Redis transport takes a message off its queue with BRPOP and records it as delivered but
not acknowledged (the `unacked` hash that acks_late and the visibility timeout rely on) only in a second
round trip (celery/kombu#305, celery/celery#4354). A worker killed between the two loses the message for
good: it is in no queue and in no `unacked` entry. Every process that sends copydesk tasks (worker, beat,
`copydesk enqueue`, anything that imports copydesk and sends with Celery) records each task here before
its message is published, and the worker forgets it once the task has ended. `recover()`, run by the
repair task, sends again a recorded task that is neither queued nor delivered.

In Redis, next to the queues: the hash `copydesk:ledger` (task id -> JSON of name, args, kwargs, queue,
sent time) and one sorted set per queue, `copydesk:ledger:<queue>` (task id scored by the sent time).
Every message sent to a copydesk queue also carries its sent time in the header `copydesk_sent`.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

import redis
from celery import Celery, Task, current_app, states
from celery.exceptions import Reject
from celery.signals import before_task_publish, task_postrun

from worker.app import INGEST_PAGES, INGEST_TEXT, INGEST_URL, POLL_SOURCE
from worker.config import redis_client_url
from worker.routing import all_queues

log = logging.getLogger(__name__)

LEDGER = "copydesk:ledger"
SENT_HEADER = "copydesk_sent"
# Tasks worth recording: small messages that would be lost whole. Not ingest_html (its message is the
# page itself: a copy in the ledger would double what Redis holds), nor repair and dispatch (beat sends
# them again anyway).
LEDGERED = frozenset({INGEST_URL, INGEST_PAGES, INGEST_TEXT, POLL_SOURCE})
# Bytes of JSON: a bigger task (ingest_text of a long text, ingest_pages with inline HTML) is not recorded.
# An ingest_pages batch of pages pushed through Redis (worker.push) carries only their keys and is
# recorded whatever its size: a few hundred bytes a page, where the pages themselves are kept apart.
MAX_ENTRY = 16 * 1024
# An entry is a candidate only if it was sent this much before the oldest queued message (or before now,
# if its queue is empty): a producer stamps a message's time a moment before it reaches its queue, two
# producers' messages may reach it in the other order, and their clocks may disagree a little.
GRACE = 5.0
# A candidate is sent again only if it is still missing this long after the first look: a message a
# worker has just taken (BRPOP done, `unacked` not yet written) shows up in `unacked` meanwhile.
CONFIRM = 1.0


def queue_key(queue: str) -> str:
    return f"{LEDGER}:{queue}"


@functools.cache
def _client(url: str) -> redis.Redis:
    # redis-py's connection pool reconnects after a fork, so one client per broker serves the process.
    return redis.Redis.from_url(redis_client_url(url), socket_timeout=10, socket_connect_timeout=10)


def broker_client(app: Celery) -> redis.Redis | None:
    """A client of app's broker, where the ledger is kept next to the queues; None if it is not Redis."""
    url = app.conf.broker_url
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "redis+socket://", "unix://")):
        return None
    return _client(url)


def entry_of(name: str, body: Any, queue: str, sent: float) -> str | None:
    """The JSON recorded for a task, or None if it is not one to record (see LEDGERED, MAX_ENTRY)."""
    if name not in LEDGERED or queue not in all_queues():
        return None
    # Celery's message protocol 2: the body is (args, kwargs, embed).
    if not isinstance(body, list | tuple) or len(body) < 2:
        return None
    try:
        entry = json.dumps({"task": name, "args": body[0], "kwargs": body[1], "queue": queue, "sent": sent})
    except (TypeError, ValueError):  # not JSON: the broker's serializer would refuse it too
        return None
    return entry if len(entry) <= MAX_ENTRY or _claim_checks(name, body[0]) else None


def _claim_checks(name: str, args: Any) -> bool:
    """Whether args are those of an ingest_pages batch whose pages are all kept in Redis (worker.push)."""
    pages = args[0] if name == INGEST_PAGES and isinstance(args, list) and args else None
    return isinstance(pages, list) and all(isinstance(page, dict) and "html" not in page for page in pages)


@before_task_publish.connect
def _record(
    sender: str | None = None,
    body: Any = None,
    routing_key: str | None = None,
    headers: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    """Stamp the message with its sent time, and record it if it is one of LEDGERED.

    Signals are process-wide: this sees what any Celery app of this process sends. The ledger is written
    to the broker of the current app (the one a process made last: the worker's, beat's, the client of
    `copydesk enqueue`); a task sent again with the same id (Task.retry, politeness.defer) updates its entry.
    """
    if headers is None or not routing_key or routing_key not in all_queues():
        return
    sent = time.time()
    headers[SENT_HEADER] = sent  # the message's own header: recovery reads it off the oldest queued message
    task_id = headers.get("id")
    entry = entry_of(str(sender), body, routing_key, sent)
    client = broker_client(current_app)
    if entry is None or not isinstance(task_id, str) or client is None:
        return
    try:
        with client.pipeline() as pipe:  # MULTI/EXEC: never an entry without its place in the queue's set
            pipe.hset(LEDGER, task_id, entry)
            pipe.zadd(queue_key(routing_key), {task_id: sent})
            pipe.execute()
    except redis.RedisError as err:
        # The publish that follows goes to the same Redis and will say so; the task is only unguarded.
        log.warning("could not record %s[%s] in the ledger: %s", sender, task_id, err)


@task_postrun.connect
def _forget(
    sender: Task | None = None, task_id: str | None = None, state: str | None = None, retval: Any = None, **_: Any
) -> None:
    """Forget a task that has ended for good.

    Runs in the pool process before the message is acknowledged: if the process dies between the two,
    the unacknowledged message comes back (acks_late), runs again and is forgotten then. A retry (and
    politeness.defer) has sent the task again under the same id: its entry is the new message's.
    """
    if sender is None or task_id is None or sender.name not in LEDGERED or state == states.RETRY:
        return
    client = broker_client(sender.app)
    if client is None:
        return
    try:
        if state == states.REJECTED and not (isinstance(retval, Reject) and not retval.requeue):
            # Back in its queue, at the far end (kombu LPUSHes a rejected message): recovery must see it
            # as sent now, or every message sent since would make it look taken.
            queue = (sender.request.delivery_info or {}).get("routing_key")
            if queue:
                client.zadd(queue_key(queue), {task_id: time.time()}, xx=True)
            return
        forget(client, [task_id])
    except redis.RedisError as err:  # it stays: recovery only sends it again if it is nowhere
        log.warning("could not forget %s[%s] in the ledger: %s", sender.name, task_id, err)


def forget(client: redis.Redis, task_ids: Sequence[str]) -> None:
    """Remove task_ids from the ledger (the hash, and the set of every queue)."""
    if not task_ids:
        return
    with client.pipeline() as pipe:
        pipe.hdel(LEDGER, *task_ids)
        for queue in all_queues():
            pipe.zrem(queue_key(queue), *task_ids)
        pipe.execute()


def outstanding(client: redis.Redis) -> int:
    """How many recorded tasks have not ended yet (queued, running, or lost and not yet sent again)."""
    return int(client.hlen(LEDGER))


def recover(
    app: Celery,
    client: redis.Redis,
    queues: Iterable[str] | None = None,
    grace: float = GRACE,
    confirm: float = CONFIRM,
) -> list[str]:
    """Send again every recorded task whose message is neither queued nor delivered; their ids.

    In each queue, the rightmost message (kombu LPUSHes, workers BRPOP from the right and restored
    messages go back on the right) is the oldest still queued, so every entry sent before it has been
    taken from the queue. Such an entry that no `unacked` message carries was lost between BRPOP and the
    `unacked` write. The look is made twice, `confirm` seconds apart, and only what both find missing, with
    the same entry, is sent again: a message a worker was taking at the first look (BRPOP done, `unacked`
    not yet written), or one a producer was still publishing, is in place by the second. Cost: one LINDEX
    and one ZRANGEBYSCORE per queue, the candidates and the `unacked` hash; never a walk over a queue.

    A false positive (producers whose clocks disagree by more than `grace`, a message restored to the far
    end of its queue after its worker died) only runs a task twice, which is harmless: every copydesk task
    can run again (ingest_url finds the URL already stored, a poll finds no new entry).
    """
    chosen = list(queues) if queues is not None else all_queues()
    unacked_key = _transport_option(app, "unacked_key", "unacked")
    first = _missing(client, chosen, grace, unacked_key)
    if not first:
        return []
    time.sleep(confirm)
    second = _missing(client, chosen, grace, unacked_key)
    resent = []
    for task_id in sorted(first.keys() & second.keys()):
        if first[task_id] != second[task_id]:  # sent again meanwhile (a retry, another recovery)
            continue
        entry = json.loads(second[task_id])
        app.send_task(entry["task"], args=entry["args"], kwargs=entry["kwargs"], queue=entry["queue"], task_id=task_id)
        log.warning(
            "re-queued %s[%s] %s to %s: sent %.0f s ago, it is in no queue and no worker holds it "
            "(a worker died as it took it: kombu#305)",
            entry["task"],
            task_id,
            json.dumps(entry["args"])[:200],
            entry["queue"],
            time.time() - float(entry["sent"]),
        )
        resent.append(task_id)
    return resent


def _missing(client: redis.Redis, queues: Sequence[str], grace: float, unacked_key: str) -> dict[str, bytes]:
    """The entries (task id -> JSON) taken from their queue and held by no worker, as of now."""
    candidates: dict[str, bytes] = {}
    for queue in queues:
        before = _taken_before(client, queue, grace)
        if before is None:
            continue
        ids = [_text(i) for i in cast(list[bytes], client.zrangebyscore(queue_key(queue), "-inf", f"({before}"))]
        for task_id, entry in zip(ids, _entries(client, ids), strict=True):
            # Forgotten meanwhile (the task ended), or sent again to another queue since: not lost from this one.
            if entry is None or json.loads(entry).get("queue") != queue:
                client.zrem(queue_key(queue), task_id)
            else:
                candidates[task_id] = entry
    if not candidates:
        return {}
    held = _delivered(client, unacked_key)
    return {task_id: entry for task_id, entry in candidates.items() if task_id not in held}


def _taken_before(client: redis.Redis, queue: str, grace: float) -> float | None:
    """A time before which every message sent to queue has been taken from it; None if unknown."""
    raw = cast(bytes | None, client.lindex(queue, -1))
    if raw is None:
        return time.time() - grace
    try:
        headers = json.loads(raw)["headers"]
        sent = headers.get(SENT_HEADER)
        if sent is None:  # sent without copydesk's signal (a foreign client): perhaps recorded all the same
            sent = client.zscore(queue_key(queue), str(headers.get("id")))
    except (ValueError, KeyError, TypeError, AttributeError):
        sent = None
    if sent is None:
        log.info("the oldest message in %s has no known sent time: not looking for lost tasks there now", queue)
        return None
    return float(sent) - grace


def _entries(client: redis.Redis, ids: Sequence[str]) -> list[bytes | None]:
    return cast(list[bytes | None], client.hmget(LEDGER, list(ids))) if ids else []


def _delivered(client: redis.Redis, unacked_key: str) -> set[str]:
    """Ids of the tasks delivered to a worker and not acknowledged (kombu's `unacked` hash)."""
    ids = set()
    for raw in cast(list[bytes], client.hvals(unacked_key)):
        try:  # kombu stores [message, exchange, routing_key]
            task_id = json.loads(raw)[0]["headers"]["id"]
        except (ValueError, KeyError, TypeError, IndexError):
            continue
        if isinstance(task_id, str):
            ids.add(task_id)
    return ids


def _transport_option(app: Celery, name: str, default: str) -> str:
    options = app.conf.broker_transport_options or {}
    return str(options.get(name, default))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
