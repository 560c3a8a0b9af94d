"""What the recall guard (`ingest.extract._article_text`) reads of a page and its texts, cheaply: how many words
the page's paragraphs and its body hold, which subheadings a text lost, whether added lines are teasers, and how
two texts overlap in word trigrams."""

from __future__ import annotations

import re

import lxml.html
from lxml.etree import XPath

from ingest import text as textlib

_WORD = re.compile(r"\w+")


_ELLIPSIS = re.compile(r"(?:…|\.\.\.)\]?\s*$")


def teasers(longer: str, shorter: str) -> bool:
    """Whether the paragraphs `longer` adds to `shorter` are other stories' teasers: most end cut off, in an ellipsis.

    The thorough pass takes a whole listing where the fast pass kept one post of a blog's front page or the one
    excerpt a page holds: longer, and wrong.
    """
    own = set(shorter.splitlines())
    added = [line for line in longer.splitlines() if line not in own and len(line.split()) >= 10]
    return bool(added) and 2 * sum(_ELLIPSIS.search(line) is not None for line in added) >= len(added)


def put_before(longer: str, shorter: str) -> bool:
    """Whether `longer` holds `shorter` after prose that `shorter` lacks, less of it than `shorter` holds.

    The thorough pass may carry on an article the fast pass cut short; it does not find the start of one in
    front of a text the fast pass kept whole. What it puts there is the page's other prose: a cookie notice,
    an account dialog, the teaser of another story. On syndicated short stories that prose outweighed the
    story and the copy was missed (generated corpora, bench/syndicate.py); on trafilatura's evaluation pages
    the guard never replaced a fast text that way. More prose in front than the fast text holds is the
    article, and the fast text what follows it: a site's sign-up box after its story.
    """
    start = next((line for line in shorter.splitlines() if line.strip()), None)
    lines = longer.splitlines()
    if start is None or start not in lines:
        return False
    before = sum(textlib.read_paragraph(line).prose_words for line in lines[: lines.index(start)])
    return 0 < before < len(shorter.split())


# The text of the page's paragraphs but those inside a link: a <p> in an <a> is a teaser's (a listing's card,
# "more stories"), not the page's prose. One XPath, run in C.
_PARAGRAPH_TEXTS = XPath("//p[not(ancestor::a)]//text()", smart_strings=False)


def paragraph_words(tree: lxml.html.HtmlElement) -> int:
    """How many words the page's paragraphs hold: the size of its main prose, whatever trafilatura keeps."""
    return sum(len(chunk.split()) for chunk in _PARAGRAPH_TEXTS(tree))


# The text of the page's body but links, navigation, headers, footers, asides and scripts: all it could hold of
# an article. One XPath, run only on the pages the outside check looks at.
_PAGE_TEXTS = XPath(
    "//body//text()[not(ancestor::a or ancestor::script or ancestor::style or ancestor::noscript or ancestor::nav"
    " or ancestor::header or ancestor::footer or ancestor::aside)]",
    smart_strings=False,
)


def page_words(tree: lxml.html.HtmlElement) -> int:
    return sum(len(chunk.split()) for chunk in _PAGE_TEXTS(tree))


def headed_paragraphs(tree: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """(subheading, the opening of the paragraph right after it) for each <h2>-<h4> followed by a <p> of 8 words or
    more, whitespace normalised. The opening only: trafilatura may break a paragraph's lines where the page did not."""
    pairs = []
    for heading in tree.iter("h2", "h3", "h4"):
        after = heading.getnext()
        if after is None or after.tag != "p":
            continue
        paragraph = after.text_content().split()
        title = " ".join(heading.text_content().split())
        if title and len(paragraph) >= 8:
            pairs.append((title, " ".join(paragraph[:8])))
    return pairs


def holds(text: str, titles: list[str]) -> int:
    """How many of `titles` `text` holds (whitespace normalised)."""
    flat = " ".join(text.split())
    return sum(title in flat for title in titles)


def dropped_headings(text: str, headed: list[tuple[str, str]]) -> list[str]:
    """The subheadings of `headed` whose paragraph `text` holds, and not the subheading itself."""
    flat = " ".join(text.split())
    return [title for title, opening in headed if opening in flat and title not in flat]


def trigrams(value: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(value.lower())
    return {tuple(words[i : i + 3]) for i in range(max(0, len(words) - 2))}


# A headline's word: five letters or more, as `ingest.leads` names a story's subjects.
_HEADLINE_WORD = re.compile(r"\w{5,}")


def headline_words(text: str, title: str | None, sitename: str | None = None) -> int:
    """How many of the words of the page's headline `text` holds (not the site's name, which its chrome holds too).

    A page's headline names its story; the page's other blocks (a consent banner, a feedback form, a list of
    sources, other stories' teasers) do not.
    """
    wanted = set(_HEADLINE_WORD.findall((title or "").lower())) - set(_HEADLINE_WORD.findall((sitename or "").lower()))
    return len(wanted & set(_HEADLINE_WORD.findall(text.lower()))) if wanted else 0


def covered(part: str, whole: str) -> float:
    """The share of `part`'s word trigrams that also occur in `whole`."""
    mine = trigrams(part)
    return len(mine & trigrams(whole)) / len(mine) if mine else 0.0


def new_text(added: str, base: str) -> float:
    """How many of `added`'s word trigrams are not in `base`, per trigram of `base`: new text, not the same text
    again (a thorough pass that dumps the page can repeat the story's paragraphs in another form)."""
    own = trigrams(base)
    return len(trigrams(added) - own) / max(len(own), 1)
