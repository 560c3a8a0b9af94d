"""Clusters from relations: duplicates merge, a contained text joins one cluster and never bridges two.

The clusters of a set of texts are a function of their relations alone, whatever order they came in:
1. duplicates (`ingest.relation.DUPLICATE`) are joined transitively: the cores;
2. a core whose texts are contained in texts of other cores joins one of them, and follows it wherever
   that core goes: one holding all of its prose before one missing some of it (an excerpt belongs to its
   story, not to an older report of the same event that shares some of its sentences), then the oldest (an
   excerpt belongs to the original, not to a later text quoting the same paragraphs), then the one it
   relates to best. It never joins two, so it never bridges stories.
3. Two stories each republished whole (two cores of several texts), the later one holding the earlier
   one after prose of its own ("As previously reported, …"): the later one quotes the earlier, a story
   of its own. A syndicator opens a copy with a credit line at most, not with prose.
4. A text holding another after more prose of its own than a lede (or after a lede, with more prose of its
   own after it than it holds of it) is that text's source when it is older (a copy that dropped the
   original's first paragraph), and the same story when a date is missing (its source, or a copy with a
   longer introduction); a later one quotes it, and so does one that goes on with much prose of its own after
   more than a lede, whatever the dates.
5. A text that opens with all of an older (or undated) one, nothing but its title before it, is its copy with
   additions after it (a site's author box, a notice): it joins that text. The older text itself can join
   only one container (2.), and several sites copy a short original each with additions of their own.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from datetime import datetime
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def group(
    nodes: Iterable[N],
    duplicates: Iterable[tuple[N, N]],
    contained: Iterable[tuple[N, N, float, int]],
    key: Mapping[N, str],
    published: Mapping[N, datetime | None] | None = None,
    whole: Collection[tuple[N, N]] = (),
) -> list[set[N]]:
    """`duplicates`: pairs of the same story; `contained`: (inner, outer, score, opening): inner is inside
    outer, which starts with it (opening 0), after a lede of its own (1), after more prose of its own or after a
    lede with more prose of its own after it than it holds of inner (2), or after more prose of its own and with
    much more after it (3: it quotes inner, never its source), or after lines that are not prose, more than a
    title (4: headings, a byline).
    `key`: a stable name for each node breaking ties, so that no arrival order decides; `published`: the
    dates the texts declare (missing: unknown); `whole`: the (inner, outer) pairs of `contained` where outer holds
    all of inner's prose (`ingest.relation.Relation.whole`)."""
    parent: dict[N, N] = {n: n for n in nodes}

    def find(n: N) -> N:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def union(a: N, b: N) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb, key=key.__getitem__)] = min(ra, rb, key=key.__getitem__)

    for a, b in duplicates:
        union(a, b)
    cores = {n: find(n) for n in parent}
    sizes: dict[N, int] = {}
    first: dict[N, datetime] = {}  # each core's earliest declared date
    for n, core in cores.items():
        sizes[core] = sizes.get(core, 0) + 1
        date = (published or {}).get(n)
        if date is not None and (core not in first or date < first[core]):
            first[core] = date
    best: dict[N, tuple[tuple[bool, bool, float, float], str, N]] = {}  # core -> (rank, outer's key, outer's core)
    opens: dict[N, tuple[tuple[bool, float, float], str, N]] = {}  # outer core -> (rank, inner's key, inner's core)
    for inner, outer, score, opening in contained:
        ci, co = cores[inner], cores[outer]
        if ci == co:
            continue
        newer = ci in first and co in first and first[co] > first[ci]
        older = ci in first and co in first and first[co] < first[ci]
        if opening == 3 or (opening == 2 and newer):
            continue  # a later text opening with its own prose quotes the one it holds (4.)
        if opening in (1, 2, 3) and newer and sizes[ci] > 1 and sizes[co] > 1:
            continue  # the later story quotes the earlier one (3.)
        dated = co in first
        # All of it held first, then the oldest known, then the best.
        rank = ((inner, outer) in whole, dated, -first[co].timestamp() if dated else 0.0, score)
        held = best.get(ci)
        if held is None or rank > held[0] or (rank == held[0] and key[outer] < held[1]):
            best[ci] = (rank, key[outer], co)
        if opening == 0 and not older:
            # 5.: the oldest such text, then the best related.
            inner_rank = (ci in first, -first[ci].timestamp() if ci in first else 0.0, score)
            opened = opens.get(co)
            if opened is None or inner_rank > opened[0] or (inner_rank == opened[0] and key[inner] < opened[1]):
                opens[co] = (inner_rank, key[inner], ci)
    for core, (_, _, target) in sorted(best.items(), key=lambda item: key[item[0]]):
        union(core, target)
    for core, (_, _, target) in sorted(opens.items(), key=lambda item: key[item[0]]):
        union(core, target)
    groups: dict[N, set[N]] = {}
    for n in parent:
        groups.setdefault(find(n), set()).add(n)
    return list(groups.values())
