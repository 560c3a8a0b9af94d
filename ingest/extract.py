"""HTML -> Article: trafilatura for the text, the page's own metadata for dates and URLs."""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import chain, islice
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.etree import ElementDefaultClassLookup, ParserError, strip_elements
from trafilatura.metadata import examine_meta, extract_sitename, extract_title
from trafilatura.settings import MANUALLY_CLEANED
from trafilatura.settings import Document as PageMetadata

from ingest import fast_trafilatura
from ingest.canonical import url_key
from ingest.document import Article
from ingest.headlines import title_words
from ingest.layout import unwrap_layout_tables
from ingest.leads import with_lead
from ingest.prose import main_prose, prose_words, teaser
from ingest.recall_signals import (
    covered,
    dropped_headings,
    headed_paragraphs,
    headline_words,
    holds,
    new_text,
    page_words,
    paragraph_words,
    put_before,
    teasers,
)

# Control characters but tab and line breaks: dropped from pages (as bytes: in UTF-8 they are never part of
# a sequence) and from what extraction returns.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_CONTROL = re.compile(f"[{re.escape(_CONTROL_BYTES.decode('ascii'))}]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
# Declared publication dates, most specific first. Heuristic date finders read
# stale dates out of a syndicator's chrome, so these come before trafilatura's guess.
_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
    "date",
)
# At most one invalid byte sequence per this many characters outside ASCII read correctly: a page's declared
# charset with a few bad bytes (a pasted fragment) still decodes it (`decode_html`). The four such pages of
# trafilatura's evaluation set have one per 25-500; pages in another charset read as UTF-8 give none read right.
MAX_INVALID_SHARE = 1 / 10
MIN_WORDS = 10  # fewer words than this is no article (an error page, a login form)
LISTING_LINK_SHARE = 0.7  # more of the text than this in link-sized lines: a listing, not an article
HEADLINES_SUSPECT = 0.25  # a fast extraction reading like headlines (this share of its words in link lines)
# is checked by the thorough one
# The recall guard (`_article_text`): a fast extraction is checked by the thorough pass when it holds less than
# this share of the words of the page's paragraphs; the thorough result replaces it when it is this many times
# as long. Chosen on the "tune" half of trafilatura's evaluation set (bench/trafilatura_eval.py), reported on
# its other half and on the Zyte pages (bench/README.md).
GUARD_PROSE_SHARE = 1 / 3
GUARD_LONGER = 1.5
GUARD_HEADINGS = 3  # the headings check (`_article_text`): chosen on the same tune half
# The outside check (`_article_text`), chosen on the same tune half: a fast result of more than GUARD_OUTSIDE times
# the paragraphs' words, on a page with GUARD_PAGE_MORE times its words of text outside links and navigation, is
# checked; the thorough result wins when it adds new text of GUARD_OUTSIDE_NEW of the fast result's (in distinct
# word trigrams) that is not teasers. (New text, not length: on one Zyte page the thorough pass dumped the page,
# the story's list again with metadata strings, 3.3 times as long and 0.18 new; the tune half's swaps add 1.3-8.5.)
GUARD_OUTSIDE = 1.5
GUARD_PAGE_MORE = 1.15
GUARD_OUTSIDE_NEW = 0.2
# The headline check (`_lost_headline`): a short fast result stays when the thorough one lost words of the page's
# headline that it holds, all of two or more, or any of HEADLINE_WORDS or more. Chosen on generated excerpt pages
# (tuning seeds; a consent banner, a feedback form, a list of sources or a column of teasers in the thorough
# result); the short-title exception after four pages of trafilatura's evaluation set changed (bench/README.md).
HEADLINE_WORDS = 3
# The prose check (`_prose_instead`): a text with PROSE_TEASERS cut-off teasers or more and less than PROSE_FEW of
# its words in prose lines (the rest teasers, headlines, footer lines) is checked against the page's main run of
# prose, which replaces it when it is PROSE_LINES lines or more (a story's paragraphs, not a site's blurb), holds at
# least PROSE_LARGER times the text's prose words and PROSE_OF_TEXT of all its words, and is mostly not in it.
# Chosen on generated newsletter pages of tuning seeds 1, 11, 12, 21-23; it fires on none of trafilatura's evaluation
# set, the dev or the Zyte pages (bench/README.md).
PROSE_FEW = 0.5
PROSE_TEASERS = 3
PROSE_LINES = 3
PROSE_LARGER = 1.5
PROSE_OF_TEXT = 0.25
_WORD = re.compile(r"\w+")

# lxml.html's own parser picks each element's class (form, input, label...) with a Python callback,
# called for every element Python touches: ~1,900 times a page in trafilatura. Neither trafilatura
# nor copydesk uses those classes, and a lookup done in C makes extraction 4% faster (bench/README.md).
# Pages go to lxml as UTF-8 bytes, which it parses faster than str (decoded once, and control
# characters are dropped from bytes fastest); no table of ids, which nothing looks up. Comments and processing
# instructions are dropped while parsing, as trafilatura's own parser drops them: kept, a commented-out block
# (an address with its raw tags, a template's "smart_paging_autop_filter") reached the text.
_PARSER = lxml.html.HTMLParser(encoding="utf-8", collect_ids=False, remove_comments=True, remove_pis=True)
_PARSER.set_element_class_lookup(
    ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)


class ExtractionError(ValueError):
    """The page holds no article text (listing, login page, not HTML)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Bytes to text: BOM, then the HTTP charset, then <meta charset>, then UTF-8, then windows-1252.

    A charset is trusted when the bytes decode with it. When none decodes them cleanly, the one with the fewest
    invalid sequences wins, provided they are few (`_mostly_valid`): a page declared UTF-8 with a few bad bytes
    keeps its UTF-8, with replacement characters there, instead of turning whole into windows-1252 mojibake
    ("schÃ¶n"). Only when no charset reads most of the page does windows-1252 decode it.
    """
    return _decoded(body, declared)[0]


def _decoded(body: bytes, declared: str | None) -> tuple[str, bool]:
    """decode_html's text, and whether it is `body` read as UTF-8 as it stands: then encoding the text again gives
    `body` back, and `parse` spares that (0.14 ms a page, on 501 of the 549 dev and seed-1 pages)."""
    for bom, bom_codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace"), False
    meta = _META_CHARSET.search(body[:4096])
    candidates: list[str | None] = [declared, meta.group(1).decode("ascii", "ignore") if meta else None, "utf-8"]
    known: list[str] = []
    for codec in candidates:
        if not codec:
            continue
        try:
            return body.decode(codec), codecs.lookup(codec).name == "utf-8"  # strict: no lone surrogates in it
        except LookupError:
            continue
        except UnicodeDecodeError:
            known.append(codec)
    # (errors, order declared) of each charset that reads most of the page; min() keeps the first of equals.
    readings = [
        (errors, order, text) for order, codec in enumerate(known) for errors, text in [_decode_counted(body, codec)]
    ]
    mostly = [reading for reading in readings if _mostly_valid(*reading[::2])]
    if mostly:
        return min(mostly, key=lambda reading: reading[:2])[2], False
    text = body.decode("windows-1252", errors="replace")
    # Western text in windows-1252 is mostly ASCII; bytes that are mostly not are not text at all.
    if len(text) - len(text.encode("ascii", "ignore")) > 0.3 * max(len(text), 1):
        raise ExtractionError("not_text", "the page's bytes decode as no known text encoding")
    return text, False


def _decode_counted(body: bytes, codec: str) -> tuple[int, str]:
    """`body` decoded with replacement characters for invalid sequences, and how many those are (less the
    replacement characters a UTF-8 page encodes itself)."""
    text = body.decode(codec, errors="replace")
    own = body.count(b"\xef\xbf\xbd") if codecs.lookup(codec).name == "utf-8" else 0
    return text.count("\ufffd") - own, text


def _mostly_valid(errors: int, text: str) -> bool:
    """Whether a decoding's invalid sequences are a few slips in text of that charset: at most one for every
    MAX_INVALID_SHARE of the characters it did read outside ASCII. Text in another charset read as UTF-8 gives
    next to no valid multi-byte characters (windows-1252 accents are lone bytes), so it never passes."""
    non_ascii = len(text) - len(text.encode("ascii", "ignore")) - errors  # counted in C, not a loop over characters
    return errors <= MAX_INVALID_SHARE * non_ascii


def host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # e.g. "http://[bad/" as a page declared it
        return None
    return host.removeprefix("www.") or None


def _parse_date(value: str) -> datetime | None:
    value = value.strip()
    candidates = [value.replace("Z", "+00:00")]
    if match := re.match(r"\d{4}-\d{2}-\d{2}", value):
        candidates.append(match.group(0))
    for candidate in candidates:
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:  # not ISO 8601, or "2020-13-45", "0000-00-00"
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _jsonld_dates(tree: lxml.html.HtmlElement) -> Iterator[str]:
    for script in tree.iter("script"):
        if script.get("type") != "application/ld+json" or script.text is None:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if isinstance(item.get("datePublished"), str):
                    yield item["datePublished"]
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)


def declared_date(tree: lxml.html.HtmlElement) -> datetime | None:
    """The publication date the page declares in its metadata, if any."""
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        name = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if name and meta.get("content") and name not in metas:
            metas[name] = meta.get("content", "")
    # The JSON-LD is parsed only when no <meta> date reads as one.
    values = chain((metas[name] for name in _DATE_META if name in metas), _jsonld_dates(tree))
    return next(filter(None, map(_parse_date, values)), None)


def _link(tree: lxml.html.HtmlElement, base: str | None) -> tuple[str | None, str | None]:
    """(rel=canonical, og:url) as absolute URLs: the first of each the page declares.

    Found by walking the tree's <link> and <meta> elements: XPath's // walked every element, 7 times slower.
    """
    hrefs = (link.get("href") for link in tree.iter("link") if _is_canonical(link))
    canonical = next((href for href in hrefs if href is not None), None)
    urls = (meta.get("content") for meta in tree.iter("meta") if meta.get("property") == "og:url")
    og_url = next((url for url in urls if url is not None), None)

    def absolute(href: str | None) -> str | None:
        href = (href or "").strip()
        if not href:
            return None
        try:
            return urljoin(base, href) if base else href
        except ValueError:  # a malformed URL names nothing
            return None

    return absolute(canonical), absolute(og_url)


_RELS_CASE = str.maketrans("CANONICAL", "canonical")  # as ASCII-only as the XPath translate() it replaced


def _is_canonical(link: lxml.html.HtmlElement) -> bool:
    return (link.get("rel") or "").translate(_RELS_CASE) == "canonical"


def parse(html: str | bytes, charset: str | None = None) -> lxml.html.HtmlElement:
    if isinstance(html, bytes):
        text, as_is = _decoded(html, charset)
        data = html if as_is else text.encode("utf-8", "surrogatepass")
    else:
        data = html.encode("utf-8", "surrogatepass")
    data = data.translate(None, _CONTROL_BYTES)
    start = data.lstrip()  # bytes strip ASCII whitespace only: a page might be all non-breaking spaces
    if not start or (start[0] > 0x7F and not start.decode("utf-8", "surrogatepass").strip()):
        raise ExtractionError("empty_page", "the page is empty")
    if start[:1] in (b"{", b"[") and _is_json(data):
        raise ExtractionError("not_html", "the body is JSON, not an HTML page")
    try:
        tree = lxml.html.document_fromstring(data, parser=_PARSER)
    except (ParserError, ValueError) as err:
        raise ExtractionError("unparsable_html", str(err)) from err
    unwrap_layout_tables(tree)  # a story laid out in a table cell is read as paragraphs, not as one cell
    return tree


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def page_metadata(tree: lxml.html.HtmlElement) -> PageMetadata:
    """Title, author, site name and description from the page's metadata.

    trafilatura's own metadata pass also guesses a date with htmldate, which costs about a third of
    the extraction time and, on a syndicator's page, mostly finds stale dates in the chrome; the
    declared date comes from `declared_date` instead.
    """
    metadata = examine_meta(tree)
    with contextlib.suppress(Exception):  # trafilatura's JSON-LD reader trips on odd but harmless markup
        metadata = fast_trafilatura.meta_json(tree, metadata)
    metadata.title = metadata.title or extract_title(tree)
    if metadata.author and " " not in metadata.author:  # a single token is a handle, not a name
        metadata.author = None
    # No search of the body for a byline (trafilatura's extract_author): it cost a quarter of the
    # extraction time, for a field copydesk only displays.
    metadata.sitename = (metadata.sitename or extract_sitename(tree) or "").lstrip("@") or None
    return metadata


MAX_HEADLINE_WORDS = 40  # a longer <h1> is a block of text, not a headline


def page_headlines(tree: lxml.html.HtmlElement, title: str | None, sitename: str | None) -> tuple[str, ...]:
    """The names the page gives its story (ingest.headlines): its title as metadata gives it, its <title>, og:title
    and twitter:title, and those of its <h1>s that share a word with these (a template's other <h1>s name its menus,
    share buttons and other stories), each once. With no such title, its first <h1>."""
    named = [title or ""]
    # Read from the <head> when there is one: a walk of the whole page for these cost as much as the rest of this.
    head = tree.find("head")
    found = (head if head is not None else tree).iter("title", "meta")
    titled = False
    for element in found:
        if element.tag == "meta":
            if (element.get("property") or element.get("name") or "").lower() in ("og:title", "twitter:title"):
                named.append(element.get("content") or "")
        elif not titled and not any(up.tag == "svg" for up in element.iterancestors()):
            # The page's <title>, not the <title>s of its SVG icons ("Facebook", "Close Ad").
            named.append(element.text or "")
            titled = True
    names = [name for name in map(_clean, named) if name and len(name.split()) <= MAX_HEADLINE_WORDS]
    words = title_words(names, sitename)
    for heading in tree.iter("h1"):
        text = _clean("".join(heading.itertext()))
        if not text or len(text.split()) > MAX_HEADLINE_WORDS:
            continue
        if not words:
            names.append(text)
            break
        if words & title_words([text], sitename):
            names.append(text)
    return tuple(dict.fromkeys(names))


def extract(html: str | bytes, url: str | None = None, *, charset: str | None = None) -> Article:
    """Extract the article of one page. Raises ExtractionError when there is none."""
    tree = parse(html, charset)
    # Read the metadata first: trafilatura prunes the tree it is given.
    canonical, og_url = _link(tree, url)
    published = declared_date(tree)
    metadata = page_metadata(tree)
    headlines = page_headlines(tree, metadata.title, metadata.sitename)
    language = tree.get("lang") or None
    links, hrefs = _link_texts(tree)
    # NFC, as trafilatura returns its text: the same word must be the same characters on every page, whichever
    # form a site's CMS stores (decomposed umlauts, Bengali vowel signs); both fingerprints and readers compare them.
    raw_text, link_share = _article_text(tree, url, html, charset, links, metadata)
    if (instead := _prose_instead(raw_text, html, charset, links)) is not None:
        raw_text, link_share = instead, _link_share(instead, links)
    # The story's lead, which trafilatura drops on many templates (`ingest.leads`), read from `tree`: trafilatura
    # cleaned a copy of it. The link share stays the text's: a lead is prose, so it would only lower it.
    raw_text, lead = with_lead(raw_text, tree, metadata.title)
    text = unicodedata.normalize("NFC", raw_text)
    if _fewer_words(text, MIN_WORDS):
        raise ExtractionError("no_article", f"extraction found no article text (fewer than {MIN_WORDS} words)")
    if link_share > LISTING_LINK_SHARE:
        raise ExtractionError("no_article", "the page is a list of links (a listing or index page), not an article")
    own_url = url or og_url or canonical
    return Article(
        text=text,
        title=_clean(metadata.title),
        author=_clean(metadata.author),
        published=published,
        published_source="meta" if published else None,
        sitename=_clean(metadata.sitename),
        url=own_url,
        host=host_of(own_url),
        canonical_url=canonical,
        language=language,
        description=_clean(metadata.description),
        lead=unicodedata.normalize("NFC", lead) if lead else None,
        links=_text_links(hrefs, own_url),
        headlines=headlines,
    )


def _article_text(
    tree: lxml.html.HtmlElement,
    url: str | None,
    html: str | bytes,
    charset: str | None,
    links: set[str],
    metadata: PageMetadata,
) -> tuple[str, float]:
    """The article's text, and the share of its words in lines that are the page's links (`_link_share`)."""
    # fast=True skips trafilatura's comparison with readability and jusText: twice the speed, and it
    # scores higher on the Zyte benchmark, not lower (bench/extraction.py). But on some templates its
    # rules catch a list of headlines instead of the article, and the comparison is what recovers
    # it. So a fast result that reads like headlines is checked against the thorough one
    # (which costs three fast passes), and replaced only when the thorough pass found other text:
    # when it merely adds to it (teasers, "more stories"), fast was right. (At any length: a long list of
    # headlines is no more an article than a short one; a fast result of 200 words or more reads like headlines
    # on 4 of 902 pages: the tune half of trafilatura's evaluation set and the dev and Zyte pages.)
    #
    # The recall guard: on some layouts (a newsletter-style page, a page whose story sits outside the containers
    # trafilatura's rules look for first) the fast pass keeps a paragraph of the site's chrome and loses the story
    # the thorough pass finds; then every story of that site has the same text, and unrelated stories merge. A
    # fast result that holds far fewer words than the page's paragraphs cannot be the article: it is checked
    # against the thorough pass, which wins when it found much more text. (Not every short result: an excerpt
    # whose page goes on with other stories' teasers, outside paragraphs, is short and right.) Nor when the
    # thorough pass lost words of the page's headline that the fast result holds (`_lost_headline`): then the
    # fast result is the story, short on a busy page (an excerpt, a brief), and the thorough pass took another
    # block of the page (a consent banner, a feedback form, a list of sources, a column of teasers).
    #
    # The headings check: on some templates the fast pass keeps a story's paragraphs but drops its subheadings and
    # the lists between them (it read the paragraphs one by one, not their section). A fast result that holds the
    # paragraphs under GUARD_HEADINGS of the page's subheadings or more, and none of those headings, is checked
    # against the thorough pass, which wins when it holds GUARD_HEADINGS of them.
    prose = paragraph_words(tree)  # before the fast pass prunes the tree
    headed = headed_paragraphs(tree)
    text = _trafilatura_text(tree, url, fast=True)
    share = _link_share(text, links)
    words = len(text.split())
    headlines = share >= HEADLINES_SUSPECT
    short = words < GUARD_PROSE_SHARE * prose
    dropped = dropped_headings(text, headed)
    fresh = None  # the page parsed anew for the thorough pass: the fast pass pruned `tree`
    # The outside check: a fast result longer than the page's paragraphs was read from text outside them (table
    # cells, <div>s, lists), where the thorough pass's readability and jusText find more; but only when the page
    # holds much more text than the fast result outside links and navigation (on most such pages it holds no more).
    outside = words > GUARD_OUTSIDE * prose
    if outside and not (headlines or short or len(dropped) >= GUARD_HEADINGS):
        fresh = parse(html, charset)
        outside = page_words(fresh) > GUARD_PAGE_MORE * words
    if headlines or short or outside or len(dropped) >= GUARD_HEADINGS:
        thorough = _trafilatura_text(fresh if fresh is not None else parse(html, charset), url, fast=False)
        if _fewer_words(thorough, MIN_WORDS):
            return text, share
        longer = len(thorough.split()) > GUARD_LONGER * words and not teasers(thorough, text)
        if (
            (headlines and covered(text, thorough) < 0.8)
            or (short and longer and not put_before(thorough, text) and not _lost_headline(thorough, text, metadata))
            or (outside and new_text(thorough, text) > GUARD_OUTSIDE_NEW and not teasers(thorough, text))
            or holds(thorough, dropped) >= GUARD_HEADINGS
        ):
            return thorough, _link_share(thorough, links)
    return text, share


def _lost_headline(thorough: str, fast: str, metadata: PageMetadata) -> bool:
    """Whether `thorough` lost words of the page's headline that `fast` holds (`headline_words`), when `fast` holds
    two or more: all of them, or any when it holds HEADLINE_WORDS or more. A word or two of a short title is weak
    evidence: a site's chrome may repeat them ("Welcome back to Future" in a newsletter called Axios Future, the
    name on a personal page)."""
    in_fast = headline_words(fast, metadata.title, metadata.sitename)
    in_thorough = headline_words(thorough, metadata.title, metadata.sitename)
    if in_fast < 2 or in_thorough >= in_fast:
        return False
    return in_thorough == 0 or in_fast >= HEADLINE_WORDS


def _prose_instead(text: str, html: str | bytes, charset: str | None, links: set[str]) -> str | None:
    """The page's main run of prose (`main_prose`), when the extracted text is mostly not prose and the page
    holds much more of it elsewhere; else None.

    On a newsletter-style page both trafilatura passes can keep a block of other stories' teasers and footer lines
    and lose the story, set out in table cells or spans; then every such page of a site has the same text.
    """
    if sum(map(teaser, text.splitlines())) < PROSE_TEASERS:  # no block of teasers (nearly every page)
        return None
    words = len(_WORD.findall(text))
    own = prose_words(text, links)
    if own >= PROSE_FEW * words:
        return None
    found_lines, found_words = main_prose(parse(html, charset))  # a tree of its own: extraction pruned the first
    if len(found_lines) < PROSE_LINES or found_words < max(PROSE_LARGER * own, PROSE_OF_TEXT * words, MIN_WORDS):
        return None
    found = "\n".join(found_lines)
    return found if covered(found, text) < 0.5 else None


def _fewer_words(text: str, count: int) -> bool:
    """Whether `text` has fewer than `count` words (read no further than that)."""
    return next(islice(_WORD.finditer(text), count - 1, None), None) is None


def _drop_inert(tree: lxml.html.HtmlElement) -> None:
    """Remove the page's scripts (but JSON-LD), styles and SVG drawings, keeping the text after them.

    Every stage of trafilatura discards these (its tree cleaning and its baseline's basic cleaning
    alike), but only after its first XPath prunes have run over them: removed here, in C, they cost
    trafilatura's fast pass 6% less, with the same text on all 435 dev and Zyte pages
    (bench/README.md). JSON-LD stays: trafilatura reads forum posts and article bodies from it.
    """
    for script in tree.iter("script"):
        if script.get("type") != "application/ld+json":  # as trafilatura reads it
            script.tag = "copydesk-inert"
    strip_elements(tree, "copydesk-inert", "style", "svg", with_tail=False)


# What trafilatura's tree cleaning deletes outright (forms it judges one by one), and a superset of the
# containers its first prunes delete before that (comment sections, infinite scroll, share buttons).
_CLEANED_TAGS = frozenset(tag for tag in MANUALLY_CLEANED if tag != "form")
_PRUNED_TAGS = frozenset({"div", "section", "aside", "details", "ol", "ul"})
_PRUNED_FIRST = re.compile(r"omment|comol|disqus|dsq-|infinite|mvp-post-add|elementor-share", re.I)
_JSON_LD = './/script[@type="application/ld+json"]'


def _drop_discarded(tree: lxml.html.HtmlElement) -> None:
    """For the fast pass: remove the <head> (but JSON-LD) and the <aside> and <footer> elements.

    A quarter of a news page's elements, which trafilatura's fast pass deletes in every stage (its
    tree cleaning and the page-text measure its recall escalation compares with), but only after its
    XPath prunes have run over them: 9% of its time, with the same text on all 435 dev and Zyte pages
    (bench/README.md). Not before the thorough pass, whose readability and jusText read the raw tree.
    Kept where trafilatura would read them first: an aside or footer holding an <h1> (its
    infinite-scroll prune keeps a container with the headline) or JSON-LD (its forum check and
    baseline read it); and everything on a page whose every paragraph sits in something its cleaning
    deletes or prunes, where its recall retry restores the whole tree.
    """
    if not _a_paragraph_survives(tree):
        return
    head = tree.find("head")
    for child in head if head is not None else ():
        if isinstance(child.tag, str) and not (child.tag == "script" and child.get("type") == "application/ld+json"):
            child.tag = "copydesk-discarded"
    for element in tree.iter("aside", "footer"):
        if element.find(".//h1") is None and element.find(_JSON_LD) is None:
            element.tag = "copydesk-discarded"
    strip_elements(tree, "copydesk-discarded", with_tail=False)


def _a_paragraph_survives(tree: lxml.html.HtmlElement) -> bool:
    """Whether a <p> is outside everything trafilatura's cleaning deletes and its first prunes remove."""
    doomed: set[lxml.html.HtmlElement] = set()  # inside a deleted element: their other paragraphs need no look
    for paragraph in tree.iter("p"):
        path: list[lxml.html.HtmlElement] = []
        for ancestor in paragraph.iterancestors():
            if ancestor in doomed or ancestor.tag in _CLEANED_TAGS or _pruned_first(ancestor):
                doomed.update(path)
                break
            path.append(ancestor)
        else:
            return True
    return False


def _pruned_first(element: lxml.html.HtmlElement) -> bool:
    if element.tag not in _PRUNED_TAGS:
        return False
    marks = (element.get("class") or "") + (element.get("id") or "")
    return bool(marks) and _PRUNED_FIRST.search(marks) is not None


def _trafilatura_text(tree: lxml.html.HtmlElement, url: str | None, fast: bool) -> str:
    _drop_inert(tree)
    if fast:
        _drop_discarded(tree)
    return _CONTROL.sub("", fast_trafilatura.text(tree, url, fast))


def _link_texts(tree: lxml.html.HtmlElement) -> tuple[set[str], list[str]]:
    """The texts of the page's links of three words or more, normalised; and the addresses of the links in its
    paragraphs (`_text_links` reads them), from one walk over the page's links."""
    texts = set()
    in_paragraphs = []
    for anchor in tree.iter("a"):
        # Most links hold only their text: text_content() (an XPath call) is for the others.
        text = anchor.text_content() if len(anchor) else anchor.text or ""
        words = _WORD.findall(text.lower())
        if len(words) >= 3:
            texts.add(" ".join(words))
        # A link in running text (in a <p>, or in its <strong> or <em>) points at what the text is about or taken from
        # ("Continue reading at <a>", "Originally published by <a>"); menus and lists of stories hold theirs in lists
        # and <div>s. Its parent and grandparent only: walking every link's ancestors cost more than the walk.
        parent = anchor.getparent()
        if parent is not None and (parent.tag == "p" or ((up := parent.getparent()) is not None and up.tag == "p")):
            href = anchor.get("href")
            if href and href.lstrip()[:5].lower() in ("http:", "https"):
                in_paragraphs.append(href.strip())
    return texts, in_paragraphs


MAX_TEXT_LINKS = 50  # a page's text links are a few; a page of links is no article, and its links say nothing


def _text_links(hrefs: list[str], url: str | None) -> tuple[str, ...]:
    """The addresses of `hrefs` (absolute ones: a relative link is to the page's own site) as
    `ingest.canonical.url_key` has them (no scheme, www., query or trailing slash), in order, each once, the page's
    own and sites' home pages left out; MAX_TEXT_LINKS at most."""
    key_of = url_key.__wrapped__  # uncached: a page's links would push a cluster's addresses out of its cache
    own = key_of(url)
    found: dict[str, None] = {}
    for href in dict.fromkeys(hrefs):
        key = key_of(href)
        if key and key != own and "/" in key:  # a site's home page is no story
            found[key] = None
            if len(found) == MAX_TEXT_LINKS:
                break
    return tuple(found)


def _link_share(text: str, links: set[str]) -> float:
    """The share of the text's words in headline-sized lines that are the page's links."""
    if not links:
        return 0.0
    # Words that start and end a link: only a run of words between two such can be one, which spares
    # joining every run of every line.
    starts = {link.partition(" ")[0] for link in links}
    ends = {link.rpartition(" ")[2] for link in links}
    linked = total = 0
    for line in text.splitlines():
        words = _WORD.findall(line.lower())
        total += len(words)
        if not words or len(words) > 40:  # a paragraph, not a headline
            continue
        # A headline line is its link, perhaps followed or preceded by a date or a section name.
        half = (len(words) - 1) // 2  # only a link covering at least half the line counts
        head, tail = words[0] in starts, words[-1] in ends
        covered = next(
            (
                k
                for k in range(len(words), half, -1)
                if (head and words[k - 1] in ends and " ".join(words[:k]) in links)
                or (tail and words[-k] in starts and " ".join(words[-k:]) in links)
            ),
            0,
        )
        if covered >= 0.5 * len(words):
            linked += len(words)
    return linked / total if total else 0.0


def _clean(value: str | None) -> str | None:
    value = unicodedata.normalize("NFC", _CONTROL.sub("", " ".join((value or "").split())))
    return value or None
