"""`copydesk dedup DIR`: every saved page of a folder through the same archive code as the worker."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ingest.extract import ExtractionError, extract
from storage.archive import Archive, Arrival
from storage.models import Cluster, Document, Failure
from worker.limits import PageTimeLimitExceeded, time_limit

PATTERNS = ("*.html", "*.htm", "*.html.gz", "*.htm.gz")
KEY_PREFIX = "file:"
BATCH_SIZE = 64


def page_files(directory: Path) -> list[Path]:
    files = {p for pattern in PATTERNS for p in directory.rglob(pattern) if p.is_file()}
    return sorted(files)


def read_page(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def dedup_directory(
    directory: Path,
    archive: Archive,
    progress: Callable[[int, int, str], None] | None = None,
    page_time_limit: float | None = 60.0,
    batch_size: int = BATCH_SIZE,
) -> dict[str, Any]:
    """Ingest every page under `directory`; return {"clusters": [...], "failed": [...]} by relative path.

    Extracting one page may take at most `page_time_limit` seconds (None: no limit; the limit
    needs the main thread) and is recorded as a `time_limit` failure beyond that. Extracted pages
    go to the archive `batch_size` at a time: three transactions a batch instead of three a page.
    """
    files = page_files(directory)
    keys: dict[str, str] = {}
    batch: list[Arrival] = []
    for number, path in enumerate(files, 1):
        rel = path.relative_to(directory).as_posix()
        key = KEY_PREFIX + rel
        keys[key] = rel
        try:
            html = read_page(path)
            # Only the extraction is limited: stopping the archive half-way through a page would
            # leave a stored but unclustered document behind for repair().
            with time_limit(page_time_limit):
                batch.append(Arrival(extract(html), key=key))
        except ExtractionError as err:
            archive.record_failure(key, err.reason, err.message)
        except PageTimeLimitExceeded as err:
            archive.record_failure(key, "time_limit", f"extracting the page: {err}")
        except (OSError, EOFError, gzip.BadGzipFile) as err:
            archive.record_failure(key, "unreadable_file", str(err))
        except Exception as err:  # a poison page must not stop the batch
            archive.record_failure(key, "internal_error", f"{type(err).__name__}: {err}")
        if batch and (len(batch) >= batch_size or number == len(files)):
            _add(archive, batch)
            batch = []
        if progress:
            progress(number, len(files), rel)
    return report(archive, keys)


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
    with archive.sessions() as session:
        rows = session.execute(
            select(Document.id, Document.url, Document.cluster_id).where(Document.url.in_(list(keys)))
        ).all()
        canonical = dict(session.execute(select(Cluster.id, Cluster.canonical_id)).all())
        failed = {f.url: f for f in session.scalars(select(Failure).where(Failure.url.in_(list(keys))))}
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
