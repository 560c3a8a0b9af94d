"""Counting a host's chrome in storage: which paragraphs its pages carry, and which of those are chrome.

The rule is ingest.boilerplate's: a paragraph that two pages of one host carry without being copies of
one another. Storage counts carriers first (one statement per host) and looks at the pages themselves
only for the paragraphs carried by a few of them, where the rule can go either way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from ingest import boilerplate
from ingest import text as textlib
from ingest.boilerplate import Claim, Page
from storage.models import Document, HostParagraph

Pair = tuple[str, int]  # (host, signed paragraph hash)


def paragraphs(lines: Iterable[str], title: str | None) -> dict[int, textlib.Paragraph]:
    """A text's paragraphs by their signed hash, as host_paragraphs holds them, but for its headline (`title`),
    which its fingerprint leaves out too (ingest.fingerprint.content_paragraphs). A page that repeats its headline
    in its text, as extraction often keeps it, adds no prose of its own to its sibling's story by it."""
    headline = textlib.headline(title)
    return {
        to_signed(paragraph.hash): paragraph
        for paragraph in map(textlib.read_paragraph, lines)
        if not headline or paragraph.normalised != headline
    }


def host_chrome(
    session: Session,
    pairs: set[Pair],
    extra: Mapping[str, tuple[str, Page]] | None = None,
    claims: Mapping[str, Claim] | None = None,
) -> set[Pair]:
    """Which of `pairs` are chrome, counting the stored pages and `extra` ({name: (host, paragraphs)},
    pages not stored yet, whose `claims` are given by name)."""
    return chrome_with_and_without(session, pairs, extra, claims=claims)[0]


def chrome_with_and_without(
    session: Session,
    pairs: set[Pair],
    extra: Mapping[str, tuple[str, Page]] | None = None,
    without: Mapping[int, Page] | None = None,
    claims: Mapping[str, Claim] | None = None,
) -> tuple[set[Pair], set[Pair]]:
    """(which of `pairs` are chrome, which would be without the stored documents `without` ({id: paragraphs}):
    what a batch just stored made chrome is the difference), from one reading of the carriers. `claims`: those
    of the pages in `extra`, by name."""
    extra, without, claims = extra or {}, without or {}, claims or {}
    found: set[Pair] = set()
    found_before: set[Pair] = set()
    # A statement a host, two to six a batch's page: through the connection, without the ORM's handling
    # of each (a third of their cost); the session's pending changes go first, as its autoflush would.
    session.flush()
    connection = session.connection()
    for host, hashes in by_host(pairs).items():
        pending = [(name, page) for name, (page_host, page) in extra.items() if page_host == host]
        counts = _count(connection, host, hashes)
        wanted = set(hashes)
        for _, page in pending:
            for h in page.keys() & wanted:
                counts[h] = counts.get(h, 0) + 1
        before = dict(counts)
        for page in without.values():
            for h in page.keys() & before.keys():
                before[h] -= 1
        unsure: list[int] = []
        unsure_before: list[int] = []
        for tally, sure, maybe in ((counts, found, unsure), (before, found_before, unsure_before)):
            for h, n in tally.items():
                if n >= boilerplate.SURE_CARRIERS:
                    sure.add((host, h))
                elif n >= 2:
                    maybe.append(h)
        if not unsure and not unsure_before:
            continue
        carriers, known = _carriers_of(session, host, sorted({*unsure, *unsure_before}))
        carriers.update((("new", name), page) for name, page in pending)
        known.update((("new", name), claims[name]) for name, _ in pending if name in claims)
        verdicts = _Verdicts()
        found.update((host, h) for h in boilerplate.chrome(carriers, unsure, verdicts, known))
        earlier = {key: page for key, page in carriers.items() if _stored_id(key) not in without}
        found_before.update((host, h) for h in boilerplate.chrome(earlier, unsure_before, verdicts, known))
    return found, found_before


def _carriers_of(session: Session, host: str, hashes: list[int]) -> tuple[dict[Hashable, Page], dict[Hashable, Claim]]:
    """The stored pages of `host` carrying any of `hashes`, and their claims, by ("stored", id, content hash).
    Few: only paragraphs carried by 2 to SURE_CARRIERS - 1 pages of a host are looked at so."""
    connection = session.connection()  # flushed by chrome_with_and_without
    versions = _carrier_versions(connection, host, hashes)
    unread = [doc for doc, digest in versions if (doc, digest) not in _PAGES]
    if unread:
        for doc, digest, text, title, url, declared in _texts(connection, unread):
            _remember((doc, digest), (paragraphs(text.splitlines(), title), Claim(url, declared, title, host)))
    read = {("stored", doc, digest): _PAGES[(doc, digest)] for doc, digest in versions if (doc, digest) in _PAGES}
    return {name: page for name, (page, _) in read.items()}, {name: address for name, (_, address) in read.items()}


# On SQLite these run straight on the driver's cursor, inside the session's transaction: SQLAlchemy's
# handling of a statement (expanding the IN list, compiling, wrapping the rows) took more than SQLite's
# answer, ~90 of ~160 us a statement of ~67 hashes, and they are two or three a page.
_SQLITE_COUNTS = (
    "SELECT paragraph_hash, count(*) FROM host_paragraphs WHERE host = ? AND paragraph_hash IN ({}) "
    "GROUP BY paragraph_hash"
)
_SQLITE_CARRIERS = (
    "SELECT DISTINCT host_paragraphs.document_id, documents.content_hash FROM host_paragraphs "
    "JOIN documents ON documents.id = host_paragraphs.document_id "
    "WHERE host_paragraphs.host = ? AND host_paragraphs.paragraph_hash IN ({}) ORDER BY host_paragraphs.document_id"
)
_SQLITE_TEXTS = "SELECT id, content_hash, text, title, final_url, canonical_url FROM documents WHERE id IN ({})"


def _count(connection: Connection, host: str, hashes: list[int]) -> dict[int, int]:
    """{paragraph hash: how many stored pages of `host` carry it}, for those of `hashes` carried at all."""
    if connection.dialect.name == "sqlite":
        return dict(_sqlite_rows(connection, _SQLITE_COUNTS, [host, *hashes], hashes))
    return {h: n for h, n in connection.execute(_COUNTS, {"host": host, "hashes": hashes})}


def _carrier_versions(connection: Connection, host: str, hashes: list[int]) -> list[tuple[int, str]]:
    """(id, content hash) of the stored pages of `host` carrying any of `hashes`, by id."""
    if connection.dialect.name == "sqlite":
        return [(doc, digest) for doc, digest in _sqlite_rows(connection, _SQLITE_CARRIERS, [host, *hashes], hashes)]
    stored = set(connection.execute(CARRIERS, {"host": host, "hashes": hashes}).scalars())
    query = select(Document.id, Document.content_hash).where(Document.id.in_(stored)).order_by(Document.id)
    return [(doc, digest) for doc, digest in connection.execute(query)]


def _texts(connection: Connection, ids: list[int]) -> list[tuple[Any, ...]]:
    """(id, content hash, text, title, URL, rel=canonical) of documents."""
    if connection.dialect.name == "sqlite":
        return [tuple(row) for row in _sqlite_rows(connection, _SQLITE_TEXTS, ids, ids)]
    columns = (Document.content_hash, Document.text, Document.title, Document.final_url, Document.canonical_url)
    return [tuple(row) for row in connection.execute(select(Document.id, *columns).where(Document.id.in_(ids)))]


def _sqlite_rows(connection: Connection, sql: str, params: list[Any], listed: list[Any]) -> list[Any]:
    """`sql` with its IN list as long as `listed`, run on the driver's cursor with `params`."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        return cursor.execute(sql.format(", ".join("?" * len(listed))), params).fetchall()
    finally:
        cursor.close()


def _stored_id(name: Hashable) -> int | None:
    """The document id of a carrier named ("stored", id, content hash); None for a page not stored yet."""
    return name[1] if isinstance(name, tuple) and name[0] == "stored" else None


class _Verdicts(MutableMapping[tuple[Hashable, Hashable], bool]):
    """Whether two carriers are copies of one another (ingest.boilerplate.chrome's `known`), for one reading
    of the carriers. A verdict on two stored pages, named with their content hash, holds as long as their
    texts do: it is kept across readings (in _VERDICTS), as the same few pages of a host are compared again
    with each new page of it. Verdicts involving a page not stored yet stay in this reading."""

    def __init__(self) -> None:
        self.local: dict[tuple[Hashable, Hashable], bool] = {}

    @staticmethod
    def _kept(pair: tuple[Hashable, Hashable]) -> bool:
        return all(_stored_id(name) is not None for name in pair)

    def __getitem__(self, pair: tuple[Hashable, Hashable]) -> bool:
        if not self._kept(pair):
            return self.local[pair]
        verdict = _VERDICTS[pair]
        _VERDICTS.move_to_end(pair)
        return verdict

    def __setitem__(self, pair: tuple[Hashable, Hashable], verdict: bool) -> None:
        if not self._kept(pair):
            self.local[pair] = verdict
            return
        _VERDICTS[pair] = verdict
        while len(_VERDICTS) > _VERDICTS_KEPT:
            _VERDICTS.popitem(last=False)

    def __delitem__(self, pair: tuple[Hashable, Hashable]) -> None:
        del (_VERDICTS if self._kept(pair) else self.local)[pair]

    def __iter__(self) -> Iterator[tuple[Hashable, Hashable]]:
        return iter(self.local)  # only this reading's own: the kept ones belong to every reading

    def __len__(self) -> int:
        return len(self.local)


# The paragraphs and claims of recently read documents, by (id, content hash), which names one text in any
# database: the same few pages of a host are looked at again with each new page of it. Bounded: memory stays flat.
_PAGES: OrderedDict[tuple[int, str], tuple[Page, Claim]] = OrderedDict()
_PAGES_KEPT = 512


# copies_of_one_another's verdicts on pairs of stored pages, by their carrier names (see _Verdicts). Bounded.
_VERDICTS: OrderedDict[tuple[Hashable, Hashable], bool] = OrderedDict()
_VERDICTS_KEPT = 8192


def _remember(doc: tuple[int, str], page: tuple[Page, Claim]) -> None:
    _PAGES[doc] = page
    while len(_PAGES) > _PAGES_KEPT:
        _PAGES.popitem(last=False)


def carriers(session: Session, pairs: set[Pair]) -> set[int]:
    """The documents carrying any of the (host, paragraph hash) pairs."""
    found: set[int] = set()
    for host, hashes in by_host(pairs).items():
        found.update(session.scalars(CARRIERS, {"host": host, "hashes": hashes}))
    return found


def unsettled_carriers(session: Session, pairs: set[Pair]) -> set[int]:
    """The unsettled documents carrying any of the pairs. From the unsettled documents of those hosts
    (few), not from the carriers: a host's chrome paragraph is carried by all its documents."""
    hosts = by_host(pairs)
    unsettled = select(Document.id).where(Document.clustered.is_(False), Document.host.in_(hosts))
    candidates = list(session.scalars(unsettled))
    if not candidates:
        return set()
    found: set[int] = set()
    for host, hashes in hosts.items():
        query = CARRIERS.where(HostParagraph.document_id.in_(candidates))
        found.update(session.scalars(query, {"host": host, "hashes": hashes}))
    return found


def by_host(pairs: set[Pair]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for host, h in pairs:
        grouped.setdefault(host, []).append(h)
    return grouped


def to_signed(value: int) -> int:
    """64-bit unsigned hash -> signed, to fit a BIGINT column."""
    return value - (1 << 64) if value >= (1 << 63) else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def stored_hashes(text: str | None) -> frozenset[int]:
    """The hashes a `documents.chrome` or `documents.boilerplate` column holds (space-separated; None: none)."""
    return frozenset(map(int, (text or "").split()))


# One statement per host, compiled once: `host IN (...) AND paragraph_hash IN (...)` would probe every
# host with every hash, and one OR term per host costs more to build than to run.
_COUNTS = (
    select(HostParagraph.paragraph_hash, func.count())
    .where(HostParagraph.host == bindparam("host"), HostParagraph.paragraph_hash.in_(bindparam("hashes")))
    .group_by(HostParagraph.paragraph_hash)
)
CARRIERS = select(HostParagraph.document_id).where(
    HostParagraph.host == bindparam("host"), HostParagraph.paragraph_hash.in_(bindparam("hashes"))
)
