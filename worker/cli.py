"""The `copydesk` command line."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from worker.cli_sources import sources, status
from worker.config import PUSH_BATCH_SIZE, Settings, celery_broker_url

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(value: object) -> str:
    """Page text is untrusted: never let it send escape sequences to a terminal."""
    return _CONTROL.sub("", str(value)) if value is not None else ""


def _settings() -> Settings:
    return Settings.from_env()


def _archive(database_url: str) -> Any:
    """An Archive on database_url with an index in this process's memory (batch runs)."""
    from storage.archive import Archive
    from storage.db import make_engine, make_sessionmaker
    from storage.index import MemoryIndex

    _upgraded(database_url)
    return Archive(make_sessionmaker(make_engine(database_url)), MemoryIndex())


def _sessions(settings: Settings) -> Any:
    from storage.db import make_engine, make_sessionmaker

    _upgraded(settings.database_url)
    return make_sessionmaker(make_engine(settings.database_url))


def _upgraded(database_url: str) -> None:
    """storage.db.upgrade, or a clear error when the database cannot be opened: most often a command run from another
    directory than `copydesk run`, whose default data directory is relative to where it runs."""
    from sqlalchemy.exc import OperationalError

    from storage.db import upgrade

    try:
        upgrade(database_url)
    except OperationalError as error:
        hint = (
            " copydesk keeps its data in COPYDESK_DATA_DIR, ./data by default: under the directory a command runs"
            " from. Run it where `copydesk run` runs, or set COPYDESK_DATA_DIR (or COPYDESK_DATABASE_URL) to what"
            " that uses."
            if database_url.startswith("sqlite")
            else ""
        )
        shown = _shown_url(database_url)
        raise click.ClickException(f"cannot open the database {shown} ({error.orig}).{hint}") from None


def _shown_url(database_url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(database_url).render_as_string(hide_password=True)


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "worker.app", *args]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="copydesk")
def main() -> None:
    """copydesk: ingest news articles and link every syndicated copy to its canonical story.

    Configuration comes from the environment: COPYDESK_DATABASE_URL (default: SQLite under
    COPYDESK_DATA_DIR, ./data), COPYDESK_REDIS_URL (default: an embedded Redis started by
    `copydesk run`), COPYDESK_USER_AGENT, COPYDESK_ALLOW_NETWORKS (CIDRs fetches may reach despite
    the private-address block), COPYDESK_FLOWER_BASIC_AUTH (user:password).
    """


# ---- running ---------------------------------------------------------------------------------


@main.command()
@click.option("--concurrency", "-c", default=2, show_default=True, help="Worker processes.")
@click.option("--flower", is_flag=True, help="Also start Flower (monitoring UI).")
@click.option("--flower-port", default=5555, show_default=True)
def run(concurrency: int, flower: bool, flower_port: int) -> None:
    """The main job: a worker, a scheduler (beat) and, with --flower, Flower, on the configured stores.

    Without COPYDESK_REDIS_URL an embedded Redis server is started under the data directory.
    SIGINT (Ctrl-C), SIGTERM or SIGHUP stop Flower, beat, the worker (running tasks finish first) and
    the embedded Redis, in that order, wherever it was started from; a second signal stops at once.
    If one of them exits by itself, the others are stopped too and the exit status is not 0.
    """
    from storage.db import upgrade
    from worker.embedded import EmbeddedRedis
    from worker.supervise import Supervisor, exit_code, spawn

    def say(message: str) -> None:
        click.echo(f"copydesk run: {message}", err=True)

    supervisor = Supervisor(say)
    supervisor.install()  # before anything is started: a signal during start-up stops what was started
    settings = _settings()
    embedded: EmbeddedRedis | None = None
    crashed = None
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url)
        redis_url = settings.redis_url
        if redis_url is None and not supervisor.stopping:
            # On a unix socket in the data directory that only this user can open: other local users
            # can neither queue tasks nor flush the index. copydesk commands find it through redis.url.
            embedded = EmbeddedRedis(settings.data_dir / "redis", unix_socket=True)
            try:
                redis_url = embedded.start()
            except RuntimeError as err:  # a socket path too long, a server that would not start: say why
                raise click.ClickException(str(err)) from None
            marker = settings.data_dir / "redis.url"
            marker.unlink(missing_ok=True)
            marker.touch(mode=0o600)
            marker.write_text(redis_url)
            say(f"embedded Redis at {redis_url}")
        env = {**os.environ, "COPYDESK_REDIS_URL": redis_url or ""}
        # The worker finishes its running tasks on SIGTERM (warm shutdown): give it the task time limit.
        worker_grace = settings.task_time_limit + 15
        schedule = str(settings.data_dir / "celerybeat-schedule")
        commands = [  # started in this order, stopped in the reverse one
            ("worker", _celery("worker", "-c", str(concurrency), "--loglevel", "INFO", "-E"), env, worker_grace),
            ("beat", _celery("beat", "-s", schedule, "--loglevel", "INFO"), env, 15.0),
        ]
        if flower:
            command, flower_env = _flower_command(flower_port, settings)
            commands.append(("flower", command, {**env, **flower_env}, 10.0))
        for name, command, child_env, grace in commands:
            if supervisor.stopping:
                break
            supervisor.add(name, spawn(command, child_env), grace)
        if not supervisor.stopping:
            say(f"running (pid {os.getpid()}): database {settings.database_url}; Ctrl-C or SIGTERM to stop")
        crashed = supervisor.wait()
        if crashed is not None:
            say(f"{crashed.name} exited with status {crashed.process.returncode}: stopping the others")
        else:
            say(f"{signal.Signals(supervisor.stop_signal or signal.SIGTERM).name}: stopping")
    finally:
        supervisor.stop(extra=lambda: _stop_embedded(embedded, settings, say))
        supervisor.restore()
    say("stopped")
    sys.exit(exit_code(supervisor.stop_signal, crashed))


def _stop_embedded(embedded: Any, settings: Settings, say: Any) -> None:
    if embedded is None or embedded.process is None:  # never started
        return
    say("stopping the embedded Redis")
    embedded.stop()
    (settings.data_dir / "redis.url").unlink(missing_ok=True)


# Flower's task list: what each task was given and what came of it, not only its id.
FLOWER_COLUMNS = "name,state,args,result,runtime,exception,received,worker,kwargs"


def _flower_command(port: int, settings: Settings) -> tuple[list[str], dict[str, str]]:
    """Flower's command line and the environment it needs besides copydesk's own.

    The password goes through the environment (FLOWER_BASIC_AUTH, which Flower reads), never the
    command line, which every local user can read with `ps`.
    """
    # Workers send task events of their own accord (-E, worker_send_task_events): Flower need not ask them every 5 s.
    # Its asking retries a broker that is gone (`copydesk run` stopped first) forever, in a thread it waits for at
    # exit: it would not stop on SIGTERM.
    common = [f"--port={port}", f"--tasks_columns={FLOWER_COLUMNS}", "--enable_events=False"]
    if settings.flower_basic_auth:
        return _celery("flower", *common, "--address=0.0.0.0"), {"FLOWER_BASIC_AUTH": settings.flower_basic_auth}
    # Task arguments are URLs and page text: without a password, only this machine may look.
    click.echo(
        f"Flower listens on 127.0.0.1:{port} only; set COPYDESK_FLOWER_BASIC_AUTH=user:password to open it",
        err=True,
    )
    return _celery("flower", *common, "--address=127.0.0.1"), {}


@main.command()
@click.option("--concurrency", "-c", default=2, show_default=True, help="Worker processes.")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(concurrency: int, loglevel: str) -> None:
    """A Celery worker alone (production: run beat once, separately)."""
    os.execv(sys.executable, _celery("worker", "--concurrency", str(concurrency), "--loglevel", loglevel, "-E"))


@main.command()
def beat() -> None:
    """The scheduler alone. Several may run: only the holder of a lock in Redis sends, the rest stand by."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.execv(sys.executable, _celery("beat", "-s", str(settings.data_dir / "celerybeat-schedule")))


@main.command()
@click.option("--port", default=5555, show_default=True)
def flower(port: int) -> None:
    """Flower, the monitoring UI: on all interfaces with basic auth from COPYDESK_FLOWER_BASIC_AUTH, else on
    127.0.0.1 only. The broker as `enqueue` finds it: COPYDESK_REDIS_URL, else the embedded Redis of `copydesk run`."""
    settings = _settings()
    broker = _broker_url(settings)  # beside `copydesk run`, its embedded Redis: not a default nothing listens on
    command, env = _flower_command(port, settings)
    os.execve(sys.executable, command, {**os.environ, **env, "COPYDESK_REDIS_URL": broker})


@main.command()
def ping() -> None:
    """Exit 0 if at least one worker answers (a container health check)."""
    from kombu.exceptions import OperationalError

    # The broker as `enqueue` finds it: COPYDESK_REDIS_URL, else the embedded Redis `copydesk run` started.
    broker = _broker_url(_settings())
    try:
        replies = _celery_client(broker).control.ping(timeout=3.0)
    except OperationalError as err:
        raise click.ClickException(f"cannot reach the broker at {broker}: {err}") from None
    if not replies:
        raise click.ClickException("no worker answered")
    click.echo(f"{len(replies)} worker(s) answered")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _upgraded(settings.database_url)
    click.echo(f"schema up to date: {_shown_url(settings.database_url)}")


# ---- queueing --------------------------------------------------------------------------------


def _read_urls(urls: Iterable[str], file: Path | None) -> list[str]:
    out: list[str] = []
    sources: list[Iterable[str]] = [urls]
    if file:
        sources.append(file.read_text().splitlines())
    for source in sources:
        for item in source:
            if item == "-":
                out.extend(line.strip() for line in sys.stdin)
            else:
                out.append(item.strip())
    return [u for u in out if u and not u.startswith("#")]


def _broker_url(settings: Settings) -> str:
    if settings.redis_url:
        return settings.redis_url
    marker = settings.data_dir / "redis.url"
    if marker.exists():
        return marker.read_text().strip()
    raise click.ClickException("no broker: start `copydesk run` (embedded Redis) or set COPYDESK_REDIS_URL")


def _celery_client(broker: str) -> Any:
    """A Celery app that only sends copydesk's tasks (no worker configuration)."""
    from celery import Celery

    import worker.ledger  # noqa: F401 - records what this client sends (its signal handlers are process-wide)

    client = Celery("copydesk", broker=celery_broker_url(broker))
    client.conf.task_default_queue = "copydesk"
    return client


@main.command()
@click.argument("urls", nargs=-1)
@click.option(
    "--file",
    "-f",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read URLs from a file, one per line (# comments allowed).",
)
@click.option("--refresh", is_flag=True, help="Fetch again even if the URL is already stored.")
def enqueue(urls: tuple[str, ...], file: Path | None, refresh: bool) -> None:
    """Queue URLs for ingestion. URL may be - to read one URL per line from stdin."""
    from ingest.fetch import FetchError
    from ingest.urls import normalise
    from storage.models import Document
    from worker.app import INGEST_URL
    from worker.routing import queue_for

    settings = _settings()
    wanted = _read_urls(urls, file)
    if not wanted:
        raise click.UsageError("no URL given (pass URLs, - for stdin, or --file)")
    keys: list[str] = []
    invalid = 0
    for url in wanted:
        try:
            keys.append(normalise(url))  # the key ingest_url stores it under
        except FetchError as err:
            invalid += 1
            click.echo(f"skipped {safe(url)!r}: {err}", err=True)
    valid = list(dict.fromkeys(keys))  # one URL given twice (or two spellings of one) is queued once
    repeated = len(keys) - len(valid)
    if not valid:
        raise click.ClickException(f"nothing queued: none of the {invalid} URL(s) given is valid")
    sessions = _sessions(settings)
    from sqlalchemy import select

    with sessions() as session:
        known = set(session.scalars(select(Document.url).where(Document.url.in_(valid))))
    todo = [u for u in valid if refresh or u not in known]
    client = _celery_client(_broker_url(settings))
    for url in todo:
        client.send_task(INGEST_URL, args=[url], kwargs={"refresh": refresh}, queue=queue_for(url))
    click.echo(f"queued {len(todo)}, already known {len(valid) - len(todo)}, repeated {repeated}, invalid {invalid}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--batch", default=PUSH_BATCH_SIZE, show_default=True, type=click.IntRange(1, 500), help="Pages per task."
)
def push(paths: tuple[Path, ...], batch: int) -> None:
    """Queue saved pages for the worker: files (*.html, *.htm, *.html.gz), WARC files (*.warc, *.warc.gz)
    and folders of them.

    Each page's HTML waits in Redis for a worker (7 days at most). A saved page is keyed by its content,
    as `copydesk.ingest_html` without a URL keys it: pushing a page twice stores it once. A WARC is read
    a record at a time: 2xx HTTP `response` and `resource` records with an HTML body are pushed under
    their WARC-Target-URI (decoded with the HTTP charset), other records are counted and skipped, and a
    damaged record is reported with its file and offset while the records after it are still pushed.
    Failures show in `copydesk failures`.
    """
    import redis

    from ingest.extract import ExtractionError, decode_html
    from ingest.warc import Damaged, Skipped, is_warc, read_warc, warc_files
    from worker.batch import page_files, read_page
    from worker.push import Page, push_pages

    broker = _broker_url(_settings())
    files: list[Path] = []
    warcs: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += page_files(path)
            warcs += warc_files(path)
        else:
            (warcs if is_warc(path) else files).append(path)
    counts = {"pages": 0, "skipped": 0, "records": 0, "damaged": 0}

    def pages() -> Iterator[Page]:  # read as they are pushed: a folder or an archive may not fit in memory
        for file in files:
            try:
                yield decode_html(read_page(file)), None, str(file)
                counts["pages"] += 1
            except (OSError, EOFError, ExtractionError) as err:  # gzip.BadGzipFile is an OSError
                counts["skipped"] += 1
                click.echo(f"skipped {safe(str(file))}: {err}", err=True)
        for warc in warcs:
            try:
                for item in read_warc(warc):
                    counts["records"] += 1
                    if isinstance(item, Damaged):
                        counts["damaged"] += 1
                        click.echo(safe(str(item)), err=True)
                    elif isinstance(item, Skipped):
                        counts["skipped"] += 1
                    else:
                        yield decode_html(item.html, item.charset), item.url, f"{warc}@{item.offset}", item.fetched
                        counts["pages"] += 1
                    if counts["records"] % 1000 == 0:
                        done = f"{counts['records']} records read, {counts['pages']} pages queued"
                        click.echo(f"{safe(str(warc))}: {done}", err=True)
            except OSError as err:
                counts["damaged"] += 1
                click.echo(f"{safe(str(warc))}: unreadable: {err}", err=True)

    tasks = push_pages(_celery_client(broker), redis.Redis.from_url(broker), pages(), batch_size=batch)
    if not tasks:
        raise click.UsageError("no readable page among the paths given")
    records = f", {counts['records']} WARC records read, {counts['damaged']} damaged" if warcs else ""
    click.echo(f"pushed {counts['pages']} pages in {len(tasks)} tasks, skipped {counts['skipped']}{records}")


# ---- batch -----------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the clusters as JSON (the scorer's format).")
@click.option("--db", "database_url", help="Store into this database URL instead of a fresh temporary one.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Extract pages in this many worker processes while this one stores them in the order they were read "
    "(the same clusters and report as with one). [default: the CPUs this process may use]  1: extract here, "
    "page by page, in this process alone.",
)
def dedup(paths: tuple[Path, ...], as_json: bool, database_url: str | None, jobs: int | None) -> None:
    """Cluster saved pages and web archives through the same pipeline as the worker.

    PATHS are saved pages (*.html, *.htm, *.html.gz), WARC files (*.warc, *.warc.gz) and folders of
    either. WARC files are streamed a record at a time: 2xx HTTP `response` and `resource` records with
    an HTML body are pages (the HTTP charset is used, WARC-Date is the fetch time); other records are
    counted and skipped.

    Every page appears once in the output, in one cluster or under "failed" with its reason: a page
    from a file by its path relative to the folder given, a page from a WARC by its WARC-Target-URI.
    A damaged WARC record (truncated gzip member, bad header, wrong Content-Length) is listed under
    "failed" as FILE@OFFSET; the records before and after it are read. Progress goes to stderr.

    Pages are extracted in --jobs worker processes while this process stores them in the order they
    were read: the clusters, the failures and the report are those of --jobs 1.
    """
    from worker.batch import Progress, dedup_paths
    from worker.collector import tune_collector
    from worker.ordered_pool import cpu_count

    tune_collector()  # this process is copydesk's: the collector as its worker processes run it

    with tempfile.TemporaryDirectory(prefix="copydesk-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'dedup.db'}"
        archive = _archive(url)
        if database_url:  # the in-memory index starts empty: file the stories already stored
            archive.reindex()

        def progress(state: Progress, name: str) -> None:
            if name and state.pages % 25:
                return
            if state.files_total and (not name or state.files <= state.files_total) and not state.records:
                click.echo(f"{state.files}/{state.files_total} {name}".rstrip(), err=True)
            if state.records:
                click.echo(
                    f"{state.records} records read: {state.pages} pages queued, {state.stored} stored, "
                    f"{state.skipped} skipped, {state.damaged} damaged",
                    err=True,
                )
            if not name and state.skipped_kinds:
                kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(state.skipped_kinds.items(), key=lambda k: -k[1]))
                click.echo(f"skipped: {kinds}", err=True)

        limit = _settings().page_time_limit
        result = dedup_paths(list(paths), archive, progress, page_time_limit=limit, jobs=jobs or cpu_count())
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    for cluster in result["clusters"]:
        if len(cluster["members"]) > 1:
            click.echo(f"{len(cluster['members']):>3}  {safe(cluster['canonical'])}")
            for member in cluster["members"]:
                if member != cluster["canonical"]:
                    click.echo(f"       {safe(member)}")
    singles = sum(1 for c in result["clusters"] if len(c["members"]) == 1)
    click.echo(f"{len(result['clusters'])} clusters ({singles} single pages), {len(result['failed'])} failed")
    for failure in result["failed"]:
        click.echo(f"failed {safe(failure['path'])}: {safe(failure['error'])}")


# ---- looking -------------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the clusters as JSON.")
@click.option("--min-size", default=1, show_default=True, help="Only clusters with at least this many pages.")
@click.option("--limit", default=50, show_default=True, help="At most this many (0: all).")
def clusters(as_json: bool, min_size: int, limit: int) -> None:
    """List clusters, largest first."""
    from storage.queries import list_clusters

    with _sessions(_settings())() as session:
        rows = list_clusters(session, min_size=min_size, limit=limit or None)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    click.echo(f"{'ID':>6} {'SIZE':>4}  {'CANONICAL':<60} TITLE")
    for row in rows:
        canonical = row["canonical"]
        url, title = _cut(safe(canonical["url"]), 60), _cut(safe(canonical["title"]), 60)
        click.echo(f"{row['id']:>6} {row['size']:>4}  {url:<60} {title}")


@main.command()
@click.argument("cluster_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the cluster, its copies and their explanations as JSON.")
def show(cluster_id: int, as_json: bool) -> None:
    """One cluster: the canonical text, why it is canonical, and every copy with its similarity."""
    from storage.queries import cluster_detail

    with _sessions(_settings())() as session:
        detail = cluster_detail(session, cluster_id)
    if detail is None:
        raise click.ClickException(f"no cluster {cluster_id}")
    if as_json:
        click.echo(json.dumps(detail, indent=1))
        return
    canonical = detail["canonical"]
    click.echo(f"cluster {detail['id']}: {detail['size']} page(s)")
    click.echo(f"canonical: #{canonical['id']} {safe(canonical['url'])} ({_from(canonical)})")
    click.echo(f"why: {safe(detail['canonical_reason'])}")
    click.echo(f"title: {safe(canonical['title'])}\n")
    click.echo(safe(canonical["text"]))
    click.echo(f"\ncopies ({len(detail['copies'])}):")
    for copy in detail["copies"]:
        sim = (
            f"jaccard {copy['jaccard']:.2f}, containment {copy['containment']:.2f}"
            if copy["jaccard"] is not None
            else "matched through another copy"
        )
        relation = f"{copy['relation']} (taken from #{copy['via']})" if copy.get("via") else copy["relation"]
        click.echo(f"  #{copy['id']} {safe(copy['url'])} ({_from(copy)}) {relation}: {sim}")
        explanation = copy.get("explanation")
        if explanation is None:
            continue
        for passage in explanation["passages"]:
            click.echo(
                f"      shares {passage['words']} words from “{safe(passage['opening'])}…”, "
                f"{_where(passage['in_copy'], 'the copy')}, {_where(passage['in_canonical'], 'the canonical')}"
            )
        click.echo(f"      added: {safe(explanation['added'])}")
        if explanation.get("linked"):
            click.echo("      its paragraphs link the canonical's address: read as taken from it")
        if explanation.get("by_headline"):
            click.echo("      it carries the canonical's headline and shares a sentence with it: read as a copy of it")


def _from(document: dict[str, Any]) -> str:
    """Its site, if it has one (a page read from a file or pushed has none), and its date."""
    published = f"published {document['published'] or 'unknown'}"
    return f"{safe(document['host'])}, {published}" if document.get("host") else published


def _cut(text: str, width: int) -> str:
    """`text` in `width` characters at most, an ellipsis saying when some were left out."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _where(share: float, text: str) -> str:
    """Where a passage starts in a text, by the share of its words before it."""
    return f"at the start of {text}" if share < 0.005 else f"starting {share:.0%} into {text}"


@main.command()
@click.argument("source")
def extract(source: str) -> None:
    """Show what extraction keeps of a saved page FILE (.html, .html.gz) or a URL, as JSON."""
    from dataclasses import asdict

    from ingest.extract import ExtractionError
    from ingest.extract import extract as run_extract
    from ingest.fetch import FetchError, fetch
    from worker.batch import read_page

    settings = _settings()
    if "://" not in source and not Path(source).exists():  # a file name, not a URL
        raise click.ClickException(f"no such file: {source} (and not a URL: give http:// or https://)")
    try:
        if Path(source).exists():
            article = run_extract(read_page(Path(source)))
        else:
            page = fetch(source, settings.fetch)
            article = run_extract(page.body, page.final_url, charset=page.charset)
    except (ExtractionError, FetchError) as err:
        raise click.ClickException(str(err)) from err
    data = asdict(article)
    data["published"] = article.published.isoformat() if article.published else None
    click.echo(json.dumps(data, indent=1, ensure_ascii=False))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the failures as JSON.")
@click.option("--limit", default=0, help="At most this many (0: all).")
def failures(as_json: bool, limit: int) -> None:
    """Every URL or page that could not be ingested, with its reason."""
    from storage.queries import list_failures

    with _sessions(_settings())() as session:
        rows = list_failures(session, limit=limit or None)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo("no failures")
    for row in rows:
        # Fetch errors name the URL in their message too ("URL: HTTP 404"): once on the line is enough.
        message = str(row["message"]).removeprefix(f"{row['url']}: ")
        click.echo(f"{safe(row['reason']):<18} {safe(row['url'])}  ({row['attempts']}x) {safe(message)[:120]}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default="jsonl", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (parquet needs one: it is binary); default: stdout.",
)
def export(fmt: str, output: Path | None) -> None:
    """Stream every canonical article with its copies' URLs (jsonl, csv), or every document (parquet).

    jsonl and csv: a line a cluster, its canonical article, its copies' URLs and each copy's relation to the
    canonical (csv: the URLs space-separated, the relations in the same order, separated by ";").

    parquet: a row a stored document, with columns cluster, document, is_canonical, relation (canonical,
    near-duplicate, excerpt, wrapped, copy of a copy), url, host, title, published, fetched, text; keep one row
    per story with the filter is_canonical.
    """
    from storage.queries import iter_documents, iter_export

    if fmt == "parquet":
        from storage.parquet import write_parquet

        if output is None:
            raise click.UsageError("--format parquet needs --output FILE (Parquet is binary)")
        with _sessions(_settings())() as session:
            written = write_parquet(iter_documents(session), output)
        click.echo(f"{written} documents written to {output}", err=True)
        return
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as out, _sessions(_settings())() as session:
            _export_text(fmt, iter_export(session), out)
        return
    with _sessions(_settings())() as session:
        _export_text(fmt, iter_export(session), sys.stdout)


def _export_text(fmt: str, rows: Iterator[dict[str, Any]], out: Any) -> None:
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.writer(out)
    writer.writerow(["cluster", "url", "title", "published", "copies", "relations", "text"])
    for row in rows:
        copies, relations = " ".join(row["copies"]), ";".join(row["relations"])
        writer.writerow([row["cluster"], row["url"], row["title"], row["published"], copies, relations, row["text"]])


main.add_command(sources)
main.add_command(status)

if __name__ == "__main__":
    main()
