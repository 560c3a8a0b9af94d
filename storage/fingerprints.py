"""A stored document's fingerprint, read back: made from its text, its title, its host's chrome and the network
boilerplate it carries, nothing else.

The archive (storage.archive) compares each new document with its candidates, which are mostly the same few
recent documents: their paragraphs, fingerprints and prose shingles are kept in bounded caches, so memory stays
flat. A settled document's chrome and boilerplate are stored with it (`packed`, `chrome_text`); the others'
are counted again from what is known now (storage.boilerplate, storage.network).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import text as textlib
from ingest.document import Article, Fingerprint, FingerprintParams
from ingest.fingerprint import fingerprint, text_shingles
from ingest.fingerprint import templates as template_keys
from storage import network
from storage.boilerplate import host_chrome, paragraphs, stored_hashes, to_unsigned
from storage.db import sqlite_rows
from storage.models import Document

K = TypeVar("K")
V = TypeVar("V")

# Fewer shingles than this left once the chrome is gone means the chrome guess was wrong for this page.
MIN_CONTENT_SHINGLES = 25
# Documents per query when loading candidates.
CHUNK = 100
# The statement loading candidates' fingerprints runs a few times a batch, as SQLite gets it
# (storage.db.sqlite_rows); the same as the SQLAlchemy one in `StoredFingerprints.load`.
_SQLITE_KEYS = (
    "SELECT id, fp_params, clustered, chrome, boilerplate, content_hash, title FROM documents WHERE id IN ({})"
)


def make(
    article: Article, params: FingerprintParams, chrome: frozenset[int], boilerplate: frozenset[int]
) -> Fingerprint:
    fp = fingerprint(article, params, chrome, boilerplate)
    if chrome and len(fp.shingles) < MIN_CONTENT_SHINGLES:
        # Nearly everything looked like chrome: this is the same page stored twice on one host
        # (another URL, an AMP or print version), not a story made of boilerplate.
        fp = fingerprint(article, params, boilerplate=boilerplate)
    return fp


def packed(fp: Fingerprint) -> bytes:
    """The signature as documents.signature holds it."""
    return np.asarray(fp.signature, dtype=np.uint32).tobytes()


def chrome_text(fp: Fingerprint) -> str:
    """The chrome it was made without, as documents.chrome holds it."""
    return " ".join(map(str, sorted(fp.chrome)))


def content_hash(text: str) -> str:
    return hashlib.sha256(textlib.normalise(text).encode()).hexdigest()


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
        lead=doc.lead,
        links=tuple((doc.links or "").split()),
        headlines=tuple((doc.headlines or "").splitlines()),
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


@dataclass
class StoredFingerprints:
    """Stored documents' paragraphs, chrome, network boilerplate and fingerprints, cached by what they depend on."""

    params: FingerprintParams
    cache_size: int = 1024

    def __post_init__(self) -> None:
        self._fingerprints: LRU[tuple[object, ...], Fingerprint] = LRU(self.cache_size)
        self._paragraphs: LRU[tuple[int, str], dict[int, textlib.Paragraph]] = LRU(self.cache_size)
        self._shingles: LRU[tuple[int, str], frozenset[int]] = LRU(self.cache_size)

    def remember(
        self,
        doc: Document,
        paras: dict[int, textlib.Paragraph],
        fp: Fingerprint | None = None,
        chrome: frozenset[int] = frozenset(),
        boilerplate: frozenset[int] = frozenset(),
    ) -> None:
        """A new document's paragraphs, and its fingerprint made with `chrome` and `boilerplate`, as just worked out."""
        self._paragraphs.put((doc.id, doc.content_hash), paras)
        if fp is not None:
            self._fingerprints.put((doc.id, doc.content_hash, doc.title, chrome, boilerplate), fp)

    def paragraphs_of(self, doc: Document) -> dict[int, textlib.Paragraph]:
        key = (doc.id, doc.content_hash)
        found = self._paragraphs.get(key)
        if found is None:
            found = paragraphs(to_article(doc).paragraphs, doc.title)
            self._paragraphs.put(key, found)
        return found

    def of(self, doc: Document, chrome: frozenset[int], boilerplate: frozenset[int]) -> Fingerprint:
        """The document's fingerprint without the `chrome` paragraphs, with the `boilerplate` sentences marked."""
        key = (doc.id, doc.content_hash, doc.title, chrome, boilerplate)
        cached = self._fingerprints.get(key)
        if cached is not None:
            return cached
        fp = make(to_article(doc), self.params, chrome, boilerplate)
        self._fingerprints.put(key, fp)
        return fp

    def chrome_of(self, session: Session, docs: list[Document]) -> dict[int, frozenset[int]]:
        """{document id: the paragraph hashes of it that are now its host's chrome}."""
        paras = {doc.id: self.paragraphs_of(doc) for doc in docs if doc.host}
        chrome = host_chrome(session, {(doc.host, h) for doc in docs if doc.host for h in paras[doc.id]})
        return {
            doc.id: frozenset(to_unsigned(h) for h in paras.get(doc.id, ()) if (doc.host, h) in chrome) for doc in docs
        }

    def network_of(self, session: Session, docs: list[Document]) -> dict[int, frozenset[int]]:
        """{document id: the template keys of its sentences that are now network boilerplate}."""
        templates = {doc.id: template_keys(self.paragraphs_of(doc).values()) for doc in docs}
        boilerplate = network.known(session, set().union(*templates.values()))
        return {doc_id: keys & boilerplate for doc_id, keys in templates.items()}

    def text_shingles(self, session: Session, ids: Collection[int]) -> dict[int, frozenset[int]]:
        """{document id: the shingles of its prose, chrome included (ingest.fingerprint.text_shingles), which
        ingest.boilerplate.related compares}."""
        found: dict[int, frozenset[int]] = {}
        unread: list[int] = []
        for doc_id, digest in session.execute(select(Document.id, Document.content_hash).where(Document.id.in_(ids))):
            cached = self._shingles.get((doc_id, digest))
            if cached is None:
                unread.append(doc_id)
            else:
                found[doc_id] = cached
        for start in range(0, len(unread), CHUNK):
            for doc in session.scalars(select(Document).where(Document.id.in_(unread[start : start + CHUNK]))):
                found[doc.id] = text_shingles(to_article(doc), self.params)
                self._shingles.put((doc.id, doc.content_hash), found[doc.id])
        return found

    def load(self, session: Session, ids: set[int], into: dict[int, Fingerprint]) -> None:
        """The fingerprints of the stored documents `ids` made with these parameters, into `into` (verification's
        candidates; those made with others are never compared)."""
        # Most candidates are recent documents whose fingerprint is cached: their cache key is read first,
        # and only the others are loaded whole (their text is most of a row, and loading a row into an
        # object costs more than the look-up).
        ordered = sorted(ids)
        unknown: list[int] = []
        keys = select(
            Document.id,
            Document.fp_params,
            Document.clustered,
            Document.chrome,
            Document.boilerplate,
            Document.content_hash,
            Document.title,
        )
        connection = session.connection()  # a reading session: nothing to flush first
        for start in range(0, len(ordered), CHUNK):
            part = ordered[start : start + CHUNK]
            rows = sqlite_rows(session, _SQLITE_KEYS, part, part)
            for doc_id, params, clustered, chrome_stored, boilerplate_stored, digest, title in (
                rows if rows is not None else connection.execute(keys.where(Document.id.in_(part)))
            ):
                if params != self.params.key:
                    continue
                cached = None
                if clustered and chrome_stored is not None and boilerplate_stored is not None:
                    versions = (stored_hashes(chrome_stored), stored_hashes(boilerplate_stored))
                    cached = self._fingerprints.get((doc_id, digest, title, *versions))
                if cached is None:
                    unknown.append(doc_id)
                else:
                    into[doc_id] = cached
        for start in range(0, len(unknown), CHUNK):
            others = [
                other
                for other in session.scalars(select(Document).where(Document.id.in_(unknown[start : start + CHUNK])))
                if other.fp_params == self.params.key
            ]
            # A settled document's chrome is the one its signature was made with: chrome new on its host
            # unsettles it (storage.archive); so is its network boilerplate. So only the others' are counted.
            known = {o.id: stored_hashes(o.chrome) for o in others if o.clustered and o.chrome is not None}
            chrome = {**self.chrome_of(session, [o for o in others if o.id not in known]), **known}
            marked = {o.id: stored_hashes(o.boilerplate) for o in others if o.clustered and o.boilerplate is not None}
            boilerplate = {**self.network_of(session, [o for o in others if o.id not in marked]), **marked}
            into.update((o.id, self.of(o, chrome[o.id], boilerplate[o.id])) for o in others)
