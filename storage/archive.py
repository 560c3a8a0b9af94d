"""The archive: stores extracted articles, files them in the near-duplicate index and settles their clusters.

Used by the Celery tasks (a page at a time) and by `copydesk dedup` (pages in batches) alike, so both
make the same decisions. The order of work, for one page or a batch:

1. store   one transaction under the cluster lock: the document rows, their paragraphs and sentences; learn
           which paragraphs are their hosts' chrome; fingerprint what is left. `clustered` stays False.
2. index   file each document in the shared index and get back every document filed under one of its
           keys: one round trip for a batch, in order, so each page also sees the pages before it.
3. verify  exact resemblance and containment against each candidate (storage.verification). Reads only: on
           SQLite it holds no write lock, so other workers go on storing meanwhile.
4. settle  one transaction under the cluster lock: record the matches, merge the clusters they join and
           elect each changed cluster's canonical once, set `clustered`.
5. learn   one transaction under the cluster lock: the sentences the new documents make a network's
           boilerplate (storage.network), counting a cluster as one story.

A stored document's fingerprint is read back (its host's chrome and its network boilerplate as known now) and
cached by storage.fingerprints.

A crash between 1 and 4 leaves `clustered` False; `repair()` redoes 2-4, which are idempotent.
When a paragraph turns out to be chrome, or a sentence a network's boilerplate (storage.network), the
documents fingerprinted before it was known are re-fingerprinted and settled again, so clusters do not
depend on arrival order.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ingest import text as textlib
from ingest.boilerplate import Claim
from ingest.document import Article, Fingerprint, FingerprintParams
from ingest.extract import extract
from ingest.fingerprint import content_paragraphs
from ingest.fingerprint import templates as template_keys
from ingest.relation import Relation, RelationPolicy
from storage import clustering, network, verification
from storage.boilerplate import (
    carriers,
    chrome_with_and_without,
    host_chrome,
    paragraphs,
    stored_hashes,
    to_unsigned,
    unsettled_carriers,
)
from storage.db import cluster_lock, insert_rows, reading, update_rows
from storage.fingerprints import StoredFingerprints, chrome_text, content_hash, packed, to_article
from storage.fingerprints import make as make_fingerprint
from storage.index import IndexIncomplete, NearDupIndex
from storage.models import Document, Failure, HostParagraph, Match, utcnow

log = logging.getLogger(__name__)

# Documents per statement when re-fingerprinting, and per settle when repairing.
CHUNK = 100


@dataclass(frozen=True)
class Stored:
    document_id: int
    cluster_id: int | None
    created: bool  # False: the URL was already in the archive


@dataclass(frozen=True)
class Arrival:
    """An article to add: `key` is what it was queued as (its URL, a file name), `final_url` where it came from,
    `fetched` when it was (a web archive's WARC-Date; None: now)."""

    article: Article
    key: str | None = None
    final_url: str | None = None
    fetched: datetime | None = None

    @property
    def storage_key(self) -> str:
        return self.key or self.article.url or f"sha256:{content_hash(self.article.text)}"


@dataclass(frozen=True)
class _Prepared:
    """What `_prepare` worked out for one arrival before the lock."""

    paragraphs: dict[int, textlib.Paragraph]  # by hash (signed, as stored)
    chrome: frozenset[int]  # those that were its host's chrome, counting this batch
    templates: frozenset[int]  # its prose sentences' template keys (storage.network)
    network: frozenset[int]  # those that were network boilerplate
    fingerprint: Fingerprint  # made without the chrome, with the boilerplate marked
    content_hash: str
    attributions: str  # its attribution lines, as documents.attributions holds them


@dataclass
class _Batch:
    """What step 1 did with a batch of arrivals."""

    ids: dict[str, int] = field(default_factory=dict)  # storage key -> document id
    created: set[int] = field(default_factory=set)
    pending: list[int] = field(default_factory=list)  # to settle: the new ones, and old ones a crash left unsettled
    clusters: dict[int, int | None] = field(default_factory=dict)  # of the documents already settled
    stale: set[int] = field(default_factory=set)  # older documents whose fingerprint new chrome made stale
    templates: dict[int, frozenset[int]] = field(default_factory=dict)  # of the new ones (storage.network)
    fingerprints: dict[int, Fingerprint] = field(default_factory=dict)  # of the new ones, made inside the lock


@dataclass
class Archive:
    sessions: sessionmaker[Session]
    index: NearDupIndex
    params: FingerprintParams = field(default_factory=FingerprintParams)
    policy: RelationPolicy = field(default_factory=RelationPolicy)
    cache_size: int = 1024  # documents whose fingerprints and paragraphs are kept (storage.fingerprints)

    def __post_init__(self) -> None:
        self.fingerprints = StoredFingerprints(self.params, self.cache_size)

    # ---- public API -------------------------------------------------------------------------

    def find(self, key: str) -> int | None:
        with reading(self.sessions) as session:
            return session.scalar(select(Document.id).where(Document.url == key))

    def add(self, article: Article, key: str | None = None, final_url: str | None = None) -> Stored:
        """Store one article under `key` (the URL it was queued as) and cluster it."""
        return self.add_many([Arrival(article, key, final_url)])[0]

    def add_many(self, arrivals: Sequence[Arrival]) -> list[Stored]:
        """Store and cluster articles, in four transactions for the lot. A key is stored once: one
        already in the archive, or repeated in `arrivals`, comes back with created=False; one stored by an
        earlier call that stopped before clustering it (a crash, Redis lost the index) with created=True."""
        keys = [arrival.storage_key for arrival in arrivals]
        prepared = self._prepare(arrivals, keys)
        batch = None
        for attempt in range(3):
            try:
                batch = self._store(arrivals, keys, prepared)
                break
            except IntegrityError:  # another worker stored one of these keys meanwhile: look again
                if attempt == 2:
                    raise
        assert batch is not None
        fresh = [doc_id for doc_id in batch.pending if doc_id in batch.fingerprints]
        clusters = {**batch.clusters, **self._settle(fresh, batch.fingerprints)}
        try:
            batch.stale |= self._learn(batch.templates)
        except Exception:  # the pages are stored and settled: the next carrier of these sentences looks again
            log.exception("learning network boilerplate from %d new documents failed", len(batch.templates))
        left = [doc_id for doc_id in batch.pending if doc_id not in batch.fingerprints]  # by an earlier attempt
        if left:  # re-fingerprinted: if they were stale too, their old matches go
            self.refingerprint(left)
        if batch.stale:
            # Not this batch's documents: if this fails they stay unsettled, and the next repair settles them.
            try:
                self.refingerprint(batch.stale)
            except IndexIncomplete:
                log.info("%d documents made stale by new chrome are left for the next repair", len(batch.stale))
            except Exception:
                log.exception("re-fingerprinting %d documents made stale by new chrome failed", len(batch.stale))
        if left or batch.stale:
            clusters = self._clusters_of(list(batch.ids.values()))  # re-fingerprinting may have moved them
        results, seen = [], set()
        for key in keys:
            doc_id = batch.ids[key]
            results.append(Stored(doc_id, clusters.get(doc_id), created=doc_id in batch.created and key not in seen))
            seen.add(key)
        return results

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
        with reading(self.sessions) as session:
            pending = session.scalar(select(Document.clustered).where(Document.id == doc_id)) is False
        if pending:
            self.refingerprint([doc_id])

    def repair(self, until: float | None = None) -> int:
        """Settle every document left unclustered (by a crash, or stale and not yet re-fingerprinted).
        Returns how many were settled.

        Each chunk of CHUNK documents is committed on its own; with `until` (time.monotonic()), no chunk
        starts after it, and the next call settles the rest. One document that cannot be settled is
        logged and left for the next run; it does not hold up the others.
        """
        with reading(self.sessions) as session:
            pending = list(session.scalars(select(Document.id).where(Document.clustered.is_(False))))
        settled = 0
        for start in range(0, len(pending), CHUNK):
            if until is not None and time.monotonic() >= until:
                log.info("repair: %d documents left for the next run", len(pending) - start)
                break
            chunk = pending[start : start + CHUNK]
            try:
                self.refingerprint(chunk)
                settled += len(chunk)
                continue
            except IndexIncomplete:  # every document would fail alike: stop until the index is filled
                raise
            except Exception:
                log.exception("repair: documents %s-%s could not be settled together", chunk[0], chunk[-1])
            for doc_id in chunk:  # find the one that fails, settle the others
                try:
                    self.refingerprint([doc_id])
                    settled += 1
                except IndexIncomplete:
                    raise
                except Exception:
                    log.exception("repair: document %s could not be settled", doc_id)
        return settled

    def reindex(self, since: datetime | None = None, chunk: int = 1000) -> int:
        """File every document under the index keys stored with it, as when it was settled.

        For an index that lost its entries (a Redis without them: flushed, replaced, or a new index
        layout) or that starts empty (the in-memory index of `copydesk dedup --db`): without it, new
        copies of stories already in the archive would not find them. Filing is idempotent, so
        documents settled meanwhile are harmless. `since`: only documents fetched from then on (the
        index window). Returns how many documents were filed.
        """
        return sum(filed for _, filed in self.reindex_steps(since, chunk=chunk))

    def reindex_steps(
        self, since: datetime | None = None, after: int = 0, chunk: int = 1000
    ) -> Iterator[tuple[int, int]]:
        """reindex() a chunk at a time, from the first document id above `after`: after each chunk,
        yields (the last document id filed, how many were filed), so that a caller can stop and resume."""
        last = after
        while True:
            # Unsettled documents too, as a settle leaves them until it records: one whose look-up ran
            # just before Redis lost the index may record only after this has passed its id.
            query = select(Document.id, Document.index_keys).where(
                Document.id > last, Document.index_keys != "", Document.fp_params == self.params.key
            )
            if since is not None:
                query = query.where(Document.fetched >= since)
            with reading(self.sessions) as session:
                rows = session.execute(query.order_by(Document.id).limit(chunk)).all()
            if not rows:
                return
            self.index.file_many([(doc_id, keys.split()) for doc_id, keys in rows])
            last = rows[-1][0]
            yield last, len(rows)

    def refingerprint(self, doc_ids: Collection[int]) -> None:
        """Fingerprint documents again with what is now known of their hosts' chrome, and settle them again."""
        changed: dict[int, Fingerprint] = {}
        neighbours: set[int] = set()
        with self.sessions() as session, session.begin(), cluster_lock(session):
            docs = list(session.scalars(select(Document).where(Document.id.in_(doc_ids)).order_by(Document.id)))
            chrome, boilerplate = (
                self.fingerprints.chrome_of(session, docs),
                self.fingerprints.network_of(session, docs),
            )
            old_clusters: set[int] = set()
            for doc in docs:
                fp = self.fingerprints.of(doc, chrome[doc.id], boilerplate[doc.id])
                new_keys = " ".join(fp.index_keys)
                if new_keys == doc.index_keys and doc.clustered:
                    continue
                if new_keys != doc.index_keys:  # new boilerplate alone changes no key: it stays filed as it is
                    self.index.remove(doc.id, doc.index_keys.split())
                if doc.cluster_id is not None:
                    old_clusters.add(doc.cluster_id)
                doc.signature, doc.chrome, doc.boilerplate = packed(fp), chrome_text(fp), None
                doc.index_keys = new_keys
                doc.clustered = False
                changed[doc.id] = fp
            session.flush()
            ids = list(changed)
            for start in range(0, len(ids), CHUNK):
                part = ids[start : start + CHUNK]
                edges = or_(Match.low_id.in_(part), Match.high_id.in_(part))
                neighbours.update(
                    end for pair in session.execute(select(Match.low_id, Match.high_id).where(edges)) for end in pair
                )
                session.execute(delete(Match).where(edges))
            # A document records a match with one member of a cluster it joins: those whose only matches were with
            # these are settled again below, lest they stay alone.
            neighbours -= changed.keys()
            if neighbours:
                kept = select(Match.low_id, Match.high_id).where(
                    or_(Match.low_id.in_(neighbours), Match.high_id.in_(neighbours))
                )
                neighbours -= {end for pair in session.execute(kept) for end in pair}
            if old_clusters:  # without their matches they may have held their clusters together
                members = set(session.scalars(select(Document.id).where(Document.cluster_id.in_(old_clusters))))
                clustering.regroup(session, members)
        # Filed under their new keys (a look-up never returns the document itself), or under none, as new ones are.
        self._settle([*changed, *sorted(neighbours)], changed)

    # ---- steps --------------------------------------------------------------------------------

    def _prepare(self, arrivals: Sequence[Arrival], keys: list[str]) -> dict[str, _Prepared]:
        """Before step 1, outside the lock: paragraph hashes, and the fingerprint with the chrome as it
        stands now. Chrome rarely changes between here and the lock, so step 1 mostly only checks it."""
        paras = {key: paragraphs(a.article.paragraphs, a.article.title) for a, key in zip(arrivals, keys, strict=True)}
        first = dict(zip(keys, arrivals, strict=True))  # a key repeated in the batch is stored once
        pages = {key: (host, paras[key]) for key, a in first.items() if (host := a.article.host)}
        templates = {key: template_keys(paras[key].values()) for key in first}
        claims = {
            key: Claim(a.final_url or a.article.url, a.article.canonical_url, a.article.title, a.article.host)
            for key, a in first.items()
        }
        with reading(self.sessions) as session:
            chrome = host_chrome(session, {(host, h) for host, page in pages.values() for h in page}, pages, claims)
            boilerplate = network.known(session, set().union(*templates.values()))
        prepared = {}
        for key, arrival in first.items():
            host = arrival.article.host
            found = frozenset(h for h in paras[key] if (host, h) in chrome)
            ours = templates[key] & boilerplate
            fp = make_fingerprint(arrival.article, self.params, frozenset(to_unsigned(h) for h in found), ours)
            text = arrival.article.text
            prepared[key] = _Prepared(
                paras[key], found, templates[key], ours, fp, content_hash(text), clustering.join_attributions(text)
            )
        return prepared

    def _store(self, arrivals: Sequence[Arrival], keys: list[str], prepared: dict[str, _Prepared]) -> _Batch:
        """Step 1."""
        batch = _Batch()
        unique = list(dict.fromkeys(keys))
        with self.sessions() as session, session.begin(), cluster_lock(session):
            # A key that arrives is no longer a failure, whatever happened to it before.
            session.execute(delete(Failure).where(Failure.url.in_(unique)))
            known = select(Document.id, Document.url, Document.cluster_id, Document.clustered)
            for doc_id, url, cluster_id, clustered in session.execute(known.where(Document.url.in_(unique))):
                batch.ids[url] = doc_id
                if clustered:
                    batch.clusters[doc_id] = cluster_id
                else:
                    batch.pending.append(doc_id)
                    if cluster_id is None:  # never settled: its first store stopped short, this call completes it
                        batch.created.add(doc_id)
            if batch.pending:
                # An earlier attempt stored these and stopped before settling them (a crash, Redis lost):
                # the older documents it marked stale (below) carry their paragraphs, and are still unsettled.
                left = set(batch.pending)
                pairs = {
                    (host, h)
                    for arrival, key in zip(arrivals, keys, strict=True)
                    if batch.ids.get(key) in left and (host := arrival.article.host)
                    for h in prepared[key].paragraphs
                }
                batch.stale = unsettled_carriers(session, pairs) - left
            new: dict[str, tuple[Document, Article]] = {}
            for arrival, key in zip(arrivals, keys, strict=True):
                if key not in batch.ids and key not in new:
                    new[key] = (self._document(arrival, key, prepared[key]), arrival.article)
            if not new:
                return batch
            session.add_all(doc for doc, _ in new.values())
            session.flush()
            paras = {doc.id: prepared[key].paragraphs for key, (doc, _) in new.items()}
            pairs = {(host, h) for doc, _ in new.values() if (host := doc.host) for h in paras[doc.id]}
            insert_rows(
                session,
                HostParagraph,
                [
                    {"host": host, "paragraph_hash": h, "document_id": doc.id}
                    for doc, _ in new.values()
                    if (host := doc.host)
                    for h in paras[doc.id]
                ],
            )
            chrome, before = chrome_with_and_without(session, pairs, without=paras)
            templates = {doc.id: prepared[key].templates for key, (doc, _) in new.items()}
            network.record(session, templates)  # learnt from once they are settled (_learn)
            batch.templates = templates
            # Paragraphs that became chrome with this batch were not chrome for the documents before it.
            newly = chrome - before
            if newly:
                batch.stale |= carriers(session, newly) - {doc.id for doc, _ in new.values()}
                _unsettle(session, batch.stale)
            boilerplate = network.known(session, set().union(*templates.values()))
            for key, (doc, _) in new.items():
                found = frozenset(h for h in paras[doc.id] if (doc.host, h) in chrome)
                doc_chrome = frozenset(to_unsigned(h) for h in found)
                ours = prepared[key].templates & boilerplate
                if found == prepared[key].chrome and ours == prepared[key].network:  # as guessed before the lock
                    fp = prepared[key].fingerprint
                    self.fingerprints.remember(doc, paras[doc.id], fp, doc_chrome, ours)
                else:
                    self.fingerprints.remember(doc, paras[doc.id])
                    fp = self.fingerprints.of(doc, doc_chrome, ours)
                    doc.signature, doc.chrome, doc.index_keys = packed(fp), chrome_text(fp), " ".join(fp.index_keys)
                batch.fingerprints[doc.id] = fp
                batch.ids[key] = doc.id
                batch.created.add(doc.id)
                batch.pending.append(doc.id)
        return batch

    def _learn(self, templates: Mapping[int, frozenset[int]]) -> set[int]:
        """Step 5, once the new documents ({id: their template keys}) are settled, so that the copies among them
        count as one story: learn the network boilerplate they make, and unsettle every document carrying it
        (these new ones too), to be re-fingerprinted. A crash before this leaves it to the next carrier."""
        if not templates:
            return set()
        with self.sessions() as session, session.begin(), cluster_lock(session):
            learnt = network.learn(session, templates, functools.partial(self.fingerprints.text_shingles, session))
            if not learnt:
                return set()
            stale = self._changed_by(session, network.carriers_of(session, learnt), learnt)
            _unsettle(session, stale)
            return stale

    def _changed_by(self, session: Session, doc_ids: Collection[int], learnt: set[int]) -> set[int]:
        """Of the documents carrying newly learnt network boilerplate (template keys, unsigned), those whose
        fingerprint it changes. The others carry it only in their host's chrome, which their fingerprint leaves out
        already: they stay settled, and record the keys as a settle would. Without this, a network's sentence in a
        host's disclaimer would settle every page of that host again."""
        changed: set[int] = set()
        kept: list[dict[str, object]] = []
        ordered = sorted(doc_ids)
        for start in range(0, len(ordered), CHUNK):
            for doc in session.scalars(select(Document).where(Document.id.in_(ordered[start : start + CHUNK]))):
                if not doc.clustered or doc.chrome is None or doc.boilerplate is None:
                    changed.add(doc.id)  # to be settled anyway
                    continue
                # The paragraphs its fingerprint was made of: the chrome it left out is recorded with it.
                fingerprinted = content_paragraphs(to_article(doc), stored_hashes(doc.chrome))
                if any(key in learnt for paragraph in fingerprinted for key in paragraph.templates):
                    changed.add(doc.id)
                    continue
                carried = stored_hashes(doc.boilerplate) | (
                    template_keys(self.fingerprints.paragraphs_of(doc).values()) & learnt
                )
                kept.append({"id": doc.id, "boilerplate": " ".join(map(str, sorted(carried)))})
        update_rows(session, Document, kept)
        return changed

    def _settle(self, doc_ids: Sequence[int], fresh: Mapping[int, Fingerprint] | None = None) -> dict[int, int]:
        """Steps 2-4 for stored documents; safe to repeat. Returns {document id: cluster id}.

        `fresh`: fingerprints just made inside the lock, of documents filed under none of their index keys (new
        ones, or ones just taken out of the index to be fingerprinted again) or under exactly these (ones whose
        new boilerplate changed no key); the others are read again with their host's chrome as it is now.
        """
        if not doc_ids:
            return {}
        with reading(self.sessions) as session:
            fresh = fresh or {}
            fps = {doc_id: fresh[doc_id] for doc_id in doc_ids if doc_id in fresh}
            # The signature each document had when this began: one that changes meanwhile was
            # re-fingerprinted by another process (new chrome), which settles it itself.
            basis = {doc_id: packed(fp) for doc_id, fp in fps.items()}
            stored = [doc_id for doc_id in doc_ids if doc_id not in fresh]
            docs = list(session.scalars(select(Document).where(Document.id.in_(stored)))) if stored else []
            chrome, boilerplate = (
                self.fingerprints.chrome_of(session, docs),
                self.fingerprints.network_of(session, docs),
            )
            for doc in docs:
                basis[doc.id] = doc.signature
                fps[doc.id] = self.fingerprints.of(doc, chrome[doc.id], boilerplate[doc.id])
                outdated = set(doc.index_keys.split()) - set(fps[doc.id].index_keys)
                if outdated:  # the host's chrome changed since the document was filed
                    self.index.remove(doc.id, outdated)
            fps = dict(sorted(fps.items()))
            found = self.index.add_and_query_many([(i, fp.index_keys, fp.query_keys) for i, fp in fps.items()])
            candidates = dict(zip(fps, found, strict=True))
            matches = verification.verify(session, fps, candidates, self.fingerprints.load, self.policy)
        with self.sessions() as session, session.begin(), cluster_lock(session):
            return self._record(session, fps, matches, basis)

    def _record(
        self,
        session: Session,
        fps: dict[int, Fingerprint],
        matches: dict[int, dict[int, Relation]],
        basis: dict[int, bytes],
    ) -> dict[int, int]:
        """Step 4, inside the cluster transaction."""
        involved = set(fps).union(*matches.values())
        signed = session.execute(select(Document.id, Document.signature).where(Document.id.in_(involved)))
        alive = {doc_id: signature for doc_id, signature in signed}
        ids = [doc_id for doc_id in fps if alive.get(doc_id) == basis[doc_id]]  # not deleted nor redone meanwhile
        # Two queries for all matches, not two per match: copies of a big story match many pages.
        recorded = {
            (m.low_id, m.high_id): m
            for m in session.scalars(select(Match).where(or_(Match.low_id.in_(ids), Match.high_id.in_(ids))))
        }
        links: dict[tuple[int, int], dict[str, object]] = {}
        for doc_id in ids:
            for other_id, relation in matches[doc_id].items():
                if other_id in alive:
                    low, high = min(doc_id, other_id), max(doc_id, other_id)
                    links[(low, high)] = {
                        "jaccard": relation.jaccard,
                        "containment": relation.containment,
                        "relation": clustering.stored_relation(relation.kind, first_is_low=doc_id == low),
                        "score": relation.score,
                        "opening": relation.opening(self.policy),
                        "whole": relation.whole,
                    }
        rows = []
        for (low, high), values in links.items():
            match = recorded.get((low, high))
            if match is None:
                rows.append({"low_id": low, "high_id": high, **values})
            else:
                for name, value in values.items():
                    setattr(match, name, value)
        insert_rows(session, Match, rows)
        settled = [
            {
                "id": i,
                "signature": packed(fps[i]),
                "chrome": chrome_text(fps[i]),
                "boilerplate": " ".join(map(str, sorted(fps[i].boilerplate))),
                "index_keys": " ".join(fps[i].index_keys),
                "clustered": True,
            }
            for i in ids
        ]
        update_rows(session, Document, settled)
        linked = {doc for pair in [*links, *recorded] for doc in pair}
        # Most pages are a story of their own: no relation, no graph to walk, a cluster of one. Most others are
        # a copy of one story that nothing else touches: they join it without a walk (clustering.join_duplicates).
        placed = clustering.alone(session, [doc_id for doc_id in ids if doc_id not in linked])
        relations: dict[int, dict[int, str]] = {}  # {document: {other: stored relation}}, both ways
        for (low, high), values in links.items():
            relations.setdefault(low, {})[high] = relations.setdefault(high, {})[low] = str(values["relation"])
        earlier = {doc for pair in recorded for doc in pair}
        batch = set(ids)
        simple = {
            doc: others
            for doc in ids
            if (others := relations.get(doc)) and doc not in earlier and not (others.keys() & batch)
        }
        placed |= clustering.join_duplicates(session, simple)
        unplaced = [doc for doc in ids if doc in linked and doc not in placed]
        seeds = {doc for pair in [*links, *recorded] if not (placed.keys() & set(pair)) for doc in pair}
        return placed | clustering.regroup(session, seeds | set(unplaced), unplaced)

    # ---- helpers ------------------------------------------------------------------------------

    def _document(self, arrival: Arrival, key: str, prepared: _Prepared) -> Document:
        article = arrival.article
        return Document(
            url=key,
            final_url=arrival.final_url or article.url,
            fetched=arrival.fetched or utcnow(),
            host=article.host,
            title=article.title,
            author=article.author,
            sitename=article.sitename,
            language=(article.language or "")[:32] or None,
            text=article.text,
            published=article.published,
            published_source=article.published_source,
            canonical_url=article.canonical_url,
            lead=article.lead,
            links="\n".join(article.links) or None,
            headlines="\n".join(article.headlines) or None,
            attributions=prepared.attributions,
            content_hash=prepared.content_hash,
            fp_params=self.params.key,
            # Made with the chrome as it stood before the lock: the store step checks it, and redoes the few
            # that chrome found meanwhile changes (an UPDATE a row, which on PostgreSQL is a statement a row).
            signature=packed(prepared.fingerprint),
            chrome=chrome_text(prepared.fingerprint),
            index_keys=" ".join(prepared.fingerprint.index_keys),
            clustered=False,
        )

    def _clusters_of(self, doc_ids: list[int]) -> dict[int, int | None]:
        with reading(self.sessions) as session:
            return dict(session.execute(select(Document.id, Document.cluster_id).where(Document.id.in_(doc_ids))).all())


def _unsettle(session: Session, doc_ids: Collection[int]) -> None:
    """Unsettled until re-fingerprinted: whoever settles them next (this call, its retry, the repair)
    re-fingerprints them, even if this call stops before it does. A blank signature makes a settle of theirs
    already under way drop them (see _record)."""
    stale = update(Document).where(Document.id.in_(doc_ids))
    session.execute(stale.values(clustered=False, signature=b"", chrome=None, boilerplate=None))
