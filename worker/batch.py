"""`copydesk dedup PATH...`: saved pages and web archives through the same archive code as the worker."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ingest.document import Article
from ingest.extract import ExtractionError, extract
from ingest.warc import Damaged, Skipped, WarcPage, is_warc, read_warc, warc_files
from storage.archive import Archive, Arrival
from storage.models import Cluster, Document, Failure
from worker.limits import PageTimeLimitExceeded, time_limit
from worker.ordered_pool import ordered_map

PATTERNS = ("*.html", "*.htm", "*.html.gz", "*.htm.gz")
KEY_PREFIX = "file:"
WARC_PREFIX = "warc:"  # a damaged record's failure: warc:FILE@OFFSET
BATCH_SIZE = 64
REPORT_CHUNK = 1000


def page_files(directory: Path) -> list[Path]:
    files = {p for pattern in PATTERNS for p in directory.rglob(pattern) if p.is_file()}
    return sorted(files)


def read_page(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


@dataclass
class Progress:
    """Where a batch run is: page files read (of how many), WARC records read and what they were."""

    files: int = 0
    files_total: int = 0
    records: int = 0  # WARC records read, sound or not
    pages: int = 0  # pages queued for the archive, from files and WARCs
    skipped: int = 0  # sound WARC records that hold no HTML page
    damaged: int = 0
    stored: int = 0  # pages the archive has taken (stored, or already known)
    skipped_kinds: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Input:
    """One page to extract: `name` is what the report calls it, `key` what storage keeps it under."""

    name: str
    key: str
    html: bytes
    url: str | None = None
    charset: str | None = None
    fetched: datetime | None = None


def dedup_directory(directory: Path, archive: Archive, **options: Any) -> dict[str, Any]:
    """dedup_paths for one folder: its pages named by their path relative to it."""
    return dedup_paths([directory], archive, **options)


def dedup_paths(
    paths: Sequence[Path],
    archive: Archive,
    progress: Callable[[Progress, str], None] | None = None,
    page_time_limit: float | None = 60.0,
    batch_size: int = BATCH_SIZE,
    jobs: int = 1,
) -> dict[str, Any]:
    """Ingest every page of the paths; return {"clusters": [...], "failed": [...]}.

    A path is a saved page, a WARC file (.warc, .warc.gz) or a folder of either. A page from a file is
    named by its path relative to the folder given (its file name when given itself), a page from a WARC
    by its WARC-Target-URI; a damaged WARC record is a failure named `FILE@OFFSET`. WARC files are read
    a record at a time: memory does not grow with their size.

    Extracting one page may take at most `page_time_limit` seconds (None: no limit; the limit
    needs the main thread) and is recorded as a `time_limit` failure beyond that. Extracted pages
    go to the archive `batch_size` at a time: four transactions a batch instead of four a page.
    With `jobs` above 1, pages are extracted in that many worker processes while this one stores them,
    in the order they were read: the same archive, decisions and report as with one.
    """
    state = Progress()
    keys: dict[str, str] = {}
    batch: list[Arrival] = []

    def flush() -> None:
        nonlocal batch
        if batch:
            _add(archive, batch)
            state.stored += len(batch)
            batch = []

    # Each page with the counts as they were when it was read: with workers, reading runs ahead of storing.
    read = ((page, replace(state)) for page in _inputs(paths, state, archive, keys))
    work = partial(_extract_read, page_time_limit=page_time_limit)
    # Ahead by two batches: the workers go on while this process stores a whole batch.
    for (page, counts), outcome in ordered_map(work, read, jobs, ahead=2 * batch_size):
        keys[page.key] = page.name
        if isinstance(outcome, Article):
            batch.append(Arrival(outcome, key=page.key, final_url=page.url, fetched=page.fetched))
        else:
            archive.record_failure(page.key, *outcome)
        if len(batch) >= batch_size:
            flush()
        if progress:
            progress(replace(counts, stored=state.stored), page.name)
    flush()
    if progress:
        progress(state, "")
    return report(archive, keys)


def _extract_read(read: tuple[_Input, Progress], page_time_limit: float | None) -> Article | tuple[str, str]:
    """`extract_page` of a page as dedup_paths reads it (with its counts, which stay where they are)."""
    return extract_page(read[0], page_time_limit)


def extract_page(page: _Input, page_time_limit: float | None) -> Article | tuple[str, str]:
    """The page's article, or the (reason, message) of the failure to record instead.

    Returned, not raised, so that it crosses from a worker process as it is (an ExtractionError does not
    survive pickling: its arguments are not its constructor's).
    """
    try:
        # Only the extraction is limited: stopping the archive half-way through a page would
        # leave a stored but unclustered document behind for repair().
        with time_limit(page_time_limit):
            return extract(page.html, page.url, charset=page.charset)
    except ExtractionError as err:
        return err.reason, err.message
    except PageTimeLimitExceeded as err:
        return "time_limit", f"extracting the page: {err}"
    except Exception as err:  # a poison page must not stop the batch
        return "internal_error", f"{type(err).__name__}: {err}"


def _inputs(paths: Sequence[Path], state: Progress, archive: Archive, keys: dict[str, str]) -> Iterator[_Input]:
    """The pages of the paths, read one at a time; unreadable files and damaged records are recorded."""
    files: list[tuple[str, Path]] = []
    warcs: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += [(p.relative_to(path).as_posix(), p) for p in page_files(path)]
            warcs += warc_files(path)
        elif is_warc(path):
            warcs.append(path)
        else:
            files.append((path.name, path))
    state.files_total = len(files)
    for name, path in files:
        state.files += 1
        key = KEY_PREFIX + name
        try:
            html = read_page(path)
        except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
            keys[key] = name
            archive.record_failure(key, "unreadable_file", str(err))
            continue
        state.pages += 1
        yield _Input(name, key, html)
    for warc in warcs:
        offset = 0
        try:
            for item in read_warc(warc):
                state.records += 1
                offset = item.offset
                if isinstance(item, WarcPage):
                    state.pages += 1
                    yield _Input(item.url, item.url, item.html, item.url, item.charset, item.fetched)
                elif isinstance(item, Skipped):
                    state.skipped += 1
                    state.skipped_kinds[item.why] = state.skipped_kinds.get(item.why, 0) + 1
                else:
                    _damaged(archive, keys, state, item)
        except OSError as err:  # the file itself (unopenable, a disk error): the rest of it is lost, say where
            _damaged(archive, keys, state, Damaged(warc, offset, f"unreadable file: {err}"))


def _damaged(archive: Archive, keys: dict[str, str], state: Progress, damage: Damaged) -> None:
    state.damaged += 1
    name = f"{damage.path}@{damage.offset}"
    keys[WARC_PREFIX + name] = name
    archive.record_failure(WARC_PREFIX + name, "damaged_record", str(damage))


def _add(archive: Archive, batch: list[Arrival]) -> None:
    """Add a batch; if the archive refuses it, add its pages one by one and record the one it refuses."""
    try:
        archive.add_many(batch)
        return
    except Exception as err:
        if len(batch) == 1:
            archive.record_failure(batch[0].storage_key, "internal_error", f"{type(err).__name__}: {err}")
            return
    for arrival in batch:
        _add(archive, [arrival])


def report(archive: Archive, keys: dict[str, str]) -> dict[str, Any]:
    """The batch's clusters and failures, limited to the given {document key: path}."""
    wanted = list(keys)
    rows: list[Any] = []
    failed: dict[str, Failure] = {}
    with archive.sessions() as session:
        for at in range(0, len(wanted), REPORT_CHUNK):  # a database takes only so many parameters a query
            chunk = wanted[at : at + REPORT_CHUNK]
            query = select(Document.id, Document.url, Document.cluster_id).where(Document.url.in_(chunk))
            rows += session.execute(query).all()
            failed.update((f.url, f) for f in session.scalars(select(Failure).where(Failure.url.in_(chunk))))
        canonical = dict(session.execute(select(Cluster.id, Cluster.canonical_id)).all())
    members: dict[int | None, list[tuple[int, str]]] = {}
    for doc_id, key, cluster_id in rows:
        members.setdefault(cluster_id, []).append((doc_id, keys[key]))
    clusters = []
    for cluster_id, docs in members.items():
        docs.sort(key=lambda d: d[1])
        groups = [docs] if cluster_id is not None else [[d] for d in docs]
        for group in groups:
            winner = canonical.get(cluster_id) if cluster_id is not None else None
            chosen = next((path for doc_id, path in group if doc_id == winner), group[0][1])
            clusters.append({"canonical": chosen, "members": [path for _, path in group]})
    clusters.sort(key=lambda c: (-len(c["members"]), c["canonical"]))
    stored = {key for _, key, _ in rows}
    failures = [
        {"path": keys[key], "error": f"{f.reason}: {f.message}"}
        for key, f in sorted(failed.items())
        if key not in stored
    ]
    return {"clusters": clusters, "failed": failures}
