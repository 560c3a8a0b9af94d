"""Memory of the archive itself over many pages, in one process, without Celery: is it flat, and if not, where?

The same pages as bench/memory.py (the dev pages repeated with distinct host prefixes, bench/pipeline.py's
workload()), each through `Archive.add_html` as the worker's task does, on SQLite and the embedded Redis.
Every --every pages: this process's RSS (after a full garbage collection) and the rate over the interval.
With --trace, tracemalloc runs from page --trace-from and the largest allocation growths between page
--trace-from + --every and the end are printed with their tracebacks (tracemalloc slows the run down
several times, so its rates mean nothing).

    PYTHONPATH=.:bench .venv/bin/python -P bench/memory_archive.py [--pages 10000] [--every 1000] [--trace]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import platform
import tempfile
import time
import tracemalloc
from pathlib import Path

import psutil
import redis
from pipeline import workload  # bench/pipeline.py

from ingest.extract import ExtractionError
from storage.archive import Archive
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import RedisIndex
from worker.embedded import EmbeddedRedis

MB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10000)
    parser.add_argument("--every", type=int, default=1000)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--trace-from", type=int, default=2000)
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.platform()}, one process")
    print(f"# {args.pages} pages through Archive.add_html (SQLite + embedded Redis), RSS after gc.collect()")
    print(f"{'pages':>7} {'RSS MB':>8} {'pages/s':>8}")
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis")
        database = f"sqlite:///{Path(tmp) / 'memory.db'}"
        upgrade(database)
        index = RedisIndex(redis.Redis.from_url(server.start()), "memory")
        archive = Archive(make_sessionmaker(make_engine(database)), index)
        try:
            before: tracemalloc.Snapshot | None = None
            first_rss = None
            began = time.perf_counter()
            for number, (_, url, html) in enumerate(workload(args.pages)[: args.pages], 1):
                if args.trace and number == args.trace_from:
                    tracemalloc.start(8)
                with contextlib.suppress(ExtractionError):  # no article: the worker records it, nothing to keep
                    archive.add_html(html, key=url, url=url)
                if number % args.every == 0:
                    gc.collect()
                    rss = process.memory_info().rss / MB
                    print(f"{number:>7} {rss:>8.1f} {args.every / (time.perf_counter() - began):>8.1f}", flush=True)
                    if number == 2 * args.every:
                        first_rss = rss
                    began = time.perf_counter()
                if args.trace and number == args.trace_from + args.every:
                    gc.collect()
                    before = tracemalloc.take_snapshot()
            gc.collect()
            rss = process.memory_info().rss / MB
            if first_rss is not None:
                print(f"\nRSS from page {2 * args.every} to {args.pages}: {rss - first_rss:+.1f} MB")
            if before is not None:
                after = tracemalloc.take_snapshot()
                print("\nlargest growths (tracemalloc):")
                for stat in after.compare_to(before, "traceback")[:10]:
                    print(stat)
                    for line in stat.traceback.format()[-6:]:
                        print("   ", line)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
