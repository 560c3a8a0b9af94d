"""Clusters from relations: duplicates merge, a contained text joins one cluster and never bridges two.

The clusters of a set of texts are a function of their relations alone, whatever order they came in:
1. duplicates (`ingest.relation.DUPLICATE`) are joined transitively: the cores;
2. a core whose texts are contained in texts of other cores joins the one with the best relation
   (the highest score; ties go to the smallest key, so no arrival order decides), and follows it
   wherever that core goes. A core contained in two stories (an excerpt of an original and of a
   follow-up that quotes the same paragraphs) joins one of them, never both.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def group(
    nodes: Iterable[N],
    duplicates: Iterable[tuple[N, N]],
    contained: Iterable[tuple[N, N, float]],
    key: dict[N, str] | None = None,
) -> list[set[N]]:
    """`duplicates`: pairs of the same story; `contained`: (inner, outer, score), inner is inside outer.
    `key`: a stable name for each node breaking ties (default: the node's repr)."""
    parent: dict[N, N] = {n: n for n in nodes}

    def find(n: N) -> N:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def name(n: N) -> str:
        return key[n] if key is not None else repr(n)

    for a, b in duplicates:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb, key=name)] = min(ra, rb, key=name)
    cores = {n: find(n) for n in parent}
    best: dict[N, tuple[float, str, N]] = {}  # core -> (score, outer's key, outer's core)
    for inner, outer, score in contained:
        ci, co = cores[inner], cores[outer]
        if ci == co:
            continue
        held = best.get(ci)
        if held is None or score > held[0] or (score == held[0] and name(outer) < held[1]):
            best[ci] = (score, name(outer), co)
    for core, (_, _, target) in sorted(best.items(), key=lambda item: name(item[0])):
        ra, rb = find(core), find(target)
        if ra != rb:
            parent[max(ra, rb, key=name)] = min(ra, rb, key=name)
    groups: dict[N, set[N]] = {}
    for n in parent:
        groups.setdefault(find(n), set()).add(n)
    return list(groups.values())

