"""Pushing pages to the worker from Python: `push_pages(app, redis_client, pages)`.

Each page's HTML is kept in Redis under a key of its own, and the copydesk.ingest_pages task carries
only the keys (a claim check). The broker, and the worker's main process that hands every message to
a pool process, then move a few hundred bytes a batch instead of the pages themselves: with the HTML
in the message, that hand-over cost the worker ~5 ms a page (bench/through_worker.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import redis
from celery import Celery

from worker import ledger  # noqa: F401 - records the batches sent (its signal handlers are process-wide)
from worker.app import INGEST_PAGES
from worker.config import PUSH_BATCH_SIZE

PUSHED_PREFIX = "copydesk:pushed:"
# A pushed page waits this long for a worker; one still queued after that is recorded as `expired`.
PUSHED_TTL = 7 * 24 * 3600

# (html, url or None), or (html, url or None, name), or (html, url or None, name, fetched): a name (a file's
# path) says which page a failure is about; fetched (a WARC-Date) is stored as the document's fetch time.
Page = (
    tuple[str, str | None]
    | tuple[str, str | None, str | None]
    | tuple[str, str | None, str | None, datetime | None]
)


def push_pages(
    app: Celery,
    client: redis.Redis,
    pages: Iterable[Page],
    batch_size: int = PUSH_BATCH_SIZE,
    queue: str = "copydesk",
) -> list[str]:
    """Queue (html, url or None[, name]) pages for ingestion, `batch_size` to a task; the ids of the tasks sent."""
    sent: list[str] = []
    batch: list[Page] = []
    for page in pages:
        batch.append(page)
        if len(batch) == batch_size:
            sent.append(_send(app, client, batch, queue))
            batch = []
    if batch:
        sent.append(_send(app, client, batch, queue))
    return sent


def _send(app: Celery, client: redis.Redis, batch: list[Page], queue: str) -> str:
    refs = []
    with client.pipeline(transaction=False) as pipe:
        for html, url, *extra in batch:
            ref = PUSHED_PREFIX + uuid.uuid4().hex
            pipe.set(ref, html.encode("utf-8", "surrogatepass"), ex=PUSHED_TTL)
            entry = {"stored": ref, "url": url, "key": url or pushed_key(html)}
            if extra and extra[0]:
                entry["name"] = str(extra[0])
            if len(extra) > 1 and isinstance(extra[1], datetime):
                entry["fetched"] = extra[1].isoformat()
            refs.append(entry)
        pipe.execute()  # the pages are in Redis before any worker can see the task
    # What Flower and the worker's log show as the task's arguments: the pages' names, not Redis keys.
    argsrepr = describe(refs)
    return str(app.send_task(INGEST_PAGES, args=[refs], queue=queue, argsrepr=argsrepr).id)


def describe(refs: Sequence[dict[str, str | None]], most: int = 5) -> str:
    """`3 pages: a.html, b.html, https://x.example/c`: a batch as an operator reads it."""
    names = [ref.get("name") or ref.get("url") or str(ref.get("key")) for ref in refs]
    shown = ", ".join(str(name) for name in names[:most])
    more = f", and {len(names) - most} more" if len(names) > most else ""
    return f"[{len(names)} page{'s' if len(names) != 1 else ''}: {shown}{more}]"


def pushed_key(content: str) -> str:
    """The key a page or text pushed without a URL is stored under: its content's digest."""
    return f"pushed:{digest(content)}"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]
