"""SQLAlchemy 2 typed models: documents, clusters, the verified matches between documents, failures.

Schema changes go through Alembic (storage/migrations); `copydesk db upgrade` applies them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in and out, on SQLite too (which drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)  # what was queued or pushed (or a synthetic key)
    final_url: Mapped[str | None] = mapped_column(String(2048))  # after redirects
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    sitename: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_source: Mapped[str | None] = mapped_column(String(16))  # "meta" | "heuristic"
    canonical_url: Mapped[str | None] = mapped_column(String(2048))  # <link rel=canonical> as declared
    # The text's attribution lines ("Originally published at ..."), one a line, which canonical elections
    # read for every member. NULL: stored before this column; the next election fills it in.
    attributions: Mapped[str | None] = mapped_column(Text)
    fetched: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the normalised text
    # The fingerprint and everything it was made with: never compare across different params.
    fp_params: Mapped[str] = mapped_column(String(128))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    index_keys: Mapped[str] = mapped_column(Text, default="")  # what the index holds for this document
    # The paragraph hashes of its host's chrome that the signature leaves out (decimal, space-separated).
    # NULL: settled before this column was added, or made stale by new chrome.
    chrome: Mapped[str | None] = mapped_column(Text)
    # The story's lead that extraction put back in the text (Article.lead); NULL: none, or stored before 0006.
    lead: Mapped[str | None] = mapped_column(Text)
    # The template keys of its sentences that were network boilerplate when it was settled (signed decimal,
    # space-separated; see NetworkSentence). NULL: not settled since 0007, or made stale by new boilerplate.
    boilerplate: Mapped[str | None] = mapped_column(Text)
    # The addresses its paragraphs link to (Article.links), one a line; NULL: none, or stored before 0008.
    links: Mapped[str | None] = mapped_column(Text)
    # The names the page gives its story besides its title (Article.headlines), one a line; NULL: none, or stored
    # before 0010 (its title alone is read then).
    headlines: Mapped[str | None] = mapped_column(Text)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"), index=True)
    # False from the moment the document is written until its cluster is settled: a crash in between
    # leaves it False, and `repair` (queued by every worker at start, and by beat every 5 min) finishes it.
    clustered: Mapped[bool] = mapped_column(default=False, index=True)


class Cluster(Base):
    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    canonical_id: Mapped[int | None] = mapped_column(Integer)  # a member document; no FK, to keep the schema acyclic
    canonical_reason: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(Integer, default=1)
    # Its members are one story by duplicate relations alone, and no other kind of relation touches them: a
    # new duplicate of a member joins it without regrouping (storage.clustering.join_duplicates).
    core: Mapped[bool] = mapped_column(default=False, server_default=false())
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Match(Base):
    """A verified relation between two documents (low id first): `relation` says which (ingest.relation):
    "duplicate", "low_in_high" or "high_in_low" (one text inside the other). Clusters are made from them
    by ingest.grouping."""

    __tablename__ = "matches"

    low_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    high_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True)
    jaccard: Mapped[float] = mapped_column(Float)
    containment: Mapped[float] = mapped_column(Float)
    relation: Mapped[str] = mapped_column(String(16), default="duplicate", server_default="duplicate")
    score: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # How the containing text starts before the contained one (ingest.relation.Relation.opening): 0 with it,
    # 1 with a lede or intro line of its own, 2 with more prose of its own than that, 3 with that and much
    # more after it, 4 after lines that are not prose (headings, a byline).
    opening: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    # Whether the containing text holds all of the contained one's prose (ingest.relation.Relation.whole).
    whole: Mapped[bool] = mapped_column(default=False, server_default=false())


class HostParagraph(Base):
    """Which documents of a host carry a paragraph: a paragraph on several is that host's chrome."""

    __tablename__ = "host_paragraphs"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    paragraph_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_host_paragraphs_document", "document_id"),)


class TemplateSentence(Base):
    """Which documents carry a prose sentence, by its template key (ingest.text.Paragraph.templates, signed):
    a sentence carried by documents of three different stories is a network's boilerplate."""

    __tablename__ = "template_sentences"

    template: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_template_sentences_document", "document_id"),)


class NetworkSentence(Base):
    """A template key found to be a network's boilerplate (ingest.boilerplate.network). Once found, it stays:
    more carriers never make three different stories fewer."""

    __tablename__ = "network_sentences"

    template: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class Failure(Base):
    """A URL or page that could not be ingested, and why. Cleared when it later succeeds."""

    __tablename__ = "failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    reason: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Source(Base):
    """A site, feed, sitemap or page polled on a schedule (`copydesk sources add`)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)  # normalised (ingest.urls.normalise)
    kind: Mapped[str] = mapped_column(String(16))  # auto | feed | sitemap | page
    every_seconds: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    discovered: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when `auto` found its feeds
    # The dispatcher claims a due source by moving next_poll forward with a compare-and-set on its old
    # value, so two dispatchers (or a restarted one) never poll it twice for one period.
    next_poll: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_poll: Mapped[datetime | None] = mapped_column(UTCDateTime)
    documents_found: Mapped[int] = mapped_column(Integer, default=0)  # new entry URLs queued
    polls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)  # polls that ended with an error
    last_error: Mapped[str | None] = mapped_column(Text)  # of the latest poll; None when it went well


class SourceFeed(Base):
    """One feed, sitemap or page a source reads, with the validators for its next conditional request."""

    __tablename__ = "source_feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    kind: Mapped[str] = mapped_column(String(16))  # feed | sitemap | page
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    last_status: Mapped[int | None] = mapped_column(Integer)  # HTTP status of the latest fetch, 304 included
    last_fetched: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_source_feeds_source_url", "source_id", "url", unique=True),)


class SourceEntry(Base):
    """An entry URL some source listed and queued once: later polls that list it again queue nothing."""

    __tablename__ = "source_entries"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)  # normalised, as queued
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    queued: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
