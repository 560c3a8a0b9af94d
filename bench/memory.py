"""Memory of a worker process after 10,000 pages: is it flat?

A real Celery worker (`celery -A worker.app worker --pool prefork --concurrency 1`, tests.servers.start_worker,
no --max-tasks-per-child: the same pool process does every page, so a leak shows) on a fresh SQLite database and
an embedded Redis (worker.embedded.EmbeddedRedis). Pages: ../shared/corpus/dev/pages repeated with distinct URL
host prefixes (bench/pipeline.py's workload(): "r<N>.<host>"), cut to exactly --pages, pushed as
`copydesk.ingest_html(html, url)`. At most --window pages wait in the queue at any time, so Redis does not hold
10,000 pages at once.

Every --every pages done (clustered documents + recorded failures, polled from the database), the pool process's
memory is read with psutil: RSS, and USS (the pages only it maps; RSS also counts pages it still shares with the
worker's main process after the fork). The table gives both, the worker main process's RSS, and the rate over
the last interval. The growth between --every*2 pages (caches warm) and the end is the number to watch; the
archive's caches are bounded LRUs (storage/archive.py `cache_size`), so it should be near zero.

    .venv/bin/python bench/memory.py [--pages 10000] [--every 1000] [--window 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first, so that `worker` is the package whatever the path; bench/ after it, for
# bench/pipeline.py, also when bench/ is not on the path (`python -P`).
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import psutil  # noqa: E402
from celery import Celery  # noqa: E402
from common import machine, remove_unless_kept  # noqa: E402  (bench/common.py)
from pipeline import workload  # noqa: E402  (bench/pipeline.py)
from sqlalchemy import Engine, create_engine, func, select  # noqa: E402

from ingest.extract import decode_html  # noqa: E402
from storage.db import upgrade  # noqa: E402
from storage.models import Document, Failure  # noqa: E402
from tests.servers import start_worker, stop_process  # noqa: E402
from worker.app import INGEST_HTML  # noqa: E402
from worker.embedded import EmbeddedRedis  # noqa: E402

MB = 1024 * 1024
POLL = 0.2  # seconds between two counts of what is done
STALL = 300.0  # seconds without progress after which the run is abandoned


@dataclass
class Sample:
    pages: int  # done when the sample was taken
    seconds: float  # since the first send
    rss: float  # MB, the pool process
    uss: float  # MB, the pool process
    main_rss: float  # MB, the worker's main process
    pid: int  # the pool process (a new pid would mean it was replaced)


def pages(total: int) -> list[tuple[str, str]]:
    """(url, html) for exactly `total` pages; each distinct page is decoded once and its text shared."""
    decoded: dict[int, str] = {}
    work = []
    for _, url, html in workload(total)[:total]:
        if id(html) not in decoded:
            decoded[id(html)] = decode_html(html)
        work.append((url, decoded[id(html)]))
    return work


def done(engine: Engine) -> int:
    """Clustered documents + recorded failures (a plain engine: on SQLite this SELECT takes no lock)."""
    with engine.connect() as conn:
        documents = conn.scalar(select(func.count()).select_from(Document).where(Document.clustered.is_(True)))
        failures = conn.scalar(select(func.count()).select_from(Failure))
    return int(documents or 0) + int(failures or 0)


def pool_process(worker: psutil.Process, timeout: float = 60.0) -> psutil.Process:
    """The worker's only pool process (--concurrency 1), once it is there."""
    deadline = time.monotonic() + timeout
    while True:
        children = worker.children()
        if len(children) == 1:
            return children[0]
        if time.monotonic() > deadline:
            raise SystemExit(f"expected 1 pool process under the worker {worker.pid}, found {len(children)}")
        time.sleep(0.1)


def sample(worker: psutil.Process, count: int, seconds: float) -> Sample:
    child = pool_process(worker)
    return Sample(
        pages=count,
        seconds=seconds,
        rss=child.memory_info().rss / MB,
        uss=child.memory_full_info().uss / MB,
        main_rss=worker.memory_info().rss / MB,
        pid=child.pid,
    )


def run(work: list[tuple[str, str]], every: int, window: int, tmp: Path) -> list[Sample]:
    redis_server = EmbeddedRedis(tmp / "redis")
    redis_url = redis_server.start()
    database = f"sqlite:///{tmp / 'copydesk.db'}"
    upgrade(database)
    engine = create_engine(database)
    env = {"COPYDESK_DATABASE_URL": database, "COPYDESK_REDIS_URL": redis_url, "COPYDESK_DATA_DIR": str(tmp)}
    log = tmp / "worker.log"
    process = start_worker(env, concurrency=1, log=log)
    client = Celery("bench", broker=redis_url)
    client.conf.task_default_queue = "copydesk"
    try:
        worker = psutil.Process(process.pid)
        samples = [sample(worker, 0, 0.0)]  # the pool process before its first page
        print(f"{0:>7} pages  RSS {samples[0].rss:7.1f} MB", file=sys.stderr)
        began = time.perf_counter()
        sent, count, last_change = 0, 0, time.monotonic()
        next_sample = every
        while count < len(work):
            while sent < len(work) and sent - count < window:
                url, html = work[sent]
                client.send_task(INGEST_HTML, args=[html, url])
                sent += 1
            time.sleep(POLL)
            now = done(engine)
            if now != count:
                count, last_change = now, time.monotonic()
            if process.poll() is not None:
                raise SystemExit(f"the worker exited with {process.returncode} after {count} pages; its log: {log}")
            if time.monotonic() - last_change > STALL:
                raise SystemExit(f"no progress for {STALL:.0f} s after {count} pages; worker log: {log}")
            if count >= next_sample or count >= len(work):
                samples.append(sample(worker, count, time.perf_counter() - began))
                s = samples[-1]
                print(f"{count:>7} pages  RSS {s.rss:7.1f} MB  ({count / s.seconds:.1f} pages/s)", file=sys.stderr)
                while next_sample <= count:
                    next_sample += every
    finally:
        stop_process(process)
        engine.dispose()
        redis_server.stop()
    return samples


def at(samples: list[Sample], pages: int) -> Sample:
    """The first sample taken with at least `pages` done."""
    return next(s for s in samples if s.pages >= pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10_000, help="pages to push (default 10000)")
    parser.add_argument("--every", type=int, default=1000, help="read the memory every this many pages (default 1000)")
    parser.add_argument("--window", type=int, default=200, help="most pages waiting in the queue (default 200)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (worker log, database)")
    args = parser.parse_args()
    if args.pages < args.every:
        parser.error("--pages must be at least --every")

    work = pages(args.pages)
    tmp = Path(tempfile.mkdtemp(prefix="copydesk-bench-memory-"))
    load_before = os.getloadavg()
    try:
        samples = run(work, args.every, args.window, tmp)
    finally:
        remove_unless_kept(tmp, args.keep)

    print("# Memory of the worker's pool process (--concurrency 1, no --max-tasks-per-child), SQLite + embedded Redis")
    print(f"# {machine()}")
    print(f"# {len(work)} pages (the dev pages x {-(-len(work) // 254)} host prefixes), at most {args.window} queued")
    print(f"# load average (1 min) before and after: {load_before[0]:.2f}, {os.getloadavg()[0]:.2f}")
    pids = {s.pid for s in samples}
    if len(pids) > 1:
        print(f"# WARNING: the pool process was replaced during the run (pids {sorted(pids)})")
    print(f"\n{'pages':>7} {'RSS MB':>8} {'USS MB':>8} {'main RSS MB':>12} {'pages/s (interval)':>19}")
    previous: Sample | None = None
    for s in samples:
        rate = (
            f"{(s.pages - previous.pages) / (s.seconds - previous.seconds):19.1f}"
            if previous and s.seconds > previous.seconds
            else f"{'-':>19}"
        )
        print(f"{s.pages:>7} {s.rss:8.1f} {s.uss:8.1f} {s.main_rss:12.1f} {rate}")
        previous = s
    base = 2 * args.every if samples[-1].pages > 2 * args.every else args.every
    first, last = at(samples, base), samples[-1]
    thousands = (last.pages - first.pages) / 1000
    per = f", {(last.rss - first.rss) / thousands:+.2f} MB per 1,000 pages" if thousands > 0 else ""
    print(
        f"\ngrowth from {first.pages} to {last.pages} pages: RSS {last.rss - first.rss:+.1f} MB "
        f"({(last.rss - first.rss) / first.rss:+.1%}){per}, USS {last.uss - first.uss:+.1f} MB  (goal: flat)"
    )
    print(f"overall {last.pages / last.seconds:.1f} pages/s")


if __name__ == "__main__":
    main()
