"""Dedup quality: `copydesk dedup` against two plain baselines on the same pages, scored by the corpus scorer.

Baselines, both on bare `trafilatura.extract` text, canonical = the first page by file name:
- exact: pages whose extracted text hashes the same are one cluster;
- minhash-lsh: datasketch MinHash (128 permutations, word 3-gram shingles) in a MinHashLSH at
  threshold 0.8; pages the LSH pairs up are one cluster (connected components).

    .venv/bin/python bench/quality.py [--corpus ../shared/corpus/dev]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import trafilatura
from datasketch import MinHash, MinHashLSH

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))

from worker.batch import page_files, read_page  # noqa: E402

_WORD = re.compile(r"\w+")


def copydesk(pages: Path, workdir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "worker.cli", "dedup", str(pages), "--json", "--db", f"sqlite:///{workdir / 'q.db'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def extracted(pages: Path) -> dict[str, str]:
    texts = {}
    for path in page_files(pages):
        texts[path.relative_to(pages).as_posix()] = trafilatura.extract(read_page(path)) or ""
    return texts


def components(names: list[str], pairs: list[tuple[str, str]]) -> dict[str, Any]:
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for n in sorted(names):
        groups.setdefault(root(n), []).append(n)
    return {"clusters": [{"canonical": g[0], "members": g} for g in groups.values()], "failed": []}


def exact_hash(texts: dict[str, str]) -> dict[str, Any]:
    by_hash: dict[str, str] = {}
    pairs = []
    for name, text in sorted(texts.items()):
        digest = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
        if digest in by_hash:
            pairs.append((name, by_hash[digest]))
        else:
            by_hash[digest] = name
    return components(list(texts), pairs)


def minhash_lsh(texts: dict[str, str], threshold: float = 0.8) -> dict[str, Any]:
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    pairs: list[tuple[str, str]] = []
    for name, text in sorted(texts.items()):
        words = _WORD.findall(text.lower())
        minhash = MinHash(num_perm=128)
        minhash.update_batch([" ".join(words[i : i + 3]).encode() for i in range(max(1, len(words) - 2))])
        pairs.extend((name, other) for other in lsh.query(minhash))
        lsh.insert(name, minhash)
    return components(list(texts), pairs)


def score(truth: Path, prediction: dict[str, Any], workdir: Path) -> dict[str, Any]:
    path = workdir / "prediction.json"
    path.write_text(json.dumps(prediction))
    scorer = truth.parent.parent / "score.py"
    out = subprocess.run([sys.executable, str(scorer), str(truth), str(path)], capture_output=True, text=True)
    return dict(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=CORPUS / "dev", help="truth.json + pages/")
    args = parser.parse_args()
    truth = args.corpus / "truth.json"
    pages = args.corpus / "pages" if (args.corpus / "pages").is_dir() else args.corpus
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        texts = extracted(pages)
        results = {
            "copydesk dedup": score(truth, copydesk(pages, workdir), workdir),
            "exact hash": score(truth, exact_hash(texts), workdir),
            "minhash-lsh 0.8": score(truth, minhash_lsh(texts), workdir),
        }
    transforms = sorted({t for r in results.values() for t in r["recall_by_transform"]})
    columns = ["precision", "recall", "F1", "ARI", *transforms, "canonical", "false merges (negative)"]
    print(f"{len(texts)} pages, {next(iter(results.values()))['stories']} stories in {args.corpus}")
    print("| method | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, r in results.items():
        pair = r["pairwise"]
        cells = [pair["precision"], pair["recall"], pair["f1"], r["adjusted_rand_index"]]
        cells += [r["recall_by_transform"].get(t, {}).get("recall", float("nan")) for t in transforms]
        cells += [r["canonical_accuracy_joined"]]
        merges = f"{r['false_merges']['pairs']} ({r['false_merges']['involving_negative']})"
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {merges} |")


if __name__ == "__main__":
    main()
