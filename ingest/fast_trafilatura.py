"""trafilatura's pass as copydesk runs it, made faster without changing what it finds.

1. Stand-ins for its costliest XPath expressions: the same elements, found faster. trafilatura prunes a page
with XPath expressions whose `re:test(...)` tests libxml2 runs by calling back into Python, for every element
an expression visits and once per test: on news pages, XPath prunes were over half of trafilatura's fast pass,
most of it in the seven expressions that have stand-ins here (bench/README.md). A stand-in finds the candidate
elements by tag in C and runs the same regular expressions once per candidate. Stand-ins are in place only
while copydesk's own extraction runs (`in_place`): any other caller of trafilatura in the process
(bench/pipeline.py's baseline) gets trafilatura as released.

2. `text`: trafilatura's extraction pipeline run on copydesk's tree itself. `bare_extraction` first copies the
tree it is given, to leave the caller's alone; copydesk parses a tree for it alone, and the copy was 2% of a
page's time.

3. No backup of the cleaned tree where nothing reads it. trafilatura copies its cleaned tree before converting
its tags, for the stages that read the unconverted one: readability and jusText in the thorough pass, and the
forum-post capture when comments are on. Its fast pass without comments never reads the copy, which was ~10% of
copydesk's extraction (9.3 -> 8.4 ms a page on the dev, Zyte and seed pages).

4. The page-text measure only where it can decide. After a short fast result (under 3,000 characters),
trafilatura measures the whole page's text (`html2txt`: a copy of the tree, cleaned, spaced) to see whether the
result covers less than a fifth of it, and then retries in recall mode. The measure took 3.2 ms a call, in the
fast passes of 268 of 549 dev and seed-1 pages; an upper bound of it (`_page_text_bound`, 0.28 ms) settles 192
of those calls (`_fast_sequence`).

5. No deep copy of the cleaned tree before the main pass (`_extract_content`). trafilatura keeps one on every page
for the rare page whose main pass finds too little; that page's cleaned tree is made again from the page instead
(0.15 ms a page on the dev pages, ~1% of the whole pipeline's time; made again on 144 of 1,852 pages).

6. `meta_json`: trafilatura's JSON-LD metadata reader with the page's scripts found by tag, not by an XPath compiled
for each page, and whitespace outside JSON strings removed by one split, not one regex callback each (0.36 -> 0.25 ms
a page, 1-2% of a page's extraction).

All use trafilatura's internals, so each is written for one exact version of what it replaces: an expression's
text, the source of the functions involved (digests of them). A trafilatura release that changes one gets its
own code back. The patterns and literals of the stand-ins are read from the expressions, not copied.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any

from lxml.etree import Element, XPath, _Element
from trafilatura import bare_extraction, core, metadata, xml
from trafilatura.core import trafilatura_sequence
from trafilatura.htmlprocessing import convert_tags, tree_cleaning
from trafilatura.settings import Extractor
from trafilatura.xml import xmltotxt

_BASELINE = import_module("trafilatura.baseline")  # the package's `baseline` attribute is the function
_MAIN = import_module("trafilatura.main_extractor")

Select = Callable[[_Element], list[_Element]]

_LITERAL = re.compile(r"'([^']*)'")  # trafilatura's expressions quote every string with '


def _first(element: _Element, name: str, other: str) -> str:
    """XPath's string value of `@name|@other`: the attribute written first on the element."""
    value, other_value = element.get(name), element.get(other)
    if value is None or other_value is None:
        return value or other_value or ""
    keys = element.keys()
    return value if keys.index(name) < keys.index(other) else other_value


def _first_per_parent(elements: Iterator[_Element]) -> list[_Element]:
    """What XPath's `.//*[...][1]` keeps of matches in document order: the first match among each one's siblings."""
    parents: set[_Element | None] = set()
    kept = []
    for element in elements:
        parent = element.getparent()
        if parent not in parents:
            parents.add(parent)
            kept.append(element)
    return kept


def _infinite_scroll(lit: Sequence[str]) -> Select:
    # .//*[self::div or self::section or self::aside][re:test(@id, 0) or re:test(@class, 1)]
    #     [not(.//h1) or re:test(@id, 2) or re:test(@class, 3)]
    scroll_id, scroll_class, theme_id, theme_class = (re.compile(pattern) for pattern in lit)

    def select(tree: _Element) -> list[_Element]:
        return [
            element
            for element in tree.iterdescendants("div", "section", "aside")
            if (scroll_id.search(element.get("id", "")) or scroll_class.search(element.get("class", "")))
            and (
                element.find(".//h1") is None
                or theme_id.search(element.get("id", ""))
                or theme_class.search(element.get("class", ""))
            )
        ]

    return select


def _share_buttons(lit: Sequence[str]) -> Select:
    # .//*[self::div or self::section or self::aside][contains(@class, 0)]
    (buttons,) = lit
    return lambda tree: [
        element for element in tree.iterdescendants("div", "section", "aside") if buttons in element.get("class", "")
    ]


def _comments_and_lists(lit: Sequence[str]) -> Select:
    # .//*[self::div or self::list or self::section or self::details or self::ol or self::ul]
    #     [re:test(@id, 0) or re:test(@class, 1)][not(self::ol or self::ul) or re:test(@id, 2) or re:test(@class, 3)]
    any_id, any_class, list_id, list_class = (re.compile(pattern) for pattern in lit)

    def select(tree: _Element) -> list[_Element]:
        found = []
        for element in tree.iterdescendants("div", "list", "section", "details", "ol", "ul"):
            id_, class_ = element.get("id", ""), element.get("class", "")
            if (any_id.search(id_) or any_class.search(class_)) and (
                element.tag not in ("ol", "ul") or list_id.search(id_) or list_class.search(class_)
            ):
                found.append(element)
        return found

    return select


def _article_body(lit: Sequence[str]) -> Select:
    # .//*[self::article or self::div or self::main or self::section][@class=0 or @class=1 or
    #     @itemprop=2 or @id=3 or re:test(@id, 4) or re:test(@class, 5)][1]
    post, entry, item_prop, content_id = lit[:4]
    body_id, body_class = re.compile(lit[4]), re.compile(lit[5])

    def matches(element: _Element) -> bool:
        id_, class_ = element.get("id", ""), element.get("class", "")
        return bool(
            class_ in (post, entry)
            or element.get("itemprop") == item_prop
            or id_ == content_id
            or body_id.search(id_)
            or body_class.search(class_)
        )

    return lambda tree: _first_per_parent(
        element for element in tree.iterdescendants("article", "div", "main", "section") if matches(element)
    )


def _boilerplate(lit: Sequence[str]) -> Select:
    # .//*[self::div or self::item or self::list or self::p or self::section or self::span][
    #     @data-lp-replacement-content or contains(translate(@role, 0, 1), 2) or contains(@data-component, 3) or
    #     re:test(@id|@class, 4) or re:test(@id, 5) or re:test(@class, 6)]
    upper, lower, nav, popular = lit[:4]
    consent, chrome_id, chrome_class = (re.compile(pattern) for pattern in lit[4:])

    def matches(element: _Element) -> bool:
        return bool(
            element.get("data-lp-replacement-content") is not None
            or nav in element.get("role", "").replace(upper, lower)
            or popular in element.get("data-component", "")
            or consent.search(_first(element, "id", "class"))
            or chrome_id.search(element.get("id", ""))
            or chrome_class.search(element.get("class", ""))
        )

    return lambda tree: [
        element for element in tree.iterdescendants("div", "item", "list", "p", "section", "span") if matches(element)
    ]


def _hidden(lit: Sequence[str]) -> Select:
    # .//*[@class=0 or starts-with(@id|@class, 1) or re:test(@id|@style, 2) or contains(@style, 3) or
    #     contains(@style, 4) or re:test(@id, 5) or re:test(@class, 6) or @aria-hidden=7]
    title, reply, display_none, display_space_none, true = lit[0], lit[1], lit[3], lit[4], lit[7]
    hidden, hidden_id, hidden_class = re.compile(lit[2]), re.compile(lit[5]), re.compile(lit[6])

    def matches(element: _Element) -> bool:
        class_, style = element.get("class", ""), element.get("style", "")
        return bool(
            class_ == title
            or _first(element, "id", "class").startswith(reply)
            or hidden.search(_first(element, "id", "style"))
            or display_none in style
            or display_space_none in style
            or hidden_id.search(element.get("id", ""))
            or hidden_class.search(class_)
            or element.get("aria-hidden") == true
        )

    return lambda tree: [element for element in tree.iterdescendants(Element) if matches(element)]


def _basic_clean(lit: Sequence[str]) -> Select:
    # .//aside|.//div[contains(@class|@id, 0)]|.//fencedframe|.//footer|.//script|.//style|.//svg|.//template
    #     |.//*[re:test(@class, 1, 2) or re:test(@id, 3, 4)]
    footer = lit[0]
    consent_class = re.compile(lit[1], re.IGNORECASE if "i" in lit[2] else 0)
    consent_id = re.compile(lit[3], re.IGNORECASE if "i" in lit[4] else 0)
    dropped = frozenset({"aside", "fencedframe", "footer", "script", "style", "svg", "template"})

    def matches(element: _Element) -> bool:
        return bool(
            element.tag in dropped
            or (element.tag == "div" and footer in _first(element, "class", "id"))
            or consent_class.search(element.get("class", ""))
            or consent_id.search(element.get("id", ""))
        )

    return lambda tree: [element for element in tree.iterdescendants(Element) if matches(element)]


class StandIn:
    """Called like the XPath it stands in for; anything but a plain element goes to the XPath itself."""

    def __init__(self, original: XPath, select: Callable[[Sequence[str]], Select]) -> None:
        self.original = original
        self.select = select(_LITERAL.findall(original.path))

    def __call__(self, tree: Any, **variables: Any) -> Any:
        if variables or not isinstance(tree, _Element):
            return self.original(tree, **variables)
        return self.select(tree)


@dataclass(frozen=True)
class Slot:
    """Where trafilatura keeps an expression: a module attribute, or an item of a list every module shares."""

    module: ModuleType
    name: str
    index: int | None
    digest: str  # digest() of the expression's text the stand-in was written for
    select: Callable[[Sequence[str]], Select]

    def get(self) -> Any:
        held = getattr(self.module, self.name)
        return held if self.index is None else held[self.index]

    def put(self, value: Any) -> None:
        if self.index is None:
            setattr(self.module, self.name, value)
        else:
            getattr(self.module, self.name)[self.index] = value


_XPATHS = import_module("trafilatura.xpaths")
_WRITTEN_FOR = (
    Slot(_XPATHS, "RAW_TREE_PRUNE_XPATH", 0, "01e7c660fd6406f2", _infinite_scroll),
    Slot(_XPATHS, "RAW_TREE_PRUNE_XPATH", 1, "3c7afe92279543d5", _share_buttons),
    Slot(_XPATHS, "REMOVE_COMMENTS_AND_LISTS_XPATH", 0, "9cc18d34e6e2d258", _comments_and_lists),
    Slot(_XPATHS, "BODY_XPATH", 0, "caaa561ceca17064", _article_body),
    Slot(_XPATHS, "OVERALL_DISCARD_XPATH", 0, "a837e58a1b1ea116", _boilerplate),
    Slot(_XPATHS, "OVERALL_DISCARD_XPATH", 1, "c1d5b70b8cd03783", _hidden),
    # baseline.py holds its own reference (imported by name from settings.py), and calls it from there.
    # (import_module: the package's `baseline` attribute is the function of that name, not the module.)
    Slot(import_module("trafilatura.baseline"), "BASIC_CLEAN_XPATH", None, "db6c25acd08aef99", _basic_clean),
)


def digest(text: str) -> str:
    """What a stand-in is pinned to: the first 16 hex digits of the sha256 of an expression's text or a source."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def usable(slots: Sequence[Slot]) -> list[tuple[Slot, XPath, StandIn]]:
    """The slots whose expression is still the one its stand-in was written for, with both."""
    usable = []
    for slot in slots:
        try:
            original = slot.get()
        except (AttributeError, IndexError):  # trafilatura moved it
            continue
        if isinstance(original, XPath) and digest(original.path) == slot.digest:
            usable.append((slot, original, StandIn(original, slot.select)))
    return usable


STAND_INS = usable(_WRITTEN_FOR)
_lock = threading.Lock()
_users = 0


@contextmanager
def in_place() -> Iterator[None]:
    """Put the stand-ins in trafilatura's place for the duration (reentrant, and safe across threads:
    a stand-in selects what its expression selects, so a thread that sees either gets the same result)."""
    global _users
    with _lock:
        _users += 1
        if _users == 1:
            for slot, _, stand_in in STAND_INS:
                slot.put(stand_in)
            if WITHOUT_BACKUP:
                core._prepare_tree = _prepare_tree
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                for slot, original, _ in STAND_INS:
                    slot.put(original)
                core._prepare_tree = _ORIGINAL_PREPARE_TREE


def _source_digest(function: Callable[..., Any]) -> str | None:
    try:
        return digest(inspect.getsource(function))
    except (OSError, TypeError):  # no source to read (a frozen or compiled-only install)
        return None


def _sources_digest(*functions: Callable[..., Any]) -> str | None:
    digests = [_source_digest(function) for function in functions]
    return None if None in digests else digest(" ".join(map(str, digests)))


# `_prepare_tree` below and the functions that read its backup, as they were when it was written.
_WRITTEN_FOR_BACKUP_READERS = "b477871d4c81f316"
_ORIGINAL_PREPARE_TREE = core._prepare_tree
WITHOUT_BACKUP = (
    _sources_digest(core._prepare_tree, core.trafilatura_sequence, core._extract_and_compare, core._recall_retry)
    == _WRITTEN_FOR_BACKUP_READERS
)


def _prepare_tree(tree: Any, options: Extractor, url: str | None) -> tuple[Any, Any]:
    """trafilatura's `_prepare_tree` (clean a copy of the raw tree, keep a backup of it, convert its tags), without
    the backup in the fast pass with comments off, where nothing reads it."""
    if not options.fast or options.comments:
        return _ORIGINAL_PREPARE_TREE(tree, options, url)
    return convert_tags(tree_cleaning(copy(tree), options), options, url), None


# trafilatura_sequence and what `_fast_sequence` and `_page_text_bound` repeat of it or rely on, as they were when
# those were written.
_WRITTEN_FOR_SEQUENCE = "22d36f7ae5216172"
FAST_SEQUENCE = (
    _sources_digest(
        core.trafilatura_sequence,
        core._extract_and_compare,
        _BASELINE.html2txt,
        _BASELINE._spaced_text,
        _BASELINE.basic_cleaning,
        xml.delete_element,
    )
    == _WRITTEN_FOR_SEQUENCE
)


def _fast_sequence(tree: Any, options: Extractor, url: str | None) -> tuple[Any, str]:
    """trafilatura_sequence's (body, text) in the fast pass with comments off, its focus balanced: the same steps,
    but its escalation's page-text measure taken only where `_page_text_bound` leaves the answer open."""
    is_forum = core._forum_thread_page(tree)
    tree = core.prune_unwanted_nodes(tree, core.RAW_TREE_PRUNE_XPATH)
    if not is_forum:
        tree = core.prune_unwanted_nodes(tree, core.REMOVE_COMMENTS_AND_LISTS_XPATH)
    cleaned_tree, _ = core._prepare_tree(tree, options, url)
    if LAZY_BACKUP:  # as _extract_and_compare, fast
        body, text = _extract_content(cleaned_tree, options, lambda: core._prepare_tree(tree, options, url)[0])
    else:
        body, text = core.extract_content(cleaned_tree, options)
    if len(text) < options.min_extracted_size:  # the baseline rescue
        baseline_body, baseline_text, baseline_length = core.baseline(tree)
        if baseline_length > len(text):
            body, text = baseline_body, baseline_text
    share = core.ESCALATION_PAGE_SHARE
    if (
        0 < len(text) < core.ESCALATION_MAX_LENGTH
        # len(html2txt(tree)) <= _page_text_bound(tree): the measure is taken only when the bound leaves it open.
        and len(text) < share * _page_text_bound(tree)
        and len(text) < share * len(core.html2txt(tree))
    ):
        recall = copy(options)  # as trafilatura: a shared Extractor must not keep the "recall" focus
        recall.focus = "recall"
        recall_text = ""
        try:
            recall_body, recall_text = core._recall_retry(tree, recall, url)
        except Exception as err:  # pragma: no cover  (as trafilatura's own)
            core.LOGGER.warning("recall retry failed: %s %s", err, url)
        # (no jusText candidate in the fast pass)
        accepted = core.ESCALATION_ACCEPT_RATIO * len(text)
        if len(recall_text) >= options.min_extracted_size and len(recall_text) > accepted:
            body, text = recall_body, recall_text
    return body, text


# trafilatura's extract_content, as it was when `_extract_content` was written.
_WRITTEN_FOR_EXTRACT_CONTENT = "f0270c94ac5f30b5"
LAZY_BACKUP = _source_digest(_MAIN.extract_content) == _WRITTEN_FOR_EXTRACT_CONTENT


def _extract_content(cleaned_tree: Any, options: Extractor, backup: Callable[[], Any]) -> tuple[Any, str]:
    """trafilatura's extract_content, with its backup of `cleaned_tree` made by `backup()` and only when the main pass
    found too little: the same tree (the page cleaned again), where trafilatura deep-copies it on every page."""
    order = list(cleaned_tree.iter())  # source order before the main pass moves elements, the backup keeps it
    result_body, temp_text, potential_tags = _MAIN._extract(cleaned_tree, options)
    if len(result_body) == 0 or len(temp_text) < options.min_extracted_size:
        backup_tree = backup()
        # copies of what the main pass consumed are not recovered again
        consumed = {twin for elem, twin in zip(order, backup_tree.iter(), strict=True) if elem.tag == "done"}
        result_body = _MAIN.recover_wild_text(backup_tree, result_body, options, potential_tags, consumed)
        temp_text = " ".join(result_body.itertext()).strip()
    # drop substantial elements repeating the previous one (overlapping-candidate / recovery artifact)
    previous = None
    for el in list(result_body):
        current = _MAIN._elem_text(el)
        if current and current == previous and len(current) > _MAIN.MIN_DUPLICATE_LENGTH:
            _MAIN.delete_element(el, keep_tail=False)
        else:
            previous = current
    _MAIN.strip_elements(result_body, "done")
    _MAIN.strip_tags(result_body, "div")
    for linebreak in result_body.iter("lb"):  # whitespace the stripped divs left, but in code and pre
        if (
            linebreak.tail
            and not _MAIN.text_chars_test(linebreak.tail)
            and not any(anc.tag in _MAIN.SPACING_PROTECTED for anc in linebreak.iterancestors())
        ):
            linebreak.tail = None
    return result_body, temp_text


def _page_text_bound(tree: Any) -> int:
    """An upper bound of len(html2txt(tree)), for a fraction of its cost.

    html2txt deletes some elements of the body (keeping their tails) and puts a space before the text and before the
    tail of each block element, then joins the text's whitespace-separated words with single spaces. Deleting
    characters never adds a word; each space put in splits at most one word in two, which adds one character to the
    joined text. So it is at most the body's text joined so, plus two characters for each block element.
    """
    body = tree.find(".//body")
    if body is None:
        body = tree
    # Counted by iter() (its tag filter in C): an XPath count() testing 34 names an element took 13 times as long.
    blocks = sum(1 for _ in body.iter(*_BASELINE._BLOCK_ELEMS))
    return len(" ".join(body.text_content().split())) + 2 * blocks


# `text` does what this bare_extraction does with copydesk's arguments, but for the copy.
_WRITTEN_FOR_BARE_EXTRACTION = "2e57adb3062086f9"
DIRECT = _source_digest(bare_extraction) == _WRITTEN_FOR_BARE_EXTRACTION


_MADE_OPTIONS: dict[bool, Extractor] = {}


def _options(fast: bool, url: str | None) -> Extractor:
    """`Extractor(output_format="python", fast=fast, comments=False, tables=True, url=url)`, copied from one made
    once: making one reads eight settings through configparser, 40 us, a copy takes 4 (1-2% of a page's extraction).
    (The copy's date_params name the day the first was made: only metadata extraction reads them, not `text`.)"""
    made = _MADE_OPTIONS.get(fast)
    if made is None:
        made = _MADE_OPTIONS[fast] = Extractor(output_format="python", fast=fast, comments=False, tables=True)
    options = copy(made)
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")  # as Extractor sets it
    return options


def text(tree: _Element, url: str | None, fast: bool) -> str:
    """The text of `tree` as `bare_extraction(tree, url=url, fast=fast, include_comments=False)` gives it,
    stand-ins in place. Prunes `tree` itself."""
    with in_place():
        if not DIRECT:
            document = bare_extraction(tree, url=url, fast=fast, include_comments=False, include_tables=True)
            return getattr(document, "text", None) or ""
        options = _options(fast, url)
        try:
            if FAST_SEQUENCE and fast:
                body, body_text = _fast_sequence(tree, options, url)
            else:
                body, body_text, _, _ = trafilatura_sequence(tree, options, url)
        except (TypeError, ValueError):  # as bare_extraction discards a page
            return ""
        # With comments off there are none, and bare_extraction's other checks are off by default.
        return xmltotxt(body, options.formatting) if len(body_text) >= options.min_output_size else ""


# trafilatura's extract_meta_json and its minifying expression, as they were when `meta_json` was written.
_WRITTEN_FOR_META_JSON = "f4232983df26bffd"
_META_JSON_TYPES = ("application/ld+json", "application/settings+json")  # the XPath's two @type values
_JSON_STRING = re.compile(r'("(?:\\.|[^"\\])*")')  # JSON_MINIFY's first alternative: a string, kept whole
FAST_META_JSON = (
    _source_digest(metadata.extract_meta_json) == _WRITTEN_FOR_META_JSON
    and metadata.JSON_MINIFY.pattern == _JSON_STRING.pattern + r"|\s"
)


def minify_json(text: str) -> str:
    """`JSON_MINIFY.sub(r"\\1", text)`: the whitespace outside strings removed. The expression finds the same strings
    when it looks for strings alone (whitespace is never a string's start), and `\\s` is what str.split() splits on."""
    parts = _JSON_STRING.split(text)  # outside, string, outside, ..., outside
    parts[::2] = ["".join(part.split()) for part in parts[::2]]
    return "".join(parts)


def meta_json(tree: _Element, document: Any) -> Any:
    """`trafilatura.metadata.extract_meta_json(tree, document)`, faster (trafilatura's own if it changed)."""
    if not FAST_META_JSON:
        return metadata.extract_meta_json(tree, document)
    for elem in tree.iter("script"):  # .//script[@type=... or @type=...], in document order
        if elem is tree or elem.get("type") not in _META_JSON_TYPES or not elem.text:
            continue
        element_text = metadata.normalize_json(minify_json(elem.text))
        try:
            schema = json.loads(element_text, strict=False)
            document = metadata.extract_json(schema, document)
        except json.JSONDecodeError:
            document = metadata.extract_json_parse_error(element_text, document)
    return document
