"""Extraction quality: the text copydesk stores against bare `trafilatura.extract`, on the Zyte benchmark.

Scored as the article-extraction-benchmark scores it: per page, token 4-gram shingles of the
prediction against the ground-truth article body (counted as multisets), true/false positives and
negatives normalised per page so long articles do not dominate; precision and recall are averaged
over pages and F1 is taken from the averages.

    .venv/bin/python bench/extraction.py [--corpus ../shared/corpus/raw/zyte]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trafilatura

from ingest.extract import ExtractionError, extract

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "raw" / "zyte"
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def page_score(truth: str, predicted: str) -> tuple[float, float, float]:
    """(tp, fp, fn) over shingles, normalised to sum to 1."""
    want, got = shingles(truth), shingles(predicted)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def summarise(scores: list[tuple[float, float, float]]) -> dict[str, float]:
    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (tp / (tp + fp) if tp + fp else 0.0)

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (tp / (tp + fn) if tp + fn else 0.0)

    p = statistics.mean(precision(*s) for s in scores if s[0] + s[1] > 0)
    r = statistics.mean(recall(*s) for s in scores if s[0] + s[2] > 0)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def copydesk_text(html: bytes, url: str) -> str:
    try:
        return extract(html, url).text
    except ExtractionError:
        return ""


def bare_trafilatura(html: bytes, url: str) -> str:
    return trafilatura.extract(html) or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    truth: dict[str, dict[str, str]] = json.loads((args.corpus / "ground-truth.json").read_text())
    pages = {key: gzip.decompress((args.corpus / "html" / f"{key}.html.gz").read_bytes()) for key in sorted(truth)}

    extractors: dict[str, Callable[[bytes, str], str]] = {
        "copydesk (stored text)": copydesk_text,
        "trafilatura.extract (defaults)": bare_trafilatura,
    }
    scores: dict[str, list[tuple[float, float, float]]] = {name: [] for name in extractors}
    seconds: dict[str, float] = dict.fromkeys(extractors, 0.0)
    # Alternate page by page so machine noise hits both alike.
    for key, html in pages.items():
        for name, run in extractors.items():
            start = time.perf_counter()
            text = run(html, truth[key].get("url", ""))
            seconds[name] += time.perf_counter() - start
            scores[name].append(page_score(truth[key].get("articleBody", ""), text))

    print(f"{len(pages)} pages from {args.corpus}")
    print(f"{'extractor':<32} {'precision':>9} {'recall':>7} {'F1':>6} {'pages/s':>8}")
    for name in extractors:
        result = summarise(scores[name])
        rate = len(pages) / seconds[name]
        print(f"{name:<32} {result['precision']:>9.3f} {result['recall']:>7.3f} {result['f1']:>6.3f} {rate:>8.1f}")


if __name__ == "__main__":
    main()
