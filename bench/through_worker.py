"""Through the worker: pushed pages through Celery on an embedded Redis, with 1 and 2 worker processes,
into SQLite and into PostgreSQL, against the same pages archived in-process.

Pages: ../shared/corpus/dev/pages repeated to at least --pages (bench/pipeline.py's workload(): each
repetition is a new set of sites, the page's host prefixed "r<N>."), decoded with ingest.extract.decode_html
before any timing, and sent as `copydesk.ingest_html(html, url)`, or with --batch N as `copydesk.ingest_pages`
batches of N pages pushed by worker.push.push_pages (each page's HTML kept in Redis, the task carrying its key;
--inline: the HTML in the task). The in-process run then adds them N at a time with Archive.add_many, as the
task does.

For each database (a fresh SQLite file / a fresh database on a throw-away PostgreSQL cluster for every run,
and FLUSHDB of the embedded Redis) four modes run in turn, their order rotated from one round to the next:

  worker c=1     `celery -A worker.app worker --pool prefork --concurrency 1` (tests.servers.start_worker)
  worker c=2     the same with --concurrency 2
  in-process     storage.archive.Archive.add_many, one batch after the other, with a RedisIndex on the same Redis:
                 the pipeline without Celery. It runs in a freshly spawned process, as cold as a new pool process
                 (trafilatura keeps caches keyed by content, which would favour a process that saw the pages
                 before).
  in-process x2  the same in 2 spawned processes at once, each adding every other page into the same database:
                 what 2 processes can do on this machine and database without Celery

With --backlog, the worker modes' timed pages are queued (behind the warm-up pages) before the worker starts,
so the clock runs on a queue the worker only drains: its throughput on a backlog, with no sender sharing the CPUs.

Every mode first gets --warmup pages of its own (hosts "warm.<host>", untimed: process start, imports, first
connections). The clock then starts at the first send and stops when the database holds as many clustered
documents + recorded failures as pages were sent (polled every 50 ms by a plain connection that takes no lock).

  pages/s    pages / that time
  ratio 2/1  pages/s with 2 processes / with 1, the two runs of one round side by side; the median over the
             rounds (goal >= 1.8; the machine's cores bound it: see "ceiling" below)
  overhead   (worker seconds per page with 1 process - in-process seconds per page) / in-process seconds per page,
             paired by round, median (goal <= 10%): what a Celery task costs on top of the work itself. Split into
             "inside the task" (the tasks' run times, which the worker logs as "succeeded in X s", against the
             in-process time) and "between tasks" (the rest: a pool process waiting for its next task: ack, fetch
             the next message from Redis, hand it over from the worker's main process)
  ratio 2/1 without Celery  in-process x2 / in-process, paired by round: the same ceiling with storage in it
  ceiling    extraction alone, no I/O, in 1 process then in 2 at once (forked): the best 2/1 this machine
             gives at that moment; other work on a shared machine lowers it

CPU: the CPU seconds each part used during the timed phase (psutil), per page: the processes doing the pages
("working": the worker's pool processes, or the in-process one), the worker's main process, redis-server,
PostgreSQL (postmaster and backends), this process (sending and polling), and every other process on the machine
(from /proc/stat). The working processes' time is split into computing, waiting for a CPU (runnable, from
/proc/<pid>/task/*/schedstat) and sleeping (waiting for a lock, Redis, the database, or the next task).

Medians over --repeat rounds are printed, with every round's value.

    .venv/bin/python bench/through_worker.py [--pages 500] [--repeat 2] [--warmup 8] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first (the worker package, storage, ingest, tests), then bench/ for bench/pipeline.py, also
# when bench/ is not on the path (`python -P`).
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import psutil  # noqa: E402
import redis  # noqa: E402
from celery import Celery  # noqa: E402
from common import machine, remove_unless_kept  # noqa: E402  (bench/common.py)
from pipeline import workload  # noqa: E402  (bench/pipeline.py)
from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402

from ingest.extract import ExtractionError, decode_html, extract  # noqa: E402
from storage.archive import Archive, Arrival  # noqa: E402
from storage.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from storage.index import RedisIndex  # noqa: E402
from storage.models import Document, Failure  # noqa: E402
from tests.servers import Postgres, start_worker, stop_process  # noqa: E402
from worker.app import INGEST_HTML, INGEST_PAGES  # noqa: E402
from worker.embedded import EmbeddedRedis  # noqa: E402
from worker.push import push_pages  # noqa: E402

MODES = ("worker c=1", "worker c=2", "in-process", "in-process x2")
PARTS = ("working", "worker main", "redis", "postgres", "bench", "others")
POLL = 0.05  # seconds between two counts of what is stored
COMMANDS = 6  # Redis commands shown a mode
STALL = 180.0  # seconds without progress after which a run is abandoned

Page = tuple[str, str]  # (url, html)


@dataclass
class Run:
    pages: int
    seconds: float
    send_seconds: float  # worker modes: how long sending every task took (inside `seconds`)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by part, during the timed phase
    queued: dict[str, float] = field(default_factory=dict)  # seconds by part runnable but waiting for a CPU
    processes: int = 1  # the processes doing the pages: the pool's, or the in-process one
    # Worker modes: the tasks' own run times summed ("Task ... succeeded in X s" in the worker's log: measured
    # in the pool process around the task function); in-process: the whole run.
    task_seconds: float = 0.0
    # Redis commands run during the timed phase: {command: (calls, microseconds)} (INFO commandstats)
    commands: dict[str, tuple[int, int]] = field(default_factory=dict)

    def split(self) -> tuple[float, float, float]:
        """Shares of the working processes' time: computing, waiting for a CPU, sleeping."""
        available = self.seconds * self.processes
        computing, waiting = self.cpu["working"] / available, self.queued["working"] / available
        return computing, waiting, max(0.0, 1 - computing - waiting)

    @property
    def rate(self) -> float:
        return self.pages / self.seconds


def pages(total: int, warmup: int) -> tuple[list[Page], list[Page]]:
    """(warm-up pages, timed pages): decoded once, before anything is timed."""
    work = [(url, decode_html(html)) for _, url, html in workload(total)]
    warm = [(url.replace("://r0.", "://warm.", 1), html) for url, html in work[:warmup]]
    return warm, work


class Database:
    """Fresh databases of one kind: a SQLite file, or a database on a throw-away PostgreSQL cluster."""

    def __init__(self, kind: str, directory: Path, postgres_url: str | None = None) -> None:
        self.kind = kind
        self.directory = directory
        self.postgres_url = postgres_url
        self.made = 0

    def fresh(self) -> str:
        self.made += 1
        if self.kind == "sqlite":
            url = f"sqlite:///{self.directory / f'bench{self.made}.db'}"
        else:
            assert self.postgres_url is not None
            name = f"bench_{self.made}"
            admin = create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
                conn.execute(text(f"CREATE DATABASE {name}"))
            admin.dispose()
            url = self.postgres_url.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        return url


def done(engine: Engine) -> int:
    """Clustered documents + recorded failures. A plain engine: on SQLite a SELECT here takes no lock
    (the archive's own engine opens every transaction with BEGIN IMMEDIATE)."""
    with engine.connect() as conn:
        documents = conn.scalar(select(func.count()).select_from(Document).where(Document.clustered.is_(True)))
        failures = conn.scalar(select(func.count()).select_from(Failure))
    return int(documents or 0) + int(failures or 0)


def wait_done(engine: Engine, target: int, alive: Callable[[], str | None]) -> float:
    """Poll until done(engine) == target; returns the perf_counter time it was seen.

    Every POLL seconds near the end, less often before it: each count costs this process and the
    database CPU that the worker's processes would otherwise have (the in-process modes count nothing)."""
    started, last, last_change = time.perf_counter(), -1, time.monotonic()
    while True:
        count = done(engine)
        now = time.perf_counter()
        if count >= target:
            return now
        if count != last:
            last, last_change = count, time.monotonic()
        problem = alive()
        if problem:
            raise SystemExit(f"{problem} ({count}/{target} pages done)")
        if time.monotonic() - last_change > STALL:
            raise SystemExit(f"no progress for {STALL:.0f} s: {count}/{target} pages done")
        rate = count / (now - started)  # pages/s so far; sleep through a quarter of what is left at that rate
        time.sleep(min(max(POLL, (target - count) / rate / 4 if rate else POLL), 0.5))


def run_queue_seconds(process: psutil.Process) -> float:
    """Time the process's threads spent runnable but waiting for a CPU (Linux /proc/<pid>/task/*/schedstat)."""
    total = 0
    for stat in Path(f"/proc/{process.pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine used so far (steal and I/O wait left out)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


class CPU:
    """CPU seconds (user + system) and run-queue wait of groups of processes, between two snapshots."""

    def __init__(self, groups: dict[str, Callable[[], Iterable[psutil.Process]]]) -> None:
        self.groups = groups
        self.start: dict[str, dict[int, tuple[float, float]]] = {}
        self.machine = 0.0

    def _snapshot(self) -> dict[str, dict[int, tuple[float, float]]]:
        taken: dict[str, dict[int, tuple[float, float]]] = {}
        for name, processes in self.groups.items():
            taken[name] = {}
            for process in processes():
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                taken[name][process.pid] = (times.user + times.system, run_queue_seconds(process))
        return taken

    def begin(self) -> None:
        self.start = self._snapshot()
        self.machine = machine_busy_seconds()

    def end(self) -> tuple[dict[str, float], dict[str, float]]:
        """({part: CPU seconds}, {part: run-queue seconds}) since begin(), with "others": every other
        process on the machine. A process that started meanwhile counts from 0."""
        end = self._snapshot()
        machine = machine_busy_seconds() - self.machine
        cpu: dict[str, float] = {}
        queued: dict[str, float] = {}
        for name in self.groups:
            was = self.start[name]
            cpu[name] = sum(c - was.get(pid, (0.0, 0.0))[0] for pid, (c, _) in end[name].items())
            queued[name] = sum(q - was.get(pid, (0.0, 0.0))[1] for pid, (_, q) in end[name].items())
        cpu["others"] = max(0.0, machine - sum(cpu.values()))
        return cpu, queued


def processes_of(pid: int | None, children: bool = True, itself: bool = True) -> Callable[[], list[psutil.Process]]:
    def find() -> list[psutil.Process]:
        if pid is None:
            return []
        try:
            process = psutil.Process(pid)
            return ([process] if itself else []) + (process.children(recursive=True) if children else [])
        except psutil.Error:
            return []

    return find


class Bench:
    def __init__(
        self,
        tmp: Path,
        redis_server: EmbeddedRedis,
        postmaster: Callable[[], int | None],
        warm: list[Page],
        sizes: tuple[int, int],
        batch: int,
        inline: bool,
        backlog: bool = False,
    ) -> None:
        self.tmp = tmp
        self.sizes = sizes  # (--pages, --warmup): the in-process child builds the same pages from them
        self.batch = batch
        self.inline = inline
        self.backlog = backlog
        self.redis_server = redis_server
        self.redis_url = redis_server.url
        self.redis = redis.Redis.from_url(self.redis_url)
        self.postmaster = postmaster
        self.warm = warm
        self.client = Celery("bench", broker=self.redis_url)
        self.client.conf.task_default_queue = "copydesk"
        self.logs = 0

    def cpu_groups(
        self, working: Callable[[], list[psutil.Process]], main: int | None
    ) -> dict[str, Callable[[], Iterable[psutil.Process]]]:
        assert self.redis_server.process is not None
        return {
            "working": working,
            "worker main": processes_of(main, children=False),
            "redis": processes_of(self.redis_server.process.pid, children=False),
            "postgres": processes_of(self.postmaster()),
            "bench": processes_of(os.getpid(), children=False),
        }

    def through_worker(self, database: str, concurrency: int, work: list[Page]) -> Run:
        self.redis.flushdb()
        self.logs += 1
        log = self.tmp / f"worker{self.logs}.log"
        env = {
            "COPYDESK_DATABASE_URL": database,
            "COPYDESK_REDIS_URL": self.redis_url,
            "COPYDESK_DATA_DIR": str(self.tmp),
        }
        engine = create_engine(database)
        # Queued before the worker is up: that is fine, they wait. With --backlog the timed pages too, behind
        # the warm-up ones, so the clock runs on a queue the worker only drains, with no sender beside it.
        for url, html in self.warm:
            self.client.send_task(INGEST_HTML, args=[html, url])
        ids = self.send(work) if self.backlog else set()
        process = start_worker(env, concurrency=concurrency, log=log)

        def alive() -> str | None:
            if process.poll() is None:
                return None
            return f"the worker exited with {process.returncode}; its log: {log}"

        try:
            wait_done(engine, len(self.warm), alive)
            cpu = CPU(self.cpu_groups(processes_of(process.pid, itself=False), process.pid))
            cpu.begin()
            self.redis.config_resetstat()
            began = time.perf_counter()
            if not self.backlog:
                ids = self.send(work)
            sent = time.perf_counter()
            finished = wait_done(engine, len(self.warm) + len(work), alive)
            used, queued = cpu.end()
            commands = self.commands()
        finally:
            stop_process(process)
            engine.dispose()
        runtimes = task_runtimes(log, ids)
        if len(runtimes) != len(ids):
            print(f"warning: {len(runtimes)} of {len(ids)} task run times found in {log}", file=sys.stderr)
        task_seconds = sum(runtimes) / len(runtimes) * len(ids) if runtimes else float("nan")
        return Run(len(work), finished - began, sent - began, used, queued, concurrency, task_seconds, commands)

    def commands(self) -> dict[str, tuple[int, int]]:
        """{command: (calls, microseconds)} since the last CONFIG RESETSTAT."""
        stats = self.redis.info("commandstats")
        return {name.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"])) for name, v in stats.items()}

    def send(self, work: list[Page]) -> set[str]:
        """Queue the pages, one ingest_html task each, or ingest_pages batches of --batch kept in Redis by
        worker.push (--inline: with the HTML in the task); the tasks' ids."""
        if self.batch == 1:
            return {self.client.send_task(INGEST_HTML, args=[html, url]).id for url, html in work}
        if self.inline:
            return {
                self.client.send_task(INGEST_PAGES, args=[[{"html": html, "url": url} for url, html in chunk]]).id
                for chunk in chunks(work, self.batch)
            }
        return set(push_pages(self.client, self.redis, [(html, url) for url, html in work], batch_size=self.batch))

    def in_process(self, database: str, work: list[Page], processes: int = 1) -> Run:
        """The pipeline without Celery in `processes` spawned processes at once, each adding its share of the
        pages (every n-th page, so copies of one story arrive in different processes, as through the worker)."""
        self.redis.flushdb()
        context = multiprocessing.get_context("spawn")
        pipes, children = [], []
        try:
            for part in range(processes):
                ours, theirs = context.Pipe()
                args = (theirs, database, self.redis_url, *self.sizes, self.batch, part, processes)
                children.append(context.Process(target=_in_process, args=args))
                children[-1].start()
                pipes.append(ours)
            for ours in pipes:
                if not ours.poll(STALL) or ours.recv() != "ready":
                    raise SystemExit("an in-process child did not get ready")
            pids = {child.pid for child in children}
            working = lambda: [p for pid in pids for p in processes_of(pid, children=False)()]  # noqa: E731
            cpu = CPU(self.cpu_groups(working, None))
            cpu.begin()
            self.redis.config_resetstat()
            for ours in pipes:
                ours.send("go")
            ends = []
            for ours in pipes:
                if not ours.poll(STALL * 10):
                    raise SystemExit("an in-process child did not finish")
                ends.append(ours.recv())
            used, queued = cpu.end()
            commands = self.commands()
            for ours in pipes:  # only now may they close their connections: a PostgreSQL backend gone is not counted
                ours.send("bye")
        finally:
            for child in children:
                child.join(60)
                if child.is_alive():
                    child.kill()
        began, finished = min(b for b, _, _ in ends), max(f for _, f, _ in ends)
        count = sum(c for _, _, c in ends)
        if count != len(work):
            raise SystemExit(f"the in-process children did {count} pages, not {len(work)}")
        seconds = finished - began
        return Run(len(work), seconds, 0.0, used, queued, processes, seconds * processes, commands)


def _in_process(
    conn: Connection, database: str, redis_url: str, total: int, warmup: int, batch: int, part: int, parts: int
) -> None:
    """In a spawned process: archive the warm-up pages (its own hosts), say ready, then archive its share of the
    pages when told to, `batch` at a time as ingest_pages does (a batch of 1 is what Archive.add_html does)."""
    warm, work = pages(total, warmup)
    warm = [(url.replace("://warm.", f"://warm{part}.", 1), html) for url, html in warm]
    work = work[part::parts]
    engine = make_engine(database)
    archive = Archive(make_sessionmaker(engine), RedisIndex(redis.Redis.from_url(redis_url), "default"))

    archive_pages(archive, warm, batch)
    conn.send("ready")
    conn.recv()
    began = time.perf_counter()  # CLOCK_MONOTONIC: the same clock in every process
    archive_pages(archive, work, batch)
    finished = time.perf_counter()
    conn.send((began, finished, len(work)))
    conn.recv()  # the parent has read the CPU counters
    engine.dispose()


SUCCEEDED = re.compile(
    rf"Task (?:{re.escape(INGEST_HTML)}|{re.escape(INGEST_PAGES)})\[([0-9a-f-]+)\] succeeded in ([0-9.e+-]+)s"
)


def archive_pages(archive: Archive, pages: list[Page], batch: int) -> None:
    """Extract and archive `pages`, `batch` at a time, as the ingest_pages task does."""
    for chunk in chunks(pages, batch):
        arrivals = []
        for url, html in chunk:
            try:
                arrivals.append(Arrival(extract(html, url), url, url))
            except ExtractionError as err:
                archive.record_failure(url, err.reason, err.message)
        archive.add_many(arrivals)


def chunks(pages: list[Page], size: int) -> list[list[Page]]:
    return [pages[start : start + size] for start in range(0, len(pages), size)]


def task_runtimes(log: Path, ids: set[str]) -> list[float]:
    """The run time of each of these tasks, as the worker logged it when the task succeeded."""
    found = {}
    for match in SUCCEEDED.finditer(log.read_text(errors="replace")):
        if match.group(1) in ids:
            found[match.group(1)] = float(match.group(2))
    return list(found.values())


def start_postgres(directory: Path) -> tuple[Postgres | None, str]:
    """A throw-away cluster, or None and why not."""
    ensure = subprocess.run(["bash", str(ROOT / "scripts" / "ensure-postgres.sh")], capture_output=True, text=True)
    if ensure.returncode != 0:
        return None, f"scripts/ensure-postgres.sh failed: {(ensure.stderr or ensure.stdout).strip()[-500:]}"
    server = Postgres(directory)
    try:
        server.start()
    except (OSError, RuntimeError, subprocess.CalledProcessError) as err:
        return None, f"the PostgreSQL cluster did not start: {err}"
    return server, ""


def postmaster_pid(directory: Path) -> int | None:
    try:
        return int((directory / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _extract_all(pages: list[Page]) -> None:
    for url, html in pages:
        with contextlib.suppress(ExtractionError):
            extract(html, url)


def ceiling(pages: list[Page]) -> tuple[float, float]:
    """pages/s of extraction alone (pure CPU, no I/O) in 1 process, and in 2 processes at once (forked), each
    doing every page: the best 2/1 ratio this machine gives at this moment. 1 process runs before and after
    the 2, and counts with the mean of its two rates."""
    context = multiprocessing.get_context("fork")

    def rate(n: int) -> float:
        processes = [context.Process(target=_extract_all, args=(pages,)) for _ in range(n)]
        began = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        return n * len(pages) / (time.perf_counter() - began)

    before, two, after = rate(1), rate(2), rate(1)
    return (before + after) / 2, two


def paired(runs: dict[str, list[Run]], mode: str, base: str, value: Callable[[Run, Run], float]) -> list[float]:
    """value(run of mode, run of base) for the runs made in the same round, one after the other."""
    return [value(a, b) for a, b in zip(runs[mode], runs[base], strict=True)]


def report(kind: str, runs: dict[str, list[Run]]) -> None:
    def ms(values: Iterable[float]) -> str:
        return f"{1000 * median(values):8.1f}"

    print(f"\n## {kind}")
    print(f"{'mode':<12} {'pages/s':>8} {'ms/page':>8} {'task ms':>8} {'outside':>8}   runs (pages/s)")
    for mode in MODES:
        rates = [r.rate for r in runs[mode]]
        values = ", ".join(f"{v:.2f}" for v in rates)
        task = ms(r.task_seconds / r.pages for r in runs[mode])
        outside = ms((r.seconds * r.processes - r.task_seconds) / r.pages for r in runs[mode])
        print(f"{mode:<12} {median(rates):8.2f} {1000 / median(rates):8.1f} {task} {outside}   {values}")
    print(
        "(task ms: a task's mean run time as the worker logs it, in the pool process; outside: time per page each\n"
        " pool process spends between tasks = (wall x processes - task run times) / pages; in-process: all inside)"
    )
    scaling = paired(runs, "worker c=2", "worker c=1", lambda a, b: a.rate / b.rate)
    one, two = (median(r.rate for r in runs[mode]) for mode in MODES[:2])
    print(
        f"ratio 2/1 processes: {median(scaling):.2f}  (goal >= 1.8; median of the runs' ratios: "
        f"{', '.join(f'{v:.2f}' for v in scaling)}; ratio of the median rates {two / one:.2f})"
    )
    bare = paired(runs, "in-process x2", "in-process", lambda a, b: a.rate / b.rate)
    print(
        f"ratio 2/1 processes without Celery (in-process x2 / in-process): {median(bare):.2f}  (the same pipeline "
        f"and storage in 2 processes: what the machine and the database allow; runs: "
        f"{', '.join(f'{v:.2f}' for v in bare)})"
    )

    def per_page(r: Run) -> float:
        return r.seconds / r.pages

    overhead = paired(runs, "worker c=1", "in-process", lambda a, b: (per_page(a) - per_page(b)) / per_page(b))
    inside = paired(runs, "worker c=1", "in-process", lambda a, b: (a.task_seconds - b.seconds) / b.seconds)
    between = paired(runs, "worker c=1", "in-process", lambda a, b: (a.seconds - a.task_seconds) / b.seconds)
    alone, worker = (median(per_page(r) for r in runs[mode]) for mode in ("in-process", "worker c=1"))
    print(
        f"per-task overhead (1 process vs in-process): {median(overhead):+.1%}  (goal <= 10%; median of the runs': "
        f"{', '.join(f'{v:+.1%}' for v in overhead)}; from the median rates {(worker - alone) / alone:+.1%})"
    )
    print(
        f"  of which inside the task {median(inside):+.1%} (the task's run time against in-process time per page), "
        f"between tasks {median(between):+.1%} (hand-over: ack, fetch the next message, pass it to the pool process)"
    )
    print(f"\nCPU ms per page and where the working processes' time went (medians), {kind}:")
    ours = [p for p in PARTS if p != "others"]
    print(
        f"{'mode':<12} "
        + " ".join(f"{p:>11}" for p in PARTS)
        + f" {'ours':>6}   {'computing':>9} {'CPU wait':>8} {'sleeping':>8}"
    )
    for mode in MODES:
        cells = [median(1000 * r.cpu[p] / r.pages for r in runs[mode]) for p in PARTS]
        total = median(1000 * sum(r.cpu[p] for p in ours) / r.pages for r in runs[mode])
        shares = [median(r.split()[i] for r in runs[mode]) for i in range(3)]
        print(
            f"{mode:<12} "
            + " ".join(f"{c:11.1f}" for c in cells)
            + f" {total:6.1f}   "
            + " ".join(f"{v:>{w}.0%}" for v, w in zip(shares, (9, 8, 8), strict=True))
        )
    print(f"\nRedis commands a page (INFO commandstats, medians; the {COMMANDS} costliest in Redis's own time):")
    for mode in MODES:
        totals: dict[str, int] = {}
        for r in runs[mode]:
            for name, (_, usec) in r.commands.items():
                totals[name] = totals.get(name, 0) + usec
        top = sorted(totals, key=totals.__getitem__, reverse=True)[:COMMANDS]
        shown: list[str] = []
        for name in top:
            calls = median(r.commands.get(name, (0, 0))[0] / r.pages for r in runs[mode])
            spent = median(r.commands.get(name, (0, 0))[1] / r.pages for r in runs[mode])
            shown.append(f"{name} {calls:.2f}x {spent:.0f}us")
        every = median(sum(u for _, u in r.commands.values()) / r.pages for r in runs[mode])
        print(f"{mode:<12} all {every:.0f}us: " + ", ".join(shown))
    sends = [r.send_seconds for mode in MODES[:2] for r in runs[mode]]
    if max(sends) > 0.001:  # with --backlog nothing is sent inside the timing
        print(f"sending every task took {min(sends):.2f}-{max(sends):.2f} s of each worker run (inside the timing)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=500, help="at least this many pages per run (default 500)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each mode; medians are printed (default 2)")
    parser.add_argument("--warmup", type=int, default=8, help="untimed pages before each run (default 8)")
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql (default both)"
    )
    parser.add_argument(
        "--ceiling-pages", type=int, default=100, help="pages per process for the extraction-only ceiling (default 100)"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="pages a task: 1 sends copydesk.ingest_html a page, more sends copydesk.ingest_pages (default 1)",
    )
    parser.add_argument(
        "--inline", action="store_true", help="with --batch: the pages' HTML in the task, not kept in Redis"
    )
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="queue the timed pages before the worker starts (the clock starts when the warm-up pages are done)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (worker logs, databases)")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    if not set(kinds) <= {"sqlite", "postgresql"}:
        parser.error("--databases takes sqlite and/or postgresql")

    warm, work = pages(args.pages, args.warmup)
    tmp = Path(tempfile.mkdtemp(prefix="copydesk-bench-worker-"))
    pg_dir = Path(tempfile.mkdtemp(prefix="copydesk-bench-pg-"))  # not private to root: PostgreSQL runs as postgres
    redis_server = EmbeddedRedis(tmp / "redis")
    redis_server.start()
    postgres: Postgres | None = None
    skipped = ""
    if "postgresql" in kinds:
        postgres, skipped = start_postgres(pg_dir)
        if postgres is None:
            kinds.remove("postgresql")
    databases = {
        kind: Database(kind, tmp, postgres.url if kind == "postgresql" and postgres else None) for kind in kinds
    }
    bench = Bench(
        tmp,
        redis_server,
        lambda: postmaster_pid(pg_dir) if postgres else None,
        warm,
        (args.pages, args.warmup),
        max(1, args.batch),
        args.inline,
        args.backlog,
    )
    runs: dict[str, dict[str, list[Run]]] = {kind: {mode: [] for mode in MODES} for kind in kinds}
    ceilings: list[tuple[float, float]] = []
    load_before = os.getloadavg()
    try:
        for attempt in range(args.repeat):
            ceilings.append(ceiling(work[: args.ceiling_pages]))
            print(f"run {attempt + 1} ceiling 2/1 {ceilings[-1][1] / ceilings[-1][0]:.2f}", file=sys.stderr)
            for kind in kinds:
                order = MODES[attempt % len(MODES) :] + MODES[: attempt % len(MODES)]
                for mode in order:
                    url = databases[kind].fresh()
                    if mode.startswith("in-process"):
                        run = bench.in_process(url, work, 2 if mode.endswith("x2") else 1)
                    else:
                        run = bench.through_worker(url, int(mode[-1]), work)
                    runs[kind][mode].append(run)
                    print(f"run {attempt + 1} {kind:<10} {mode:<10} {run.rate:7.2f} pages/s", file=sys.stderr)
    finally:
        redis_server.stop()
        if postgres:
            postgres.stop()
        shutil.rmtree(pg_dir, ignore_errors=True)
        remove_unless_kept(tmp, args.keep)

    if args.batch > 1:
        how = "the HTML in the task" if args.inline else "the HTML kept in Redis by worker.push"
        print(
            f"# Through the worker: copydesk.ingest_pages, {args.batch} pages a task ({how}), via Celery + "
            f"embedded Redis, against Archive.add_many of {args.batch} pages"
        )
    else:
        print("# Through the worker: copydesk.ingest_html via Celery + embedded Redis, against Archive.add_html")
    print(f"# {machine()}")
    print(f"# {len(work)} pages per run (+{len(warm)} untimed warm-up pages), median of {args.repeat} runs")
    if args.backlog:
        print("# --backlog: the worker modes' pages were queued before the worker started; no sender in the timing")
    print(
        "# load average (1 min) before and after: "
        f"{load_before[0]:.2f}, {os.getloadavg()[0]:.2f} (other work on the machine competes for the CPUs)"
    )
    if skipped:
        print(f"# PostgreSQL skipped: {skipped}")
    one, two = median(c[0] for c in ceilings), median(c[1] for c in ceilings)
    each = ", ".join(f"{c[1] / c[0]:.2f}" for c in ceilings)
    print(
        f"\nceiling, extraction alone ({min(args.ceiling_pages, len(work))} pages per process, no I/O): "
        f"1 process {one:.2f} pages/s, 2 at once {two:.2f} pages/s, ratio 2/1 {two / one:.2f} (each run: {each})"
    )
    for kind in kinds:
        report(kind, runs[kind])


if __name__ == "__main__":
    main()
