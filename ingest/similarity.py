"""Exact verification of index candidates: resemblance and containment on shingle sets."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.document import Fingerprint


@dataclass(frozen=True)
class Similarity:
    jaccard: float  # |A∩B| / |A∪B|
    containment: float  # |A∩B| / min(|A|, |B|): how much of the smaller text the larger one holds
    shared: int  # |A∩B| shingles
    smaller: int  # min(|A|, |B|) shingles


@dataclass(frozen=True)
class MatchPolicy:
    """When two fingerprints are the same story."""

    min_jaccard: float = 0.5  # near-duplicates: verbatim and edited copies
    min_containment: float = 0.8  # excerpts and wrapped copies: one text inside the other
    min_shared: int = 25  # containment needs this many shared shingles: two short texts prove little
    # A long passage in common is a copy even when the page around it holds much else (teasers of other
    # stories kept by extraction): half of the smaller text, and more words than a follow-up quotes.
    long_passage: int = 150
    min_containment_long: float = 0.5


def compare(a: Fingerprint, b: Fingerprint) -> Similarity:
    if a.params != b.params:
        raise ValueError("fingerprints made with different parameters cannot be compared")
    shared = len(a.shingles & b.shingles)
    union = len(a.shingles) + len(b.shingles) - shared
    smaller = min(len(a.shingles), len(b.shingles))
    return Similarity(
        jaccard=shared / union if union else 0.0,
        containment=shared / smaller if smaller else 0.0,
        shared=shared,
        smaller=smaller,
    )


def is_copy(similarity: Similarity, policy: MatchPolicy | None = None) -> bool:
    policy = policy or MatchPolicy()
    if similarity.shared == 0:
        return False
    if similarity.jaccard >= policy.min_jaccard:
        return True
    if similarity.containment >= policy.min_containment and similarity.shared >= policy.min_shared:
        return True
    return similarity.containment >= policy.min_containment_long and similarity.shared >= policy.long_passage
