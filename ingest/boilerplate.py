"""What counts as boilerplate: passages carried by pages that are not copies of one another.

Two rules, one for a site and one for a network of sites.

A paragraph found on two pages of one host is the host's chrome (a disclaimer, a donation appeal,
"The original source of this article is…") when those pages tell different stories. Two copies of
one story on one host (a print or AMP URL, an updated version, an excerpt) share their story: that is
not chrome. They are told apart by what each page has besides what they share: a copy adds no prose
to it (an excerpt's "Read more" link, a print version nothing) or a reworded version of its sibling's
(an update); two different stories each have prose of their own that the other lacks, however short
the story and however long the block they share. Two pages also say it themselves, whatever each adds (an
edition of the site's newsletter carrying the story under its own header and footer, the story's page with a
standfirst the edition left out): one names the other as its rel=canonical, the publisher's own word, or both
carry the same headline, long enough to name one story (not a recurring "Daily Deals" or "Opening bell 11.18.19").

A network's boilerplate stands on many sites, each page naming its own site or the source it credits ("Copyright
X; reproduced here for non-commercial purposes."), and a site may have one page of it in the archive: per-site
chrome has nothing to learn from. A sentence is the network's when three documents carry it that tell three
different stories (`network`), wherever they stand. Sentences are matched by their template key
(`ingest.text.Paragraph.templates`: their words without names and numbers). Copies of one story on many sites
are never three different stories, so a story's own sentences are not boilerplate however widely it is copied.
Such sentences stay in the text (they are the page's words), marked: relations read them as the page's, not the
story's (`ingest.relation.read_side`: shared, they prove nothing; after the shared text, they add no prose).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, MutableMapping
from typing import NamedTuple, TypeVar

from ingest import text as textlib
from ingest.canonical import names_url
from ingest.headlines import headline_keys

# Own prose of two pages sharing at least this share of the smaller one's shingles: one reworded.
REWORDED = 0.3
# A paragraph carried by this many pages of one host is its chrome without looking at the pages: so many
# copies of one story on one host are rare, and the look costs a query a page.
SURE_CARRIERS = 6
# Two documents tell one story when this share of the smaller one's shingles is in the other; a network's
# notice is a small part of the stories it stands under.
RELATED = 0.2

Page = Mapping[int, textlib.Paragraph]  # a page's paragraphs by hash


class Claim(NamedTuple):
    """What a page says of itself."""

    url: str | None  # its address
    declared: str | None = None  # the address its rel=canonical names
    title: str | None = None  # its headline
    host: str | None = None


N = TypeVar("N", bound=Hashable)


def page(lines: Iterable[str]) -> dict[int, textlib.Paragraph]:
    return {paragraph.hash: paragraph for paragraph in map(textlib.read_paragraph, lines)}


def copies_of_one_another(a: Page, b: Page) -> bool:
    own_a = [p for h, p in a.items() if h not in b and _tells(p)]
    own_b = [p for h, p in b.items() if h not in a and _tells(p)]
    if not own_a or not own_b:
        return len(a.keys() & b.keys()) > 0  # one adds no prose to what they share
    shingles_a, shingles_b = _shingles(own_a), _shingles(own_b)
    smaller = min(len(shingles_a), len(shingles_b))
    return bool(smaller) and len(shingles_a & shingles_b) >= REWORDED * smaller


def said_copies(a: Claim | None, b: Claim | None) -> bool:
    """Whether two pages of one host say they are one story: one names the other as its rel=canonical, or both carry
    the same headline (ingest.headlines.headline_keys)."""
    if a is None or b is None:
        return False
    if names_url(a.declared, b.url, a.url) or names_url(b.declared, a.url, b.url):
        return True
    return not headline_keys([a.title], host=a.host).isdisjoint(headline_keys([b.title], host=b.host))


def chrome(
    carriers: Mapping[Hashable, Page],
    wanted: Iterable[int] | None = None,
    known: MutableMapping[tuple[Hashable, Hashable], bool] | None = None,
    claims: Mapping[Hashable, Claim] | None = None,
) -> set[int]:
    """Of the paragraph hashes in `wanted` (default: all), those that two of the pages in `carriers`
    ({page: its paragraphs}, pages of one host) carry without being copies of one another.
    `known`: copies_of_one_another's verdicts by pair of names, filled in here; a caller that names the
    same pages alike in later calls passes it again, and pairs already judged are not compared again.
    `claims`: what the pages say of themselves, by name, those known (`said_copies`)."""
    claims = claims or {}
    look_for = None if wanted is None else set(wanted)
    by_paragraph: dict[int, list[Hashable]] = {}
    for name, paragraphs in carriers.items():
        for paragraph in paragraphs if look_for is None else paragraphs.keys() & look_for:
            by_paragraph.setdefault(paragraph, []).append(name)
    copies: MutableMapping[tuple[Hashable, Hashable], bool] = {} if known is None else known

    def differ(x: Hashable, y: Hashable) -> bool:
        if (x, y) not in copies:
            copies[(x, y)] = said_copies(claims.get(x), claims.get(y)) or copies_of_one_another(
                carriers[x], carriers[y]
            )
        return not copies[(x, y)]

    return {
        paragraph
        for paragraph, pages in by_paragraph.items()
        if len(pages) >= 2 and any(differ(x, y) for i, x in enumerate(pages) for y in pages[i + 1 :])
    }


def _tells(paragraph: textlib.Paragraph) -> bool:
    """Whether a paragraph tells a story: a sentence of prose that does not speak of the page (`ingest.text.
    is_page_notice`). A site's newsletter adds its notices to the story ("You are receiving this email because you
    subscribed to updates from …"): no prose of its own. (Not every notice: a story told in the first person plural,
    an organisation's blog post, speaks to its reader too.)"""
    return any(
        prose and not textlib.is_page_notice(words)
        for words, prose in zip(paragraph.sentences, paragraph.prose, strict=True)
    )


def _shingles(paragraphs: list[textlib.Paragraph]) -> set[int]:
    words = [word for p in paragraphs for sentence in p.sentences for word in sentence]
    return set(textlib.shingle_sequence(words, 3))


def related(a: frozenset[int], b: frozenset[int]) -> bool:
    """Whether two texts (their shingle sets) tell one story, or one quotes much of the other."""
    smaller = min(len(a), len(b))
    return bool(smaller) and len(a & b) >= RELATED * smaller


def network(
    carriers: Mapping[N, frozenset[int]],
    new: Iterable[N],
    known: MutableMapping[frozenset[N], bool] | None = None,
) -> bool:
    """Whether three of `carriers` ({name: the shingles of its text}), one of them in `new`, tell three different
    stories: then the sentence they carry is a network's boilerplate. Only triangles through a new carrier are
    looked for: the caller asks again for each new carrier, so one without it was looked for before. The answer
    is exact, not greedy, so it depends on which documents carry the sentence, not on the order they came in.
    `known`: related()'s verdicts by pair of names, shared between the calls of one reading."""
    verdicts: MutableMapping[frozenset[N], bool] = {} if known is None else known

    def apart(x: N, y: N) -> bool:
        pair = frozenset((x, y))
        if pair not in verdicts:
            verdicts[pair] = related(carriers[x], carriers[y])
        return not verdicts[pair]

    names = list(carriers)
    for x in new:
        if x not in carriers:
            continue
        others = [y for y in names if y != x and apart(x, y)]
        if any(apart(y, z) for i, y in enumerate(others) for z in others[i + 1 :]):
            return True
    return False
