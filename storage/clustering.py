"""Clusters as the connected components of verified matches, kept up to date under the cluster lock.

New matches only ever join components, so settling a batch merges the clusters its matches touch
(`Clusters.attach`: no graph walk, one election per changed cluster). Only removing matches, when
a document is fingerprinted again, can split one: `Clusters.rebuild` walks the graph for that.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from ingest.canonical import Candidate, attribution_lines, elect
from storage.models import Cluster, Document, Match

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A dict that forgets its least recently used entries beyond `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class _Groups:
    """Union-find over documents ("d", id) and the clusters they are in ("c", id)."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, int], tuple[str, int]] = {}

    def find(self, node: tuple[str, int]) -> tuple[str, int]:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        self.parent[self.find(a)] = self.find(b)

    def groups(self) -> list[set[tuple[str, int]]]:
        found: dict[tuple[str, int], set[tuple[str, int]]] = {}
        for node in list(self.parent):
            found.setdefault(self.find(node), set()).add(node)
        return list(found.values())


class Clusters:
    def __init__(self, cache_size: int = 1024) -> None:
        # Attribution lines of recent documents: an election reads them for every member, and
        # loading every member's whole text again for each arrival is what made big clusters slow.
        self._attributions: LRU[tuple[int, str], tuple[str, ...]] = LRU(cache_size)

    def remember(self, doc_id: int, content_hash: str, text: str) -> None:
        self._attributions.put((doc_id, content_hash), tuple(attribution_lines(text)))

    def attach(self, session: Session, doc_ids: Iterable[int], links: Iterable[tuple[int, int]]) -> dict[int, int]:
        """Put `doc_ids` in the clusters their new matches (`links`) join; merge those clusters.

        Returns {document id: cluster id} for `doc_ids`. Documents named in `links` must exist.
        """
        doc_ids = set(doc_ids)
        links = list(links)
        involved = doc_ids | {doc for link in links for doc in link}
        current = dict(session.execute(select(Document.id, Document.cluster_id).where(Document.id.in_(involved))).all())
        groups = _Groups()
        for doc in involved:
            groups.find(("d", doc))
            if (cluster_id := current.get(doc)) is not None:
                groups.union(("d", doc), ("c", cluster_id))
        for a, b in links:
            groups.union(("d", a), ("d", b))
        plans = [
            (
                sorted(node_id for kind, node_id in group if kind == "c"),
                {node_id for kind, node_id in group if kind == "d"},
            )
            for group in groups.groups()
        ]
        existing = {
            c.id: c for c in session.scalars(select(Cluster).where(Cluster.id.in_({c for cs, _ in plans for c in cs})))
        }
        # Keep the oldest cluster id of those merged, so a cluster's URL in the CLI stays stable as it grows.
        targets = [(existing.get(cluster_ids[0]) if cluster_ids else None) or Cluster() for cluster_ids, _ in plans]
        session.add_all(targets)
        session.flush()
        placed: dict[int, int] = {}
        moves: list[dict[str, int]] = []
        merged: list[int] = []
        for (cluster_ids, docs), cluster in zip(plans, targets, strict=True):
            others = [c for c in cluster_ids if c != cluster.id]
            if others:
                session.execute(
                    update(Document)
                    .where(Document.cluster_id.in_(others))
                    .values(cluster_id=cluster.id)
                    .execution_options(synchronize_session=False)
                )
                merged += others
            moves += [{"id": doc, "cluster_id": cluster.id} for doc in docs if current.get(doc) != cluster.id]
            placed.update((doc, cluster.id) for doc in docs & doc_ids)
        if moves:
            session.execute(update(Document).execution_options(synchronize_session=False), moves)
        if merged:
            session.execute(delete(Cluster).where(Cluster.id.in_(merged)))
        self._elect(session, targets)
        return placed

    def rebuild(self, session: Session, seeds: set[int]) -> None:
        """Make clusters equal to the connected components of matches around `seeds` (splits included)."""
        remaining = set(seeds)
        old_clusters: set[int] = set()
        while remaining:
            start = remaining.pop()
            component = {start}
            frontier = {start}
            while frontier:
                rows = session.execute(
                    select(Match.low_id, Match.high_id).where(
                        or_(Match.low_id.in_(frontier), Match.high_id.in_(frontier))
                    )
                ).all()
                neighbours = {x for row in rows for x in row} - component
                component |= neighbours
                frontier = neighbours
            remaining -= component
            previous = {
                cluster_id
                for cluster_id in session.scalars(select(Document.cluster_id).where(Document.id.in_(component)))
                if cluster_id is not None
            }
            old_clusters |= previous
            cluster = session.get(Cluster, min(previous)) if previous else None
            if cluster is None or _claimed(session, cluster.id, component):
                cluster = Cluster()
                session.add(cluster)
                session.flush()
            session.execute(
                update(Document)
                .where(Document.id.in_(component))
                .values(cluster_id=cluster.id)
                .execution_options(synchronize_session=False)
            )
            self._elect(session, [cluster])
        for cluster_id in old_clusters:
            if session.scalar(select(func.count()).where(Document.cluster_id == cluster_id)) == 0:
                session.execute(delete(Cluster).where(Cluster.id == cluster_id))

    def _elect(self, session: Session, clusters: list[Cluster]) -> None:
        """Elect each cluster's canonical and update its size and dates, reading all their members at once."""
        members: dict[int, list[Any]] = {cluster.id: [] for cluster in clusters}
        for row in session.execute(_MEMBERS.where(Document.cluster_id.in_(list(members)))).all():
            members[row.cluster_id].append(row)
        lines: dict[int, tuple[str, ...]] = {}
        missing: list[int] = []
        for member in (m for rows in members.values() for m in rows):
            cached = self._attributions.get((member.id, member.content_hash))
            if cached is None:
                missing.append(member.id)
            else:
                lines[member.id] = cached
        for start in range(0, len(missing), 500):
            texts = select(Document.id, Document.content_hash, Document.text).where(
                Document.id.in_(missing[start : start + 500])
            )
            for doc_id, content_hash, text in session.execute(texts):
                lines[doc_id] = tuple(attribution_lines(text))
                self._attributions.put((doc_id, content_hash), lines[doc_id])
        for cluster in clusters:
            rows = members[cluster.id]
            election = elect(
                [
                    Candidate(
                        id=m.id,
                        url=m.final_url,
                        host=m.host,
                        sitename=m.sitename,
                        canonical_url=m.canonical_url,
                        published=m.published,
                        published_source=m.published_source,
                        attributions=lines.get(m.id, ()),
                        arrival=m.id,
                    )
                    for m in rows
                ]
            )
            cluster.canonical_id = election.winner
            cluster.canonical_reason = election.reason
            cluster.size = len(rows)
            cluster.first_seen = min(m.fetched for m in rows)
            cluster.last_seen = max(m.fetched for m in rows)
        session.flush()


_MEMBERS = select(
    Document.id,
    Document.cluster_id,
    Document.final_url,
    Document.host,
    Document.sitename,
    Document.canonical_url,
    Document.published,
    Document.published_source,
    Document.content_hash,
    Document.fetched,
)


def _claimed(session: Session, cluster_id: int, component: set[int]) -> bool:
    """Whether cluster_id has members outside `component`: if so, a split gave it to the other part."""
    outside = select(Document.id).where(Document.cluster_id == cluster_id, Document.id.not_in(component)).limit(1)
    return session.scalar(outside) is not None
