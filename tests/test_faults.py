"""Faults with real processes (issue #5): workers SIGKILLed mid-run, Redis restarted under a running worker,
a process dying between two steps of the archive, one URL queued 50 times at once, and pages that kill
every worker process that touches them.

Everything is real: redis-server, Celery prefork workers in their own processes, HTTP servers on
127.0.0.x, SQLite and PostgreSQL. The only thing simulated is *why* a process dies: a signal from the
test (or from the page's server) stands in for the segfault, the OOM killer or a pulled plug.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from celery import Celery
from kombu import Connection
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.archive import Archive
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import RedisIndex
from storage.models import Cluster, Document, Failure
from tests.conftest import SEEDS
from tests.servers import ROOT, Postgres, Reply, ScriptedSite, start_worker, stop_process, worker_env
from worker import ledger
from worker.app import INGEST_HTML, INGEST_PAGES, INGEST_URL, REPAIR
from worker.batch import dedup_directory
from worker.consumer import settle_message
from worker.embedded import EmbeddedRedis
from worker.limits import PageTimeLimitExceeded, time_limit
from worker.push import push_pages
from worker.tasks import attempts_key_of, batch_key

QUEUE = "copydesk"
WORDS = [f"w{i}" for i in range(20_000)]


# ---- servers and workers ---------------------------------------------------------------------------


def requester_pid(peer: tuple[str, int]) -> int | None:
    """The process on this machine that owns the client end of a TCP connection to us."""
    for conn in psutil.net_connections(kind="tcp4"):
        if conn.laddr and (conn.laddr.ip, conn.laddr.port) == peer and conn.pid and conn.pid != os.getpid():
            return conn.pid
    return None


class Newsroom(ScriptedSite):
    """A news site on one loopback address. A request for a path in `deadly` is answered by sending that
    signal to the process that made it, the way a page that crashes its parser would."""

    def __init__(self, address: str, delay: float = 0.0) -> None:
        super().__init__(address, delay=delay)
        self.deadly: dict[str, signal.Signals] = {}
        self.signalled: list[int] = []

    def intercept(self, request: BaseHTTPRequestHandler) -> bool:
        if request.path not in self.deadly:
            return False
        pid = requester_pid(request.client_address[:2])
        assert pid is not None, f"no process owns {request.client_address}"
        self.signalled.append(pid)
        os.kill(pid, self.deadly[request.path])
        return True

    def add(self, path: str, body: bytes) -> str:
        return self.serve(path, (200, {}, body))

    def stop(self) -> None:
        super().stop()
        for pid in self.signalled:  # a SIGSTOPped process the time limit has not killed yet
            if psutil.pid_exists(pid) and psutil.Process(pid).status() == psutil.STATUS_STOPPED:
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def newsrooms() -> Iterator[Callable[..., Newsroom]]:
    started: list[Newsroom] = []

    def make(address: str, delay: float = 0.0) -> Newsroom:
        started.append(Newsroom(address, delay).start())
        return started[-1]

    yield make
    for room in started:
        room.stop()


@dataclass
class Stack:
    """The environment of worker processes on one database and one Redis, and what the test needs to look."""

    tmp: Path
    database: str
    redis_url: str
    extra_env: dict[str, str]

    def __post_init__(self) -> None:
        self.sessions: sessionmaker[Session] = make_sessionmaker(make_engine(self.database))
        self.client = Celery("faults", broker=self.redis_url)
        self.client.conf.task_default_queue = QUEUE
        self.redis = redis.Redis.from_url(self.redis_url)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.log = self.tmp / "worker.log"

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        # COPYDESK_HOST_INTERVAL 0: politeness would spread one site's pages over minutes.
        env = worker_env(self.database, self.redis_url, self.tmp, COPYDESK_HOST_INTERVAL="0", **self.extra_env)
        self.workers.append(start_worker(env, concurrency=concurrency, log=self.log))
        return self.workers[-1]

    def queue(self, *urls: str) -> None:
        for url in urls:
            self.client.send_task(INGEST_URL, args=[url])

    def count(self, *where: Any) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Document).where(*where)) or 0)

    def failures(self) -> dict[str, str]:
        with self.sessions() as session:
            return {url: reason for url, reason in session.execute(select(Failure.url, Failure.reason))}

    def idle(self) -> bool:
        """Nothing queued, nothing delivered and not yet acknowledged."""
        return not self.redis.llen(QUEUE) and not self.redis.hlen("unacked")

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
                state = f"count {self.count()} queued {self.redis.llen(QUEUE)} unacked {self.redis.hgetall('unacked')}"
                raise AssertionError(f"timed out after {timeout}s: {what} ({state})\n--- worker log ---\n{tail}")
            time.sleep(0.05)

    def stop(self) -> None:
        for worker in self.workers:
            stop_process(worker)


@pytest.fixture
def make_stack(tmp_path: Path, redis_url: str) -> Iterator[Callable[..., Stack]]:
    stacks: list[Stack] = []

    def make(database: str | None = None, redis_url_: str | None = None, **env: str) -> Stack:
        url = redis_url_ or redis_url
        redis.Redis.from_url(url).flushdb()
        if database is None:
            database = f"sqlite:///{tmp_path / 'copydesk.db'}"
            upgrade(database)
        stacks.append(Stack(tmp_path, database, url, env))
        return stacks[-1]

    yield make
    for stack in stacks:
        stack.stop()


def kill_whole_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool processes at once: the machine lost its power."""
    processes = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]
    for process in processes:
        process.kill()
    psutil.wait_procs(processes, timeout=10)
    worker.wait(10)


# ---- pages -------------------------------------------------------------------------------------


def story(rng: random.Random) -> list[str]:
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 40))).capitalize() + "." for _ in range(6)]


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>{title}</title></head><body><nav>Home News Sport</nav>"
        f"<article><h1>{title}</h1>{body}</article><footer>Copyright</footer></body></html>"
    ).encode()


def assert_whole(stack: Stack, expected: list[set[str]]) -> None:
    """Every expected URL stored once, settled, in exactly the expected cluster; cluster rows agree."""
    with stack.sessions() as session:
        docs = session.execute(select(Document.id, Document.url, Document.cluster_id, Document.clustered)).all()
        clusters = {c.id: c for c in session.scalars(select(Cluster))}
    urls = [url for _, url, _, _ in docs]
    assert sorted(urls) == sorted(url for group in expected for url in group), "lost or extra documents"
    assert all(clustered for *_, clustered in docs), "documents left unclustered"
    members: dict[int, set[int]] = {}
    by_cluster: dict[int, set[str]] = {}
    for doc_id, url, cluster_id, _ in docs:
        assert cluster_id in clusters, f"{url} is in no cluster"
        members.setdefault(cluster_id, set()).add(doc_id)
        by_cluster.setdefault(cluster_id, set()).add(url)
    assert set(clusters) == set(members), "cluster rows without members"
    for cluster_id, cluster in clusters.items():
        assert cluster.size == len(members[cluster_id]), f"cluster {cluster_id}: size {cluster.size}"
        assert cluster.canonical_id in members[cluster_id], f"cluster {cluster_id}: canonical not a member"
    assert sorted(map(sorted, by_cluster.values())) == sorted(map(sorted, expected))


# ---- a. workers killed mid-run ---------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_workers_killed_mid_run_lose_and_duplicate_nothing(
    make_stack: Callable[..., Stack], newsrooms: Callable[..., Newsroom]
) -> None:
    """300 URLs (280 stories, 20 of them also copied on a second site); a pool process is SIGKILLed, then the
    whole worker; a new worker finishes: every URL stored once, clusters exactly the copies, all settled."""
    rng = random.Random(5)
    origin, syndicator = newsrooms("127.0.0.10", delay=0.01), newsrooms("127.0.0.11", delay=0.01)
    # The syndicator's disclaimer becomes its learned chrome, so the re-fingerprinting path runs (and dies) too.
    disclaimer = "Republished under fair use; the views expressed are solely those of the original authors."
    expected: list[set[str]] = []
    for i in range(280):
        paragraphs = story(rng)
        group = {origin.add(f"/story/{i}", page(f"Story {i}", paragraphs))}
        if i < 20:
            group.add(syndicator.add(f"/copy/{i}", page(f"Copy of story {i}", [*paragraphs, disclaimer])))
        expected.append(group)
    urls = [url for group in expected for url in group]
    rng.shuffle(urls)
    # A short visibility timeout: what the dead worker had taken comes back as soon as the next one starts.
    stack = make_stack(COPYDESK_VISIBILITY_TIMEOUT="2")
    first = stack.start_worker()
    stack.queue(*urls)
    stack.wait(lambda: stack.count() >= 60, 60, "60 pages stored")
    child = psutil.Process(first.pid).children()[0]
    child.kill()
    child.wait(10)
    stack.wait(lambda: stack.count() >= 150, 60, "150 pages stored after a pool process died")
    kill_whole_worker(first)
    assert 150 <= stack.count() < len(urls), "the worker was not killed mid-run"
    assert stack.redis.hlen("unacked"), "the dead worker held no delivered task: nothing to recover"
    time.sleep(2.5)  # the dead worker's unacknowledged tasks pass the visibility timeout
    stack.start_worker()
    stack.wait(lambda: stack.count() == len(urls) and stack.idle(), 90, "every URL stored by the new worker")
    stack.stop()
    assert stack.failures() == {}
    Archive(stack.sessions, RedisIndex(stack.redis, namespace="default")).repair()
    assert_whole(stack, expected)


def waiting_in_brpop(client: redis.Redis) -> bool:
    """Whether a client of this Redis is blocked in BRPOP: a worker's main process waiting for a task."""
    return any(c.get("cmd") == "brpop" and "b" in str(c.get("flags")) for c in client.client_list())


@pytest.mark.timeout(90)
def test_a_task_taken_by_a_worker_killed_before_it_recorded_the_delivery_is_sent_again(
    make_stack: Callable[..., Stack], newsrooms: Callable[..., Newsroom]
) -> None:
    """kombu#305, made certain: the worker's main process is stopped while its BRPOP waits in Redis, and a
    task is queued. Redis hands it to the stopped process (the reply sits in its socket): it is in no queue
    and not in `unacked`, and the worker is killed. acks_late cannot bring it back; the ledger of sent
    tasks does, at the next worker's start (worker/ledger.py)."""
    site = newsrooms("127.0.0.17")
    urls = [site.add(f"/taken/{i}", page(f"Taken {i}", story(random.Random(9 + i)))) for i in range(3)]
    stack = make_stack()
    worker = stack.start_worker(concurrency=1)
    stack.wait(lambda: received(stack, REPAIR) >= 1 and stack.idle(), 30, "the worker up and idle")
    main = psutil.Process(worker.pid)
    for url in urls:
        deadline = time.monotonic() + 20
        main.suspend()
        while not waiting_in_brpop(stack.redis):
            main.resume()
            assert time.monotonic() < deadline, "the worker never waited in BRPOP"
            time.sleep(0.02)
            main.suspend()
        stack.queue(url)
        time.sleep(0.2)
        if not stack.redis.llen(QUEUE):
            break
        # Its BRPOP timed out (kombu waits 1 s at a time) just before the task came: it takes it normally.
        main.resume()
        stack.wait(lambda: stack.idle() and stack.count() == urls.index(url) + 1, 30, "the task taken normally")  # noqa: B023
    else:
        raise AssertionError("never caught the worker waiting in BRPOP")
    lost = urls.index(url)
    assert not stack.redis.hlen("unacked"), "the stopped worker recorded the delivery"
    kill_whole_worker(worker)
    assert not stack.redis.llen(QUEUE) and not stack.redis.hlen("unacked")
    assert stack.count() == lost
    time.sleep(ledger.GRACE)  # the start-up repair sends again what was sent longer ago than this
    stack.start_worker(concurrency=1)
    stack.wait(lambda: stack.count() == lost + 1 and stack.idle(), 30, "the lost task sent again and run")
    assert f"re-queued {INGEST_URL}" in stack.log.read_text(errors="replace")
    assert stack.failures() == {}


@pytest.mark.timeout(240)
def test_a_postgresql_restart_mid_run_loses_and_duplicates_nothing(
    make_stack: Callable[..., Stack], newsrooms: Callable[..., Newsroom]
) -> None:
    """300 URLs (280 stories, 20 also copied on a second site) through 2 worker processes on PostgreSQL,
    which is restarted (fast: connections cut, open transactions rolled back) once 60 are stored: the
    workers wait the outage out; every URL is stored once, in its cluster, and nothing is recorded as failed."""
    directory = Path(tempfile.mkdtemp(prefix="copydesk-pg-restart-"))
    server = Postgres(directory)
    try:
        database = server.start()
        upgrade(database)
        rng = random.Random(15)
        origin, syndicator = newsrooms("127.0.0.15", delay=0.01), newsrooms("127.0.0.16", delay=0.01)
        expected: list[set[str]] = []
        for i in range(280):
            paragraphs = story(rng)
            group = {origin.add(f"/story/{i}", page(f"Story {i}", paragraphs))}
            if i < 20:
                group.add(syndicator.add(f"/copy/{i}", page(f"Copy of story {i}", paragraphs)))
            expected.append(group)
        urls = [url for group in expected for url in group]
        rng.shuffle(urls)
        stack = make_stack(database=database)
        stack.start_worker(concurrency=2)
        stack.queue(*urls)
        stack.wait(lambda: stack.count() >= 60, 90, "60 pages stored")
        server.restart()
        stack.sessions = make_sessionmaker(make_engine(database))  # the test's own connections were cut too
        assert stack.count() < len(urls), "the run ended before the restart"
        stack.wait(lambda: stack.count() == len(urls) and stack.idle(), 150, "every URL stored after the restart")
        stack.stop()
        assert stack.failures() == {}
        assert_whole(stack, expected)
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


# ---- b. Redis restarted under a running worker ---------------------------------------------------


@pytest.mark.timeout(90)
def test_worker_survives_a_redis_restart(
    make_stack: Callable[..., Stack], newsrooms: Callable[..., Newsroom], tmp_path: Path
) -> None:
    """Redis (broker and index) stopped and started again on the same port and data: the worker reconnects,
    the queue survives in the append-only file, and every page ends stored and clustered."""
    server = EmbeddedRedis(tmp_path / "own-redis")
    try:
        # A task delivered just before the restart may have its acknowledgement lost with the connection:
        # Redis hands it out again after the visibility timeout (harmless: it is then "known"). A short
        # one lets the test see that happen instead of waiting the production hour.
        stack = make_stack(redis_url_=server.start(), COPYDESK_VISIBILITY_TIMEOUT="3")
        site = newsrooms("127.0.0.12", delay=0.01)
        rng = random.Random(6)
        expected = [{site.add(f"/b/{i}", page(f"Story {i}", story(rng)))} for i in range(60)]
        stack.start_worker()
        stack.queue(*(url for group in expected for url in group))
        stack.wait(lambda: stack.count() >= 20, 60, "20 pages stored")
        server.stop()
        stored_while_down = stack.count()
        time.sleep(1.0)
        assert stack.count() - stored_while_down <= 2, "a worker kept storing without its broker"
        server.start()
        assert stack.redis.llen(QUEUE) > 0, "the queue did not survive the restart"
        # A message BRPOP took as Redis stopped, before kombu recorded it in `unacked`, is in no queue
        # (kombu#305): beat's next repair sends it again from the ledger (worker/ledger.py). That tick, here.
        stack.wait(stack.idle, 60, "the queue drained after the restart")
        if stack.count() < len(expected):
            time.sleep(ledger.GRACE + ledger.CONFIRM)
            stack.client.send_task(REPAIR)
        stack.wait(lambda: stack.count() == len(expected) and stack.idle(), 60, "every page after the restart")
        stack.stop()
        assert stack.failures() == {}
        assert_whole(stack, expected)
    finally:
        server.stop()


@pytest.mark.timeout(60)
def test_a_delivery_whose_acknowledgement_was_lost_comes_back_after_the_visibility_timeout(
    make_stack: Callable[..., Stack], newsrooms: Callable[..., Newsroom]
) -> None:
    """A running worker finds a task delivered long ago and never acknowledged (its worker's connection
    went with a Redis restart) and runs it again soon after the visibility timeout, not minutes later:
    kombu's default sweep runs every 100 s, which made the Redis-restart test above time out now and then."""
    site = newsrooms("127.0.0.13")
    url = site.add("/lost", page("Lost", story(random.Random(8))))
    stack = make_stack(COPYDESK_VISIBILITY_TIMEOUT="3")
    stack.start_worker(concurrency=1)
    stack.wait(lambda: received(stack, REPAIR) == 1, 30, "the worker up")
    time.sleep(11)  # past kombu's first sweep, which a worker makes 10 s after it starts
    # What a delivery left behind when its connection died: the message in kombu's unacked hash and index.
    stack.client.send_task(INGEST_URL, args=[url], queue="parked")
    message = stack.redis.rpop("parked")
    assert isinstance(message, bytes)
    stack.redis.hset("unacked", "lost-tag", json.dumps([json.loads(message), "", QUEUE]))
    stack.redis.zadd("unacked_index", {"lost-tag": time.time() - 60})
    stack.wait(lambda: stack.count() == 1, 15, "the lost delivery run again")
    assert not stack.redis.hexists("unacked", "lost-tag")


def test_an_acknowledgement_through_a_lost_connection_leaves_the_message_to_come_back(redis_url: str) -> None:
    """celery 5.7.0 acknowledges a task that finishes after a lost connection through the collected
    connection, which raises in the worker's event loop and stalls it (worker/consumer.py). The
    consumer's acknowledgement logs and drops that error, and the message is delivered again."""
    url = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own: the unacked hash is per database
    redis.Redis.from_url(url).flushdb()
    with Connection(url) as sender:
        sender.SimpleQueue("acks").put({"page": 1})
    connection = Connection(url)
    message = connection.SimpleQueue("acks").get(timeout=5)
    # What Celery's handler of the lost connection leaves: the connection collected, and the channel's
    # pools dropped by its disconnect callback (kombu's Channel._on_connection_disconnect).
    connection.collect()
    message.channel._disconnect_pools()
    with pytest.raises(AttributeError):
        message.ack_log_error(logging.getLogger(__name__), ())  # what the event loop ran and died of
    settle_message(message.ack_log_error, logging.getLogger(__name__), ())
    # Not acknowledged, so not lost: the collect put it back in its queue here (Redis is up), and the
    # sweep does when the collect could not.
    with Connection(url) as receiver:
        again = receiver.SimpleQueue("acks").get(timeout=5)
        assert again.payload == {"page": 1}
        again.ack()


# ---- c. the process dies between storing a document and settling its cluster -----------------------

CRASH = """
import os, sys
import redis
from storage.archive import Archive
from storage.db import make_engine, make_sessionmaker
from storage.index import RedisIndex

database, redis_url, step, original, copy = sys.argv[1:]
archive = Archive(make_sessionmaker(make_engine(database)), RedisIndex(redis.Redis.from_url(redis_url), "faults"))
archive.add_html(open(original, "rb").read(), key="original")
setattr(archive, step, lambda *args, **kwargs: os._exit(9))  # the process dies as this step starts
archive.add_html(open(copy, "rb").read(), key="copy")
sys.exit("survived the crash point")
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "step",
    [
        "_settle",  # right after the document's transaction committed: not in the index, no cluster
        "_record",  # filed in the index, inside the cluster transaction, which never commits
    ],
)
def test_death_between_document_and_cluster_is_repaired(
    database_url: str, redis_client: redis.Redis, redis_url: str, step: str
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASH,
            database_url,
            redis_url,
            step,
            str(SEEDS / "southfront-original.html"),
            str(SEEDS / "blog-repost.html"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 9, done.stderr
    archive = Archive(make_sessionmaker(make_engine(database_url)), RedisIndex(redis_client, "faults"))
    with archive.sessions() as session:
        copy = session.scalars(select(Document).where(Document.url == "copy")).one()
        original = session.scalars(select(Document).where(Document.url == "original")).one()
        assert (copy.clustered, copy.cluster_id) == (False, None)
        assert original.clustered and original.cluster_id is not None
    assert archive.repair() == 1
    assert archive.repair() == 0
    with archive.sessions() as session:
        copy = session.get_one(Document, copy.id)
        cluster = session.get_one(Cluster, original.cluster_id)
        assert copy.clustered and copy.cluster_id == original.cluster_id
        assert (cluster.size, cluster.canonical_id) == (2, original.id)
        assert session.scalar(select(func.count()).select_from(Cluster)) == 1


# ---- d. one URL queued 50 times at once ---------------------------------------------------------------


@pytest.mark.timeout(60)
def test_same_url_queued_50_times_is_stored_once(
    database_url: str, make_stack: Callable[..., Stack], newsrooms: Callable[..., Newsroom]
) -> None:
    site = newsrooms("127.0.0.13", delay=0.5)  # slow enough that both processes fetch it at the same time
    url = site.add("/once", (SEEDS / "southfront-original.html").read_bytes())
    stack = make_stack(database_url)
    stack.queue(*[url] * 50)  # queued before the worker starts: its 2 processes take the first two together
    stack.start_worker(concurrency=2)
    stack.wait(lambda: stack.count() == 1 and stack.idle(), 45, "all 50 deliveries done")
    stack.stop()
    assert site.hits["/once"] >= 2, "the two processes never raced"
    assert stack.count() == 1 and stack.count(Document.clustered.is_(True)) == 1
    assert stack.failures() == {}
    with stack.sessions() as session:
        assert [c.size for c in session.scalars(select(Cluster))] == [1]


# ---- e. a page that kills every worker process that touches it ---------------------------------------


@pytest.mark.timeout(90)
def test_poison_pages_are_recorded_and_never_loop(
    make_stack: Callable[..., Stack], newsrooms: Callable[..., Newsroom]
) -> None:
    """Two pages that kill the pool process fetching them: one SIGKILLs it (a segfault, the OOM killer), one
    hangs it (SIGSTOP: stuck in C code) until the hard time limit kills it. Each is fetched exactly
    COPYDESK_MAX_ATTEMPTS times, then recorded as `poison`; the worker stores everything else meanwhile."""
    site = newsrooms("127.0.0.14")
    deaths = {"/killed": signal.SIGKILL, "/hung": signal.SIGSTOP}
    poison = {path: site.add(path, b"") for path in deaths}
    site.deadly.update(deaths)
    rng = random.Random(7)
    expected = [{site.add(f"/e/{i}", page(f"Story {i}", story(rng)))} for i in range(20)]
    # 2 attempts, not the default 3: Celery notices a killed pool process only every 5 s, and each death
    # costs that. A 2 s hard time limit, for the hung page.
    stack = make_stack(COPYDESK_MAX_ATTEMPTS="2", COPYDESK_TASK_TIME_LIMIT="2")
    worker = stack.start_worker()
    stack.queue(*poison.values(), *(url for group in expected for url in group))
    recorded = {url: "poison" for url in poison.values()}
    stack.wait(lambda: stack.failures() == recorded, 60, "both poison pages recorded")
    stack.wait(lambda: stack.count() == len(expected) and stack.idle(), 30, "the other pages stored")
    time.sleep(0.5)  # time for a third delivery, if there were one
    assert (site.hits["/killed"], site.hits["/hung"]) == (2, 2), "not fetched exactly max_attempts times"
    assert len(set(site.signalled)) == 4, "not a fresh pool process each time"
    assert worker.poll() is None, "the worker itself died"
    for url in poison.values():
        assert not stack.redis.exists(attempts_key_of(url)), "an attempt counter was left behind"
    with stack.sessions() as session:
        messages = list(session.scalars(select(Failure.message)))
    assert len(messages) == 2 and all("died 2 times" in message for message in messages)
    stack.stop()
    assert_whole(stack, expected)


# ---- f. a batch of pushed pages: killed half-way, or too long for one task ------------------------------


def pushed_batch(count: int, rng: random.Random) -> tuple[list[dict[str, str]], list[set[str]]]:
    """About `count` pushed pages: stories on one site, every third reposted on a second one."""
    pages, expected = [], []
    for i in range(count * 3 // 4):
        paragraphs = story(rng)
        group = {f"http://site-a.example/{i}"}
        if i % 3 == 0:
            group.add(f"http://site-b.example/{i}")
        for url in sorted(group):
            pages.append({"html": page(f"Story {i}", paragraphs).decode(), "url": url})
        expected.append(group)
    return pages, expected


def received(stack: Stack, task: str) -> int:
    """How many deliveries of `task` the worker logged."""
    return len(re.findall(rf"Task {re.escape(task)}\[[-0-9a-f]+\] received", stack.log.read_text(errors="replace")))


@pytest.mark.timeout(90)
def test_a_batch_killed_part_way_is_split_into_single_pages(make_stack: Callable[..., Stack]) -> None:
    """The pool process running an ingest_pages batch is SIGKILLed part-way through. The batch comes back
    and, its earlier delivery having died, is split into one ingest_html task a page (so that the poison
    guard can find a page that kills workers): every page is stored once, in the right cluster."""
    pages, expected = pushed_batch(300, random.Random(11))
    stack = make_stack()
    worker = stack.start_worker(concurrency=1)
    stack.wait(lambda: len(psutil.Process(worker.pid).children()) == 1, 30, "the pool process started")
    stack.client.send_task(INGEST_PAGES, args=[pages])
    stack.wait(lambda: stack.count() > 0, 30, "the batch's first pages stored")
    psutil.Process(worker.pid).children()[0].kill()
    assert stack.count() < len(pages), "the batch ended before it could be killed"
    stack.wait(lambda: stack.count() == len(pages) and stack.idle(), 60, "every page stored after the split")
    assert received(stack, INGEST_HTML) == len(pages), "not split into one task a page"
    assert stack.failures() == {}
    assert not stack.redis.exists(attempts_key_of(batch_key([p["url"] for p in pages])))
    stack.stop()
    assert_whole(stack, expected)


@pytest.mark.timeout(90)
def test_a_batch_too_long_for_one_task_queues_its_remainder(make_stack: Callable[..., Stack]) -> None:
    """With a 2 s task time limit, a batch stops starting pages after a quarter of it and queues the rest
    as a new batch: nothing is killed by the time limit, nothing is lost, and no pushed page is left behind."""
    pages, expected = pushed_batch(1000, random.Random(12))  # ~2 s of extraction
    stack = make_stack(COPYDESK_TASK_TIME_LIMIT="2")
    stack.start_worker(concurrency=1)
    # Kept in Redis by worker.push: the remainder queued again still finds its pages there.
    push_pages(stack.client, stack.redis, [(p["html"], p["url"]) for p in pages], batch_size=len(pages))
    stack.wait(lambda: stack.count() == len(pages) and stack.idle(), 60, "every page stored")
    assert received(stack, INGEST_PAGES) >= 2, "the batch was never continued"
    assert "TimeLimitExceeded" not in stack.log.read_text(errors="replace")
    assert stack.failures() == {}
    assert not list(stack.redis.scan_iter("copydesk:pushed:*")), "pushed pages left in Redis"
    stack.stop()
    assert_whole(stack, expected)


# ---- server errors: retried, then recorded ------------------------------------------------------------


@pytest.mark.timeout(60)
def test_server_errors_are_retried_then_recorded(
    make_stack: Callable[..., Stack], newsrooms: Callable[..., Newsroom]
) -> None:
    """An HTTP 500 is retried (after its Retry-After, else with exponential backoff): a page that recovers
    is stored, one that keeps failing is recorded as http_error once COPYDESK_MAX_RETRIES retries are spent."""
    site = newsrooms("127.0.0.16")
    rng = random.Random(8)
    oops: Reply = (500, {"Retry-After": "1"}, b"<html>oops</html>")
    flaky = site.serve("/flaky", oops, (200, {}, page("Flaky", story(rng))))
    broken = site.serve("/broken", oops)
    stack = make_stack(COPYDESK_MAX_RETRIES="2")
    stack.start_worker()
    stack.queue(flaky, broken)
    stack.wait(lambda: stack.count() == 1 and broken in stack.failures() and stack.idle(), 40, "both settled")
    stack.stop()
    assert (site.hits["/flaky"], site.hits["/broken"]) == (2, 3)
    assert stack.failures() == {broken: "http_error"}
    assert_whole(stack, [{flaky}])


# ---- the per-page extraction limit of `copydesk dedup` (one process, no Celery) -----------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("jobs", [1, 2])  # 2: the limit fires in the worker process extracting the page
def test_dedup_records_a_page_too_slow_to_extract(tmp_path: Path, memory_archive: Archive, jobs: int) -> None:
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in ("southfront-original.html", "blog-repost.html"):
        (folder / name).write_bytes((SEEDS / name).read_bytes())
    # 100,000 links: trafilatura needs ~10 s on this machine (a real shape: a giant sitemap-like listing).
    (folder / "slow.html").write_text("<html><body><div>" + "<a href='/x'>word</a> " * 100_000 + "</div></body></html>")
    handler, (timer, _) = signal.getsignal(signal.SIGALRM), signal.getitimer(signal.ITIMER_REAL)
    start = time.monotonic()
    report = dedup_directory(folder, memory_archive, page_time_limit=0.5, jobs=jobs)
    assert time.monotonic() - start < 6
    assert report["failed"] == [{"path": "slow.html", "error": "time_limit: extracting the page: processing took "
                                 "longer than 0.5 s"}]  # fmt: skip
    assert report["clusters"] == [
        {"canonical": "southfront-original.html", "members": ["blog-repost.html", "southfront-original.html"]}
    ]
    # Whatever alarm ran before (pytest-timeout's, with the signal method) is back, with its time left.
    assert signal.getsignal(signal.SIGALRM) == handler
    assert (timer == 0) == (signal.getitimer(signal.ITIMER_REAL)[0] == 0)


def test_time_limit_fires_through_except_exception_and_nests() -> None:
    start = time.monotonic()
    with pytest.raises(PageTimeLimitExceeded), time_limit(0.2):
        while True:
            with contextlib.suppress(Exception):  # what trafilatura does around its fallbacks
                time.sleep(0.01)
    assert time.monotonic() - start < 1
    # An inner limit inside a longer outer one: the inner fires first, the outer still fires afterwards.
    with pytest.raises(PageTimeLimitExceeded) as outer, time_limit(0.6):
        with pytest.raises(PageTimeLimitExceeded) as inner, time_limit(0.1):
            time.sleep(5)
        time.sleep(5)
    assert (inner.value.seconds, outer.value.seconds) == (0.1, 0.6)
    assert time.monotonic() - start < 2
    with time_limit(0.1):
        pass
    time.sleep(0.2)  # disarmed: nothing fires after the block
