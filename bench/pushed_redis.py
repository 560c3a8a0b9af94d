"""Where Redis's CPU goes when pages are pushed: the pages' HTML against the worker's own traffic, AOF on and off.

bench/through_worker.py measures redis-server using ~0.8-1.0 ms of CPU a page when pages are pushed through the
worker, against ~0.3 ms for the same pipeline in-process, while INFO commandstats shows the same ~0.3 ms of
command time a page in every mode. This splits that CPU, alternating in each round on one embedded Redis
(`worker.embedded.EmbeddedRedis`, append-only file on, as copydesk runs it):

  claim checks only   what worker.push.push_pages and the task do with each page's HTML, and nothing else: SET
                      in pipelines of --batch pages, then MGET and DEL of the batch
  worker              the same pages pushed with push_pages to a real worker (--concurrency 1, SQLite), from the
                      first push until every page is clustered: the claim checks plus the broker and the index

each with the append-only file on (`appendonly yes`, copydesk's setting: a pushed page survives a restart) and
off (CONFIG SET appendonly no), and prints redis-server's CPU (user + system, psutil) a page, medians of --repeat.

    .venv/bin/python bench/pushed_redis.py [--pages 508] [--batch 32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import psutil  # noqa: E402
import redis  # noqa: E402
from celery import Celery  # noqa: E402
from common import machine, remove_unless_kept  # noqa: E402  (bench/common.py)
from sqlalchemy import create_engine  # noqa: E402
from through_worker import Page, pages, wait_done  # noqa: E402  (bench/through_worker.py)

from storage.db import upgrade  # noqa: E402
from tests.servers import start_worker, stop_process  # noqa: E402
from worker.embedded import EmbeddedRedis  # noqa: E402
from worker.push import PUSHED_PREFIX, push_pages  # noqa: E402


def redis_cpu(server: psutil.Process) -> float:
    times = server.cpu_times()
    return float(times.user + times.system)


def claim_checks(client: redis.Redis, work: list[Page], batch: int) -> None:
    for start in range(0, len(work), batch):
        refs = [PUSHED_PREFIX + uuid.uuid4().hex for _ in work[start : start + batch]]
        with client.pipeline(transaction=False) as pipe:
            for ref, (_, html) in zip(refs, work[start : start + batch], strict=True):
                pipe.set(ref, html.encode("utf-8", "surrogatepass"), ex=3600)
            pipe.execute()
        client.mget(refs)
        client.delete(*refs)


def through_worker(
    tmp: Path, url: str, run: int, warm: list[Page], work: list[Page], batch: int, server: psutil.Process
) -> tuple[float, float]:
    """(Redis CPU seconds, seconds) from the first push until every page is clustered, the worker warmed up first."""
    database = f"sqlite:///{tmp / f'pushed{run}.db'}"
    upgrade(database)
    env = {"COPYDESK_DATABASE_URL": database, "COPYDESK_REDIS_URL": url, "COPYDESK_DATA_DIR": str(tmp)}
    worker = start_worker(env, concurrency=1, log=tmp / f"worker{run}.log")
    engine = create_engine(database)
    app = Celery("bench", broker=url)
    client = redis.Redis.from_url(url)

    def alive() -> str | None:
        return None if worker.poll() is None else f"the worker exited; its log: {tmp / f'worker{run}.log'}"

    try:
        push_pages(app, client, [(html, page_url) for page_url, html in warm], batch_size=batch)
        wait_done(engine, len(warm), alive)
        before, began = redis_cpu(server), time.perf_counter()
        push_pages(app, client, [(html, page_url) for page_url, html in work], batch_size=batch)
        finished = wait_done(engine, len(warm) + len(work), alive)
        return redis_cpu(server) - before, finished - began
    finally:
        stop_process(worker)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=508, help="at least this many pages per run (default 508)")
    parser.add_argument("--batch", type=int, default=32, help="pages a task and a pipeline (default 32)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are printed (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (worker logs, databases)")
    args = parser.parse_args()

    warm, work = pages(args.pages, 8)
    tmp = Path(tempfile.mkdtemp(prefix="copydesk-bench-pushed-"))
    server = EmbeddedRedis(tmp / "redis")
    url = server.start()
    assert server.process is not None
    process = psutil.Process(server.process.pid)
    client = redis.Redis.from_url(url)
    modes = [(what, aof) for what in ("claim checks only", "worker") for aof in ("yes", "no")]
    cpu: dict[tuple[str, str], list[float]] = {mode: [] for mode in modes}
    rates: dict[tuple[str, str], list[float]] = {mode: [] for mode in modes if mode[0] == "worker"}
    try:
        for run in range(args.repeat):
            for what, aof in modes if run % 2 == 0 else modes[::-1]:
                client.flushdb()
                client.config_set("appendonly", aof)
                if what == "worker":
                    used, seconds = through_worker(tmp, url, 2 * run + (aof == "no"), warm, work, args.batch, process)
                    rates[(what, aof)].append(len(work) / seconds)
                else:
                    before = redis_cpu(process)
                    claim_checks(client, work, args.batch)
                    used = redis_cpu(process) - before
                cpu[(what, aof)].append(1000 * used / len(work))
                print(f"run {run + 1} {what:<18} aof {aof:<3} {cpu[(what, aof)][-1]:.2f} ms/page", file=sys.stderr)
    finally:
        server.stop()
        remove_unless_kept(tmp, args.keep)

    print("# Redis CPU a pushed page: the claim checks alone and through a worker, append-only file on and off")
    print(f"# {machine()}")
    print(f"# {len(work)} pages of the dev corpus, {args.batch} a pipeline and a task, median of {args.repeat} rounds")
    print(f"{'mode':<32} {'redis CPU ms/page':>18} {'pages/s':>8}   rounds (ms/page)")
    for what, aof in modes:
        values = cpu[(what, aof)]
        rate = f"{statistics.median(rates[(what, aof)]):8.1f}" if (what, aof) in rates else f"{'':8}"
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"{what + ', appendonly ' + aof:<32} {statistics.median(values):18.2f} {rate}   {shown}")


if __name__ == "__main__":
    main()
