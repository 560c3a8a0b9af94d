"""Where `copydesk dedup` of a WARC grows: tracemalloc's largest growths between two points of one run.

Runs worker.batch.dedup_paths in this process (as `copydesk dedup FILE` does) on a WARC built as
bench/warc_memory.py builds it, snapshots at `--first` and `--second` pages and prints the largest
growths by source line. tracemalloc slows the run ~3x: a few thousand records take a minute or two.

    .venv/bin/python bench/warc_trace.py [--records 3200] [--first 600] [--second 1590]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import machine, remove_unless_kept  # noqa: E402  (bench/common.py)
from warc_read import entries  # noqa: E402  (bench/warc_read.py)

from tests.warcs import write_warc  # noqa: E402
from worker.batch import Progress, dedup_paths  # noqa: E402
from worker.cli import _archive  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3200)
    parser.add_argument("--first", type=int, default=600, help="Pages read at the first snapshot.")
    parser.add_argument("--second", type=int, default=1590, help="Pages read at the second snapshot.")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    print(f"# {machine()}")
    tmp = Path(tempfile.mkdtemp(prefix="warc-trace-"))
    try:
        path = tmp / "trace.warc.gz"
        write_warc(path, entries(args.records))
        archive = _archive(f"sqlite:///{tmp / 'trace.db'}")
        snapshots: dict[int, tracemalloc.Snapshot] = {}

        def progress(state: Progress, name: str) -> None:
            if name and state.pages in (args.first, args.second) and state.pages not in snapshots:
                snapshots[state.pages] = tracemalloc.take_snapshot()

        tracemalloc.start(1)
        dedup_paths([path], archive, progress, page_time_limit=None)
        first, second = snapshots[args.first], snapshots[args.second]
        print(f"largest growths from {args.first} to {args.second} pages:")
        for stat in second.compare_to(first, "lineno")[: args.top]:
            print(str(stat).replace(str(ROOT) + "/", ""))
    finally:
        remove_unless_kept(tmp, False)


if __name__ == "__main__":
    main()
