"""Two processes archiving into one SQLite file: writers taking turns (storage/db.py) against SQLite's busy handler.

SQLite lets one writer in at a time; the others, with a busy timeout, poll with sleeps of 1, 2, 5 ... up to 100 ms.
copydesk's connections queue for a lock file beside the database instead, looked at every 0.5 ms
(`_TurnTakingConnection`). This runs the same pages, in the same run, four ways: 1 and 2 spawned processes, with
turns and with the busy handler alone (`take_turn` made a no-op in the processes), in alternating order each
round, and prints the 2/1 ratio of each. Each process extracts and archives every other page, 32 at a time, with a
RedisIndex on one embedded Redis (flushed between runs) and a fresh SQLite file per run; it first archives 8
warm-up pages of its own.

    .venv/bin/python bench/sqlite_writers.py --pages 2032 --repeat 3

"write transactions" is the wall time from the start of each write transaction (waiting included) to the end of
its commit, summed over the processes, per page.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import machine, remove_unless_kept  # noqa: E402  (bench/common.py)

MODES = [("turns", 1), ("turns", 2), ("busy handler", 2), ("busy handler", 1)]


def _archive(conn: Connection, database: str, redis_url: str, part: int, parts: int, total: int, turns: bool) -> None:
    """In a spawned process: archive every `parts`-th page from `part`, say when it began and ended."""
    import redis
    import sqlalchemy.engine.base
    from sqlalchemy import event
    from through_worker import archive_pages, pages

    from storage import db
    from storage.archive import Archive
    from storage.index import RedisIndex

    if not turns:
        db._TurnTakingConnection.take_turn = lambda self: None  # type: ignore[method-assign]
    engine = db.make_engine(database)
    writing: dict[int, float] = {}
    spent = [0.0]

    @event.listens_for(engine, "begin", insert=True)
    def _began(connection: sqlalchemy.engine.Connection) -> None:
        if not connection.get_execution_options().get(db._READ_ONLY):
            writing[id(connection)] = time.perf_counter()

    commit = sqlalchemy.engine.base.Connection._commit_impl

    def _commit(connection: sqlalchemy.engine.Connection) -> None:
        commit(connection)
        began = writing.pop(id(connection), None)
        if began is not None:
            spent[0] += time.perf_counter() - began

    sqlalchemy.engine.base.Connection._commit_impl = _commit  # type: ignore[method-assign,assignment]
    archive = Archive(db.make_sessionmaker(engine), RedisIndex(redis.Redis.from_url(redis_url), "default"))
    warm, work = pages(total, 8)
    warm = [(url.replace("://warm.", f"://warm{part}.", 1), html) for url, html in warm]

    archive_pages(archive, warm, 32)
    conn.send("ready")
    conn.recv()
    spent[0] = 0.0
    began = time.perf_counter()
    archive_pages(archive, work[part::parts], 32)
    conn.send((began, time.perf_counter(), len(work[part::parts]), spent[0]))
    engine.dispose()


def run(tmp: Path, redis_url: str, total: int, turns: bool, processes: int, number: int) -> tuple[float, float]:
    """(pages/s, write transaction ms a page) of one run."""
    import redis

    from storage.db import upgrade

    database = f"sqlite:///{tmp / f'run{number}.db'}"
    upgrade(database)
    redis.Redis.from_url(redis_url).flushdb()
    context = multiprocessing.get_context("spawn")
    links, children = [], []
    for part in range(processes):
        ours, theirs = context.Pipe()
        child = context.Process(target=_archive, args=(theirs, database, redis_url, part, processes, total, turns))
        child.start()
        links.append(ours)
        children.append(child)
    for link in links:
        link.recv()
    for link in links:
        link.send("go")
    results = [link.recv() for link in links]
    for child in children:
        child.join()
    began, finished = min(r[0] for r in results), max(r[1] for r in results)
    pages = sum(r[2] for r in results)
    return pages / (finished - began), sum(r[3] for r in results) / pages * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1016, help="pages a run (whole repetitions of the dev corpus)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each runs the four modes")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    from worker.embedded import EmbeddedRedis

    tmp = Path(tempfile.mkdtemp(prefix="copydesk-sqlite-writers-"))
    server = EmbeddedRedis(tmp / "redis")
    redis_url = server.start()
    rates: dict[tuple[str, int], list[float]] = {mode: [] for mode in MODES}
    writes: dict[tuple[str, int], list[float]] = {mode: [] for mode in MODES}
    try:
        for round_no in range(args.repeat):
            for number, (mode, processes) in enumerate(MODES if round_no % 2 == 0 else MODES[::-1]):
                rate, write_ms = run(tmp, redis_url, args.pages, mode == "turns", processes, round_no * 10 + number)
                rates[(mode, processes)].append(rate)
                writes[(mode, processes)].append(write_ms)
                print(f"round {round_no + 1} {mode:12s} x{processes} {rate:7.2f} pages/s", file=sys.stderr, flush=True)
    finally:
        server.stop()
        remove_unless_kept(tmp, args.keep)

    print(f"# SQLite writers: turns against the busy handler, 1 and 2 processes\n# {machine()}")
    print(f"# {args.pages} pages a run, {args.repeat} rounds, medians\n")
    print(f"{'mode':18s} {'pages/s':>8s} {'write transactions ms/page':>27s}   runs (pages/s)")
    for mode, processes in MODES:
        key = (mode, processes)
        runs = ", ".join(f"{r:.2f}" for r in rates[key])
        print(
            f"{mode + ' x' + str(processes):18s} {statistics.median(rates[key]):8.2f} "
            f"{statistics.median(writes[key]):27.2f}   {runs}"
        )
    for mode in ("turns", "busy handler"):
        ratios = [two / one for two, one in zip(rates[(mode, 2)], rates[(mode, 1)], strict=True)]
        listed = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"ratio 2/1, {mode}: {statistics.median(ratios):.2f}  (rounds: {listed})")


if __name__ == "__main__":
    main()
