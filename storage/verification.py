"""Step 3 of settling (storage.archive): which of its candidates a new document has a relation with.

The index returns every document filed under one of a new document's keys; most share a sentence or a band and
little else, and a story copied a thousand times has a thousand candidates. So candidates are grouped by cluster and
tried in turn, the cluster's canonical first: one duplicate is enough to join a cluster. Reads only: on SQLite it
holds no write lock, so other workers go on storing meanwhile.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.canonical import links_to, names_url
from ingest.document import Fingerprint
from ingest.grouping import group
from ingest.headlines import named_apart, same_headline, title_words
from ingest.relation import DUPLICATE, Relation, RelationPolicy, declared, linked, named, relate, titled, unrelated
from storage import clustering
from storage.db import sqlite_rows
from storage.models import Cluster, Document

# Members of one cluster a new document is compared with before it is taken not to belong there.
TRIES_PER_CLUSTER = 8
# Candidates per query.
CHUNK = 100
# The candidates' statement as SQLite gets it (storage.db.sqlite_rows); the same as the SQLAlchemy one beside it.
_SQLITE_CANDIDATES = (
    "SELECT documents.id, documents.cluster_id, documents.clustered, clusters.canonical_id, documents.final_url, "
    "documents.canonical_url, documents.links, documents.title, documents.headlines, documents.sitename, "
    "documents.host FROM documents "
    "LEFT OUTER JOIN clusters ON clusters.id = documents.cluster_id WHERE documents.id IN ({})"
)

Loader = Callable[[Session, set[int], dict[int, Fingerprint]], None]


def verify(
    session: Session,
    fps: dict[int, Fingerprint],
    candidates: dict[int, set[int]],
    load: Loader,
    policy: RelationPolicy,
) -> dict[int, dict[int, Relation]]:
    """{document id: {candidate id: relation}} for the candidates (`candidates`: {document id: its candidates'
    ids}) it has a relation with. `load(session, ids, into)` puts the fingerprints of stored documents in `into`.

    One duplicate in a cluster is enough to join it, so the candidates of one cluster are tried in
    turn (its canonical first, the fullest text) and the rest skipped after a duplicate, at most
    TRIES_PER_CLUSTER of them: a story copied a thousand times costs a new copy a few comparisons, not a
    thousand. All but those recorded as holding another text, and not as the duplicate's duplicates: a
    cluster may hold such a member by that containment alone (a copy holding an edited one after an intro
    line), and it would leave the cluster when the text it holds joins another container, unless it is
    known to be the new text's duplicate, as another arrival order would have found. Candidates not settled
    yet are each tried.
    """
    wanted = set().union(*candidates.values()) - set(fps)
    cluster_of, canonical, urls = _clusters_of_candidates(session, wanted | set(fps))
    queues: dict[int, dict[object, list[int]]] = {}
    for doc_id, found in candidates.items():
        groups: dict[object, list[int]] = {}
        for other in found:
            # One being settled with it has no cluster yet, or one it is about to leave (re-fingerprinted with
            # new chrome or boilerplate, with the others of its cluster): it is tried on its own.
            cluster = cluster_of.get(other) if other not in fps else None
            groups.setdefault(("c", cluster) if cluster is not None else ("d", other), []).append(other)
        for members in groups.values():
            members.sort(key=lambda m: (m != canonical.get(cluster_of.get(m, -1)), -m))
            del members[TRIES_PER_CLUSTER:]
            members.reverse()  # tried from the end
        queues[doc_id] = groups
    twins, containers = _held_by_containment(
        session, {m for groups in queues.values() for ms in groups.values() if len(ms) > 1 for m in ms}
    )
    known = dict(fps)
    matches: dict[int, dict[int, Relation]] = {doc_id: {} for doc_id in fps}
    while any(queues.values()):
        tried = {doc_id: {key: members.pop() for key, members in groups.items()} for doc_id, groups in queues.items()}
        load(session, {o for t in tried.values() for o in t.values()} - set(known), known)
        for doc_id, turn in tried.items():
            for key, other_id in turn.items():
                other_fp = known.get(other_id)  # None: deleted meanwhile, or other fingerprint parameters
                relation = None
                # Most candidates share a sentence or a band and little else: no relation, unless one names
                # the other as its original or links it, which only reading their sentences can confirm
                # (declared, linked).
                said = _declares(urls, doc_id, other_id)
                links = _links(urls, doc_id, other_id), _links(urls, other_id, doc_id)
                one_headline = _same_headline(urls, doc_id, other_id)
                if other_fp is not None and not (
                    unrelated(fps[doc_id], other_fp, policy) and not (said or any(links) or one_headline)
                ):
                    relation = relate(fps[doc_id], other_fp, policy)
                    if relation.kind is not None:
                        relation = named(relation, _named_apart(urls, doc_id, other_id), policy)
                    relation = linked(declared(relation, said, policy), *links, policy)
                    names = _names_source(urls, doc_id, other_id), _names_source(urls, other_id, doc_id)
                    relation = titled(relation, one_headline, *names, policy)
                if relation is not None and relation.kind is not None:
                    matches[doc_id][other_id] = relation
                if relation is not None and relation.kind == DUPLICATE:
                    same = twins.get(other_id, ())
                    queues[doc_id][key] = [m for m in queues[doc_id][key] if m in containers and m not in same]
                if not queues[doc_id][key]:
                    del queues[doc_id][key]
    return matches


def _held_by_containment(session: Session, ids: set[int]) -> tuple[dict[int, set[int]], set[int]]:
    """({id: the ids among `ids` it is a duplicate of, through recorded duplicate matches among them}, the ids
    recorded as holding another text: a cluster may hold them by that containment alone)."""
    duplicates: list[tuple[int, int]] = []
    containers: set[int] = set()
    for low, high, relation, *_ in clustering.edges_of(session, ids):
        if relation != DUPLICATE:
            containers.add(high if relation == "low_in_high" else low)
        elif low in ids and high in ids:
            duplicates.append((low, high))
    cores = group(ids, duplicates, [], {doc_id: str(doc_id) for doc_id in ids})
    return {doc_id: core for core in cores for doc_id in core}, containers & ids


@dataclass(frozen=True)
class _Page:
    """What verification reads of a page besides its text: its addresses and its headlines."""

    url: str | None  # its own
    declared: str | None  # the one its rel=canonical names
    links: frozenset[str]  # those its paragraphs link to (Article.links)
    names: tuple[str | None, ...] = ()  # its title and headlines (Article.headlines)
    site: tuple[str | None, str | None] = (None, None)  # its site's name and its host

    @property
    def title(self) -> str | None:
        return self.names[0] if self.names else None

    @functools.cached_property
    def title_words(self) -> frozenset[str]:
        """ingest.headlines.title_words of its names: read only for the few candidates related by their text."""
        return title_words(self.names, *self.site)


_NOWHERE = _Page(None, None, frozenset())


def _clusters_of_candidates(session: Session, ids: set[int]) -> tuple[dict[int, int], dict[int, int], dict[int, _Page]]:
    """({settled candidate id: its cluster}, {cluster: its canonical}, {document id: what is read of it}), in one
    statement a chunk."""
    cluster_of: dict[int, int] = {}
    canonical: dict[int, int] = {}
    urls: dict[int, _Page] = {}
    ordered = sorted(ids)
    query = select(
        Document.id,
        Document.cluster_id,
        Document.clustered,
        Cluster.canonical_id,
        Document.final_url,
        Document.canonical_url,
        Document.links,
        Document.title,
        Document.headlines,
        Document.sitename,
        Document.host,
    ).outerjoin(Cluster, Cluster.id == Document.cluster_id)
    connection = session.connection()  # a reading session: nothing to flush, no ORM handling needed
    for start in range(0, len(ordered), CHUNK):
        part = ordered[start : start + CHUNK]
        rows = sqlite_rows(session, _SQLITE_CANDIDATES, part, part)
        if rows is None:
            rows = list(connection.execute(query.where(Document.id.in_(part))).all())
        for doc_id, cluster_id, clustered, canonical_id, url, declared_url, links, title, headlines, site, host in rows:
            names = (title, *(headlines or "").splitlines())
            urls[doc_id] = _Page(url, declared_url, frozenset((links or "").split()), names, (site, host))
            if clustered and cluster_id is not None:
                cluster_of[doc_id] = cluster_id
                if canonical_id is not None:
                    canonical[cluster_id] = canonical_id
    return cluster_of, canonical, urls


def _declares(urls: dict[int, _Page], a: int, b: int) -> bool:
    """Whether either document's rel=canonical names the other's URL."""
    return _canonical_names(urls, a, b) or _canonical_names(urls, b, a)


def _names_source(urls: dict[int, _Page], a: int, b: int) -> bool:
    """Whether document `a` names `b` as its source: by its rel=canonical, or a link in its paragraphs."""
    return _canonical_names(urls, a, b) or _links(urls, a, b)


def _canonical_names(urls: dict[int, _Page], a: int, b: int) -> bool:
    """Whether document `a`'s rel=canonical names `b`'s URL."""
    first = urls.get(a, _NOWHERE)
    return names_url(first.declared, urls.get(b, _NOWHERE).url, first.url)


def _same_headline(urls: dict[int, _Page], a: int, b: int) -> bool:
    """ingest.headlines.same_headline of the two documents."""
    first, second = urls.get(a, _NOWHERE), urls.get(b, _NOWHERE)
    return same_headline((first.title, *first.site), (second.title, *second.site))


def _named_apart(urls: dict[int, _Page], a: int, b: int) -> bool:
    """Whether the two documents' headlines name different stories (ingest.headlines)."""
    return named_apart(urls.get(a, _NOWHERE).title_words, urls.get(b, _NOWHERE).title_words)


def _links(urls: dict[int, _Page], a: int, b: int) -> bool:
    """Whether document `a`'s paragraphs link document `b`, at its URL or at the one its rel=canonical names."""
    second = urls.get(b, _NOWHERE)
    return links_to(urls.get(a, _NOWHERE).links, second.url, second.declared)
