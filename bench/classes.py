"""Per-class view of a dedup prediction on a corpus from bench/syndicate.py.

    .venv/bin/python bench/classes.py TRUTH.json PRED.json [--scorer ../shared/corpus/score.py] [--json]

Prints score.py's main numbers (computed by score.py itself, imported from --scorer), then one line
per page tag (truth's optional `tags` field; also `hard_negative` values and `transform`s):
  copies: pages with the tag that are not their story's original, in stories of 2+ pages, and how
          many landed in the same predicted cluster as their story's original (recall);
  false merges: predicted same-cluster pairs of different stories where a page carries the tag.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

SCORER = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "score.py"


def load_scorer(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_score", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load scorer {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def page_tags(meta: dict[str, Any]) -> list[str]:
    tags = set(meta.get("tags") or [])
    if meta.get("hard_negative"):
        tags.add(str(meta["hard_negative"]))
    if meta.get("via"):
        tags.add("via")
    if meta.get("published") is None:
        tags.add("no-date")
    if meta.get("encoding", "utf-8") != "utf-8":
        tags.add(str(meta["encoding"]))
    if meta.get("canonical_link") == "original":
        tags.add("canonical-original")
    return sorted(tags)


def by_class(truth: dict[str, Any], pred: dict[str, Any], scorer: ModuleType) -> dict[str, dict[str, Any]]:
    pages: dict[str, dict[str, Any]] = truth["pages"]
    cluster_of, _canon, _errors = scorer.load_prediction(pred, pages)
    size = Counter(m["story"] for m in pages.values())
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"copies": 0, "joined": 0, "pages": 0, "false_merges": 0})
    for p, m in pages.items():
        for t in page_tags(m):
            out[t]["pages"] += 1
            orig = truth["stories"][m["story"]]["original"]
            if p != orig and size[m["story"]] > 1:
                out[t]["copies"] += 1
                out[t]["joined"] += int(cluster_of[p] == cluster_of[orig])
    members: dict[Any, list[str]] = defaultdict(list)
    for p in sorted(pages):
        members[cluster_of[p]].append(p)
    for ms in members.values():
        for i, a in enumerate(ms):
            for b in ms[i + 1 :]:
                if pages[a]["story"] == pages[b]["story"]:
                    continue
                for t in set(page_tags(pages[a])) | set(page_tags(pages[b])):
                    out[t]["false_merges"] += 1
    for v in out.values():
        v["recall"] = round(v["joined"] / v["copies"], 4) if v["copies"] else None
    return dict(sorted(out.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("truth", type=Path)
    ap.add_argument("pred", type=Path)
    ap.add_argument("--scorer", type=Path, default=SCORER)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)
    scorer = load_scorer(args.scorer)
    truth = json.loads(args.truth.read_text(encoding="utf-8"))
    pred = json.loads(args.pred.read_text(encoding="utf-8"))
    res = scorer.score(truth, pred)
    classes = by_class(truth, pred, scorer)
    if args.json:
        print(json.dumps({"score": res, "classes": classes}, indent=2))
        return 0 if res["valid"] else 1
    pw = res["pairwise"]
    fm = res["false_merges"]
    print(f"valid {res['valid']}  pages {res['pages']}  stories {res['stories']}  "
          f"multi-page {res['multi_page_stories']}  predicted clusters {res['predicted_clusters']}")
    print(f"pairwise P {pw['precision']:.4f}  R {pw['recall']:.4f}  F1 {pw['f1']:.4f}  "
          f"ARI {res['adjusted_rand_index']:.4f}  copy recall {res['copy_recall']:.4f}  "
          f"canonical {res['canonical_accuracy']:.4f} (joined {res['canonical_accuracy_joined']:.4f})")
    print(f"false merges {fm['pairs']} pairs, {fm['involving_negative']} involving negatives, by kind {fm['by_kind']}")
    print("recall by transform: " + ", ".join(
        f"{t} {v['joined_with_original']}/{v['copies']}" for t, v in res["recall_by_transform"].items()))
    if res["errors"]:
        print(f"errors: {json.dumps(res['errors'])[:500]}")
    print()
    print(f"{'tag':<20} {'pages':>5} {'joined/copies':>14} {'recall':>7} {'false-merge pairs':>18}")
    for t, v in classes.items():
        rec = "-" if v["recall"] is None else f"{v['recall']:.3f}"
        print(f"{t:<20} {v['pages']:>5} {v['joined']:>6}/{v['copies']:<7} {rec:>7} {v['false_merges']:>18}")
    return 0 if res["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
