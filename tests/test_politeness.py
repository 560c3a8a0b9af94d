"""Politeness against a real Redis and real local servers: per-host turns, robots.txt, 429 + Retry-After."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy import func, select

from ingest.document import Article
from ingest.fetch import FetchError, FetchPolicy
from ingest.urls import host, normalise
from storage.archive import Archive
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import MemoryIndex
from storage.models import Document, Failure
from storage.sources import add_source, list_sources
from tests.servers import Reply, ScriptedSite, start_worker, stop_process, wait_for, worker_env
from worker.app import INGEST_URL
from worker.politeness import Deferred, HostSlots, Polite
from worker.polling import Poller

LOCAL = FetchPolicy(allowed_networks=("127.0.0.0/8",))


@pytest.fixture
def scripted() -> Iterator[list[ScriptedSite]]:
    sites: list[ScriptedSite] = []
    yield sites
    for site in sites:
        site.stop()


def test_turns_are_spaced_across_clients(redis_client: redis.Redis, redis_url: str) -> None:
    """Eight threads, each with its own connection (as separate workers would): one turn per interval."""
    taken: list[float] = []
    start = threading.Barrier(8)

    def worker() -> None:
        slots = HostSlots(redis.Redis.from_url(redis_url), max_sleep=5)
        start.wait()
        for _ in range(3):
            slots.take("news.example", 0.05)
            taken.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = sorted(taken)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.04
    assert times[-1] - times[0] >= 23 * 0.05 - 0.02
    HostSlots(redis_client).take("other.example", 0.05)  # another host is not held up at all


def test_a_late_start_pushes_the_next_request_back(redis_client: redis.Redis) -> None:
    """A sender that took its slot but stalled (a busy machine) before starting: the next request still
    keeps a whole interval after that late start, not after the slot."""
    slots = HostSlots(redis_client)
    slots._take(keys=["copydesk:slot:news.example"], args=[300, 5000])  # the stalled sender's slot...
    time.sleep(0.2)
    slots._start(keys=["copydesk:started:news.example"], args=[300])  # ...which it starts 0.2 s late
    started = time.monotonic()
    slots.take("news.example", 0.3)
    assert time.monotonic() - started >= 0.29  # the slot alone would have let it go after ~0.1 s


def test_a_far_turn_is_deferred_without_being_taken(redis_client: redis.Redis) -> None:
    slots = HostSlots(redis_client, max_sleep=0.2)
    assert slots.take("news.example", 1.0) == 0
    with pytest.raises(Deferred) as first:
        slots.take("news.example", 1.0)
    with pytest.raises(Deferred) as second:
        slots.take("news.example", 1.0)
    # The deferred caller reserved nothing: the next one is told the same wait, not one more interval.
    assert 0.8 <= second.value.wait <= first.value.wait <= 1.0
    slots.back_off("news.example", 30)
    with pytest.raises(Deferred) as pushed:
        slots.take("news.example", 1.0)
    assert 29 <= pushed.value.wait <= 30


def test_robots_missing_unreachable_and_cached(redis_client: redis.Redis, scripted: list[ScriptedSite]) -> None:
    page: Reply = (200, {}, b"<html><body>story</body></html>")
    missing = ScriptedSite("127.0.0.41", {"/robots.txt": [(404, {}, b"")], "/a.html": [page]}).start()
    down = ScriptedSite("127.0.0.42", {"/robots.txt": [(503, {"Retry-After": "30"}, b"")], "/a.html": [page]}).start()
    rules: Reply = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /a")
    ruled = ScriptedSite("127.0.0.43", {"/robots.txt": [rules]}).start()
    scripted.extend([missing, down, ruled])
    polite = Polite(redis_client, LOCAL, interval=0.01)
    assert polite.fetch(missing.base + "/a.html").status == 200  # no robots.txt: no rules
    with pytest.raises(FetchError) as unreachable:
        polite.fetch(down.base + "/a.html")
    assert (unreachable.value.reason, unreachable.value.retryable) == ("robots_unavailable", True)
    assert down.times("/a.html") == []  # an unreachable robots.txt means: nothing there for now
    with pytest.raises(FetchError) as disallowed:
        polite.fetch(ruled.base + "/a.html")
    assert (disallowed.value.reason, disallowed.value.retryable) == ("robots_disallowed", False)
    # Another worker (another client) asks the cache, not the site.
    other = Polite(redis.Redis(connection_pool=redis_client.connection_pool), LOCAL, interval=0.01)
    assert not other.allowed(ruled.base + "/a.html")
    assert other.allowed(missing.base + "/b.html")
    assert len(ruled.times("/robots.txt")) == 1 and len(missing.times("/robots.txt")) == 1


def test_429_backs_the_host_off_for_every_worker(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis, scripted: list[ScriptedSite]
) -> None:
    """/a answers 429 Retry-After: 6 once, and its task retries after 6s. /b, queued just after it on the
    same host, is not fetched during those 6s by the other worker process: its turn is further away than
    a worker sleeps, so its task is deferred (sent again for later), not failed. Both end up stored."""
    article = b"<html><head><title>T</title></head><body><article><p>" + b"word " * 300 + b"</p></article></body>"
    site = ScriptedSite(
        "127.0.0.44",
        {
            "/robots.txt": [(404, {}, b"")],
            "/a": [(429, {"Retry-After": "6"}, b"slow down"), (200, {}, article)],
            "/b": [(200, {}, article.replace(b"word", b"other"))],
        },
    ).start()
    scripted.append(site)
    database = f"sqlite:///{tmp_path / 'copydesk.db'}"
    upgrade(database)
    env = worker_env(database, redis_url, tmp_path, COPYDESK_HOST_INTERVAL="0.05")
    worker = start_worker(env, concurrency=2, log=tmp_path / "worker.log")
    sessions = make_sessionmaker(make_engine(database))
    try:
        client = Celery("test", broker=redis_url)
        client.conf.task_default_queue = "copydesk"
        client.send_task(INGEST_URL, args=[site.base + "/a"])
        wait_for(lambda: bool(site.times("/a")), 20, "/a asked for")
        client.send_task(INGEST_URL, args=[site.base + "/b"])
        count = select(func.count()).select_from(Document)
        wait_for(lambda: _scalar(sessions, count) == 2, 30, "both pages stored")
    finally:
        stop_process(worker)
    told = site.times("/a")[0]
    assert len(site.times("/a")) == 2 and site.times("/a")[1] - told >= 6 - 0.1
    assert len(site.times("/b")) == 1 and site.times("/b")[0] - told >= 6 - 0.1
    assert _scalar(sessions, select(func.count()).select_from(Failure)) == 0
    assert "deferred copydesk.ingest_url" in (tmp_path / "worker.log").read_text()


def _scalar(sessions: object, query: object) -> int:
    with sessions() as session:  # type: ignore[operator]
        return int(session.scalar(query) or 0)


def test_a_redirect_is_checked_against_robots_txt(redis_client: redis.Redis, scripted: list[ScriptedSite]) -> None:
    """A page that redirects into a disallowed path, on its own host or another, is not followed there."""
    rules: Reply = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private")
    page: Reply = (200, {}, b"<html><body>story</body></html>")
    other = ScriptedSite("127.0.0.45", {"/robots.txt": [rules], "/private/x": [page], "/open": [page]}).start()
    site = ScriptedSite(
        "127.0.0.44",
        {
            "/robots.txt": [rules],
            "/go-here": [(302, {"Location": "/private/y"}, b"")],
            "/go-there": [(302, {"Location": other.base + "/private/x"}, b"")],
            "/go-open": [(302, {"Location": other.base + "/open"}, b"")],
            "/private/y": [page],
        },
    ).start()
    scripted.extend([site, other])
    polite = Polite(redis_client, LOCAL, interval=0.01)
    for path in ("/go-here", "/go-there"):
        with pytest.raises(FetchError) as refused:
            polite.fetch(site.base + path)
        assert refused.value.reason == "robots_disallowed", path
    assert site.times("/private/y") == [] and other.times("/private/x") == []
    assert polite.fetch(site.base + "/go-open").final_url == other.base + "/open"


def test_an_auto_source_whose_feeds_are_gone_is_discovered_again(
    tmp_path: Path, redis_client: redis.Redis, scripted: list[ScriptedSite]
) -> None:
    """The site moves its feed: the old one answers 404, the home page now names another. The source
    forgets its feeds, says so, and the next poll reads the new one."""
    database = f"sqlite:///{tmp_path / 'sources.db'}"
    upgrade(database)
    sessions = make_sessionmaker(make_engine(database))
    site = ScriptedSite("127.0.0.46").start()
    scripted.append(site)

    def home(feed: str) -> Reply:
        link = f'<link rel="alternate" type="application/rss+xml" href="{feed}">'
        return (200, {"Content-Type": "text/html"}, f"<html><head>{link}</head><body>News</body></html>".encode())

    def rss(entry: str) -> Reply:
        item = f"<item><title>x</title><link>{site.base}{entry}</link></item>"
        return (200, {"Content-Type": "application/rss+xml"}, f"<rss><channel>{item}</channel></rss>".encode())

    site.serve("/", home("/old.xml"), home("/new.xml"))  # the first answer once, then the second
    site.serve("/old.xml", rss("/a"), (404, {}, b""))
    site.serve("/new.xml", rss("/b"))
    url = normalise(site.base + "/")
    with sessions() as session, session.begin():
        add_source(session, url)
    sent: list[str] = []
    poller = Poller(sessions, Polite(redis_client, LOCAL, interval=0.01), lambda entry, _: sent.append(entry))
    assert poller.poll(url) is not None and sent == [site.base + "/a"]
    gone = poller.poll(url)
    assert gone is not None and "discovered again" in gone.errors[-1]
    assert poller.poll(url) is not None and sent == [site.base + "/a", site.base + "/b"]
    assert len(site.times("/")) == 2 and len(site.times("/old.xml")) == 2


def test_a_blocked_robots_txt_is_a_refusal_not_an_outage(
    redis_client: redis.Redis, scripted: list[ScriptedSite]
) -> None:
    """robots.txt on an address the policy blocks: the page is refused at once, as blocked_address, with
    the setting that would allow it; not `robots_unavailable`, which would be retried as an outage."""
    site = ScriptedSite("127.0.0.45", {"/a.html": [(200, {}, b"<html><body>story</body></html>")]}).start()
    scripted.append(site)
    polite = Polite(redis_client, FetchPolicy(allowed_networks=("127.0.0.44/32",)), interval=0.01)
    with pytest.raises(FetchError) as refused:
        polite.fetch(site.base + "/a.html")
    assert (refused.value.reason, refused.value.retryable) == ("blocked_address", False)
    assert "COPYDESK_ALLOW_NETWORKS" in refused.value.message and "127.0.0.45/32" in refused.value.message
    assert site.hits == {}


def test_policy_refusals_are_final_at_once_and_name_their_setting(
    tmp_path: Path, redis_url: str, scripted: list[ScriptedSite]
) -> None:
    """Through a real worker: a page on a blocked address, one robots.txt disallows and one with another
    scheme are each recorded after one delivery, within seconds, with a message naming the setting that
    would allow it (or saying none does); each task ends as FAILURE, not retried."""
    redis.Redis.from_url(redis_url).flushdb()
    page: Reply = (200, {}, b"<html><body>story</body></html>")
    rules: Reply = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private")
    ruled = ScriptedSite("127.0.0.46", {"/robots.txt": [rules], "/private/a.html": [page]}).start()
    blocked = ScriptedSite("127.0.0.47", {"/a.html": [page]}).start()
    scripted.extend([ruled, blocked])
    database = f"sqlite:///{tmp_path / 'copydesk.db'}"
    upgrade(database)
    log = tmp_path / "worker.log"
    env = worker_env(database, redis_url, tmp_path, COPYDESK_ALLOW_NETWORKS="127.0.0.46/32")
    worker = start_worker(env, concurrency=1, log=log)
    sessions = make_sessionmaker(make_engine(database))
    try:
        client = Celery("test", broker=redis_url)
        urls = [ruled.base + "/private/a.html", blocked.base + "/a.html", "ftp://example.com/a.html"]
        started = time.monotonic()
        for url in urls:
            client.send_task(INGEST_URL, args=[url], queue="copydesk")

        def recorded() -> dict[str, tuple[str, str, int]]:
            with sessions() as session:
                rows = session.execute(select(Failure.url, Failure.reason, Failure.message, Failure.attempts))
                return {url: (reason, message, attempts) for url, reason, message, attempts in rows}

        wait_for(lambda: len(recorded()) == 3, 60, "the three refusals recorded")
        assert time.monotonic() - started < 30  # a retried outage would take 5 + 10 + 20 s of backoff
        failures = recorded()
        assert {url: reason for url, (reason, _, _) in failures.items()} == {
            normalise(urls[0]): "robots_disallowed",
            normalise(blocked.base + "/a.html"): "blocked_address",
            "ftp://example.com/a.html": "bad_scheme",
        }
        assert all(attempts == 1 for _, _, attempts in failures.values())
        messages = {reason: message for reason, message, _ in failures.values()}
        assert "COPYDESK_ALLOW_NETWORKS" in messages["blocked_address"]
        assert "COPYDESK_USER_AGENT" in messages["robots_disallowed"]
        assert "no setting changes that" in messages["bad_scheme"]
        assert blocked.hits == {} and ruled.hits["/private/a.html"] == 0
        wait_for(lambda: log.read_text().count("raised expected: PageFailed") == 3, 10, "three FAILURE ends")
        text = log.read_text()
        assert text.count("Task copydesk.ingest_url[") == 6, "a task was delivered more than once"  # received + end
        assert "Retry in" not in text
    finally:
        stop_process(worker)


def test_sources_list_counts_found_and_stored_alike(
    tmp_path: Path, redis_client: redis.Redis, scripted: list[ScriptedSite]
) -> None:
    """A feed lists three entries, one of them stored before the source was added: the poll queues the two
    others, and `sources list` counts three found and one stored (it showed FOUND 2 STORED 3 once the
    two were stored: found counted only what was queued, stored every listed entry in storage)."""
    database = f"sqlite:///{tmp_path / 'sources.db'}"
    upgrade(database)
    sessions = make_sessionmaker(make_engine(database))
    site = ScriptedSite("127.0.0.48").start()
    scripted.append(site)
    items = "".join(f"<item><title>{p}</title><link>{site.base}/{p}</link></item>" for p in "abc")
    site.serve(
        "/feed.xml", (200, {"Content-Type": "application/rss+xml"}, f"<rss><channel>{items}</channel></rss>".encode())
    )
    feed = normalise(site.base + "/feed.xml")
    with sessions() as session, session.begin():
        add_source(session, feed, "feed")
    known = normalise(site.base + "/a")
    text = " ".join(f"word{i}" for i in range(300))
    Archive(sessions, MemoryIndex()).add(Article(text=text, title="A", url=known, host=host(known)), key=known)
    sent: list[str] = []
    Poller(sessions, Polite(redis_client, LOCAL, interval=0.01), lambda entry, _: sent.append(entry)).poll(feed)
    assert sorted(sent) == [normalise(site.base + "/b"), normalise(site.base + "/c")]
    with sessions() as session:
        (row,) = list_sources(session)
    assert (row["documents_found"], row["documents_stored"]) == (3, 1)
