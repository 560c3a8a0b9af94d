"""A 20,000-record WARC through `copydesk dedup`: memory over time, and the reading's cost against the pipeline's.

Builds a .warc.gz of `--records` records (the dev corpus pages repeated under new URLs, each response after
its request record, as crawlers write them), then
1. reads it with ingest.warc.read_warc alone, in this process: records/s and RSS every 2,000 records;
2. runs the real `copydesk dedup FILE --db sqlite:///...` on it, sampling the child's RSS (VmRSS) every
   `--every` seconds next to the records it had read by then (its progress lines).

    .venv/bin/python bench/warc_memory.py [--records 20000] [--every 5] [--keep]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository first (for tests.warcs), bench/ after it, for bench/common.py, as bench/memory.py does.
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import machine, remove_unless_kept  # noqa: E402  (bench/common.py)
from warc_read import entries  # noqa: E402  (bench/warc_read.py)

from ingest.warc import WarcPage, read_warc  # noqa: E402
from tests.warcs import write_warc  # noqa: E402

COPYDESK = Path(sys.executable).parent / "copydesk"


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def read_alone(path: Path) -> None:
    print("\n1. ingest.warc.read_warc alone")
    print(f"{'records':>8} {'pages':>6} {'RSS MB':>7}")
    began = time.perf_counter()
    records = pages = 0
    for item in read_warc(path):
        records += 1
        pages += isinstance(item, WarcPage)
        if records % 2000 == 0:
            print(f"{records:>8} {pages:>6} {rss_mb():>7.0f}")
    seconds = time.perf_counter() - began
    rate = f"{records / seconds:.0f} records/s, {seconds / records * 1e6:.0f} µs a record"
    print(f"{records} records in {seconds:.1f} s: {rate}")


def pipeline(path: Path, database: Path, every: float) -> None:
    print("\n2. copydesk dedup (the whole pipeline, a fresh SQLite database, in-memory index)")
    print(f"{'seconds':>7} {'records':>8} {'pages stored':>12} {'RSS MB':>7}")
    command = [str(COPYDESK), "dedup", str(path), "--db", f"sqlite:///{database}"]
    began = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    last = ["0 records read: 0 pages queued, 0 stored"]

    def follow() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            if "records read" in line:
                last[0] = line.strip()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    peak = 0.0
    while child.poll() is None:
        time.sleep(every)
        try:
            rss = rss_mb(child.pid)
        except OSError:  # it ended meanwhile
            break
        if not rss:  # ended, not yet reaped: no memory left to report
            continue
        peak = max(peak, rss)
        found = re.match(r"(\d+) records read: (\d+) pages queued, (\d+) stored", last[0])
        records, stored = (found.group(1), found.group(3)) if found else ("?", "?")
        print(f"{time.perf_counter() - began:>7.0f} {records:>8} {stored:>12} {rss:>7.0f}", flush=True)
    reader.join()
    seconds = time.perf_counter() - began
    print(f"exit {child.returncode}; {last[0]}; {seconds:.0f} s, peak RSS {peak:.0f} MB")
    found = re.match(r"(\d+) records read: (\d+) pages", last[0])
    if found:
        records, pages = int(found.group(1)), int(found.group(2))
        print(f"{seconds / records * 1e3:.1f} ms a record, {seconds / pages * 1e3:.1f} ms a page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--every", type=float, default=5.0, help="Seconds between RSS samples.")
    parser.add_argument("--keep", action="store_true", help="Keep the WARC and the database.")
    args = parser.parse_args()
    print(f"# {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="warc-memory-"))
    try:
        path = tmp / "big.warc.gz"
        began = time.perf_counter()
        write_warc(path, entries(args.records))
        took = time.perf_counter() - began
        print(f"{path.name}: {args.records} records, {path.stat().st_size / 1e6:.0f} MB, written in {took:.0f} s")
        read_alone(path)
        pipeline(path, tmp / "dedup.db", args.every)
    finally:
        remove_unless_kept(tmp, args.keep)


if __name__ == "__main__":
    main()
