"""copydesk's `extract` against trafilatura on trafilatura's own evaluation set, scored by its own code.

The set (tests/evaldata.json, tests/cache, tests/eval of github.com/adbar/trafilatura; ~990 annotated pages)
is not part of copydesk: check it out anywhere and pass the directory holding `evaldata.json` and
`eval_common.py`. Its scoring (`eval_common.count_item`: each annotated "with" snippet found in the text is a
true positive, each "without" snippet a false positive; micro-averaged over the set) is imported from there
at run time, not copied.

Quality rows: copydesk's `extract(html, url).text` (an `ExtractionError` is an empty result), trafilatura's
`extract(html)` with default options, its fast pass with copydesk's options, and its thorough pass with
comments off. Speed: copydesk against trafilatura default only, the two taking turns in chunks of --chunk
pages in this one process, so machine noise hits both alike (the other rows are not timed).

The set is split in two by a hash of each page's URL: `tune` (the pages copydesk's recall guard was chosen
on) and `held-out` (pages never looked at while choosing it). Scores are printed for both and for the whole.

    .venv/bin/python bench/trafilatura_eval.py DIR [--chunk 25] [--rounds 1] [--why] [--guard-cost]

--why wraps the function that runs the thorough pass to count its runs: leave it off when timing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import trafilatura

from ingest import extract as extract_module
from ingest.extract import ExtractionError, extract


def load_eval_common(directory: Path) -> ModuleType:
    """trafilatura's tests/eval_common.py, imported from the checkout by path."""
    spec = importlib.util.spec_from_file_location("trafilatura_eval_common", directory / "eval_common.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no eval_common.py in {directory}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def half(url: str) -> str:
    """Which half of the set a page is in: fixed by its URL alone, independent of its content."""
    return "tune" if hashlib.sha256(url.encode()).digest()[0] % 2 == 0 else "held-out"


def copydesk_text(html: bytes, url: str) -> str | None:
    try:
        return extract(html, url).text
    except ExtractionError:
        return None


# The recall guard's three triggers (short text, dropped headings, text outside the paragraphs), each set so it
# never fires; the headline check and the prose check still run.
_GUARD_OFF = {"GUARD_PROSE_SHARE": 0.0, "GUARD_HEADINGS": 10**9, "GUARD_OUTSIDE": float("inf")}


def copydesk_without_guard(html: bytes, url: str) -> str | None:
    """copydesk's extract with the recall guard off (`_GUARD_OFF`)."""
    saved = {name: getattr(extract_module, name) for name in _GUARD_OFF}
    for name, value in _GUARD_OFF.items():
        setattr(extract_module, name, value)
    try:
        return copydesk_text(html, url)
    finally:
        for name, value in saved.items():
            setattr(extract_module, name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path, help="trafilatura's tests/ directory (evaldata.json, cache/, eval/)")
    parser.add_argument("--chunk", type=int, default=25, help="pages per turn in the timed alternation")
    parser.add_argument("--rounds", type=int, default=1, help="timed passes over the set (quality from the first)")
    parser.add_argument("--why", action="store_true", help="count how often the recall guard ran the thorough pass")
    parser.add_argument("--guard-cost", action="store_true", help="also time copydesk without the guard, alternated")
    args = parser.parse_args()
    common = load_eval_common(args.directory)
    evaldata: dict[str, dict[str, Any]] = common.load_evaldata(str(args.directory))
    docs: dict[str, tuple[str, bytes]] = common.read_corpus(str(args.directory), evaldata)
    urls = sorted(docs)

    runners: dict[str, Callable[[bytes, str], str | None]] = {
        "copydesk extract": copydesk_text,
        "trafilatura default": lambda html, url: trafilatura.extract(html),
        "trafilatura fast (copydesk's options)": lambda html, url: trafilatura.extract(
            html, fast=True, include_comments=False, include_tables=True
        ),
        "trafilatura thorough, comments off": lambda html, url: trafilatura.extract(
            html, fast=False, include_comments=False, include_tables=True
        ),
    }
    timed: tuple[str, ...] = ("copydesk extract", "trafilatura default")
    if args.guard_cost:
        runners = {"copydesk extract": copydesk_text, "copydesk, guard off": copydesk_without_guard, **runners}
        timed = ("copydesk extract", "copydesk, guard off", "trafilatura default")
    counts: dict[str, dict[str, Any]] = {
        name: {part: common.ConfusionMatrix() for part in ("tune", "held-out", "all")} for name in runners
    }
    seconds = dict.fromkeys(timed, 0.0)
    slowest = dict.fromkeys(timed, 0.0)
    fired = {"tune": 0, "held-out": 0}
    thorough_runs = [0]
    if args.why:
        # Count copydesk's thorough passes by wrapping the one function that runs them (one call, no copy).
        original = extract_module._trafilatura_text

        def counting(tree: Any, url: str | None, fast: bool) -> str:
            thorough_runs[0] += not fast
            return original(tree, url, fast)

        extract_module._trafilatura_text = counting

    def score(name: str, url: str, result: str | None) -> None:
        for part in (half(url), "all"):
            counts[name][part].add(common.count_item(evaldata[url], result))

    for round_no in range(args.rounds):
        for start in range(0, len(urls), args.chunk):
            part = urls[start : start + args.chunk]
            # Alternate the order, so none always runs on a warm cache.
            order = timed if (start // args.chunk + round_no) % 2 == 0 else timed[::-1]
            for name in order:
                began = time.perf_counter()
                for url in part:
                    page_began = time.perf_counter()
                    before = thorough_runs[0]
                    result = runners[name](docs[url][1], url)
                    slowest[name] = max(slowest[name], time.perf_counter() - page_began)
                    if round_no == 0:
                        score(name, url, result)
                        if name == "copydesk extract" and thorough_runs[0] > before:
                            fired[half(url)] += 1
                seconds[name] += time.perf_counter() - began
        if round_no == 0:
            for name in runners:
                if name not in timed:
                    for url in urls:
                        score(name, url, runners[name](docs[url][1], url))

    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {len(urls)} annotated pages from {args.directory}")
    sizes = {part: sum(half(url) == part for url in urls) for part in ("tune", "held-out")}
    print(f"# halves by URL hash: tune {sizes['tune']} pages, held-out {sizes['held-out']} pages")
    for half_name in ("all", "tune", "held-out"):
        print(f"\n{half_name}")
        print(f"{'extractor':<40} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8}")
        for name in runners:
            precision, recall, _, f1 = counts[name][half_name].scores()
            rate = f"{args.rounds * len(urls) / seconds[name]:8.1f}" if name in seconds and half_name == "all" else ""
            print(f"{name:<40} {precision:>9.3f} {recall:>7.3f} {f1:>6.3f} {rate:>8}")
    ratio = seconds["trafilatura default"] / seconds["copydesk extract"]
    print(f"\nspeed ratio copydesk / trafilatura default: {ratio:.2f} ({args.rounds} round(s), chunks of {args.chunk})")
    if args.guard_cost:
        cost = seconds["copydesk extract"] / seconds["copydesk, guard off"]
        print(f"copydesk's time with the guard / without: {cost:.3f}")
    print("slowest page: " + ", ".join(f"{name} {value:.2f} s" for name, value in slowest.items()))
    if args.why:
        print(f"pages where copydesk ran the thorough pass: tune {fired['tune']}, held-out {fired['held-out']}")


if __name__ == "__main__":
    main()
