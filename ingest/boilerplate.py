"""What counts as a site's boilerplate: passages carried by its pages that are not copies of one another.

A paragraph found on two pages of one host is the host's chrome (a disclaimer, a donation appeal,
"The original source of this article is…") when those pages tell different stories. Two copies of
one story on one host (a print or AMP URL, an updated version, an excerpt) share their story: that is
not chrome. They are told apart by what each page has of its own: a copy has little text its
sibling lacks, while two different stories each have their own, however long the block they share.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

# A page with at most this share of its words outside the paragraphs it shares with another page of its
# host is a copy of that page (or that page of it).
COPY_OWN = 0.2
# A paragraph carried by this many pages of one host is its chrome without looking at the pages: so many
# copies of one story on one host are rare, and the look costs a query a page.
SURE_CARRIERS = 6

Paragraphs = Mapping[int, int]  # a page's paragraphs: {paragraph hash: words}


def copies_of_one_another(a: Paragraphs, b: Paragraphs) -> bool:
    shared = a.keys() & b.keys()
    own_a = sum(words for h, words in a.items() if h not in shared)
    own_b = sum(words for h, words in b.items() if h not in shared)
    total_a, total_b = sum(a.values()), sum(b.values())
    if not total_a or not total_b or not shared:
        return False
    return min(own_a / total_a, own_b / total_b) <= COPY_OWN


def chrome(carriers: Mapping[Hashable, Paragraphs], wanted: Iterable[int] | None = None) -> set[int]:
    """Of the paragraph hashes in `wanted` (default: all), those that two of the pages in `carriers`
    ({page: its paragraphs}, pages of one host) carry without being copies of one another."""
    look_for = None if wanted is None else set(wanted)
    by_paragraph: dict[int, list[Hashable]] = {}
    for page, paragraphs in carriers.items():
        for paragraph in paragraphs if look_for is None else paragraphs.keys() & look_for:
            by_paragraph.setdefault(paragraph, []).append(page)
    copies: dict[tuple[Hashable, Hashable], bool] = {}

    def differ(x: Hashable, y: Hashable) -> bool:
        if (x, y) not in copies:
            copies[(x, y)] = copies_of_one_another(carriers[x], carriers[y])
        return not copies[(x, y)]

    return {
        paragraph
        for paragraph, pages in by_paragraph.items()
        if len(pages) >= 2 and any(differ(x, y) for i, x in enumerate(pages) for y in pages[i + 1 :])
    }
