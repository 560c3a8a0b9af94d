"""The archive: stores an extracted article, files it in the near-duplicate index and settles its cluster.

Used by the Celery tasks and by `copydesk dedup` alike, so the batch and the worker make the same
decisions. The order of work for one document:

1. store  (under the cluster lock) the document row and its paragraphs; learn which of its paragraphs
   are its host's chrome; fingerprint what is left; commit. `clustered` stays False.
2. index  file it in the shared index and get back every document filed under one of its keys.
3. verify exact resemblance and containment against each candidate, fingerprinted afresh.
4. settle (under the cluster lock) record the matches, recompute the connected components they touch,
   elect each component's canonical, set `clustered`.

A crash between 1 and 4 leaves `clustered` False; `repair()` redoes 2-4, which are idempotent.
When a paragraph turns out to be chrome, the documents fingerprinted before it was known are
re-fingerprinted and settled again, so clusters do not depend on arrival order.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ingest import text as textlib
from ingest.canonical import Candidate, elect
from ingest.document import Article, Fingerprint, FingerprintParams
from ingest.extract import extract
from ingest.fingerprint import fingerprint
from ingest.similarity import MatchPolicy, Similarity, compare, is_copy
from storage.db import cluster_lock
from storage.index import NearDupIndex
from storage.models import Cluster, Document, Failure, HostParagraph, Match, utcnow

log = logging.getLogger(__name__)
K = TypeVar("K")
V = TypeVar("V")

# A paragraph carried by this many documents of one host is that host's chrome.
CHROME_MIN_DOCUMENTS = 2
# Fewer shingles than this left once the chrome is gone means the chrome guess was wrong for this page.
MIN_CONTENT_SHINGLES = 25


@dataclass(frozen=True)
class Stored:
    document_id: int
    cluster_id: int | None
    created: bool  # False: the URL was already in the archive


@dataclass
class Archive:
    sessions: sessionmaker[Session]
    index: NearDupIndex
    params: FingerprintParams = field(default_factory=FingerprintParams)
    policy: MatchPolicy = field(default_factory=MatchPolicy)
    # Recent fingerprints and paragraph hashes: verification compares each new document with its
    # candidates, which are mostly the same few recent documents. Bounded, so memory stays flat.
    cache_size: int = 1024

    def __post_init__(self) -> None:
        self._fingerprints: LRU[tuple[object, ...], Fingerprint] = LRU(self.cache_size)
        self._paragraphs: LRU[tuple[int, str], frozenset[int]] = LRU(self.cache_size)

    # ---- public API -------------------------------------------------------------------------

    def find(self, key: str) -> int | None:
        with self.sessions() as session:
            return session.scalar(select(Document.id).where(Document.url == key))

    def add(self, article: Article, key: str | None = None, final_url: str | None = None) -> Stored:
        """Store one article under `key` (the URL it was queued as) and cluster it."""
        key = key or article.url or f"sha256:{content_hash(article.text)}"
        existing = self.find(key)
        if existing is not None:
            self.finish(existing)
            self._forget_failure(key)  # an earlier delivery may have died before doing so
            return Stored(existing, self._cluster_of(existing), created=False)
        try:
            doc_id, stale = self._store(article, key, final_url or article.url)
        except IntegrityError:  # the same URL stored concurrently by another worker
            existing = self.find(key)
            if existing is None:
                raise
            self.finish(existing)
            return Stored(existing, self._cluster_of(existing), created=False)
        self.settle(doc_id)
        for other in sorted(stale):
            self.refingerprint(other)
        self._forget_failure(key)
        return Stored(doc_id, self._cluster_of(doc_id), created=True)

    def add_html(
        self, html: str | bytes, key: str | None = None, url: str | None = None, charset: str | None = None
    ) -> Stored:
        """Extract and add one page. Raises ExtractionError when the page holds no article."""
        return self.add(extract(html, url, charset=charset), key=key, final_url=url)

    def record_failure(self, key: str, reason: str, message: str) -> None:
        with self.sessions() as session, session.begin():
            failure = session.scalar(select(Failure).where(Failure.url == key))
            if failure is None:
                session.add(Failure(url=key, reason=reason, message=message[:2000]))
            else:
                failure.reason, failure.message = reason, message[:2000]
                failure.attempts += 1
                failure.last_seen = utcnow()

    def finish(self, doc_id: int) -> None:
        """Settle a document only if an earlier attempt crashed before its cluster was settled."""
        with self.sessions() as session:
            pending = session.scalar(select(Document.clustered).where(Document.id == doc_id)) is False
        if pending:
            self.settle(doc_id)

    def repair(self) -> int:
        """Settle every document a crash left unclustered. Returns how many were settled.

        One document that cannot be settled is logged and left for the next run; it does not
        hold up the others.
        """
        with self.sessions() as session:
            pending = list(session.scalars(select(Document.id).where(Document.clustered.is_(False))))
        settled = 0
        for doc_id in pending:
            try:
                self.settle(doc_id)
            except Exception:
                log.exception("repair: document %s could not be settled", doc_id)
                continue
            settled += 1
        return settled

    def _forget_failure(self, key: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(delete(Failure).where(Failure.url == key))

    # ---- steps --------------------------------------------------------------------------------

    def _store(self, article: Article, key: str, final_url: str | None) -> tuple[int, set[int]]:
        """Step 1. Returns the new id and the other documents whose fingerprint it made stale."""
        paragraph_hashes = {to_signed(textlib.paragraph_hash(p)) for p in article.paragraphs}
        with self.sessions() as session, session.begin(), cluster_lock(session):
            doc = Document(
                url=key,
                final_url=final_url,
                host=article.host,
                title=article.title,
                author=article.author,
                sitename=article.sitename,
                language=(article.language or "")[:32] or None,
                text=article.text,
                published=article.published,
                published_source=article.published_source,
                canonical_url=article.canonical_url,
                content_hash=content_hash(article.text),
                fp_params=self.params.key,
                signature=b"",
                clustered=False,
            )
            session.add(doc)
            session.flush()
            stale: set[int] = set()
            if article.host and paragraph_hashes:
                session.add_all(
                    HostParagraph(host=article.host, paragraph_hash=h, document_id=doc.id) for h in paragraph_hashes
                )
                session.flush()
                chrome = self._chrome(session, article.host, paragraph_hashes)
                # Paragraphs that became chrome just now were not chrome for the documents before.
                newly = {h for h, n in chrome.items() if n == CHROME_MIN_DOCUMENTS}
                if newly:
                    stale = set(
                        session.scalars(
                            select(HostParagraph.document_id).where(
                                HostParagraph.host == article.host,
                                HostParagraph.paragraph_hash.in_(newly),
                                HostParagraph.document_id != doc.id,
                            )
                        )
                    )
            fp = self._fingerprint(session, doc)
            doc.signature = np.asarray(fp.signature, dtype=np.uint32).tobytes()
            doc.index_keys = " ".join(fp.index_keys)
            return doc.id, stale

    def settle(self, doc_id: int) -> None:
        """Steps 2-4 for one stored document; safe to repeat."""
        with self.sessions() as session:
            doc = session.get(Document, doc_id)
            if doc is None:
                return
            fp = self._fingerprint(session, doc)
            outdated = set(doc.index_keys.split()) - set(fp.index_keys)
            if outdated:  # the host's chrome changed since the document was filed
                self.index.remove(doc.id, outdated)
            candidates = self.index.add_and_query(doc.id, fp.index_keys, fp.query_keys)
            matches = self._verify(session, fp, candidates)
        with self.sessions() as session, session.begin(), cluster_lock(session):
            doc = session.get(Document, doc_id)
            if doc is None:
                return
            doc.signature = np.asarray(fp.signature, dtype=np.uint32).tobytes()
            doc.index_keys = " ".join(fp.index_keys)
            # Two queries for all matches, not two per match: copies of a big story match many pages.
            alive = set(session.scalars(select(Document.id).where(Document.id.in_(list(matches)))))
            recorded = {
                (m.low_id, m.high_id): m
                for m in session.scalars(select(Match).where(or_(Match.low_id == doc_id, Match.high_id == doc_id)))
            }
            for other_id, sim in matches.items():
                if other_id not in alive:  # deleted meanwhile
                    continue
                low, high = sorted((doc_id, other_id))
                match = recorded.get((low, high))
                if match is None:
                    session.add(Match(low_id=low, high_id=high, jaccard=sim.jaccard, containment=sim.containment))
                else:
                    match.jaccard, match.containment = sim.jaccard, sim.containment
            session.flush()
            self._rebuild(session, {doc_id})
            doc.clustered = True

    def refingerprint(self, doc_id: int) -> None:
        """Fingerprint again with what is now known of the host's chrome, and settle again."""
        with self.sessions() as session, session.begin(), cluster_lock(session):
            doc = session.get(Document, doc_id)
            if doc is None:
                return
            fp = self._fingerprint(session, doc)
            new_keys = " ".join(fp.index_keys)
            if new_keys == doc.index_keys and doc.clustered:
                return
            self.index.remove(doc.id, doc.index_keys.split())
            old_cluster = doc.cluster_id
            session.execute(delete(Match).where(or_(Match.low_id == doc_id, Match.high_id == doc_id)))
            doc.signature = np.asarray(fp.signature, dtype=np.uint32).tobytes()
            doc.index_keys = new_keys
            doc.clustered = False
            session.flush()
            if old_cluster is not None:
                members = set(session.scalars(select(Document.id).where(Document.cluster_id == old_cluster)))
                self._rebuild(session, members)
        self.settle(doc_id)

    # ---- helpers ------------------------------------------------------------------------------

    def _chrome(self, session: Session, host: str, hashes: set[int]) -> dict[int, int]:
        """{paragraph hash: documents of host carrying it} for the given hashes that are chrome."""
        rows = session.execute(
            select(HostParagraph.paragraph_hash, func.count())
            .where(HostParagraph.host == host, HostParagraph.paragraph_hash.in_(hashes))
            .group_by(HostParagraph.paragraph_hash)
            .having(func.count() >= CHROME_MIN_DOCUMENTS)
        )
        return {h: n for h, n in rows}

    def _paragraph_hashes(self, doc: Document) -> frozenset[int]:
        key = (doc.id, doc.content_hash)
        hashes = self._paragraphs.get(key)
        if hashes is None:
            hashes = frozenset(to_signed(textlib.paragraph_hash(p)) for p in to_article(doc).paragraphs)
            self._paragraphs.put(key, hashes)
        return hashes

    def _chrome_of(self, session: Session, docs: list[Document]) -> dict[int, frozenset[int]]:
        """{document id: the paragraph hashes of it that are now its host's chrome}, in one query."""
        hashes = {doc.id: self._paragraph_hashes(doc) for doc in docs if doc.host}
        wanted = set().union(*hashes.values()) if hashes else set()
        chrome: set[tuple[str, int]] = set()
        if wanted:
            rows = session.execute(
                select(HostParagraph.host, HostParagraph.paragraph_hash)
                .where(
                    HostParagraph.host.in_({doc.host for doc in docs if doc.host}),
                    HostParagraph.paragraph_hash.in_(wanted),
                )
                .group_by(HostParagraph.host, HostParagraph.paragraph_hash)
                .having(func.count() >= CHROME_MIN_DOCUMENTS)
            )
            chrome = {(host, h) for host, h in rows}
        return {
            doc.id: frozenset(to_unsigned(h) for h in hashes.get(doc.id, ()) if (doc.host, h) in chrome) for doc in docs
        }

    def _fingerprint(self, session: Session, doc: Document, chrome: frozenset[int] | None = None) -> Fingerprint:
        if chrome is None:
            chrome = self._chrome_of(session, [doc])[doc.id]
        # A document's fingerprint depends on its text, its title and its host's chrome, nothing else.
        key = (doc.id, doc.content_hash, doc.title, chrome)
        cached = self._fingerprints.get(key)
        if cached is not None:
            return cached
        article = to_article(doc)
        fp = fingerprint(article, self.params, chrome)
        if chrome and len(fp.shingles) < MIN_CONTENT_SHINGLES:
            # Nearly everything looked like chrome: this is the same page stored twice on one host
            # (another URL, an AMP or print version), not a story made of boilerplate.
            fp = fingerprint(article, self.params)
        self._fingerprints.put(key, fp)
        return fp

    def _verify(self, session: Session, fp: Fingerprint, candidates: set[int]) -> dict[int, Similarity]:
        matches: dict[int, Similarity] = {}
        ordered = sorted(candidates)
        for start in range(0, len(ordered), 100):
            others = [
                other
                for other in session.scalars(select(Document).where(Document.id.in_(ordered[start : start + 100])))
                if other.fp_params == self.params.key  # made with other fingerprint parameters: never compared
            ]
            chrome = self._chrome_of(session, others)
            for other in others:
                sim = compare(fp, self._fingerprint(session, other, chrome[other.id]))
                if is_copy(sim, self.policy):
                    matches[other.id] = sim
        return matches

    def _rebuild(self, session: Session, seeds: set[int]) -> None:
        """Make clusters equal to the connected components of matches around `seeds`."""
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
            members = list(session.scalars(select(Document).where(Document.id.in_(component))))
            previous = {m.cluster_id for m in members if m.cluster_id is not None}
            old_clusters |= previous
            # Keep the oldest cluster id, so a cluster's URL in the CLI stays stable as it grows.
            cluster = session.get(Cluster, min(previous)) if previous else None
            if cluster is None or _claimed(session, cluster.id, component):
                cluster = Cluster()
                session.add(cluster)
                session.flush()
            for member in members:
                member.cluster_id = cluster.id
            election = elect([to_candidate(m) for m in members])
            cluster.canonical_id = election.winner
            cluster.canonical_reason = election.reason
            cluster.size = len(members)
            cluster.first_seen = min(m.fetched for m in members)
            cluster.last_seen = max(m.fetched for m in members)
            session.flush()
        for cluster_id in old_clusters:
            if session.scalar(select(func.count()).where(Document.cluster_id == cluster_id)) == 0:
                session.execute(delete(Cluster).where(Cluster.id == cluster_id))

    def _cluster_of(self, doc_id: int) -> int | None:
        with self.sessions() as session:
            return session.scalar(select(Document.cluster_id).where(Document.id == doc_id))


def _claimed(session: Session, cluster_id: int, component: set[int]) -> list[Document]:
    """Members of cluster_id outside `component`: if any, a split gave it to the other part."""
    return list(
        session.scalars(select(Document).where(Document.cluster_id == cluster_id, Document.id.not_in(component)))
    )


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


def content_hash(text: str) -> str:
    return hashlib.sha256(textlib.normalise(text).encode()).hexdigest()


def to_signed(value: int) -> int:
    """64-bit unsigned hash -> signed, to fit a BIGINT column."""
    return value - (1 << 64) if value >= (1 << 63) else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def to_article(doc: Document) -> Article:
    return Article(
        text=doc.text,
        title=doc.title,
        author=doc.author,
        published=doc.published,
        published_source=doc.published_source,
        sitename=doc.sitename,
        url=doc.final_url,
        host=doc.host,
        canonical_url=doc.canonical_url,
        language=doc.language,
    )


def to_candidate(doc: Document) -> Candidate:
    return Candidate(
        id=doc.id,
        url=doc.final_url,
        host=doc.host,
        sitename=doc.sitename,
        canonical_url=doc.canonical_url,
        published=doc.published,
        published_source=doc.published_source,
        text=doc.text,
        arrival=doc.id,
    )
