"""A hard slice of the dev corpus: every brief story (long shared disclaimers on one host), stories
with copies of copies, and follow-ups with the story they quote. Used to check that clusters and
canonicals come out right, and the same, in any arrival order, in batch and through the worker."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import cache

from tests.conftest import CORPUS

DEV = CORPUS / "dev"


@dataclass(frozen=True)
class Slice:
    pages: dict[str, bytes]  # file name -> HTML bytes
    stories: frozenset[frozenset[str]]  # the true partition of the file names
    originals: frozenset[str]  # the page each multi-page story must name canonical


@cache
def hard_slice() -> Slice:
    truth = json.loads((DEV / "truth.json").read_text())
    pages = truth["pages"]
    chosen: set[str] = set()
    briefs = {p["story"] for p in pages.values() if p.get("hard_negative") == "brief"}
    copied_copies = sorted({p["story"] for p in pages.values() if p.get("via")})[:4]
    follow_ups = sorted({p["story"] for p in pages.values() if p.get("hard_negative") == "follow-up"})[:2]
    quoted = {pages[truth["stories"][s]["original"]].get("quotes_story") for s in follow_ups}
    chosen = briefs | set(copied_copies) | set(follow_ups) | {s for s in quoted if s}
    names = sorted(name for name, page in pages.items() if page["story"] in chosen)
    groups: dict[str, set[str]] = {}
    for name in names:
        groups.setdefault(pages[name]["story"], set()).add(name)
    return Slice(
        pages={name: gzip.decompress((DEV / "pages" / name).read_bytes()) for name in names},
        stories=frozenset(frozenset(g) for g in groups.values()),
        originals=frozenset(truth["stories"][s]["original"] for s, g in groups.items() if len(g) > 1),
    )
