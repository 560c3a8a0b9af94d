"""Entry URLs out of feeds, sitemaps and plain pages, and where a site keeps its feeds and sitemaps.

Pure: bytes in, URLs out. Fetching is the caller's job, through the SSRF-safe and polite fetcher, which
is why trafilatura's discovery entry points (find_feed_urls, sitemap_search), which download by
themselves, are not used here; only its pure parts are (feed links in a page's <head>, robots.txt
Sitemap lines). Feeds and sitemaps are read with lxml rather than trafilatura's link filters, which drop
every URL whose host is not a registered domain (an IP address, an intranet name).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from trafilatura.feeds import FeedParameters, determine_feed
from trafilatura.sitemaps import extract_robots_sitemaps

from ingest.fetch import FetchError
from ingest.urls import host, normalise, origin

# What a feed or sitemap may be served as (on top of the page types the fetcher accepts).
FEED_CONTENT_TYPES = (
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml",
    "application/feed+json", "application/json", "application/x-gzip", "application/gzip",
    "application/octet-stream", "text/html", "application/xhtml+xml", "text/plain",
)  # fmt: skip
MAX_ENTRIES = 50_000  # the sitemaps.org limit per file, applied to every kind
MAX_DECODED_BYTES = 50_000_000  # ditto, for an uncompressed sitemap
MAX_DISCOVERED = 10  # feeds taken from one page's <head>
SITEMAP_GUESS = "/sitemap.xml"  # tried once when robots.txt names no sitemap
_FEED_ROOTS = {"rss", "RDF", "feed"}
_SITEMAP_ROOTS = {"urlset", "sitemapindex"}
_NOT_ARTICLES = (
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".css", ".js", ".pdf", ".zip", ".mp3", ".mp4",
    ".xml", ".rss", ".atom", ".json", ".txt",
)  # fmt: skip


@dataclass(frozen=True)
class Listing:
    """What one feed, sitemap or page lists: pages to ingest and further sitemaps to read."""

    pages: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def kind_of(body: bytes) -> str:
    """ "feed", "sitemap" or "page", from the document itself (servers label XML every which way)."""
    root = _xml_root(body)
    if root is not None:
        name = etree.QName(root).localname
        if name in _FEED_ROOTS:
            return "feed"
        if name in _SITEMAP_ROOTS:
            return "sitemap"
    if _json_feed_items(body) is not None:
        return "feed"
    return "page"


def read(kind: str, body: bytes, url: str) -> Listing:
    """The listing of a document fetched from `url`, read as `kind` (feed, sitemap or page)."""
    if kind == "feed":
        return Listing(pages=feed_entries(body, url))
    if kind == "sitemap":
        return sitemap_entries(body, url)
    return Listing(pages=page_links(body, url))


def feed_entries(body: bytes, base_url: str) -> list[str]:
    """Entry links of an RSS 2.0, RSS 1.0 (RDF), Atom or JSON feed, in feed order."""
    items = _json_feed_items(body)
    if items is not None:
        return _clean(base_url, (_json_item_url(item) for item in items))
    root = _xml_root(body)
    if root is None:
        return []
    links: list[str | None] = []
    for element in root.iter():
        name = _local(element)
        if name == "item":  # RSS 2.0 and RSS 1.0
            links.append(_rss_link(element))
        elif name == "entry":  # Atom
            links.append(_atom_link(element))
    return _clean(base_url, links)


def sitemap_entries(body: bytes, base_url: str) -> Listing:
    """Pages of a <urlset>, child sitemaps of a <sitemapindex>, or the lines of a text sitemap."""
    body = _gunzip(body)
    root = _xml_root(body)
    if root is None or etree.QName(root).localname not in _SITEMAP_ROOTS:
        text = body.decode("utf-8", "replace")
        if "<" in text[:200]:  # an HTML error page, not a text sitemap
            return Listing()
        lines = (line.strip() for line in text.splitlines())
        return Listing(pages=_clean(base_url, (line for line in lines if line.startswith(("http://", "https://")))))
    pages: list[str | None] = []
    sitemaps: list[str | None] = []
    for element in root.iter():
        # Image and video sitemaps nest their own <loc>s inside <url>: only a direct child counts.
        if _local(element) != "loc" or element.getparent() is None:
            continue
        parent = _local(element.getparent())
        if parent == "url":
            pages.append(element.text)
        elif parent == "sitemap":
            sitemaps.append(element.text)
    return Listing(pages=_clean(base_url, pages), sitemaps=_clean(base_url, sitemaps))


def page_links(body: bytes, page_url: str) -> list[str]:
    """Links from a page to other pages of its own host: the articles of a section front."""
    try:
        tree = lxml.html.fromstring(body)
    except (etree.ParserError, ValueError):
        return []
    own = host(page_url)
    links = _clean(page_url, (a.get("href") for a in tree.iter("a")))
    itself = normalise(page_url)
    return [
        link
        for link in links
        if host(link) == own
        and link != itself
        and urlsplit(link).path not in ("", "/")
        and not urlsplit(link).path.lower().endswith(_NOT_ARTICLES)
    ]


def discover_feeds(body: bytes, page_url: str) -> list[str]:
    """Feeds a page announces (<link rel=alternate type=...rss...>, else links that look like feeds)."""
    html = body.decode("utf-8", "replace")
    params = FeedParameters(origin(page_url), host(page_url), page_url)
    return _clean(page_url, determine_feed(html, params))[:MAX_DISCOVERED]


def robots_sitemaps(robots_text: str, url: str) -> list[str]:
    """The Sitemap: lines of a robots.txt."""
    # trafilatura gives up on a robots.txt over 10,000 characters (it guards against HTML pages);
    # ours was fetched as robots.txt, so hand it only the lines it would read anyway.
    lines = "\n".join(line for line in robots_text.splitlines() if "sitemap" in line.lower())
    return _clean(url, extract_robots_sitemaps(lines, origin(url)))


# ---- helpers -----------------------------------------------------------------------------------


def _xml_root(body: bytes) -> etree._Element | None:
    # No entities, no DTD, no network: a feed is untrusted input.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip
    try:
        root = etree.fromstring(body.lstrip(), parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    return root if root is not None and isinstance(root.tag, str) else None


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if _local(child) == name]


def _rss_link(item: etree._Element) -> str | None:
    for name in ("origLink", "link"):  # feedburner:origLink is the article, link a tracking redirect
        for child in _children(item, name):
            if child.text and child.text.strip():
                return child.text
    for guid in _children(item, "guid"):
        if guid.get("isPermaLink", "true").lower() != "false" and (guid.text or "").strip().startswith("http"):
            return guid.text
    about = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    return about if about and about.startswith("http") else None


def _atom_link(entry: etree._Element) -> str | None:
    for link in _children(entry, "link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link.get("href")
    return None


def _json_feed_items(body: bytes) -> list[object] | None:
    start = body.lstrip()[:1]
    if start != b"{":
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    items = data.get("items") if isinstance(data, dict) else None
    return items if isinstance(items, list) else None


def _json_item_url(item: object) -> str | None:
    if not isinstance(item, dict):
        return None
    for key in ("url", "external_url", "id"):
        value = item.get(key)
        if isinstance(value, str) and value.startswith("http"):
            return value
    return None


def _gunzip(body: bytes) -> bytes:
    if body[:2] != b"\x1f\x8b":
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_DECODED_BYTES)
    except zlib.error:
        return b""
    # Past the cap the rest is dropped: a truncated sitemap still lists its first entries.
    return out


def _clean(base_url: str, links: Iterable[str | None]) -> list[str]:
    """Absolute, normalised, fetchable, first occurrence only, at most MAX_ENTRIES."""
    out: dict[str, None] = {}
    for link in links:
        if not link or not link.strip():
            continue
        try:
            out.setdefault(normalise(urljoin(base_url, link.strip())))
        except (FetchError, ValueError):
            continue
        if len(out) >= MAX_ENTRIES:
            break
    return list(out)
