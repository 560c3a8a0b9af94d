"""The page's main run of prose, found without trafilatura: for layouts where both its passes keep the wrong block.

A newsletter-style page can hold its story as one <span> per table row, then a block of other stories' teasers
(a headline link, the opening words cut off with "…", a "read more" link) and footer lines in <p> elements:
trafilatura's rules favour the <p> block, so every such page of a site extracts as the same teasers and footer,
and never joins its story. `prose_lines` reads the prose where it is, in whatever block elements, and
`main_prose` keeps the container that holds most of it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import lxml.html
from lxml.etree import iterwalk

# Elements that start a new block of text; text in any other element (span, b, font, em...) runs on in its block.
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "center", "dd", "div", "dl", "dt", "figcaption"),
        *("figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "nav", "ol", "p"),
        *("pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"),
    }
)
# Text nobody reads as prose.
_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "head", "title", "select", "option", "button", "iframe"}
)
PROSE_LINE_WORDS = 12  # a line of fewer words outside links is a label, a headline or a footer line, not prose
TEASER_TAIL_WORDS = 15  # a line cut off with an ellipsis and at most this many words after it (a "read more"
# link naming the site: "Click here to read the complete article on New York Post") is a teaser
_WORD = re.compile(r"\w+")
# An ellipsis that ends a word run: followed by a space, a closing mark or the end ("220...240V" is a range).
_CUT = re.compile(r"(?:…|\.\.\.)(?=[\s\])\"”’']|$)")


@dataclass
class _Block:
    element: lxml.html.HtmlElement
    parts: list[tuple[str, bool]] = field(default_factory=list)  # (text, inside a link); "\n" at a <br>


def teaser(line: str) -> bool:
    """Whether the line is cut off: an ellipsis followed by at most a "read more" link's few words."""
    end = 0
    for cut in _CUT.finditer(line):
        end = cut.end()
    return end > 0 and len(_WORD.findall(line[end:])) <= TEASER_TAIL_WORDS


def prose_words(text: str, links: Collection[str] = ()) -> int:
    """The words of the text's prose lines: lines of PROSE_LINE_WORDS words or more that are neither teasers nor
    one of `links` (the page's link texts, lowercased words joined by spaces: a long headline is no prose)."""
    total = 0
    for line in text.splitlines():
        words = _WORD.findall(line)
        if len(words) >= PROSE_LINE_WORDS and not teaser(line) and " ".join(words).lower() not in links:
            total += len(words)
    return total


def _blocks(root: lxml.html.HtmlElement) -> list[_Block]:
    """Each block element's own text (not its child blocks'), in document order, parts in links marked."""
    blocks: list[_Block] = []
    # One entry per open element: (its block, whether it is in a link, whether its text is skipped).
    stack: list[tuple[_Block, bool, bool]] = []
    for event, element in iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            if stack:
                block, link, skipped = stack[-1]
                skipped = skipped or tag in _SKIPPED_TAGS or not tag
                if tag in _BLOCK_TAGS and not skipped:
                    block = _Block(element)
                    blocks.append(block)
            else:
                block, link, skipped = _Block(element), False, False
                blocks.append(block)
            link = link or tag == "a"
            stack.append((block, link, skipped))
            if tag == "br":
                block.parts.append(("\n", link))
            elif element.text and not skipped:
                block.parts.append((element.text, link))
        else:
            stack.pop()
            if stack and element.tail:
                block, link, skipped = stack[-1]
                if not skipped:
                    block.parts.append((element.tail, link))
    return blocks


def prose_lines(root: lxml.html.HtmlElement) -> Iterator[tuple[lxml.html.HtmlElement, str, int]]:
    """(block element, line, words outside links) of each prose line of the page, in document order.

    A block's text is cut into lines at its <br>s; a line is prose when PROSE_LINE_WORDS of its words are outside
    links and it is not a teaser (`teaser`).
    """
    for block in _blocks(root):
        line: list[str] = []
        own = 0
        for text, link in [*block.parts, ("\n", False)]:
            pieces = text.split("\n")
            for number, piece in enumerate(pieces):
                if number:  # a line ends here
                    joined = " ".join(" ".join(line).split())
                    if own >= PROSE_LINE_WORDS and not teaser(joined):
                        yield block.element, joined, own
                    line, own = [], 0
                line.append(piece)
                own += 0 if link else len(_WORD.findall(piece))


CONTAINER_SHARE = 0.6  # the container kept is the deepest element holding this share of the page's prose words


def main_prose(root: lxml.html.HtmlElement) -> tuple[list[str], int]:
    """The prose lines of the deepest element that holds CONTAINER_SHARE of the page's prose, and their words.

    Any element holding more than half the prose is on one chain from the root (two disjoint elements cannot
    both), so the walk down that chain finds the deepest.
    """
    lines = list(prose_lines(root))
    weight: dict[lxml.html.HtmlElement, int] = {}
    for element, _, words in lines:
        weight[element] = weight.get(element, 0) + words
        for ancestor in element.iterancestors():
            weight[ancestor] = weight.get(ancestor, 0) + words
    total = sum(words for _, _, words in lines)
    if not total:
        return [], 0
    container = root
    while True:
        heavier = next((child for child in container if weight.get(child, 0) >= CONTAINER_SHARE * total), None)
        if heavier is None:
            break
        container = heavier
    kept = [(line, words) for element, line, words in lines if element is container or _inside(element, container)]
    return [line for line, _ in kept], sum(words for _, words in kept)


def _inside(element: lxml.html.HtmlElement, container: lxml.html.HtmlElement) -> bool:
    return any(ancestor is container for ancestor in element.iterancestors())
