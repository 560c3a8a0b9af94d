"""The archive alone, without extraction: how long storing, verifying, settling and learning take.

Pages: ../shared/corpus/dev/pages (or --corpus DIR: DIR/pages), extracted once, then repeated --repeat times on new
sites (the page's host prefixed "r<N>."), as if the same stories were syndicated again elsewhere. Two runs on fresh
SQLite databases with the in-memory index (what `copydesk dedup` uses): the pages 64 at a time (`Archive.add_many`
as `copydesk dedup` calls it), and one at a time (as the worker's tasks do; --single pages of them).

    .venv/bin/python bench/archive_alone.py [--corpus DIR] [--repeat 4] [--single 400]

Run it on two checkouts one after the other (`PYTHONPATH=OTHER python bench/archive_alone.py` for the other) to compare
what a change to storage costs: the extraction, most of a page's time, is left out.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from ingest.extract import ExtractionError, extract
from storage.archive import Archive, Arrival
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import MemoryIndex
from worker.batch import read_page

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "dev"


def arrivals(corpus: Path, repeat: int) -> list[Arrival]:
    articles = []
    for path in sorted((corpus / "pages").iterdir()):
        try:
            articles.append((path.name, extract(read_page(path))))
        except ExtractionError:  # a page without an article is not what this measures
            continue
    return [
        Arrival(dataclasses.replace(article, host=f"r{r}.{article.host}" if r else article.host), key=f"r{r}:{name}")
        for r in range(repeat)
        for name, article in articles
    ]


def fresh_archive(directory: Path) -> Archive:
    url = f"sqlite:///{directory / 'bench.db'}"
    upgrade(url)
    return Archive(make_sessionmaker(make_engine(url)), MemoryIndex())


def timed(work: list[Arrival], batch: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        archive = fresh_archive(Path(tmp))
        began = time.perf_counter()
        for start in range(0, len(work), batch):
            archive.add_many(work[start : start + batch])
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEV)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--single", type=int, default=400)
    options = parser.parse_args()
    work = arrivals(options.corpus, options.repeat)
    batched = timed(work, 64)
    single = timed(work[: options.single], 1)
    print(f"{len(work)} pages, 64 a batch: {batched:.2f} s ({len(work) / batched:.0f} pages/s)")
    print(f"{min(options.single, len(work))} pages, one at a time: {single:.2f} s")


if __name__ == "__main__":
    main()
