"""Clusters made from verified relations, kept up to date under the cluster lock.

Which documents form a cluster is ingest.grouping's decision (duplicates merge; a text contained in
another joins one cluster, never bridging two). Here it is applied to the documents connected to the
ones that changed (`regroup`), cluster ids are kept where they can be, and the canonical of each
changed cluster is elected (ingest.canonical).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, union_all, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ingest.canonical import Candidate, attribution_lines, elect
from ingest.grouping import group
from ingest.relation import CONTAINED, CONTAINS, DUPLICATE
from storage.db import sqlite_rows, update_rows
from storage.models import Cluster, Document, Match


def regroup(session: Session, seeds: Iterable[int], report: Iterable[int] = ()) -> dict[int, int]:
    """Make the clusters of every document connected to `seeds` by matches what ingest.grouping makes of
    their relations, reusing cluster ids; elect the canonical of each cluster that changed.

    Returns {document id: cluster id} for the documents in `report`.
    """
    if not seeds:
        return {}
    component, edges = _component(session, set(seeds))
    rows = _rows(
        session, select(Document.id, Document.url, Document.cluster_id, Document.published), Document.id, component
    )
    url = {doc: key for doc, key, _, _ in rows}
    current = {doc: cluster for doc, _, cluster, _ in rows}
    published = {doc: date for doc, _, _, date in rows}

    duplicates = [(low, high) for low, high, relation, *_ in edges if relation == "duplicate"]
    contained: list[tuple[int, int, float, int]] = []
    whole: set[tuple[int, int]] = set()  # (inner, outer): outer holds all of inner's prose
    for low, high, relation, score, opening, held_whole in edges:
        if relation == "duplicate":
            continue
        inner, outer = (low, high) if relation == "low_in_high" else (high, low)
        contained.append((inner, outer, score, opening))
        if held_whole:
            whole.add((inner, outer))
    groups = group(list(url), duplicates, contained, key=url, published=published, whole=whole)
    # The biggest group keeps its cluster id first, so a cluster's URL in the CLI stays stable as it grows.
    groups.sort(key=lambda members: (-len(members), min(url[m] for m in members)))
    old_members: dict[int, set[int]] = {}
    for doc, cluster_id in current.items():
        if cluster_id is not None:
            old_members.setdefault(cluster_id, set()).add(doc)
    existing = {c.id: c for c in session.scalars(select(Cluster).where(Cluster.id.in_(old_members)))}
    taken: set[int] = set()
    targets: list[tuple[Cluster, set[int]]] = []
    for members in groups:
        held = sorted({c for m in members if (c := current.get(m)) is not None} - taken)
        cluster = existing.get(held[0]) if held else None
        if cluster is None:
            cluster = Cluster()
            session.add(cluster)
        else:
            taken.add(cluster.id)
        targets.append((cluster, members))
    touched = {doc for low, high, relation, *_ in edges if relation != "duplicate" for doc in (low, high)}
    for cluster, members in targets:
        cluster.core = not (members & touched)
    session.flush()  # the new clusters get their ids, all in one statement
    moves = [
        {"id": m, "cluster_id": cluster.id} for cluster, members in targets for m in members if current[m] != cluster.id
    ]
    update_rows(session, Document, moves)
    session.flush()
    gone = set(old_members) - taken
    if gone:
        session.execute(delete(Cluster).where(Cluster.id.in_(gone)))
    _elect(session, [cluster for cluster, members in targets if old_members.get(cluster.id) != members])
    placed = {m: cluster.id for cluster, members in targets for m in members}
    return {doc: placed[doc] for doc in report if doc in placed}


def stored_relation(kind: str | None, first_is_low: bool) -> str:
    """A relation of (first, second), as matches.relation holds it for (low id, high id)."""
    if kind == DUPLICATE:
        return "duplicate"
    if kind not in (CONTAINED, CONTAINS):
        raise ValueError(f"no relation to store: {kind!r}")
    inner_is_low = (kind == CONTAINED) == first_is_low
    return "low_in_high" if inner_is_low else "high_in_low"


def join_duplicates(session: Session, links: dict[int, dict[int, str]]) -> dict[int, int]:
    """The common case without a walk: a document whose new relations are all duplicates of members of one
    cluster that is one core (`Cluster.core`: no other kind of relation touches it) joins it, and the cluster
    stays one core. {document: {other: stored relation}} in; {document: cluster} out, for those it placed;
    the others are left to `regroup`."""
    wanted = {other for others in links.values() for other in others}
    query = select(Document.id, Document.cluster_id, Cluster.core).join(Cluster, Cluster.id == Document.cluster_id)
    cluster_of = {doc: (cluster_id, core) for doc, cluster_id, core in _rows(session, query, Document.id, wanted)}
    joining: dict[int, list[int]] = {}
    for doc, others in links.items():
        targets = {cluster_of.get(other) for other in others}
        if len(targets) != 1 or set(others.values()) != {"duplicate"}:
            continue
        (target,) = targets
        if target is not None and target[1]:
            joining.setdefault(target[0], []).append(doc)
    if not joining:
        return {}
    moving = [doc for docs in joining.values() for doc in docs]
    # A document settled again (its relations removed, then found anew) leaves the cluster it was put in.
    left = set(session.scalars(select(Document.cluster_id).where(Document.id.in_(moving)))) - {None} - set(joining)
    update_rows(session, Document, [{"id": doc, "cluster_id": c} for c, docs in joining.items() for doc in docs])
    session.flush()
    still = set(session.scalars(select(Document.cluster_id).where(Document.cluster_id.in_(left)))) if left else set()
    if left - still:
        session.execute(delete(Cluster).where(Cluster.id.in_(left - still)))
    _elect(session, list(session.scalars(select(Cluster).where(Cluster.id.in_(set(joining) | still)))))
    return {doc: c for c, docs in joining.items() for doc in docs}


def alone(session: Session, doc_ids: list[int]) -> dict[int, int]:
    """Clusters of one for documents that have no relation to any other: those in none get a new one
    (a document that lost its relations was put alone already, by the regroup that removed them)."""
    if not doc_ids:
        return {}
    current = dict(session.execute(select(Document.id, Document.cluster_id).where(Document.id.in_(doc_ids))).all())
    homeless = [doc for doc in doc_ids if current.get(doc) is None]
    clusters = [Cluster(core=True) for _ in homeless]
    session.add_all(clusters)
    session.flush()
    update_rows(session, Document, [{"id": d, "cluster_id": c.id} for d, c in zip(homeless, clusters, strict=True)])
    session.flush()
    _elect(session, clusters)
    return {doc: cluster.id for doc, cluster in zip(homeless, clusters, strict=True)} | {
        doc: cluster_id for doc, cluster_id in current.items() if cluster_id is not None
    }


def edges_of(session: Session, ids: Iterable[int]) -> list[Any]:
    """The matches with an end in `ids`, as (low id, high id, relation, score, opening, whole) rows; one with both
    ends there comes twice."""
    ordered = sorted(ids)
    query = select(Match.low_id, Match.high_id, Match.relation, Match.score, Match.opening, Match.whole)
    found: list[Any] = []
    for start in range(0, len(ordered), 500):
        part = ordered[start : start + 500]
        rows = sqlite_rows(session, _SQLITE_EDGES, [*part, *part], part)
        if rows is None:
            # Two indexed look-ups: an OR of the two would make SQLite scan every match.
            both = union_all(query.where(Match.low_id.in_(part)), query.where(Match.high_id.in_(part)))
            rows = list(session.execute(both).all())
        found += rows
    return found


def _component(session: Session, seeds: set[int]) -> tuple[set[int], set[Any]]:
    """Every document connected to `seeds` by matches, seeds included, and those matches."""
    component = set(seeds)
    frontier = set(seeds)
    edges: set[Any] = set()
    while frontier:
        found = edges_of(session, frontier)
        edges.update(map(tuple, found))
        frontier = {doc for row in found for doc in row[:2]} - component
        component |= frontier
    return component, edges


_EDGE_COLUMNS = "SELECT low_id, high_id, relation, score, opening, whole FROM matches"
# The walk's statement as SQLite gets it (storage.db.sqlite_rows): two indexed look-ups, as above.
_SQLITE_EDGES = f"{_EDGE_COLUMNS} WHERE low_id IN ({{0}}) UNION ALL {_EDGE_COLUMNS} WHERE high_id IN ({{0}})"


def _rows(session: Session, query: Any, column: Any, ids: set[int], chunk: int = 500) -> list[Any]:
    ordered = sorted(ids)
    found: list[Any] = []
    for start in range(0, len(ordered), chunk):
        found += session.execute(query.where(column.in_(ordered[start : start + chunk]))).all()
    return found


def _elect(session: Session, clusters: list[Cluster]) -> None:
    """Elect each cluster's canonical and update its size and dates, reading all their members at once."""
    if not clusters:
        return
    session.flush()  # new clusters get their ids
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
    elected: list[dict[str, Any]] = []
    for cluster in clusters:
        rows = members[cluster.id]
        election = elect([candidate(m, lines.get(m.id, ())) for m in rows])
        values = {
            "canonical_id": election.winner,
            "canonical_reason": election.reason,
            "size": len(rows),
            "first_seen": min(m.fetched for m in rows),
            "last_seen": max(m.fetched for m in rows),
        }
        # Written below in one statement for all, not by the session's flush: it sends an UPDATE for each
        # cluster whose changed columns differ from the last one's, which is most of them. The objects are
        # told the values as they now are in the database, so they are not dirty.
        for name, value in values.items():
            set_committed_value(cluster, name, value)
        elected.append({"id": cluster.id, **values})
    update_rows(session, Cluster, elected)


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


def candidate(member: Any, attributions: tuple[str, ...]) -> Candidate:
    """A member as the canonical election reads it: a documents row, or a Document."""
    return Candidate(
        id=member.id,
        url=member.final_url,
        host=member.host,
        sitename=member.sitename,
        canonical_url=member.canonical_url,
        published=member.published,
        published_source=member.published_source,
        attributions=attributions,
        arrival=member.id,
    )


def join_attributions(text: str) -> str:
    """What documents.attributions holds for a text."""
    return "\n".join(attribution_lines(text))
