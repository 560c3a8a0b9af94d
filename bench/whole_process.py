"""Whole processes: `copydesk dedup DIR --json` against a plain script calling `trafilatura.extract` on each file.

Everything a user waits for counts: interpreter start, imports, a fresh SQLite database and its migrations, the
pages, the JSON. The two commands take turns --rounds times (alternating which goes first), and the ratio is
of their median wall times. `--start-up` does the same on a folder of one small page, which is the cost
before the first page; it also times the imports of a worker process (`python -c "import worker.tasks"`,
what Celery loads in each one) against a bare `import trafilatura`; and both copydesk commands as they were
before datasketch left them (the same command with `import datasketch` added), in the same alternation.
`copydesk dedup` extracts in as many worker processes as there are CPUs by default (`--jobs`), the bare script
on one core: the race also runs `copydesk dedup DIR --json --jobs 1`, and gives the ratio of each.

    .venv/bin/python bench/whole_process.py DIR [--rounds 5]
    .venv/bin/python bench/whole_process.py --start-up [--rounds 9]
    .venv/bin/python bench/whole_process.py --bare DIR     # the baseline script itself

Only the standard library is imported here: the baseline runs this file with --bare, and must not pay for more
than trafilatura.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PATTERNS = ("*.html", "*.htm", "*.html.gz", "*.htm.gz")  # as copydesk dedup reads a folder


def bare(directory: Path) -> None:
    """The baseline: trafilatura.extract, default options, on every page of the folder; the texts as JSON."""
    import trafilatura

    texts = {}
    for path in sorted({p for pattern in PATTERNS for p in directory.rglob(pattern) if p.is_file()}):
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        texts[path.relative_to(directory).as_posix()] = trafilatura.extract(data)
    print(json.dumps(texts, indent=1))


def wall(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def race(commands: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    for round_no in range(rounds):
        for name in names if round_no % 2 == 0 else names[::-1]:
            times[name].append(wall(commands[name]))
    return times


def report(times: dict[str, list[float]]) -> None:
    for name, values in times.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name:<36} median {statistics.median(values):6.2f} s   (runs: {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path, nargs="?")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--start-up", action="store_true", help="time start-up on a folder of one small page")
    parser.add_argument("--bare", action="store_true", help="run the baseline on DIRECTORY (used by the race)")
    args = parser.parse_args()
    if args.bare:
        bare(args.directory)
        return
    python = sys.executable
    copydesk = str(Path(python).parent / "copydesk")
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"# load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.start_up:
            folder = Path(tmp) / "one"
            folder.mkdir()
            words = " ".join(["The council met on Tuesday to vote on the harbour plan."] * 5)
            (folder / "page.html").write_text(f"<html><body><article><p>{words}</p></article></body></html>")
            directory = folder
        else:
            if args.directory is None:
                parser.error("DIR is required without --start-up")
            directory = args.directory
        pages = sum(1 for pattern in PATTERNS for p in directory.rglob(pattern) if p.is_file())
        print(f"# {pages} pages in {directory}, {args.rounds} rounds alternated")
        commands = {
            "copydesk dedup DIR --json": [copydesk, "dedup", str(directory), "--json"],
            "copydesk dedup DIR --json --jobs 1": [copydesk, "dedup", str(directory), "--json", "--jobs", "1"],
            "bare trafilatura script": [python, __file__, "--bare", str(directory)],
        }
        if args.start_up:
            # What start-up cost before fingerprint.py stopped importing datasketch (and with it scipy): the same
            # command with that import added, in the same alternation.
            dedup = f"import sys; sys.argv = ['copydesk', 'dedup', {str(directory)!r}, '--json']; "
            commands["... with datasketch imported (before)"] = [
                python,
                "-c",
                dedup + "import datasketch; from worker.cli import main; main()",
            ]
        times = race(commands, args.rounds)
        report(times)
        bare_median = statistics.median(times["bare trafilatura script"])
        for name in ("copydesk dedup DIR --json", "copydesk dedup DIR --json --jobs 1"):
            jobs = "--jobs 1" if name.endswith("--jobs 1") else f"--jobs {os.cpu_count()} (default)"
            print(f"speed ratio copydesk / bare, {jobs}: {bare_median / statistics.median(times[name]):.2f}")
        if args.start_up:
            imports = race(
                {
                    "worker process imports (worker.tasks)": [python, "-c", "import worker.tasks"],
                    "... with datasketch imported (before)": [python, "-c", "import datasketch, worker.tasks"],
                    "import trafilatura": [python, "-c", "import trafilatura"],
                },
                args.rounds,
            )
            report(imports)
    print(f"# load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
