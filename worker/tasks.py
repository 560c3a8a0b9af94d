"""Celery tasks: thin wrappers that hand pages to the archive and record every failure with its reason."""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

import redis
import sqlalchemy.exc
from celery import Task
from celery.exceptions import Reject, Retry, SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_ready
from sqlalchemy import select

from ingest.document import Article
from ingest.extract import ExtractionError, extract, host_of
from ingest.fetch import FetchError
from ingest.urls import normalise
from storage.archive import Archive, Arrival, Stored
from storage.db import make_engine, make_sessionmaker
from storage.index import IndexIncomplete, RedisIndex
from storage.models import Document
from storage.refill import refill
from worker.app import INGEST_HTML, INGEST_PAGES, INGEST_TEXT, INGEST_URL, REPAIR, app, settings
from worker.collector import tune_collector
from worker.config import redis_client_url
from worker.ledger import recover
from worker.limits import PageTimeLimitExceeded, time_limit
from worker.politeness import Deferred, defer, polite_fetch
from worker.push import PUSHED_TTL, digest, pushed_key

log = logging.getLogger(__name__)

ATTEMPTS_PREFIX = "copydesk:attempts:"
# Pages of an ingest_pages batch go to the archive this many at a time (four transactions each).
ARCHIVE_BATCH = 64
# A task that meets an unfilled index fills it for up to this share of the task time limit at a time,
# and goes back to the queue if it is not filled by this share of the limit since the task began (the
# soft limit is at 0.8).
REFILL_STEP = 0.15
INDEX_PATIENCE = 0.6
ATTEMPTS_TTL = 24 * 3600  # a page that kills workers only now and then is forgiven after a day
# Our own infrastructure failing for a moment (Redis or the database restarting, a failover), not the page.
OUTAGES = (redis.ConnectionError, redis.TimeoutError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)

T = TypeVar("T")


class PageFailed(Exception):
    """A page that could not be ingested, already recorded (`copydesk failures`).

    Raised at the very end of its task so that the task ends in the FAILURE state with the recorded
    reason as its error (Flower, `copydesk status`), and is never retried: no task retries on an
    exception by itself, and with task_acks_on_failure_or_timeout (Celery's default) a task that raises
    is acknowledged, not delivered again.
    """

    def __init__(self, key: str, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.key = key
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.key, self.reason, self.message))


class ArchiveTask(Task):
    """Owns the per-process archive (engine, index client) and turns any failure into a record."""

    abstract = True
    # Expected: the worker logs a PageFailed as the task's end, without a traceback.
    throws = (PageFailed,)
    began = 0.0  # time.monotonic() when the task being run began (before_start)

    @cached_property
    def redis(self) -> redis.Redis:
        # Built lazily in each worker process: connections must not cross a fork.
        return redis.Redis.from_url(settings.redis_url or redis_client_url(app.conf.broker_url))

    @cached_property
    def archive(self) -> Archive:
        engine = make_engine(settings.database_url)
        index = RedisIndex(self.redis, "default", window_days=settings.index_window_days, require_filled=True)
        return Archive(make_sessionmaker(engine), index)

    def add_page(self, html: str | bytes, key: str, url: str | None = None, charset: str | None = None) -> Stored:
        """Archive.add_html, with the extraction under the page time limit."""
        with time_limit(settings.page_time_limit):
            article = extract(html, url, charset=charset)
        return self.into_archive(functools.partial(self.archive.add, article, key=key, final_url=url))

    def guarded(self, key: str, work: Callable[[], Stored]) -> dict[str, Any]:
        """Run work() for the page `key`; its outcome, read back from storage at the very end.

        A failure is recorded against `key`, then raised as PageFailed (after the delivery ended, so
        that the poison guard's count is cleared): the task ends as FAILURE with the recorded reason.
        """
        with self.delivery(key) as attempts:
            if attempts > settings.max_attempts:
                message = f"the worker process died {attempts - 1} times processing this page (crash, OOM, time limit)"
                result = self._failed(key, "poison", message)
            else:
                result = self._run(key, work)
        return self.final(key, result)

    def final(self, key: str, result: dict[str, Any]) -> dict[str, Any]:
        """The task's result: PageFailed for a recorded failure, else the document and the cluster it is
        in now, read from storage (a later settle of its cluster, by this task or another, may have moved
        it since the archive answered), so that `copydesk show CLUSTER` agrees with it."""
        if result["status"] == "failed":
            raise PageFailed(key, result["reason"], result["message"])
        document = result.get("document")
        if isinstance(document, int):
            result["cluster"] = self._patiently(functools.partial(self.cluster_of, document))
        return result

    def cluster_of(self, document: int) -> int | None:
        with self.archive.sessions() as session:
            return session.scalar(select(Document.cluster_id).where(Document.id == document))

    @contextlib.contextmanager
    def delivery(self, key: str) -> Iterator[int]:
        """Count this delivery of `key`'s work in Redis; yields how many deliveries there have been.

        What cannot be caught is a page that kills the worker process itself (the hard time limit,
        a segfault, the OOM killer): Celery re-queues its task (task_reject_on_worker_lost) and it
        would kill the next worker too, forever. So each delivery counts itself before the work and
        clears the count when it ends in a live process: a count above 1 means earlier deliveries died.
        """
        attempts_key = attempts_key_of(key)
        attempts = self._patiently(functools.partial(self._count_attempt, attempts_key))
        try:
            yield attempts
        except (Retry, Reject):  # this delivery ends normally too: a retry is scheduled, or it goes back to the queue
            with contextlib.suppress(*OUTAGES):  # Redis may be what is down: the count then expires by itself
                self.redis.delete(attempts_key)
            raise
        # Not reached when the process is killed, nor on SystemExit (the child's SIGTERM): the count stays.
        self._patiently(functools.partial(self.redis.delete, attempts_key))

    def _count_attempt(self, attempts_key: str) -> int:
        with self.redis.pipeline() as pipe:  # MULTI/EXEC: the count never exists without its expiry
            pipe.incr(attempts_key)
            pipe.expire(attempts_key, ATTEMPTS_TTL)
            return int(pipe.execute()[0])

    def _patiently(self, call: Callable[[], T]) -> T:
        """call(), again while Redis or the database is unreachable, for up to half the task time limit.

        Every step of the archive can be done again safely, so a restart of Redis or of the database in
        the middle of a page costs a pause, not a failure recorded against a page that did nothing wrong.
        An outage that outlasts the patience sends the task back to the queue, untouched.
        """
        deadline = time.monotonic() + settings.task_time_limit * 0.5
        delay = 0.1
        while True:
            try:
                return call()
            except OUTAGES as err:
                delay = _pause(err, deadline, delay, f"{type(err).__name__}: {err}", logging.WARNING)

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        self.began = time.monotonic()

    def into_archive(self, call: Callable[[], T]) -> T:
        """call(), an archive write: patiently (through an outage of Redis or the database), and once the
        shared index holds the archive (see _once_indexed). Only call() is repeated, not the page's fetch
        or extraction."""
        return self._patiently(functools.partial(self._once_indexed, call))

    def _once_indexed(self, call: Callable[[], T]) -> T:
        """call(), once the shared index holds the archive.

        If Redis lost the index, the look-up refuses (IndexIncomplete) before anything is compared with
        it: fill it first (a resumable step of it) or wait for whoever is filling it, then call() again.
        Past INDEX_PATIENCE of the task time limit the task goes back to the queue; what it stored is
        settled when it comes back.
        """
        deadline = self.began + settings.task_time_limit * INDEX_PATIENCE
        delay = 0.1
        while True:
            try:
                return call()
            except IndexIncomplete as err:
                now = time.monotonic()
                if now < deadline and self.refill_index(min(now + settings.task_time_limit * REFILL_STEP, deadline)):
                    continue
                delay = _pause(err, deadline, delay, "the index is being filled again from storage", logging.INFO)

    def refill_index(self, until: float) -> bool:
        """storage.refill for the shared index until `until` (time.monotonic()); True once it is filled."""
        index = self.archive.index
        return refill(self.archive, index, until) if isinstance(index, RedisIndex) else True

    def _run(self, key: str, work: Callable[[], Stored]) -> dict[str, Any]:
        try:
            stored = self._patiently(work)
        except (Retry, Reject):
            raise
        except (Exception, PageTimeLimitExceeded) as err:
            reason, message = failure_of(err)
            if reason == "internal_error":
                log.error("ingesting %s failed", key, exc_info=err)
            return self._failed(key, reason, message)
        return outcome_of(stored)

    def add_all(self, arrivals: Sequence[Arrival], counts: dict[str, int]) -> None:
        """Archive.add_many, counting the outcomes; if the archive refuses the lot, each page on its own."""
        if not arrivals:
            return
        try:
            for stored in self.into_archive(functools.partial(self.archive.add_many, arrivals)):
                counts[outcome_of(stored)["status"]] += 1
            return
        except (Retry, Reject):
            raise
        except Exception:
            log.exception("a batch of %d pages failed; adding them one by one", len(arrivals))
        for arrival in arrivals:
            one = functools.partial(self.archive.add, arrival.article, arrival.key, arrival.final_url)
            add = functools.partial(self.into_archive, one)
            counts[self._run(arrival.storage_key, add)["status"]] += 1

    def load_pushed(self, pages: list[Any]) -> list[Any]:
        """The pages with each {"stored": key} replaced by the page kept in Redis, or by {"gone": key}."""
        refs = [ref for ref in map(_stored_ref, pages) if ref]
        if not refs:
            return pages
        kept = dict(zip(refs, self._patiently(functools.partial(self.redis.mget, refs)), strict=True))
        loaded = []
        for page in pages:
            ref = _stored_ref(page)
            blob = kept[ref] if ref else None
            if ref is None:
                loaded.append(page)
            elif isinstance(blob, bytes):
                html = blob.decode("utf-8", "surrogatepass")
                loaded.append({"html": html, "url": page.get("url"), "fetched": page.get("fetched")})
            else:
                loaded.append({"gone": ref, "url": page.get("url"), "key": page.get("key")})
        return loaded

    def _failed(self, key: str, reason: str, message: str) -> dict[str, Any]:
        self._patiently(functools.partial(self.archive.record_failure, key, reason, message))
        return {"status": "failed", "reason": reason, "message": message}


@app.task(name=INGEST_URL, base=ArchiveTask, bind=True, max_retries=None)
def ingest_url(self: ArchiveTask, url: str, refresh: bool = False) -> dict[str, Any]:
    """Fetch one URL (safely: see ingest.fetch) and ingest it. The same URL is stored once."""
    try:
        url = normalise(url)  # one spelling per URL: the same story from a feed and a link is one document
    except FetchError as err:
        key = str(url)[:2048] or "(empty)"
        return self.final(key, self._failed(key, err.reason, err.message))
    known = self._patiently(functools.partial(self.archive.find, url))
    if known is not None and not refresh:
        self.into_archive(functools.partial(self.archive.finish, known))  # settles it if a crash left it half-way
        return self.final(url, {"status": "known", "document": known})

    def work() -> Stored:
        try:
            page = polite_fetch(url)  # robots.txt, and this host's turn among all workers
        except Deferred as later:
            raise defer(self, later) from later
        except FetchError as err:
            if err.retryable and self.request.retries < settings.max_retries:
                # Exponential backoff with jitter, or what the server asked for.
                delay = err.retry_after if err.retry_after is not None else 2**self.request.retries * 5
                raise self.retry(countdown=delay + random.uniform(0, 1)) from err
            raise
        return self.add_page(page.body, key=url, url=page.final_url, charset=page.charset)

    return self.guarded(url, work)


@app.task(name=INGEST_HTML, base=ArchiveTask, bind=True)
def ingest_html(self: ArchiveTask, html: str, url: str | None = None) -> dict[str, Any]:
    """Ingest pushed HTML. Without a URL the page is keyed by its declared URL or its content."""
    key = url or pushed_key(html)
    return self.guarded(key, lambda: self.add_page(html, key=key, url=url))


@app.task(name=INGEST_PAGES, base=ArchiveTask, bind=True)
def ingest_pages(self: ArchiveTask, pages: list[dict[str, Any]]) -> dict[str, int]:
    """Ingest many pushed pages in one task: [{"html": ..., "url": ... or absent}, ...], or with
    {"stored": redis key} instead of "html" for a page kept in Redis (worker.push.push_pages).

    Each page ends as ingest_html would end it, at a fraction of the cost: one hand-over from the
    broker and four database transactions for the lot instead of for each page. A batch whose
    earlier delivery died with its process is not run whole again: each of its pages becomes an
    ingest_html task, so that the poison guard finds the page that kills workers. A batch that runs
    long queues what it has not started as a new batch, well before the task time limit.
    """
    loaded = self.load_pushed(pages)
    keys = [_key_of_pushed(page) for page in loaded]
    counts = {"stored": 0, "known": 0, "failed": 0, "split": 0, "deferred": 0}
    failed: list[str] = []  # "name: reason: message" of each page that failed, for the task's error

    def fail(number: int, err: BaseException) -> None:
        reason, message = failure_of(err)
        name = _name_of_pushed(pages[number])
        # A page pushed without a URL is keyed by a digest: its file name (when the pusher gave one) says
        # which page it is.
        self._failed(keys[number], reason, f"{name}: {message}" if name else message)
        failed.append(f"{name or keys[number]}: {reason}: {message}")
        counts["failed"] += 1

    done = len(pages)
    with self.delivery(batch_key(keys)) as attempts:
        deadline = time.monotonic() + settings.task_time_limit * 0.25
        arrivals: list[Arrival] = []
        for number, (key, page) in enumerate(zip(keys, loaded, strict=True)):
            if len(arrivals) >= ARCHIVE_BATCH:
                self.add_all(arrivals, counts)
                arrivals = []
            if time.monotonic() > deadline:
                ingest_pages.apply_async(args=[pages[number:]])  # as received: stored pages stay in Redis
                counts["deferred"] = len(pages) - number
                done = number
                break
            try:
                html, url = _pushed_page(page)
                if attempts > 1:
                    ingest_html.apply_async(args=[html, url])
                    counts["split"] += 1
                    continue
                with time_limit(settings.page_time_limit):
                    arrivals.append(Arrival(extract(html, url), key, url, _fetched_of_pushed(page)))
            except PushedPageGone as err:
                # Deleted by an earlier delivery that stored it and died before its acknowledgement?
                if self._patiently(functools.partial(self.archive.find, key)) is not None:
                    counts["known"] += 1
                else:
                    fail(number, err)
            except (Exception, PageTimeLimitExceeded) as err:
                fail(number, err)
        self.add_all(arrivals, counts)
    stored = [ref for ref in map(_stored_ref, pages[:done]) if ref]
    if stored:  # only now: a delivery that dies before this point finds them again
        self._patiently(functools.partial(self.redis.delete, *stored))
    if counts["failed"]:  # every page is recorded: now the task ends as FAILURE, naming them
        summary = "; ".join(failed[:5]) + (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
        others = ", ".join(f"{n} {status}" for status, n in counts.items() if n and status != "failed")
        message = f"{counts['failed']} of {len(pages)} pages failed ({others or 'none stored'}): {summary}"
        raise PageFailed(batch_key(keys), "pages_failed", message)
    return counts


@app.task(name=INGEST_TEXT, base=ArchiveTask, bind=True)
def ingest_text(
    self: ArchiveTask, title: str, text: str, url: str | None = None, published: str | None = None
) -> dict[str, Any]:
    """Ingest pushed plain text (a paragraph per line); `published` is an ISO 8601 date."""
    key = url or pushed_key(title + chr(10) + text)

    def work() -> Stored:
        if not text.strip():
            raise ExtractionError("no_article", "the pushed text is empty")
        date = datetime.fromisoformat(published) if published else None
        article = Article(
            text=text,
            title=title,
            url=url,
            host=host_of(url),
            published=date,
            published_source="meta" if date else None,
        )
        return self.into_archive(functools.partial(self.archive.add, article, key=key, final_url=url))

    return self.guarded(key, work)


@app.task(name=REPAIR, base=ArchiveTask, bind=True)
def repair(self: ArchiveTask) -> int:
    """Send again the tasks a dying worker lost (worker.ledger), refill the index if Redis lost it, and
    settle documents left unclustered by a crash (scheduled by beat, run when a worker starts, and safe
    to run any time)."""
    until = time.monotonic() + settings.task_time_limit * 0.5
    try:
        recover(self.app, self.redis)
    except OUTAGES as err:  # the next repair looks again; the rest of this one may still do its part
        log.warning("looking for lost tasks failed: %s", err)
    settled = 0
    try:
        if self.refill_index(until):
            settled = self.archive.repair(until)
            if time.monotonic() < until:
                return settled
    except IndexIncomplete:  # Redis lost the index again meanwhile
        pass
    # More to file or settle, or another process is filling: go on soon rather than at beat's next tick.
    repair.apply_async(countdown=5)
    return settled


@worker_process_init.connect
def _tune_collector(**_: Any) -> None:
    tune_collector()  # a pool process is copydesk's own: worker/collector.py


@worker_ready.connect
def _repair_on_start(sender: Any, **_: Any) -> None:
    # A worker that starts is often one that replaces a crashed one: finish what it left half-done
    # now rather than at beat's next repair tick.
    app.send_task(REPAIR)


def _pause(err: Exception, deadline: float, delay: float, why: str, level: int) -> float:
    """Sleep `delay` before trying again, or send the task back to the queue if that passes `deadline`
    (time.monotonic()); the next delay, doubled up to 5 s."""
    if time.monotonic() + delay > deadline:
        raise Reject(err, requeue=True) from err
    log.log(level, "%s; trying again in %.1f s", why, delay)
    time.sleep(delay)
    return min(delay * 2, 5.0)


def failure_of(err: BaseException) -> tuple[str, str]:
    """The (reason, message) a page's failure is recorded with."""
    if isinstance(err, ExtractionError | FetchError):
        return err.reason, err.message
    if isinstance(err, ValueError):  # bad pushed input, e.g. a malformed date
        return "invalid_input", str(err)
    if isinstance(err, PageTimeLimitExceeded):
        return "time_limit", f"extracting the page: {err}"
    if isinstance(err, PushedPageGone):
        return "expired", str(err)
    if isinstance(err, SoftTimeLimitExceeded):
        return "time_limit", "processing took longer than the task time limit"
    return "internal_error", f"{type(err).__name__}: {err}"


def outcome_of(stored: Stored) -> dict[str, Any]:
    status = "stored" if stored.created else "known"
    return {"status": status, "document": stored.document_id, "cluster": stored.cluster_id}


class PushedPageGone(Exception):
    """A page pushed through Redis (worker.push) that was no longer there when a worker took its task."""


def _pushed_page(page: Any) -> tuple[str, str | None]:
    """(html, url) of one page of an ingest_pages batch; ValueError if it is not one."""
    if isinstance(page, dict) and "gone" in page:
        raise PushedPageGone(f"{page['gone']} was no longer in Redis (kept {PUSHED_TTL // 86400} days): push it again")
    html = page.get("html") if isinstance(page, dict) else None
    url = page.get("url") if isinstance(page, dict) else None
    if not isinstance(html, str) or not (url is None or isinstance(url, str)):
        raise ValueError(f"a pushed page is {{'html': str, 'url': str or absent}}, not {str(page)[:200]}")
    return html, url or None


def _stored_ref(page: Any) -> str | None:
    """The Redis key of a page of an ingest_pages batch that was pushed through Redis."""
    ref = page.get("stored") if isinstance(page, dict) else None
    return ref if isinstance(ref, str) else None


def _name_of_pushed(page: Any) -> str | None:
    """The name the pusher gave a page (`copydesk push`: its file's path), if any."""
    name = page.get("name") if isinstance(page, dict) else None
    return name if isinstance(name, str) and name else None


def _fetched_of_pushed(page: Any) -> datetime | None:
    """When a pushed page was fetched, if its pusher said (`copydesk push` of a WARC: the WARC-Date)."""
    value = page.get("fetched") if isinstance(page, dict) else None
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:  # a wrong date is no reason to lose the page
        return None


def _key_of_pushed(page: Any) -> str:
    url = page.get("url") if isinstance(page, dict) else None
    if isinstance(url, str) and url:
        return url
    if isinstance(page, dict) and isinstance(page.get("gone"), str):
        return str(page.get("key") or page["gone"])  # the pusher names the key of a page without a URL
    html = page.get("html") if isinstance(page, dict) else None
    return pushed_key(html if isinstance(html, str) else repr(page))


def batch_key(keys: Sequence[str]) -> str:
    """The key a batch of pages counts its deliveries under (the poison guard)."""
    return "batch:" + digest(chr(10).join(keys))


def attempts_key_of(key: str) -> str:
    """The Redis key counting the deliveries of the page `key` (the poison guard)."""
    return ATTEMPTS_PREFIX + digest(key)
