"""Tables that lay a page out rather than hold data: their cells become plain blocks before extraction.

Older templates put the whole story, headline and paragraphs, in one table cell. trafilatura reads a table as
rows of cells and writes each cell as one line, so the story, its credits and the site's notices came out as
a single paragraph: per-host chrome, which is learned paragraph by paragraph, could not tell the notices from the
story, and every page of such a site shared one long paragraph of boilerplate with the others. A cell that holds a
headline or paragraphs of running text is layout, not data: its table's rows and cells are read as blocks.
"""

from __future__ import annotations

import lxml.html

_HEADINGS = ("h1", "h2", "h3")
_TABLE_PARTS = frozenset({"table", "thead", "tbody", "tfoot", "tr", "td", "th"})
# A cell with this many paragraphs of this many words at least lays out running text.
LAYOUT_PARAGRAPHS = 2
PARAGRAPH_WORDS = 8


def unwrap_layout_tables(tree: lxml.html.HtmlElement) -> None:
    """Rename the parts of every layout table of `tree` (`is_layout`) to <div>, in place; data tables stay."""
    for table in [table for table in tree.iter("table") if is_layout(table)]:
        for part in _own_parts(table):
            part.tag = "div"


def is_layout(table: lxml.html.HtmlElement) -> bool:
    """Whether one of the table's own cells holds a headline or LAYOUT_PARAGRAPHS paragraphs of running text."""
    for part in _own_parts(table):
        if part.tag not in ("td", "th"):
            continue
        if any(True for _ in part.iter(*_HEADINGS)):
            return True
        running = 0
        for paragraph in part.iter("p"):
            if len(paragraph.text_content().split()) >= PARAGRAPH_WORDS:
                running += 1
                if running >= LAYOUT_PARAGRAPHS:
                    return True
    return False


def _own_parts(table: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """The table itself, its row groups, rows and cells: not those of the tables nested in its cells."""
    parts = [table]
    stack = [table]
    while stack:
        for child in stack.pop():
            if isinstance(child.tag, str) and child.tag in _TABLE_PARTS and child.tag != "table":
                parts.append(child)
                if child.tag not in ("td", "th"):
                    stack.append(child)
    return parts
