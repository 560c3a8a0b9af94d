"""Scheduled ingestion: the dispatcher beat wakes, and the poll of one source.

    beat ──every dispatch_every s──▶ copydesk.dispatch()        claims every due source (compare-and-set)
                                       └─▶ copydesk.poll_source(url)   one per due source
                                             ├ auto: discover the site's feeds and sitemaps (first poll)
                                             ├ each feed / sitemap / page: conditional GET (304 costs nothing)
                                             └ new entry URLs (normalised, robots-allowed, never queued
                                               before) ─▶ copydesk.ingest_url(url)

Every request goes through worker.politeness (robots.txt, per-host turns shared through Redis).
"""

from __future__ import annotations

import functools
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.feeds import FEED_CONTENT_TYPES, SITEMAP_GUESS, discover_feeds, kind_of, read, robots_sitemaps
from ingest.fetch import FetchedPage, FetchError, FetchPolicy
from ingest.robots import RobotsRules
from ingest.urls import normalise, origin
from storage.db import make_engine, make_sessionmaker
from storage.models import Source, SourceFeed, utcnow
from storage.sources import claim_due, claim_entries, stored_urls
from worker.app import DISPATCH, INGEST_URL, POLL_SOURCE, app, settings
from worker.politeness import Deferred, Polite, defer, polite
from worker.routing import queue_for

log = logging.getLogger(__name__)

MAX_FEEDS_PER_SOURCE = 50  # feeds + sitemaps (a sitemap index's children included) read by one source
# New entries queued from one feed or sitemap per poll. A site's archive sitemap can list 50,000 pages:
# they are taken in batches, one a poll, rather than flooding the queue at once.
MAX_NEW_PER_FEED = 5000
GONE = (404, 410)  # a feed answering this has moved or been dropped


@dataclass
class PollReport:
    url: str
    fetched: int = 0  # feeds, sitemaps and pages answered 200
    not_modified: int = 0  # answered 304
    listed: int = 0  # entry URLs they listed
    queued: int = 0  # ingest_url tasks sent
    found: int = 0  # entries this source listed first (the ones `sources list` counts as found, then stored)
    disallowed: int = 0  # entries robots.txt keeps us from
    errors: list[str] = field(default_factory=list)
    retry_after: float | None = None  # set when an error is worth retrying soon (429, 5xx, timeouts)


SendIngest = Callable[[str, bool], None]


class Poller:
    """Reads a source's feeds and queues their new entries. Knows nothing of Celery: tests drive it."""

    def __init__(self, sessions: sessionmaker[Session], fetcher: Polite, send: SendIngest) -> None:
        self.sessions = sessions
        self.fetcher = fetcher
        self.send = send
        self.policy: FetchPolicy = replace(fetcher.policy, accept_content_types=FEED_CONTENT_TYPES)

    def poll(self, url: str, refresh: bool = False) -> PollReport | None:
        """Poll the source `url` once; None if there is no such source. Raises Deferred."""
        with self.sessions() as session:
            source = session.scalar(select(Source).where(Source.url == url))
        if source is None:
            return None
        report = PollReport(url)
        prefetched: dict[str, FetchedPage] = {}
        if source.kind == "auto" and source.discovered is None:
            try:
                prefetched = self._discover(source)
            except FetchError as err:
                self._fetch_failed(report, err)
                self._finish(source.id, report)
                return report
        feeds = self._feeds(source)
        todo = deque(feeds)
        robots: dict[str, RobotsRules] = {}
        gone = 0
        while todo:
            feed = todo.popleft()
            try:
                page = prefetched.pop(feed.url, None) or self._fetch(feed)
            except FetchError as err:
                self._fetch_failed(report, err)
                self._save_feed(feed.id, None, err)
                gone += err.status in GONE
                continue
            if page.status == 304:
                report.not_modified += 1
                self._save_feed(feed.id, page, None)
                continue
            report.fetched += 1
            # Servers label XML every which way: what the document is beats what it was declared to be.
            detected = kind_of(page.body)
            listing = read(detected if detected != "page" else feed.kind, page.body, page.final_url)
            room = MAX_FEEDS_PER_SOURCE - len(feeds)
            for child in self._add_feeds(source.id, listing.sitemaps[: max(room, 0)], "sitemap", feeds):
                feeds.append(child)
                todo.append(child)
            self._queue(source.id, feed.id, listing.pages, page, refresh, report, robots)
        if source.kind == "auto" and feeds and gone == len(feeds):
            self._forget_feeds(source.id, report)
        self._finish(source.id, report)
        return report

    # ---- steps ----------------------------------------------------------------------------------

    def _discover(self, source: Source) -> dict[str, FetchedPage]:
        """Find what an `auto` source reads: it is a feed or sitemap itself, or a page that announces
        feeds (<link rel=alternate>) and whose robots.txt names sitemaps; else the page's own links."""
        page = self.fetcher.fetch(source.url, self.policy)
        kind = kind_of(page.body)
        fetched = {source.url: page}
        if kind != "page":
            found = [(source.url, kind)]
        else:
            found = [(feed, "feed") for feed in discover_feeds(page.body, page.final_url)]
            sitemaps = robots_sitemaps(self.fetcher.robots(source.url).text, source.url)
            if not sitemaps:  # the conventional place, tried once
                guess = normalise(origin(source.url) + SITEMAP_GUESS)
                try:
                    answer = self.fetcher.fetch(guess, self.policy)
                except FetchError:
                    answer = None
                if answer is not None and kind_of(answer.body) == "sitemap":
                    sitemaps, fetched[guess] = [guess], answer
            found += [(sitemap, "sitemap") for sitemap in sitemaps]
            if not found:
                found = [(source.url, "page")]
        with self.sessions() as session, session.begin():
            for url, what in found[:MAX_FEEDS_PER_SOURCE]:
                self._add_feed(session, source.id, url, what)
            row = session.get(Source, source.id)
            if row is not None:
                row.discovered = utcnow()
        log.info("source %s reads %s", source.url, ", ".join(f"{what} {url}" for url, what in found) or "nothing")
        return fetched

    def _forget_feeds(self, source_id: int, report: PollReport) -> None:
        """Every feed of an `auto` source is gone (404, 410): the site moved them; find them again next poll."""
        with self.sessions() as session, session.begin():
            session.execute(delete(SourceFeed).where(SourceFeed.source_id == source_id))
            row = session.get(Source, source_id)
            if row is not None:
                row.discovered = None
        report.errors.append("every feed is gone (404/410): they will be discovered again at the next poll")

    def _feeds(self, source: Source) -> list[SourceFeed]:
        with self.sessions() as session, session.begin():
            feeds = list(session.scalars(select(SourceFeed).where(SourceFeed.source_id == source.id)))
            if not feeds and source.kind != "auto":
                feeds = [self._add_feed(session, source.id, source.url, source.kind)]
            return sorted(feeds, key=lambda f: f.id)

    def _add_feeds(self, source_id: int, urls: list[str], kind: str, known: list[SourceFeed]) -> list[SourceFeed]:
        have = {feed.url for feed in known}
        new = [url for url in urls if url not in have]
        if not new:
            return []
        with self.sessions() as session, session.begin():
            return [self._add_feed(session, source_id, url, kind) for url in new]

    @staticmethod
    def _add_feed(session: Session, source_id: int, url: str, kind: str) -> SourceFeed:
        feed = session.scalar(select(SourceFeed).where(SourceFeed.source_id == source_id, SourceFeed.url == url))
        if feed is None:
            feed = SourceFeed(source_id=source_id, url=url, kind=kind)
            session.add(feed)
            session.flush()
        return feed

    def _fetch(self, feed: SourceFeed) -> FetchedPage:
        headers = {}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
        return self.fetcher.fetch(feed.url, self.policy, headers)

    def _queue(
        self,
        source_id: int,
        feed_id: int,
        urls: list[str],
        page: FetchedPage,
        refresh: bool,
        report: PollReport,
        robots: dict[str, RobotsRules],
    ) -> None:
        """Queue the entries no source queued before, and only then keep the feed's new validators:
        a crash in between fetches the feed again rather than forgetting its entries. So does a listing
        too long for one poll (MAX_NEW_PER_FEED): the next poll reads it in full again and goes on."""
        report.listed += len(urls)
        allowed = []
        for url in urls:
            key = origin(url)
            if key not in robots:
                try:
                    robots[key] = self.fetcher.robots(url)
                except FetchError:  # its robots.txt is unreachable: ingest_url will ask again later
                    robots[key] = RobotsRules()
            if robots[key].allowed(url, self.fetcher.user_agent):
                allowed.append(url)
            else:
                report.disallowed += 1
        with self.sessions() as session, session.begin():
            new, complete = claim_entries(session, source_id, allowed, limit=None if refresh else MAX_NEW_PER_FEED)
            stored = set() if refresh else stored_urls(session, new)
            todo = allowed if refresh else [url for url in new if url not in stored]
            for url in todo:
                self.send(url, refresh)
            report.queued += len(todo)
            report.found += len(new)
            self._update_feed(session, feed_id, page if complete else None, None)

    def _save_feed(self, feed_id: int, page: FetchedPage | None, error: FetchError | None) -> None:
        with self.sessions() as session, session.begin():
            self._update_feed(session, feed_id, page, error)

    @staticmethod
    def _update_feed(session: Session, feed_id: int, page: FetchedPage | None, error: FetchError | None) -> None:
        feed = session.get(SourceFeed, feed_id)
        if feed is None:
            return
        feed.last_fetched = utcnow()
        if page is not None:
            feed.last_status = page.status
            feed.etag = page.etag or feed.etag
            feed.last_modified = page.last_modified or feed.last_modified
            feed.last_error = None
        if error is not None:
            feed.last_status = error.status
            feed.last_error = str(error)[:2000]

    @staticmethod
    def _fetch_failed(report: PollReport, err: FetchError) -> None:
        report.errors.append(str(err))
        if err.retryable:
            wait = err.retry_after if err.retry_after is not None else 0.0
            report.retry_after = max(report.retry_after or 0.0, wait)

    def _finish(self, source_id: int, report: PollReport) -> None:
        with self.sessions() as session, session.begin():
            source = session.get(Source, source_id)
            if source is None:  # removed while it was being polled
                return
            source.last_poll = utcnow()
            source.polls += 1
            # Every entry this source claimed, whether it was queued or already stored: `sources list`
            # counts the stored ones among them, so STORED never exceeds FOUND.
            source.documents_found += report.found
            if report.errors:
                source.errors += 1
                source.last_error = "; ".join(report.errors)[:2000]
            else:
                source.last_error = None


# ---- Celery tasks --------------------------------------------------------------------------------


@functools.cache
def _sessions() -> sessionmaker[Session]:
    # Built on first use in each worker process: connections must not cross a fork.
    return make_sessionmaker(make_engine(settings.database_url))


@app.task(name=DISPATCH, bind=True)
def dispatch(self: Any) -> dict[str, int]:
    """Queue a poll of every due source (beat runs this every COPYDESK_DISPATCH_EVERY seconds)."""
    with _sessions()() as session, session.begin():
        claimed = claim_due(session, utcnow())
        # Sent before the claim commits: a crash in between polls a source twice, never zero times.
        with app.producer_or_acquire() as producer:
            for url in claimed:
                poll_source.apply_async(args=[url], producer=producer)
    return {"due": len(claimed)}


@app.task(name=POLL_SOURCE, bind=True, max_retries=None)
def poll_source(self: Any, url: str, refresh: bool = False) -> dict[str, Any]:
    """Read one source's feeds and sitemaps and queue the entries it has not queued before."""
    with app.producer_or_acquire() as producer:

        def send(entry: str, again: bool) -> None:
            # By name: the ingest task lives in worker.tasks, which this module need not import.
            app.send_task(
                INGEST_URL,
                args=[entry],
                kwargs={"refresh": True} if again else None,
                producer=producer,
                queue=queue_for(entry),  # one queue per host bucket: workers take sites in turn
            )

        try:
            report = Poller(_sessions(), polite(), send).poll(url, refresh)
        except Deferred as later:
            raise defer(self, later) from later
    if report is None:
        return {"status": "gone", "url": url}
    if report.retry_after is not None and self.request.retries < settings.max_retries:
        # What did arrive is queued already; the retry re-reads the rest (unchanged feeds answer 304).
        delay = max(report.retry_after, 2**self.request.retries * 5)
        raise self.retry(countdown=delay + random.uniform(0, 1))
    return {"status": "failed" if report.errors else "polled", **asdict(report)}
