"""Scheduled ingestion end to end: three news sites on 127.0.0.x, sources added with the CLI, a real Redis,
real Celery worker, beat and Flower processes, SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_sessionmaker, upgrade
from storage.models import Cluster, Document, Failure, Source
from storage.sources import add_source
from tests.newsites import Network, NewsSite, build_network
from tests.servers import ROOT, start_worker, stop_process, wait_for, worker_env
from worker.app import DISPATCH, INGEST_URL
from worker.cli import main
from worker.embedded import free_port
from worker.monitoring import queue_status

INTERVAL = 0.3  # seconds between two requests to one host
SLACK = 0.1  # what scheduling noise on a loaded 2-CPU machine may take off one gap


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _client(redis_url: str) -> Celery:
    client = Celery("test", broker=redis_url)
    client.conf.task_default_queue = "copydesk"
    return client


def _polls(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(Source.polls).order_by(Source.id)))


def _settled(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Document).where(Document.clustered.is_(True))) or 0)


def _drained(redis_url: str) -> bool:
    status = queue_status(redis.Redis.from_url(redis_url))
    return status["queued"] == 0 and status["unacked"] == 0


def _gaps(site: NewsSite) -> list[float]:
    times = sorted(hit.at for hit in site.requests())
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.fixture
def network() -> Iterator[Network]:
    net = build_network(("127.0.0.31", "127.0.0.32", "127.0.0.33"), stories=5, reposts=2)
    yield net
    net.stop()


@pytest.fixture
def env(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    redis.Redis.from_url(redis_url).flushdb()
    values = worker_env(
        f"sqlite:///{tmp_path / 'copydesk.db'}", redis_url, tmp_path, COPYDESK_HOST_INTERVAL=str(INTERVAL)
    )
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def test_three_sites_polled_twice(env: dict[str, str], network: Network, tmp_path: Path, redis_url: str) -> None:
    a, b, c = network.sites["a"], network.sites["b"], network.sites["c"]
    upgrade(env["COPYDESK_DATABASE_URL"])
    sessions = make_sessionmaker(make_engine(env["COPYDESK_DATABASE_URL"]))
    # A and B by their home pages (their feeds and sitemaps are discovered), C by an OPML file naming
    # its feed plus its sitemap index, added by hand.
    _cli("sources", "add", a.base, b.base + "/", "--every", "1s")
    opml = tmp_path / "subscriptions.opml"
    opml.write_text(f'<opml version="2.0"><body><outline text="C" xmlUrl="{c.base}/feed.xml"/></body></opml>')
    assert "added 1, updated 0, invalid 0" in _cli("sources", "import", str(opml), "--every", "1s")
    _cli("sources", "add", f"{c.base}/sitemap_index.xml", "--kind", "sitemap", "--every", "1s")
    assert _polls(sessions) == [0, 0, 0, 0]

    worker = start_worker(env, concurrency=2, log=tmp_path / "worker.log")
    try:
        client = _client(redis_url)
        # Tick 1: every source is due; discovery, feeds, sitemaps, then every story.
        client.send_task(DISPATCH)
        wait_for(lambda: _polls(sessions) == [1, 1, 1, 1], 30, "every source polled once")
        stories = len(network.stories)
        wait_for(lambda: _settled(sessions) == stories, 60, f"{stories} stories stored and clustered")
        wait_for(lambda: _drained(redis_url), 20, "the queue drained")
        first = {name: len(site.requests()) for name, site in network.sites.items()}
        # Tick 2, once the 1s period is over: nothing has changed on any site.
        time.sleep(1.0)
        client.send_task(DISPATCH)
        wait_for(lambda: _polls(sessions) == [2, 2, 2, 2], 30, "every source polled twice")
        wait_for(lambda: _drained(redis_url), 20, "the queue drained")
        # A disallowed URL queued by hand is refused before any request, under its normalised spelling.
        client.send_task(INGEST_URL, args=[network.private[2] + "?utm_source=x#top"])
        wait_for(lambda: _failure(sessions, network.private[2]) is not None, 20, "the disallowed URL recorded")
    finally:
        stop_process(worker)

    # Every story fetched exactly once: feed and sitemap spellings normalised to one URL, stories listed
    # by two sources (C's feed and sitemap) queued once, nothing fetched again at tick 2.
    for url in network.stories:
        site = next(s for s in network.sites.values() if url.startswith(s.base))
        path = url[len(site.base) :]
        assert [hit.status for hit in site.requests(path)] == [200], url
    # Copies are clustered under A's originals, and nothing else is in their clusters.
    with sessions() as session:
        docs = {doc.url: doc for doc in session.scalars(select(Document))}
        canonical_url = {
            cluster.id: session.get(Document, cluster.canonical_id).url  # type: ignore[union-attr]
            for cluster in session.scalars(select(Cluster))
        }
    assert set(docs) == set(network.stories)
    assert all(doc.clustered for doc in docs.values())
    for url, original in network.original_of.items():
        cluster_id = docs[url].cluster_id
        assert cluster_id is not None
        assert canonical_url[cluster_id] == (original or url), url
        members = {u for u, d in docs.items() if d.cluster_id == cluster_id}
        assert members == {u for u, o in network.original_of.items() if (o or u) == (original or url)}
    assert len({docs[u].cluster_id for u in network.original_of}) == sum(
        1 for o in network.original_of.values() if o is None
    )
    # Tick 2 cost nothing: only the feeds and sitemaps were asked for, conditionally, and answered 304.
    second = [hit for name, site in network.sites.items() for hit in site.requests()[first[name] :]]
    expected = {"/feed.xml", "/sitemap.xml", "/atom.xml", "/sitemap_index.xml", "/sitemaps/stories.xml"}
    assert sorted({hit.path for hit in second}) == sorted(expected)
    assert len(second) == 7  # A: feed + sitemap, B: feed + sitemap, C: feed + index + its child
    assert all(hit.status == 304 and hit.conditional and hit.sent == 0 for hit in second), second
    # robots.txt: read once per site (then cached in Redis), and nothing under its Disallow fetched,
    # although every feed and sitemap lists a /private/ page.
    for site in network.sites.values():
        assert len(site.requests("/robots.txt")) == 1
        assert not [hit for hit in site.requests() if hit.path.startswith("/private/")]
    failure = _failure(sessions, network.private[2])
    assert failure is not None and failure.reason == "robots_disallowed"
    # Per-host spacing held across both worker processes, on every site, over both ticks.
    for name, site in network.sites.items():
        hits = sorted(site.requests(), key=lambda h: h.at)
        timeline = [(hit.path, round(hit.at - hits[0].at, 3)) for hit in hits]
        assert min(_gaps(site)) >= INTERVAL - SLACK, (name, timeline)

    listed = json.loads(_cli("sources", "list", "--json"))
    assert [row["polls"] for row in listed] == [2, 2, 2, 2]
    assert sum(row["documents_found"] for row in listed) == len(network.stories)
    assert all(row["errors"] == 0 and row["last_error"] is None for row in listed)
    assert {feed["url"] for feed in listed[0]["feeds"]} == {f"{a.base}/feed.xml", f"{a.base}/sitemap.xml"}
    status = _cli("status")
    assert f"documents: {len(network.stories)} ({len(network.stories)} in the last hour)" in status
    assert "sources: 4 (" in status and "failures in the last hour: 1" in status
    assert "copydesk.ingest_url" in status  # the per-minute task counters the workers keep in Redis


def _failure(sessions: sessionmaker[Session], url: str) -> Failure | None:
    with sessions() as session:
        return session.scalar(select(Failure).where(Failure.url == url))


# ---- two schedulers ------------------------------------------------------------------------------


def _start_beat(env: dict[str, str], directory: Path, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - closed with the process
    command = [sys.executable, "-m", "celery", "-A", "worker.app", "beat", "-s", str(directory / "schedule")]
    return subprocess.Popen(
        [*command, "--loglevel", "INFO"], cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
    )


def _start_flower(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - closed with the process
    command = [sys.executable, "-m", "worker.cli", "flower", "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def _flower_tasks(port: int, auth: str | None) -> tuple[int, Any]:
    import base64
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/tasks")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, None
    except OSError:
        return 0, None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_second_beat_doubles_nothing(
    env: dict[str, str], network: Network, database_url: str, tmp_path: Path, redis_url: str
) -> None:
    every = 1.0
    env = {
        **env,
        "COPYDESK_DATABASE_URL": database_url,
        "COPYDESK_DISPATCH_EVERY": "0.3",
        "COPYDESK_BEAT_LOCK_TTL": "3",
        "COPYDESK_HOST_INTERVAL": "0.05",
        "COPYDESK_FLOWER_BASIC_AUTH": "desk:s3cret",
    }
    site = network.sites["a"]
    sessions = make_sessionmaker(make_engine(database_url))
    logs = [tmp_path / "beat1.log", tmp_path / "beat2.log"]
    port = free_port()
    # Two beats started at the same moment, beside a worker and Flower.
    processes = [
        start_worker(env, concurrency=2, log=tmp_path / "worker.log"),
        _start_flower(env, port, tmp_path / "flower.log"),
        _start_beat(env, tmp_path, logs[0]),
        _start_beat(env, tmp_path, logs[1]),
    ]
    try:
        texts = lambda: [log.read_text() for log in logs]  # noqa: E731
        wait_for(lambda: all("this beat sends" in t or "stands by" in t for t in texts()), 30, "beats up")
        for text in texts():  # each start-up banner names the lock holder that then sends or stands by
            banner = re.search(r"\. lock: \S+ \(ttl [\d.]+s, (\S+)\)", text)
            holder = re.search(r"beat (\S+) (?:holds the scheduler lock|stands by)", text)
            assert banner and holder and banner.group(1) == holder.group(1), text[:3000]
        active = next(i for i, text in enumerate(texts()) if "this beat sends" in text)
        spare = 1 - active
        assert "this beat sends" not in texts()[spare]  # exactly one of them sends
        wait_for(lambda: _flower_tasks(port, "desk:s3cret")[0] == 200, 30, "Flower answering")
        with sessions() as session, session.begin():  # only now, so that Flower sees every task
            add_source(session, site.base + "/", "auto", int(every))
        wait_for(lambda: len(site.requests("/feed.xml")) >= 2, 30, "two polls")
        assert "Sending due task" not in texts()[spare]  # the spare sent nothing while the first ran
        processes[2 + active].terminate()  # the active beat stops (and gives up its lock): the spare takes over
        processes[2 + active].wait(20)
        stopped = time.monotonic()
        wait_for(lambda: "this beat sends" in texts()[spare], 10, "the spare taking over")
        wait_for(lambda: len(site.requests("/feed.xml")) >= 4, 30, "two more polls")
        wait_for(lambda: _drained(redis_url), 20, "the queue drained")
        unauthorised, _ = _flower_tasks(port, None)
        _, tasks = _flower_tasks(port, "desk:s3cret")
    finally:
        for process in reversed(processes):
            stop_process(process)

    assert "Sending due task dispatch (copydesk.dispatch)" in logs[0].read_text()
    assert "Sending due task dispatch (copydesk.dispatch)" in logs[1].read_text()
    # One poll per period, before, across and after the hand-over: none doubled, none lost.
    polls = [hit.at for hit in site.requests("/feed.xml")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    assert min(gaps) >= every - 0.5, gaps
    assert max(gaps) <= every + 3.0, gaps
    assert any(at > stopped for at in polls)
    assert [hit.status for hit in site.requests("/feed.xml")][1:] == [304] * (len(polls) - 1)
    a_stories = [url for url in network.stories if url.startswith(site.base)]
    for url in a_stories:
        assert len(site.requests(url[len(site.base) :])) == 1, url
    with sessions() as session:
        assert set(session.scalars(select(Document.url))) == set(a_stories)
    # Flower (behind basic auth) lists the tasks by their names, with their arguments readable.
    assert unauthorised == 401
    names = {task["name"] for task in tasks.values()}
    assert {"copydesk.dispatch", "copydesk.poll_source", "copydesk.ingest_url"} <= names
    polled = [task["args"] for task in tasks.values() if task["name"] == "copydesk.poll_source"]
    assert all(site.base + "/" in args for args in polled), polled[:3]
