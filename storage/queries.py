"""Read-side queries for the CLI and exports: plain dicts out, no ORM objects escape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import Cluster, Document, Failure, Match


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
    for member in members:
        if canonical is not None and member.id == canonical.id:
            continue
        link = direct.get(member.id)
        copies.append(
            {
                "id": member.id,
                "url": _url(member),
                "host": member.host,
                "published": _iso(member.published),
                "fetched": _iso(member.fetched),
                # Similarity to the canonical when they matched directly; else linked through another copy.
                "jaccard": round(link.jaccard, 3) if link else None,
                "containment": round(link.containment, 3) if link else None,
            }
        )
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


def iter_export(session: Session, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every cluster's canonical article with its copies' URLs, streamed in id order."""
    last = 0
    while True:
        clusters = list(session.scalars(select(Cluster).where(Cluster.id > last).order_by(Cluster.id).limit(batch)))
        if not clusters:
            return
        ids = [c.id for c in clusters]
        docs: dict[int, list[Document]] = {}
        for doc in session.scalars(select(Document).where(Document.cluster_id.in_(ids)).order_by(Document.id)):
            docs.setdefault(doc.cluster_id or 0, []).append(doc)
        for cluster in clusters:
            members = docs.get(cluster.id, [])
            canonical = next((d for d in members if d.id == cluster.canonical_id), None)
            if canonical is None:
                continue
            yield {
                "cluster": cluster.id,
                "url": _url(canonical),
                "title": canonical.title,
                "published": _iso(canonical.published),
                "text": canonical.text,
                "copies": [_url(d) for d in members if d.id != canonical.id],
            }
        last = ids[-1]


def counts(session: Session) -> dict[str, int]:
    return {
        "documents": session.scalar(select(func.count()).select_from(Document)) or 0,
        "clusters": session.scalar(select(func.count()).select_from(Cluster)) or 0,
        "failures": session.scalar(select(func.count()).select_from(Failure)) or 0,
    }
