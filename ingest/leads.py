"""The story's lead (standfirst): the paragraph between the headline and the story's first paragraph that sums the
story up, which trafilatura's passes drop on many templates.

They drop it for reasons that hold for the lead as much as for what they are meant for: every block whose class or id
holds "teaser" is pruned as another story's teaser (TYPO3's news pages put their own lead in `div.teaser-text`), and
a lead set in the article's header (`header > div.entry-excerpt`) or beside the body's container (`div.art-lead`
before `div.art-content`) is outside the subtree trafilatura reads the story from. The lead is the story's own text
and is copied with it, so it belongs in what copydesk compares.

`lead_pairs` finds the page's lead blocks by their class or id before extraction prunes the tree, each with the
opening of the first paragraph after it; `with_lead` puts a lead back in front of that paragraph when the extracted
text starts with it: then the block sits right before the story trafilatura kept, and is its lead, not another
story's teaser (a listing's cards are followed by other cards, a sidebar's by anything but the story's opening).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate

import lxml.html
from lxml.etree import XPath

from ingest.recall_signals import covered

# Words of class and id names for a lead; a word, not a part of one ("leaderboard", "teaserList", "introtext").
LEAD_WORDS = ("lead", "intro", "teaser", "excerpt", "abstract", "standfirst", "summary", "description")
_LEAD_MARK = re.compile(r"(?:^|[\s_-])(?:" + "|".join(LEAD_WORDS) + r")(?![a-z])", re.I)
# A block named for the story's metadata ("teaser_text_meta", "teaser-small__metadata": a byline and a date) is none.
_META_MARK = re.compile(r"meta|author|byline|date|caption|credit", re.I)
_LEAD_TAGS = frozenset({"div", "p", "section", "header", "h2", "h3", "h4", "span"})
# A lead inside one of these is a card's or a sidebar's text, not the story's.
_NOT_INSIDE = frozenset({"a", "nav", "footer", "aside", "figure", "form", "li"})
# Text no reader reads as the lead: scripts, an image's caption, a date, a button.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "figure", "figcaption", "button", "select", "time"})
LEAD_WORDS_MIN = 6  # fewer words is a label or a kicker
LEAD_WORDS_MAX = 120  # more is a block of the body (a CMS's "text-with-summary" field), not its lead paragraph
LEAD_LINKED = 0.5  # more of its words in links than this: a list of links, not prose
OPENING_WORDS = 8  # the paragraph after the lead is recognised by its first words
BETWEEN_WORDS = 80  # at most this many words between the lead and the story's first paragraph (a headline, a byline)
PROSE_LINE_WORDS = 12  # as ingest.prose: a line of fewer words is a caption, a dateline, a heading
_WORD = re.compile(r"\w+")
# Every class and id value of the body, each with its element (lxml's "smart" strings know their parent): one XPath
# in C, and the lead words searched in them all at once, not element by element in Python.
_MARKS = XPath("//body//@class | //body//@id")


def _marked(tree: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The body's elements whose class or id holds a lead word, in document order."""
    values = _MARKS(tree)
    if not values:
        return []
    joined = "\n".join(values)
    folded = joined.lower()
    if len(folded) != len(joined):  # lowercasing changed lengths (rare letters): search the values one by one
        return [value.getparent() for value in values if _LEAD_MARK.search(value)]
    ends = list(accumulate(len(value) + 1 for value in values))
    found: set[int] = set()
    for word in LEAD_WORDS:
        position = folded.find(word)
        while position >= 0:
            index = bisect_right(ends, position)
            found.add(index)
            position = folded.find(word, ends[index])  # the next value: one hit a value is enough
    elements = [values[index].getparent() for index in sorted(found) if _LEAD_MARK.search(values[index])]
    return list(dict.fromkeys(elements))  # an element named in both its class and its id, once


def _text(element: lxml.html.HtmlElement) -> str:
    parts: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if isinstance(child.tag, str) and child.tag not in _SKIPPED:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(element)
    return " ".join(" ".join(parts).split())


def _after(element: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    """The elements after `element` in document order, but its own descendants."""
    node: lxml.html.HtmlElement | None = element
    while node is not None:
        for sibling in node.itersiblings():
            yield from (item for item in sibling.iter() if isinstance(item.tag, str))
        node = node.getparent()


def _opening_after(element: lxml.html.HtmlElement) -> str | None:
    """The first OPENING_WORDS words of the first paragraph after `element`, when no headline (<h1>) and at most
    BETWEEN_WORDS words of other text come before it; else None (a site's tagline above the headline)."""
    between = 0
    for node in _after(element):
        if node.tag == "h1":
            return None
        if node.tag == "p":
            words = node.text_content().split()
            if len(words) >= OPENING_WORDS:
                return " ".join(words[:OPENING_WORDS])
        if node.tag not in _SKIPPED and node.text:
            between += len(node.text.split())
            if between > BETWEEN_WORDS:
                return None
    return None


def lead_pairs(tree: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """(lead text, opening of the paragraph after it) for each lead block of the page, in document order.

    A lead block: a <div>, <p>, <section>, <header>, <h2>-<h4> or <span> whose class or id holds one of LEAD_WORDS and
    none of the metadata words, not inside a link, navigation, footer, aside, figure, form or list item, of
    LEAD_WORDS_MIN to LEAD_WORDS_MAX words at most LEAD_LINKED of them in links, holding no headline and no other
    lead block (a header holding its standfirst gives way to it). Read before extraction prunes the tree.
    """
    blocks: list[tuple[lxml.html.HtmlElement, str]] = []
    for element in _marked(tree):
        if element.tag not in _LEAD_TAGS or _META_MARK.search(f"{element.get('class', '')} {element.get('id', '')}"):
            continue
        if any(ancestor.tag in _NOT_INSIDE for ancestor in element.iterancestors()):
            continue
        if element.find(".//h1") is not None:
            continue
        text = _text(element)
        words = len(text.split())
        if not LEAD_WORDS_MIN <= words <= LEAD_WORDS_MAX:
            continue
        if sum(len(link.text_content().split()) for link in element.iter("a")) > LEAD_LINKED * words:
            continue
        blocks.append((element, text))
    elements = {element for element, _ in blocks}
    pairs = []
    for element, text in blocks:
        if any(inner in elements for inner in element.iterdescendants()):
            continue
        opening = _opening_after(element)
        if opening is not None:
            pairs.append((text, opening))
    return pairs


def with_lead(text: str, pairs: list[tuple[str, str]]) -> str:
    """`text` with the first lead of `pairs` it lacks put before its paragraph, when that paragraph opens the text
    (only lines shorter than prose before it: a dateline, a caption). At most one lead: a story has one."""
    for lead, opening in pairs:
        lines = text.splitlines()
        at = next((number for number, line in enumerate(lines) if opening in " ".join(line.split())), None)
        if at is None or any(len(_WORD.findall(line)) >= PROSE_LINE_WORDS for line in lines[:at]):
            continue
        if covered(lead, text) >= 0.5:  # already there
            continue
        return "\n".join([*lines[:at], lead, *lines[at:]])
    return text
