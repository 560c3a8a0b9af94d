"""The whole pipeline in one process against bare trafilatura, on the same pages, alternated.

Pages: ../shared/corpus/dev/pages (or --corpus DIR: DIR/pages and DIR/truth.json, the format `bench/syndicate.py
--seed N --out DIR` writes), repeated to at least --pages; each repetition is a new set of sites (the page's
own host, prefixed "r<N>."), as if the same stories were syndicated again elsewhere. A page's URL is the
one its truth.json gives.
Pipeline: `Archive.add_html` (parse, extract, fingerprint, index in the embedded Redis, verify,
store and cluster in SQLite) per page. Baseline: `trafilatura.extract(html)` with default options.
The two take turns in chunks of --chunk pages, so machine noise hits both alike.

    .venv/bin/python bench/pipeline.py [--pages 1016] [--chunk 50] [--repeat 3] [--corpus DIR] [--gc-as-copydesk]

--gc-as-copydesk runs this whole process, both sides, with the garbage collector as copydesk's own processes set it
(`worker.collector.tune_collector`, what `copydesk dedup` and the worker's pool processes do); without it, CPython's
default, as this bench always ran.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis
import trafilatura

from ingest.extract import ExtractionError, extract
from storage.archive import Archive, Arrival
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import RedisIndex
from worker.batch import page_files, read_page
from worker.collector import tune_collector
from worker.embedded import EmbeddedRedis

DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "dev"


def workload(total: int, corpus: Path = DEV) -> list[tuple[str, str, bytes]]:
    """(key, url, html) for `total` pages or a little more: whole repetitions of the corpus."""
    truth = json.loads((corpus / "truth.json").read_text())["pages"]
    pages = [(path.name, read_page(path)) for path in page_files(corpus / "pages")]
    work = []
    for round_no in range(-(-total // len(pages))):
        for name, html in pages:
            url = urlsplit(truth[name]["url"])
            own = url._replace(netloc=f"r{round_no}.{url.netloc}").geturl()
            work.append((f"{own}#{name}", own, html))
    return work


def run(pages: int, chunk: int, tmp: Path, redis_url: str, attempt: int, corpus: Path = DEV) -> dict[str, float]:
    database = f"sqlite:///{tmp / f'bench{attempt}.db'}"
    upgrade(database)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    archive = Archive(make_sessionmaker(make_engine(database)), RedisIndex(client, "bench"))
    work = workload(pages, corpus)
    seconds = {"pipeline": 0.0, "extract": 0.0, "bare": 0.0}
    for start in range(0, len(work), chunk):
        part = work[start : start + chunk]
        began = time.perf_counter()
        arrivals = []
        for key, url, html in part:
            extracted_at = time.perf_counter()
            with contextlib.suppress(ExtractionError):  # a page without an article is timed all the same
                arrivals.append(Arrival(extract(html, url), key=key, final_url=url))
            seconds["extract"] += time.perf_counter() - extracted_at
        archive.add_many(arrivals)  # as `copydesk dedup` does
        seconds["pipeline"] += time.perf_counter() - began
        began = time.perf_counter()
        for _, _, html in part:
            trafilatura.extract(html)
        seconds["bare"] += time.perf_counter() - began
    n = len(work)
    return {
        "pages": n,
        "pipeline pages/s": n / seconds["pipeline"],
        "bare pages/s": n / seconds["bare"],
        "ratio": seconds["bare"] / seconds["pipeline"],
        "extract share of pipeline": seconds["extract"] / seconds["pipeline"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=DEV, help="a corpus folder: pages/ and truth.json")
    parser.add_argument("--gc-as-copydesk", action="store_true", help="both sides with copydesk's collector setting")
    args = parser.parse_args()
    if args.gc_as_copydesk:
        tune_collector()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis")
        url = server.start()
        try:
            runs = [run(args.pages, args.chunk, Path(tmp), url, i, args.corpus) for i in range(args.repeat)]
        finally:
            server.stop()
    collector = "copydesk's (both sides)" if args.gc_as_copydesk else "CPython's default"
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.platform()}, one process")
    print(f"# garbage collector: {collector}, thresholds {gc.get_threshold()}")
    print(f"# {args.corpus}: {runs[0]['pages']:.0f} pages per run, median of {len(runs)} runs")
    for name in ("pipeline pages/s", "bare pages/s", "ratio", "extract share of pipeline"):
        values = ", ".join(f"{r[name]:.2f}" for r in runs)
        print(f"{name:<28} {statistics.median(r[name] for r in runs):8.2f}   (runs: {values})")


if __name__ == "__main__":
    main()
