"""The plain data that flows through the pipeline: no behaviour, no I/O."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """What extraction keeps of one page."""

    text: str  # main text, one paragraph per line
    title: str | None = None
    author: str | None = None
    published: datetime | None = None  # timezone-aware, from the page's metadata
    published_source: str | None = None  # "meta" (declared by the page) or "heuristic" (guessed from text)
    sitename: str | None = None
    url: str | None = None  # the page's own URL: as fetched, else as the page declares it
    host: str | None = None  # url's host without "www."
    canonical_url: str | None = None  # <link rel=canonical>, as declared
    language: str | None = None
    description: str | None = None
    # The story's lead (standfirst) that extraction put back in `text` (ingest.leads): there for readers, and read
    # as no prose by relations, since copies keep or drop a standfirst at will, as they do a headline.
    lead: str | None = None
    # The addresses its paragraphs link to (`ingest.canonical.url_key` form): an excerpt links the page it was taken
    # from, "Continue reading at <a>", which relations read as the page's own word (ingest.relation.linked).
    links: tuple[str, ...] = ()
    # The names the page gives its story besides `title` (its <title>, og:title, twitter:title, <h1>s): a copy keeps one
    # of them, a different story has its own (ingest.headlines).
    headlines: tuple[str, ...] = ()

    @property
    def paragraphs(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]


@dataclass(frozen=True)
class FingerprintParams:
    """Everything a signature depends on. Signatures made with different params never meet."""

    num_perm: int = 128
    seed: int = 1
    scheme: str = "affine32"  # datasketch >= 2.0 permutation scheme
    shingle_size: int = 3  # words per shingle
    bands: int = 32  # LSH bands; rows per band = num_perm // bands
    anchors: int = 16  # sentence anchors indexed per document (bottom-k)
    normalisation: int = 1  # bump whenever ingest.text.normalise changes

    @property
    def key(self) -> str:
        """A short stable name, used to keep index keys of different params apart."""
        return (
            f"p{self.num_perm}s{self.seed}{self.scheme}k{self.shingle_size}"
            f"b{self.bands}a{self.anchors}n{self.normalisation}"
        )


@dataclass(frozen=True, slots=True)  # slots: a fingerprint holds one a sentence, hundreds the archive's caches keep
class Unit:
    """One sentence of a document's story text, as relations read it."""

    words: int
    shingles: frozenset[int]  # the shingles starting in this sentence
    prose: bool  # a sentence of running text, not a heading, teaser, link line or attribution line
    boilerplate: bool = False  # a sentence of a network's boilerplate (ingest.boilerplate.network)
    notice: bool = False  # a sentence that speaks to the reader or of the page (ingest.text.is_notice)
    page_notice: bool = False  # a sentence that speaks of the page itself (ingest.text.is_page_notice)


@dataclass(frozen=True)
class Fingerprint:
    """A document's content fingerprint, made from its text minus known chrome."""

    params: FingerprintParams
    signature: tuple[int, ...]  # MinHash values, len == params.num_perm
    shingles: frozenset[int]  # hashed word shingles, for exact verification
    anchors: tuple[int, ...]  # hashes of the sentences chosen as index anchors
    sentences: frozenset[int]  # hashes of every sentence (what a look-up queries with)
    band_keys: tuple[int, ...] = field(default=())  # one hash per LSH band
    chrome: frozenset[int] = frozenset()  # paragraph hashes of the host's chrome left out of it
    boilerplate: frozenset[int] = frozenset()  # template keys of the network boilerplate its units are marked with
    units: tuple[Unit, ...] = ()  # its sentences in order, for the passage evidence of ingest.relation
    headlines: tuple[int, ...] = ()  # hashes of its headline (ingest.headlines.headline_keys): a copy keeps it

    @functools.cached_property
    def shingles_besides_page_notices(self) -> frozenset[int]:
        """The shingles of its units but those that speak of the page (Unit.page_notice); `shingles` itself when it
        has none."""
        if not any(unit.page_notice for unit in self.units):
            return self.shingles
        return frozenset().union(*(unit.shingles for unit in self.units if not unit.page_notice))

    @property
    def index_keys(self) -> list[str]:
        """What the near-duplicate index stores this document under."""
        return self._bands + [f"s:{h:x}" for h in self.anchors] + self._titled

    @property
    def query_keys(self) -> list[str]:
        """What a look-up asks for: every band, and every sentence (containment), and its headline."""
        return self._bands + [f"s:{h:x}" for h in self.sentences] + self._titled

    @property
    def _bands(self) -> list[str]:
        return [f"b{i}:{h:x}" for i, h in enumerate(self.band_keys)]

    @property
    def _titled(self) -> list[str]:
        # A brief copied under notices that outweigh it shares no band and maybe no anchor with it, but its headline.
        return [f"h:{h:x}" for h in self.headlines]
