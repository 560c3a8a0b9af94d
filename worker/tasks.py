"""Celery tasks: thin wrappers that hand pages to the archive and record every failure with its reason."""

from __future__ import annotations

import hashlib
import logging
import random
from datetime import datetime
from functools import cached_property
from typing import Any

import redis
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from ingest.document import Article
from ingest.extract import ExtractionError, host_of
from ingest.fetch import FetchError, check_url, fetch
from storage.archive import Archive
from storage.db import make_engine, make_sessionmaker
from storage.index import RedisIndex
from worker.app import INGEST_HTML, INGEST_TEXT, INGEST_URL, REPAIR, app, settings

log = logging.getLogger(__name__)


class ArchiveTask(Task):
    """Owns the per-process archive (engine, index client) and turns any failure into a record."""

    abstract = True

    @cached_property
    def archive(self) -> Archive:
        # Built lazily in each worker process: connections must not cross a fork.
        engine = make_engine(settings.database_url)
        client = redis.Redis.from_url(settings.redis_url or app.conf.broker_url)
        archive = Archive(make_sessionmaker(engine), RedisIndex(client, namespace="default"))
        return archive

    def guarded(self, key: str, work: Any) -> dict[str, Any]:
        """Run work(); any error is recorded against `key` and never escapes to kill the worker."""
        try:
            stored = work()
        except ExtractionError as err:
            self.archive.record_failure(key, err.reason, err.message)
            return {"status": "failed", "reason": err.reason}
        except ValueError as err:  # bad pushed input, e.g. a malformed date
            self.archive.record_failure(key, "invalid_input", str(err))
            return {"status": "failed", "reason": "invalid_input"}
        except SoftTimeLimitExceeded:
            self.archive.record_failure(key, "time_limit", "processing took longer than the task time limit")
            return {"status": "failed", "reason": "time_limit"}
        except Exception as err:
            log.exception("ingesting %s failed", key)
            self.archive.record_failure(key, "internal_error", f"{type(err).__name__}: {err}")
            return {"status": "failed", "reason": "internal_error"}
        return {
            "status": "stored" if stored.created else "known",
            "document": stored.document_id,
            "cluster": stored.cluster_id,
        }


@app.task(name=INGEST_URL, base=ArchiveTask, bind=True, max_retries=None)
def ingest_url(self: ArchiveTask, url: str, refresh: bool = False) -> dict[str, Any]:
    """Fetch one URL (safely: see ingest.fetch) and ingest it. The same URL is stored once."""
    try:
        url = check_url(url)
    except FetchError as err:
        self.archive.record_failure(str(url)[:2048] or "(empty)", err.reason, err.message)
        return {"status": "failed", "reason": err.reason}
    known = self.archive.find(url)
    if known is not None and not refresh:
        self.archive.finish(known)  # settles it only if an earlier attempt crashed half-way
        return {"status": "known", "document": known}
    try:
        page = fetch(url, settings.fetch)
    except FetchError as err:
        if err.retryable and self.request.retries < settings.max_retries:
            # Exponential backoff with jitter, or what the server asked for.
            delay = err.retry_after if err.retry_after is not None else 2**self.request.retries * 5
            raise self.retry(countdown=delay + random.uniform(0, 1)) from err
        self.archive.record_failure(url, err.reason, err.message)
        return {"status": "failed", "reason": err.reason}
    return self.guarded(
        url, lambda: self.archive.add_html(page.body, key=url, url=page.final_url, charset=page.charset)
    )


@app.task(name=INGEST_HTML, base=ArchiveTask, bind=True)
def ingest_html(self: ArchiveTask, html: str, url: str | None = None) -> dict[str, Any]:
    """Ingest pushed HTML. Without a URL the page is keyed by its declared URL or its content."""
    key = url or f"pushed:{_digest(html)}"
    return self.guarded(key, lambda: self.archive.add_html(html, key=key, url=url))


@app.task(name=INGEST_TEXT, base=ArchiveTask, bind=True)
def ingest_text(
    self: ArchiveTask, title: str, text: str, url: str | None = None, published: str | None = None
) -> dict[str, Any]:
    """Ingest pushed plain text (a paragraph per line); `published` is an ISO 8601 date."""
    key = url or f"pushed:{_digest(title + chr(10) + text)}"

    def work() -> Any:
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
        return self.archive.add(article, key=key, final_url=url)

    return self.guarded(key, work)


@app.task(name=REPAIR, base=ArchiveTask, bind=True)
def repair(self: ArchiveTask) -> int:
    """Settle documents left unclustered by a crash (scheduled by beat, and safe to run any time)."""
    return self.archive.repair()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:32]
