"""`copydesk sources ...` and `copydesk status`: scheduled ingestion from the command line."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ingest.sources import KINDS, format_duration, parse_duration, parse_source_list


def _cli() -> Any:
    # worker.cli imports this module at its top; importing it back lazily avoids the cycle.
    from worker import cli

    return cli


def _every(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--every") from None


def _normalise(url: str) -> str:
    from ingest.fetch import FetchError
    from ingest.urls import normalise

    try:
        return normalise(url)
    except FetchError as err:
        raise click.ClickException(f"not a source URL: {_cli().safe(err)}") from None


def _when(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


@click.group()
def sources() -> None:
    """Sites, feeds, sitemaps and pages polled on a schedule; their new entries are ingested.

    A worker with beat (`copydesk run`, or `copydesk worker` plus `copydesk beat`) polls every source
    when it is due. `auto` discovers a site's feeds (<link rel=alternate>) and sitemaps (robots.txt,
    /sitemap.xml) on the first poll.
    """


@sources.command("add")
@click.argument("urls", nargs=-1, required=True)
@click.option("--every", "every", help="Poll interval: 30s, 15m, 1h, 1d.  [default: 15m]")
@click.option("--kind", type=click.Choice(KINDS), help="What URL is.  [default: auto]")
def sources_add(urls: tuple[str, ...], every: str | None, kind: str | None) -> None:
    """Add sources, or change the kind or interval of existing ones (only what is given). New sources
    are polled at the next dispatch."""
    from storage.sources import add_source

    seconds = _every(every)
    wanted = [_normalise(url) for url in urls]
    with _cli()._sessions(_cli()._settings())() as session, session.begin():
        for url in wanted:
            source, created = add_source(session, url, kind, seconds)
            verb = "added" if created else "updated"
            click.echo(f"{verb} {_cli().safe(url)} ({source.kind}, every {format_duration(source.every_seconds)})")


@sources.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--every",
    "every",
    help="Poll interval for every source in FILE. Default: 15m for new sources; existing ones keep theirs.",
)
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="Kind of the plain URLs (an OPML outline with an xmlUrl is a feed). Default: auto for new sources; "
    "existing ones keep theirs.",
)
def sources_import(file: Path, every: str | None, kind: str | None) -> None:
    """Add every source in FILE: one URL per line (# comments allowed), or an OPML subscription list.

    A source already there changes only in what is given (--every, --kind, an OPML feed).
    """
    from ingest.fetch import FetchError
    from ingest.urls import normalise
    from storage.sources import add_source

    seconds = _every(every)
    try:
        specs = parse_source_list(file.read_bytes())
    except ValueError as err:
        raise click.ClickException(f"{file}: {err}") from None
    if not specs:
        raise click.ClickException(f"{file}: no source URL in it")
    added = updated = invalid = 0
    with _cli()._sessions(_cli()._settings())() as session, session.begin():
        for spec in specs:
            try:
                url = normalise(spec.url)
            except FetchError as err:
                invalid += 1
                click.echo(f"skipped {_cli().safe(spec.url)!r}: {_cli().safe(err)}", err=True)
                continue
            _, created = add_source(session, url, spec.kind or kind, seconds)
            added, updated = added + created, updated + (not created)
    click.echo(f"added {added}, updated {updated}, invalid {invalid}")


@sources.command("remove")
@click.argument("urls", nargs=-1, required=True)
def sources_remove(urls: tuple[str, ...]) -> None:
    """Stop polling sources. What they already ingested stays."""
    from storage.sources import remove_source

    wanted = [_normalise(url) for url in urls]
    missing = []
    with _cli()._sessions(_cli()._settings())() as session, session.begin():
        for url in wanted:
            if remove_source(session, url):
                click.echo(f"removed {_cli().safe(url)}")
            else:
                missing.append(url)
    if missing:
        raise click.ClickException(f"no such source: {', '.join(_cli().safe(u) for u in missing)}")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Everything, feeds included, as JSON.")
def sources_list(as_json: bool) -> None:
    """Every source: last and next poll (UTC), entries found, documents stored, errors."""
    from storage.sources import list_sources

    with _cli()._sessions(_cli()._settings())() as session:
        rows = list_sources(session)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo("no sources (add one with `copydesk sources add URL`)")
        return
    safe = _cli().safe
    header = f"{'KIND':<7} {'EVERY':>6} {'LAST POLL':<19} {'NEXT POLL':<19} {'FOUND':>6} {'STORED':>6} {'ERR':>4}"
    click.echo(f"{header}  URL")
    for row in rows:
        click.echo(
            f"{row['kind']:<7} {format_duration(row['every_seconds']):>6} {_when(row['last_poll']):<19} "
            f"{_when(row['next_poll']):<19} {row['documents_found']:>6} {row['documents_stored']:>6} "
            f"{row['errors']:>4}  {safe(row['url'])}"
        )
        for feed in row["feeds"]:
            if feed["url"] != row["url"] or feed["kind"] != row["kind"]:
                click.echo(f"{'':>71}  └ {feed['kind']} {safe(feed['url'])} ({feed['last_status'] or '-'})")
        if row["last_error"]:
            click.echo(f"{'':>71}  ! {safe(row['last_error'])[:200]}")


@sources.command("poll")
@click.argument("urls", nargs=-1, required=True)
@click.option("--refresh", is_flag=True, help="Queue every listed entry again, and fetch it even if stored.")
def sources_poll(urls: tuple[str, ...], refresh: bool) -> None:
    """Poll sources now (queues a poll for the workers), whatever their schedule."""
    from sqlalchemy import select

    from storage.models import Source
    from worker.app import POLL_SOURCE

    cli = _cli()
    settings = cli._settings()
    wanted = [_normalise(url) for url in urls]
    with cli._sessions(settings)() as session:
        known = set(session.scalars(select(Source.url).where(Source.url.in_(wanted))))
    missing = [url for url in wanted if url not in known]
    if missing:
        raise click.ClickException(f"no such source: {', '.join(cli.safe(u) for u in missing)}")
    client = cli._celery_client(cli._broker_url(settings))
    for url in wanted:
        client.send_task(POLL_SOURCE, args=[url], kwargs={"refresh": True} if refresh else None)
    click.echo(f"queued {len(wanted)} poll(s)")


@click.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """Queue depth, tasks per minute, documents, clusters and failures in the last hour."""
    import redis

    from worker.monitoring import queue_status, store_status

    cli = _cli()
    settings = cli._settings()
    with cli._sessions(settings)() as session:
        report: dict[str, Any] = store_status(session)
    try:
        client = redis.Redis.from_url(cli._broker_url(settings), socket_timeout=3, socket_connect_timeout=3)
        report.update(queue_status(client))
    except (click.ClickException, redis.RedisError) as err:
        report["broker_error"] = err.message if isinstance(err, click.ClickException) else str(err)
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    if "broker_error" in report:
        click.echo(f"queue: unknown ({cli.safe(report['broker_error'])})")
    else:
        rates, counts = report["tasks_per_minute"], report["tasks_last_hour"]
        ended = sum(n for name, n in counts.items() if not name.endswith("!failed"))
        failed = sum(n for name, n in counts.items() if name.endswith("!failed"))
        click.echo(
            f"queue: {report['queued']} waiting, {report['unacked']} running or scheduled, "
            f"{report['ledgered']} sent and not ended"
        )
        # Counts over the same hour as the failures below: a page that failed is a task that failed.
        click.echo(f"tasks in the last hour: {ended} ended, {failed} of them failed")
        click.echo(f"  {'TASK':<24} {'ENDED':>7} {'FAILED':>7} {'PER MIN (5 min)':>16}")
        for name, count in counts.items():
            if not name.endswith("!failed"):
                per_minute = rates.get(name, 0.0)
                click.echo(f"  {name:<24} {count:>7} {counts.get(name + '!failed', 0):>7} {per_minute:>16.1f}")
        click.echo(f"beat: {report['beat'] or 'none active'}")
    click.echo(f"documents: {report['documents']} ({report['documents_last_hour']} in the last hour)")
    click.echo(f"clusters: {report['clusters']} ({report['copies']} with copies)")
    click.echo(f"failures in the last hour: {report['failures_last_hour']} (copydesk failures)")
    click.echo(
        f"sources: {report['sources']} ({report['sources_due']} due, {report['sources_failing']} failing)"
    )
