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


def assert_sound(clusters: set[frozenset[str]], canonicals: set[str], corpus: Slice) -> None:
    """No cluster holds pages of two stories (the slice is all hard negatives and copies of copies), and
    every story's original that shares its cluster with another page is that cluster's canonical. Copies
    left apart are a recall loss that bench/quality.py measures, not a wrong answer."""
    story_of = {name: i for i, story in enumerate(corpus.stories) for name in story}
    for cluster in clusters:
        assert len({story_of[name] for name in cluster}) == 1, f"stories merged: {sorted(cluster)}"
    for cluster in clusters:
        originals = cluster & corpus.originals
        if len(cluster) > 1 and originals:
            assert originals <= canonicals, f"{sorted(originals)} is not the canonical of {sorted(cluster)}"


@cache
def batch_answer() -> frozenset[frozenset[str]]:
    """The slice's clusters as one batch makes them (`copydesk dedup`): one page at a time, in any order,
    through the worker or in batches of any size, the clusters must be these."""
    import tempfile
    from pathlib import Path

    from sqlalchemy import select

    from ingest.extract import extract
    from storage.archive import Archive, Arrival
    from storage.db import make_engine, make_sessionmaker, upgrade
    from storage.index import MemoryIndex
    from storage.models import Document

    corpus = hard_slice()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'batch.db'}"
        upgrade(url)
        engine = make_engine(url)
        archive = Archive(make_sessionmaker(engine), MemoryIndex())
        archive.add_many([Arrival(extract(html), key=name) for name, html in sorted(corpus.pages.items())])
        groups: dict[int | None, set[str]] = {}
        with archive.sessions() as session:
            for key, cluster_id in session.execute(select(Document.url, Document.cluster_id)):
                groups.setdefault(cluster_id, set()).add(key)
        engine.dispose()
    return frozenset(frozenset(g) for g in groups.values())
