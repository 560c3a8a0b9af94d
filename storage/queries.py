"""Read-side queries for the CLI and exports: plain dicts out, no ORM objects escape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.boilerplate import stored_hashes
from storage.models import Cluster, Document, Failure, Match

# `show` explains at most this many copies of a cluster (each costs a fingerprint and a comparison).
EXPLAINED = 100


def relation_to_canonical(match: Match | None, canonical_id: int, via: bool = False) -> str:
    """What a copy is to its cluster's canonical, by their recorded match; `via`: it names another member as its
    source (`copied_from`)."""
    if match is None or via:
        return "copy of a copy"  # taken from another member, or joined through one
    if match.relation == "duplicate":
        return "near-duplicate"
    inner_is_low = match.relation == "low_in_high"
    copy_is_inner = inner_is_low != (match.low_id == canonical_id)
    return "excerpt" if copy_is_inner else "wrapped"


def copied_from(members: list[Document], canonical_id: int) -> dict[int, int]:
    """{copy: the member besides the canonical that it names as its source} (ingest.canonical.sources: its
    rel=canonical, or an attribution line naming that member's site): a copy of a copy names the copy it was taken
    from, whatever its text is to the canonical."""
    if len(members) < 3:
        return {}
    from ingest.canonical import sources
    from storage.clustering import candidate

    named = sources([candidate(doc, tuple((doc.attributions or "").splitlines())) for doc in members])
    return {
        copy: others[0]
        for copy, found in named.items()
        if copy != canonical_id and (others := [other for other, _ in found if other != canonical_id])
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _url(doc: Document) -> str:
    return doc.final_url or doc.url


def list_clusters(session: Session, min_size: int = 1, limit: int | None = None) -> list[dict[str, Any]]:
    query = (
        select(Cluster, Document)
        .join(Document, Document.id == Cluster.canonical_id)
        .where(Cluster.size >= min_size)
        .order_by(Cluster.size.desc(), Cluster.id)
    )
    if limit:
        query = query.limit(limit)
    return [
        {
            "id": cluster.id,
            "size": cluster.size,
            "canonical": {"id": doc.id, "url": _url(doc), "host": doc.host, "title": doc.title},
            "first_seen": _iso(cluster.first_seen),
            "last_seen": _iso(cluster.last_seen),
        }
        for cluster, doc in session.execute(query)
    ]


def cluster_detail(session: Session, cluster_id: int) -> dict[str, Any] | None:
    cluster = session.get(Cluster, cluster_id)
    if cluster is None:
        return None
    members = list(session.scalars(select(Document).where(Document.cluster_id == cluster_id).order_by(Document.id)))
    ids = [m.id for m in members]
    canonical = next((m for m in members if m.id == cluster.canonical_id), members[0] if members else None)
    matches = session.scalars(select(Match).where(or_(Match.low_id.in_(ids), Match.high_id.in_(ids))))
    direct: dict[int, Match] = {}
    for match in matches:
        if canonical is None:
            break
        if canonical.id in (match.low_id, match.high_id):
            direct[match.high_id if match.low_id == canonical.id else match.low_id] = match
    copies = []
    explained = 0
    via = copied_from(members, canonical.id) if canonical is not None else {}
    for member in members:
        if canonical is not None and member.id == canonical.id:
            continue
        link = direct.get(member.id)
        copy: dict[str, Any] = {
            "id": member.id,
            "url": _url(member),
            "host": member.host,
            "published": _iso(member.published),
            "fetched": _iso(member.fetched),
            "relation": relation_to_canonical(link, canonical.id, member.id in via) if canonical is not None else None,
            "via": via.get(member.id),  # the member it names as its source, besides the canonical
            # Similarity to the canonical when they matched directly; else matched through another copy.
            "jaccard": round(link.jaccard, 3) if link else None,
            "containment": round(link.containment, 3) if link else None,
        }
        if canonical is not None and explained < EXPLAINED:
            copy["explanation"] = _explain(member, canonical)
            explained += 1
            if link is None and member.id not in via and copy["explanation"]["relation"] != "none":
                # Matched another copy first (verification stops at one duplicate a cluster): read afresh.
                copy["relation"] = copy["explanation"]["relation"]
        copies.append(copy)
    return {
        "id": cluster.id,
        "size": cluster.size,
        "canonical_reason": cluster.canonical_reason,
        "canonical": None
        if canonical is None
        else {
            "id": canonical.id,
            "url": _url(canonical),
            "host": canonical.host,
            "title": canonical.title,
            "published": _iso(canonical.published),
            "text": canonical.text,
        },
        "copies": copies,
    }


def _explain(copy: Document, original: Document) -> dict[str, Any]:
    """The shared passages of a copy and its canonical, and what the copy added (ingest.relation.explain)."""
    from ingest.canonical import links_to
    from ingest.fingerprint import fingerprint, unit_sentences
    from ingest.headlines import same_headline
    from ingest.relation import explain
    from storage.fingerprints import to_article

    def read(doc: Document) -> tuple[Any, Any]:
        chrome, boilerplate = stored_hashes(doc.chrome), stored_hashes(doc.boilerplate)
        article = to_article(doc)
        return fingerprint(article, chrome=chrome, boilerplate=boilerplate), unit_sentences(article, chrome)

    (copy_fp, copy_sentences), (original_fp, _) = read(copy), read(original)
    links_original = links_to(set((copy.links or "").split()), original.final_url, original.canonical_url)
    one_headline = same_headline(
        (copy.title, copy.sitename, copy.host), (original.title, original.sitename, original.host)
    )
    found = explain(copy_fp, copy_sentences, original_fp, links_original, one_headline)
    return {
        "relation": found.relation,
        "linked": found.linked,
        "by_headline": found.titled,
        "passages": [
            {
                "words": p.words,
                "opening": p.opening,
                "in_copy": round(p.in_copy, 2),
                "in_canonical": round(p.in_original, 2),
            }
            for p in found.passages
        ],
        "added": found.added
        + (
            f"; {len(chrome)} paragraph(s) of its site's boilerplate" if (chrome := (copy.chrome or "").split()) else ""
        ),
    }


def cluster_of_document(session: Session, doc_id: int) -> int | None:
    return session.scalar(select(Document.cluster_id).where(Document.id == doc_id))


def list_failures(session: Session, limit: int | None = None) -> list[dict[str, Any]]:
    query = select(Failure).order_by(Failure.last_seen.desc())
    if limit:
        query = query.limit(limit)
    return [
        {
            "url": f.url,
            "reason": f.reason,
            "message": f.message,
            "attempts": f.attempts,
            "last_seen": _iso(f.last_seen),
        }
        for f in session.scalars(query)
    ]


def _cluster_batches(
    session: Session, batch: int
) -> Iterator[tuple[Cluster, Document, list[Document], dict[tuple[int, int], Match]]]:
    """(cluster, its canonical, its members in id order, the matches of the batch's canonicals), in id order,
    loading `batch` clusters at a time: memory does not grow with the archive."""
    last = 0
    while True:
        clusters = list(session.scalars(select(Cluster).where(Cluster.id > last).order_by(Cluster.id).limit(batch)))
        if not clusters:
            return
        ids = [c.id for c in clusters]
        canonicals = [c.canonical_id for c in clusters if c.canonical_id is not None]
        links: dict[tuple[int, int], Match] = {}
        query = select(Match).where(or_(Match.low_id.in_(canonicals), Match.high_id.in_(canonicals)))
        for match in session.scalars(query):
            links[(match.low_id, match.high_id)] = match
        docs: dict[int, list[Document]] = {}
        for doc in session.scalars(select(Document).where(Document.cluster_id.in_(ids)).order_by(Document.id)):
            docs.setdefault(doc.cluster_id or 0, []).append(doc)
        for cluster in clusters:
            members = docs.get(cluster.id, [])
            canonical = next((d for d in members if d.id == cluster.canonical_id), None)
            if canonical is not None:
                yield cluster, canonical, members, links
        last = ids[-1]


def _relation(links: dict[tuple[int, int], Match], doc: Document, canonical: Document, via: dict[int, int]) -> str:
    match = links.get((min(doc.id, canonical.id), max(doc.id, canonical.id)))
    return relation_to_canonical(match, canonical.id, doc.id in via)


def iter_export(session: Session, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every cluster's canonical article with its copies' URLs, streamed in id order."""
    for cluster, canonical, members, links in _cluster_batches(session, batch):
        via = copied_from(members, canonical.id)
        yield {
            "cluster": cluster.id,
            "url": _url(canonical),
            "title": canonical.title,
            "published": _iso(canonical.published),
            "text": canonical.text,
            "copies": [_url(d) for d in members if d.id != canonical.id],
            "relations": [_relation(links, d, canonical, via) for d in members if d.id != canonical.id],
        }


def iter_documents(session: Session, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every clustered document, one dict each, cluster by cluster: the canonical first, then its copies
    with their relation to it. Dates stay datetimes (UTC) for typed exports."""
    for cluster, canonical, members, links in _cluster_batches(session, batch):
        via = copied_from(members, canonical.id)
        for doc in [canonical, *(d for d in members if d.id != canonical.id)]:
            is_canonical = doc.id == canonical.id
            yield {
                "cluster": cluster.id,
                "document": doc.id,
                "is_canonical": is_canonical,
                "relation": "canonical" if is_canonical else _relation(links, doc, canonical, via),
                "url": _url(doc),
                "host": doc.host,
                "title": doc.title,
                "published": doc.published,
                "fetched": doc.fetched,
                "text": doc.text,
            }


def counts(session: Session) -> dict[str, int]:
    return {
        "documents": session.scalar(select(func.count()).select_from(Document)) or 0,
        "clusters": session.scalar(select(func.count()).select_from(Cluster)) or 0,
        "failures": session.scalar(select(func.count()).select_from(Failure)) or 0,
    }
