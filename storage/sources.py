"""Sources in the database: adding and listing them, claiming the due ones, and the entries they queued.

Both claims are made so that two processes doing the same thing at the same moment (two dispatchers,
two polls of one source) never both win: a source is claimed by a compare-and-set on its next_poll, an
entry URL by an INSERT that does nothing on conflict. Callers send their tasks *before* committing
the claim, so a crash in between repeats work (which the archive absorbs) instead of losing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Document, Source, SourceEntry, SourceFeed, utcnow

_CHUNK = 500  # rows per statement: keeps every IN list and VALUES list well under the drivers' limits


DEFAULT_KIND = "auto"
DEFAULT_EVERY = 900


def add_source(
    session: Session, url: str, kind: str | None = None, every_seconds: int | None = None
) -> tuple[Source, bool]:
    """Add a source (due at once), or change what is given of an existing one. True when it is new."""
    source = session.scalar(select(Source).where(Source.url == url))
    if source is None:
        source = Source(
            url=url, kind=kind or DEFAULT_KIND, every_seconds=every_seconds or DEFAULT_EVERY, next_poll=utcnow()
        )
        session.add(source)
        session.flush()
        return source, True
    if kind is not None and source.kind != kind:  # what it reads has to be found again
        session.execute(delete(SourceFeed).where(SourceFeed.source_id == source.id))
        source.kind, source.discovered = kind, None
    if every_seconds is not None:
        source.every_seconds = every_seconds
    return source, False


def remove_source(session: Session, url: str) -> bool:
    result = session.execute(delete(Source).where(Source.url == url))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_sources(session: Session) -> list[dict[str, Any]]:
    """Every source with its schedule, counters and feeds, oldest first."""
    stored = dict(
        session.execute(
            select(SourceEntry.source_id, func.count())
            .join(Document, Document.url == SourceEntry.url)
            .group_by(SourceEntry.source_id)
        ).all()
    )
    feeds: dict[int, list[dict[str, Any]]] = {}
    for feed in session.scalars(select(SourceFeed).order_by(SourceFeed.id)):
        feeds.setdefault(feed.source_id, []).append(
            {"url": feed.url, "kind": feed.kind, "last_status": feed.last_status, "last_error": feed.last_error}
        )
    return [
        {
            "url": source.url,
            "kind": source.kind,
            "every_seconds": source.every_seconds,
            "last_poll": _iso(source.last_poll),
            "next_poll": _iso(source.next_poll),
            "polls": source.polls,
            "documents_found": source.documents_found,
            "documents_stored": stored.get(source.id, 0),
            "errors": source.errors,
            "last_error": source.last_error,
            "feeds": feeds.get(source.id, []),
        }
        for source in session.scalars(select(Source).order_by(Source.id))
    ]


def claim_due(session: Session, now: datetime, limit: int = 1000) -> list[str]:
    """Claim the sources due at `now` by moving each next_poll one period on. Returns their URLs.

    Call in a transaction, and send the polls before committing it. The next poll is one period after
    *now*, not after the missed one: a scheduler that was down for an hour polls each source once when
    it comes back, not once per missed period.
    """
    due = due_sources(session, now, limit)
    return [url for source_id, url, seen, every in due if claim(session, source_id, seen, now, every)]


def due_sources(session: Session, now: datetime, limit: int = 1000) -> list[tuple[int, str, datetime, int]]:
    """(id, url, next_poll as read, every_seconds) of the sources due at `now`, most overdue first."""
    rows = session.execute(
        select(Source.id, Source.url, Source.next_poll, Source.every_seconds)
        .where(Source.next_poll <= now)
        .order_by(Source.next_poll)
        .limit(limit)
    ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def claim(session: Session, source_id: int, seen: datetime, now: datetime, every_seconds: int) -> bool:
    """Compare-and-set: move next_poll on only if it still holds `seen`, the value this caller read.

    Of two dispatchers that both read a source as due exactly one claims it: PostgreSQL re-checks the
    WHERE once the other's UPDATE commits, and SQLite runs one writer at a time.
    """
    result = session.execute(
        update(Source)
        .where(Source.id == source_id, Source.next_poll == seen)
        .values(next_poll=now + timedelta(seconds=every_seconds))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def claim_entries(
    session: Session, source_id: int, urls: Iterable[str], limit: int | None = None
) -> tuple[list[str], bool]:
    """Record entry URLs as queued. Returns those no source had queued before (in the order given), and
    whether every URL was looked at: with a `limit`, claiming stops once that many (give or take one
    statement's worth) are new, and the rest is left for a later call."""
    wanted = list(dict.fromkeys(urls))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    new: set[str] = set()
    now = utcnow()
    for start in range(0, len(wanted), _CHUNK):
        if limit is not None and len(new) >= limit:
            return [url for url in wanted if url in new], False
        rows = [{"url": url, "source_id": source_id, "queued": now} for url in wanted[start : start + _CHUNK]]
        statement = insert(SourceEntry).values(rows).on_conflict_do_nothing(index_elements=["url"])
        new.update(session.scalars(statement.returning(SourceEntry.url)))
    return [url for url in wanted if url in new], True


def stored_urls(session: Session, urls: Iterable[str]) -> set[str]:
    """Which of urls are already documents (ingested some other way, e.g. `copydesk enqueue`)."""
    wanted = list(urls)
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        found.update(session.scalars(select(Document.url).where(Document.url.in_(wanted[start : start + _CHUNK]))))
    return found


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
