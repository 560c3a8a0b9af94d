"""Reading a WARC: warcio against fastwarc (resiliparse), the same file, the same work a record.

Builds a .warc.gz (and the same records uncompressed) from the dev corpus pages repeated under new URLs,
with a `request` record before each `response` as crawlers write them, then reads it with each library
doing what copydesk's reader needs: every record's type, WARC-Target-URI, WARC-Date, the HTTP
Content-Type and, for HTML responses, the body. Prints records/s side by side, and copydesk's own
reader (ingest.warc.read_warc: FastWARC, each record held until the next parsed) on the same file.

    .venv/bin/python bench/warc_read.py [--records 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# The repository first (for tests.warcs), bench/ after it, for bench/common.py, as bench/memory.py does.
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import machine  # noqa: E402  (bench/common.py)

from tests.warcs import Entry, dev_pages, write_warc  # noqa: E402


def entries(records: int) -> Iterator[Entry]:
    """records/2 responses, each after its request record: the dev pages, then again on "r<N>.<host>" as
    bench/pipeline.py's workload() reposts them (on other hosts: the same story twice on one host would
    make its paragraphs that host's chrome)."""
    pages = list(dev_pages())
    for number in range(records // 2):
        _, url, html = pages[number % len(pages)]
        parts = urlsplit(url)
        url = parts._replace(netloc=f"r{number // len(pages)}.{parts.netloc}").geturl()
        yield Entry(url, b"", kind="request")
        yield Entry(url, html)


def with_warcio(path: Path) -> tuple[int, int]:
    from warcio.archiveiterator import ArchiveIterator

    records = html = 0
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            records += 1
            record.rec_headers.get_header("WARC-Target-URI")
            record.rec_headers.get_header("WARC-Date")
            kind = record.http_headers.get_header("Content-Type") if record.http_headers else None
            if record.rec_type == "response" and kind and "html" in kind:
                html += len(record.content_stream().read()) > 0
    return records, html


def with_fastwarc(path: Path) -> tuple[int, int]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    records = html = 0
    for record in ArchiveIterator(str(path), record_types=WarcRecordType.any_type):
        records += 1
        record.headers.get("WARC-Target-URI")
        record.headers.get("WARC-Date")
        kind = record.http_headers.get("Content-Type") if record.http_headers else None
        if record.record_type == WarcRecordType.response and kind and "html" in kind:
            html += len(record.reader.read()) > 0
    return records, html


def with_copydesk(path: Path) -> tuple[int, int]:
    """ingest.warc.read_warc: FastWARC plus holding each record until the next one parsed."""
    from ingest.warc import WarcPage, read_warc

    records = html = 0
    for item in read_warc(path):
        records += 1
        html += isinstance(item, WarcPage) and len(item.html) > 0
    return records, html


def best(read: Callable[[Path], tuple[int, int]], path: Path, repeat: int) -> tuple[float, int, int]:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        records, html = read(path)
        times.append(time.perf_counter() - began)
    return min(times), records, html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"# {machine()}")
    with tempfile.TemporaryDirectory(prefix="warc-read-") as tmp:
        for name, gz in (("bench.warc.gz", True), ("bench.warc", False)):
            path = Path(tmp) / name
            write_warc(path, entries(args.records), gz=gz)
            size = path.stat().st_size / 1e6
            print(f"\n{name}: {args.records} records, {size:.0f} MB")
            print(f"{'library':<10} {'records/s':>10} {'µs/record':>10} {'html pages':>10}")
            for label, read in (("warcio", with_warcio), ("fastwarc", with_fastwarc), ("read_warc", with_copydesk)):
                seconds, records, html = best(read, path, args.repeat)
                print(f"{label:<10} {records / seconds:>10.0f} {seconds / records * 1e6:>10.1f} {html:>10}")


if __name__ == "__main__":
    main()
