"""Scheduled ingestion throughput: 3 local news sites x N entries, through a real worker, Redis and SQLite.

Phase 1 (cold): one dispatch; every source discovers its feed and sitemap, reads them (200), queues its
entries, and the worker fetches, extracts and clusters every story.   -> ingests/minute
Phase 2 (steady): R rounds of polls of the 3 unchanged sources (each poll: feed + sitemap, both 304).
                                                                      -> polls/minute

Both are bounded by the per-host spacing (--interval, COPYDESK_HOST_INTERVAL; production default 1 s):
3 hosts can take at most 3/interval requests a second between them.

    .venv/bin/python bench/polling.py [--entries 100] [--interval 1.0] [--concurrency 2] [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/ (the fake news sites) is not an installed package

import redis  # noqa: E402
from celery import Celery  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from storage.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from storage.models import Document, Source  # noqa: E402
from storage.sources import add_source  # noqa: E402
from tests.newsites import build_network  # noqa: E402
from tests.servers import start_worker, stop_process, worker_env  # noqa: E402
from worker.app import DISPATCH, POLL_SOURCE  # noqa: E402
from worker.embedded import EmbeddedRedis  # noqa: E402
from worker.monitoring import queue_status  # noqa: E402


def wait(condition: object, timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100, help="stories per site")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between requests to one host")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--rounds", type=int, default=10, help="steady-state polls per source")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="copydesk-bench-"))
    server = EmbeddedRedis(tmp / "redis")
    redis_url = server.start()
    reposts = max(1, args.entries * 3 // 10)
    network = build_network(("127.0.0.51", "127.0.0.52", "127.0.0.53"), stories=args.entries, reposts=reposts)
    database = f"sqlite:///{tmp / 'copydesk.db'}"
    upgrade(database)
    sessions = make_sessionmaker(make_engine(database))
    urls = [network.sites["a"].base + "/", network.sites["b"].base + "/", network.sites["c"].base + "/"]
    with sessions() as session, session.begin():
        for url in urls:
            add_source(session, url, "auto", 3600)
    env = worker_env(database, redis_url, tmp, COPYDESK_HOST_INTERVAL=str(args.interval))
    worker = start_worker(env, concurrency=args.concurrency, log=tmp / "worker.log")
    client = Celery("bench", broker=redis_url)
    client.conf.task_default_queue = "copydesk"
    stories = len(network.stories)

    def polls() -> int:
        with sessions() as session:
            return int(session.scalar(select(func.sum(Source.polls))) or 0)

    def stored() -> int:
        with sessions() as session:
            query = select(func.count()).select_from(Document).where(Document.clustered.is_(True))
            return int(session.scalar(query) or 0)

    try:
        # The worker is up once it answers a ping; only then does the clock start.
        wait(lambda: bool(client.control.ping(timeout=0.5)), 60, "the worker")
        start = time.monotonic()
        client.send_task(DISPATCH)
        polled = wait(lambda: polls() == 3, 300, "the first polls")
        done = wait(lambda: stored() == stories, 1800, f"{stories} stories stored")
        cold_poll = polled - start
        ingest = done - start
        queued_requests = sum(len(site.requests()) for site in network.sites.values())

        start = time.monotonic()
        for _ in range(args.rounds):
            for url in urls:
                client.send_task(POLL_SOURCE, args=[url])
        target = 3 + 3 * args.rounds
        finished = wait(lambda: polls() == target, 1800, f"{target} polls")
        steady = finished - start
        not_modified = sum(1 for site in network.sites.values() for hit in site.requests() if hit.status == 304)
        queue = queue_status(redis.Redis.from_url(redis_url))["queued"]
    finally:
        stop_process(worker)
        network.stop()
        server.stop()

    print(f"# scheduled ingestion, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")  # fmt: skip
    print(f"# 3 sites x {args.entries} stories ({stories} pages), worker concurrency {args.concurrency}, "
          f"host interval {args.interval}s, SQLite, embedded Redis")  # fmt: skip
    print(f"cold: 3 polls (discovery + feed + sitemap, 200) done after {cold_poll:.1f}s")
    print(f"cold: {stories} stories fetched, extracted and clustered in {ingest:.1f}s "
          f"({queued_requests} requests)  -> {stories / ingest * 60:.0f} ingests/minute")  # fmt: skip
    print(f"steady: {3 * args.rounds} polls of unchanged sources ({not_modified} answers 304) in {steady:.1f}s "
          f"-> {3 * args.rounds / steady * 60:.0f} polls/minute")  # fmt: skip
    print(f"queue left: {queue}")


if __name__ == "__main__":
    main()
