"""The story's lead (standfirst): the paragraph between the headline and the story's first paragraph that sums the
story up, which trafilatura's passes drop on many templates.

They drop it for reasons that hold for the lead as much as for what they are meant for: every block whose class or id
holds "teaser" is pruned as another story's teaser (TYPO3's news pages put their own lead in `div.teaser-text`), and
a lead set in the article's header (`header > div.entry-excerpt`) or beside the body's container (`div.art-lead`
before `div.art-content`) is outside the subtree trafilatura reads the story from. The lead is the story's own text,
so it belongs in the stored text; relations read it as a headline (`Article.lead`, ingest.fingerprint), since copies
keep or drop a standfirst at will.

`with_lead` looks for a lead block right before the paragraph that opens the extracted text, on the page's tree
(trafilatura cleans a copy of it) and puts its text back in front of that paragraph: a block named for a lead that
sits right before the story trafilatura kept is its lead, not another story's teaser (a listing's cards are followed
by other cards, a sidebar's by anything but the story's opening).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.html

from ingest.prose import teaser
from ingest.recall_signals import covered

# Words of a class name for a lead; a word, not a part of one ("leaderboard", "teaserList", "introtext").
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
# A lead shares this many words of 5 letters or more with the story's first ABOUT_CHARS characters.
_NAME = re.compile(r"\w{5,}")
ABOUT_WORDS = 2
ABOUT_CHARS = 1500


def _paragraph(tree: lxml.html.HtmlElement, opening: str) -> lxml.html.HtmlElement | None:
    """The page's first <p> whose text starts with `opening` (whitespace normalised), if any.

    Each paragraph's first word is looked at first; only those that can match are read whole. (An XPath with
    normalize-space over every paragraph's text cost twice as much.)
    """
    first = opening.split(" ", 1)[0]
    for paragraph in tree.iter("p"):
        head = paragraph.text
        if head is None or not head.strip():
            head = next((chunk for chunk in paragraph.itertext() if chunk.strip()), "")
        word = head.split(None, 1)[0] if head.strip() else ""
        # A word may run on in the next inline element ("<b>Ber</b>lin").
        if word and first.startswith(word) and " ".join(paragraph.text_content().split()).startswith(opening):
            return paragraph
    return None


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


def _lead_text(element: lxml.html.HtmlElement) -> str | None:
    """The text of `element` if it is a lead block, else None.

    A lead block: a <div>, <p>, <section>, <header>, <h2>-<h4> or <span> whose class holds one of LEAD_WORDS and none
    of the metadata words, not inside a link, navigation, footer, aside, figure, form or list item, of LEAD_WORDS_MIN
    to LEAD_WORDS_MAX words at most LEAD_LINKED of them in links, not cut off (`ingest.prose.teaser`: a lead is whole
    sentences, a summary cut off with an ellipsis is a card's teaser), and holding no headline.
    """
    marks = element.get("class")
    if element.tag not in _LEAD_TAGS or not marks or not _LEAD_MARK.search(marks) or _META_MARK.search(marks):
        return None
    if any(ancestor.tag in _NOT_INSIDE for ancestor in element.iterancestors()) or element.find(".//h1") is not None:
        return None
    text = _text(element)
    words = len(text.split())
    if not LEAD_WORDS_MIN <= words <= LEAD_WORDS_MAX or teaser(text):  # cut off with "...": a card's teaser
        return None
    if sum(len(link.text_content().split()) for link in element.iter("a")) > LEAD_LINKED * words:
        return None
    return text


def _lead_before(tree: lxml.html.HtmlElement, opening: str) -> str | None:
    """The text of the lead block whose next paragraph (`_opening_after`) opens with `opening`, if any.

    Looked for among the elements before the page's first paragraph opening so, nearest first, over at most
    BETWEEN_WORDS + LEAD_WORDS_MAX words; of lead blocks one inside another, the inner one (a header holding its
    standfirst gives way to it).
    """
    node = _paragraph(tree, opening)
    scanned = 0
    while node is not None and node.tag != "body":
        for sibling in node.itersiblings(preceding=True):
            if not isinstance(sibling.tag, str):
                continue
            blocks = [
                (element, text) for element in sibling.iter(*_LEAD_TAGS) if (text := _lead_text(element)) is not None
            ]
            inner = {element for element, _ in blocks}
            for element, text in reversed(blocks):
                if any(other in inner for other in element.iterdescendants()):
                    continue
                if _opening_after(element) == opening:
                    return text
            scanned += len(sibling.text_content().split())
            if scanned > BETWEEN_WORDS + LEAD_WORDS_MAX:
                return None
        node = node.getparent()
    return None


def with_lead(text: str, tree: lxml.html.HtmlElement, title: str | None = None) -> tuple[str, str | None]:
    """(`text` with the story's lead put before its first paragraph, the lead) when `_story_lead` finds one to put
    back; else (`text`, None)."""
    found = _story_lead(text, tree, title)
    if found is None:
        return text, None
    at, lead = found
    lines = text.splitlines()
    return "\n".join([*lines[:at], lead, *lines[at:]]), lead


def _story_lead(text: str, tree: lxml.html.HtmlElement, title: str | None = None) -> tuple[int, str] | None:
    """(the line number of `text`'s first paragraph, the lead to put before it), when the page has a lead before that
    paragraph (`_lead_before`) and the text lacks it. The first paragraph: a line of OPENING_WORDS words or more, with
    only lines shorter than prose before it (a dateline, a caption)."""
    lines = text.splitlines()
    for at, line in enumerate(lines):
        words = line.split()
        if len(words) >= OPENING_WORDS:
            lead = _lead_before(tree, " ".join(words[:OPENING_WORDS]))
            if lead is not None:
                # At most one lead, and not one the text holds already, nor one about something else.
                if covered(lead, text) >= 0.5 or not _about(lead, [title or "", *lines[at:]]):
                    return None
                return at, lead
        if len(_WORD.findall(line)) >= PROSE_LINE_WORDS:
            break
    return None


def _about(lead: str, story: list[str]) -> bool:
    """Whether the lead names what the story's title and opening name: a standfirst sums its story up, in its words
    (its people, places, subjects). A template's block left from another story shares none of them."""
    opening = " ".join(story)[:ABOUT_CHARS].lower()
    return len(set(_NAME.findall(lead.lower())) & set(_NAME.findall(opening))) >= ABOUT_WORDS
