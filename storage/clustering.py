"""Clusters as the connected components of verified matches, kept up to date under the cluster lock.

New matches only ever join components, so settling a batch merges the clusters its matches touch
(`attach`: no graph walk, one election query for all changed clusters). Only removing matches, when
a document is fingerprinted again, can split one: `rebuild` walks the graph for that.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from ingest.canonical import Candidate, attribution_lines, elect
from storage.db import update_rows
from storage.models import Cluster, Document, Match


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


def attach(session: Session, doc_ids: Iterable[int], links: Iterable[tuple[int, int]]) -> dict[int, int]:
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
    update_rows(session, Document, moves)
    if merged:
        session.execute(delete(Cluster).where(Cluster.id.in_(merged)))
    _elect(session, targets)
    return placed


def rebuild(session: Session, seeds: set[int]) -> None:
    """Make clusters equal to the connected components of matches around `seeds` (splits included)."""
    remaining = set(seeds)
    old_clusters: set[int] = set()
    while remaining:
        start = remaining.pop()
        component = {start}
        frontier = {start}
        while frontier:
            rows = session.execute(
                select(Match.low_id, Match.high_id).where(or_(Match.low_id.in_(frontier), Match.high_id.in_(frontier)))
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
        _elect(session, [cluster])
    for cluster_id in old_clusters:
        if session.scalar(select(func.count()).where(Document.cluster_id == cluster_id)) == 0:
            session.execute(delete(Cluster).where(Cluster.id == cluster_id))


def _elect(session: Session, clusters: list[Cluster]) -> None:
    """Elect each cluster's canonical and update its size and dates, reading all their members at once."""
    members: dict[int, list[Any]] = {cluster.id: [] for cluster in clusters}
    for row in session.execute(_MEMBERS.where(Document.cluster_id.in_(list(members)))).all():
        members[row.cluster_id].append(row)
    lines: dict[int, tuple[str, ...]] = {}
    for member in (m for rows in members.values() for m in rows):
        if member.attributions is None:  # stored before attributions were kept: fill them in once
            text = session.scalar(select(Document.text).where(Document.id == member.id)) or ""
            session.execute(
                update(Document).where(Document.id == member.id).values(attributions=join_attributions(text))
            )
            lines[member.id] = tuple(attribution_lines(text))
        else:
            lines[member.id] = tuple(member.attributions.splitlines())
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
    Document.attributions,
    Document.fetched,
)


def join_attributions(text: str) -> str:
    """What documents.attributions holds for a text."""
    return "\n".join(attribution_lines(text))


def _claimed(session: Session, cluster_id: int, component: set[int]) -> bool:
    """Whether cluster_id has members outside `component`: if so, a split gave it to the other part."""
    outside = select(Document.id).where(Document.cluster_id == cluster_id, Document.id.not_in(component)).limit(1)
    return session.scalar(outside) is not None
