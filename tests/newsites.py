"""Three news sites on their own loopback addresses, for the scheduling tests and bench/polling.py.

Site A publishes originals; B reposts some of them whole inside its own chrome, C reposts excerpts of
some (with an attribution line); B and C also publish stories of their own. Every site has a robots.txt
(which disallows /private/ and names the sitemap), a home page announcing its feed, a feed (RSS or
Atom) and a sitemap (C's is an index with a child). Every response carries an ETag and Last-Modified,
and a matching conditional request gets a bodiless 304. Every request is logged with its time.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from xml.sax.saxutils import escape

from tests.servers import HTTPSite, Reply

LAST_MODIFIED = formatdate(1_767_225_600, usegmt=True)  # 2026-01-01, for every page


@dataclass(frozen=True)
class Hit:
    at: float  # time.monotonic() when the request arrived
    path: str
    status: int
    conditional: bool  # it carried If-None-Match or If-Modified-Since
    sent: int  # body bytes


class NewsSite(HTTPSite):
    """A server on `address` serving `pages` {path: (content type, body)}, with ETags and conditional requests,
    logging every request as a `Hit`."""

    def __init__(self, address: str) -> None:
        super().__init__(address)
        self.pages: dict[str, tuple[str, bytes]] = {}
        self._requests: list[Hit] = []
        self._lock = threading.Lock()
        self.start()

    def respond(self, request: BaseHTTPRequestHandler) -> Reply:
        arrived = time.monotonic()
        if_none_match = request.headers.get("If-None-Match")
        if_modified_since = request.headers.get("If-Modified-Since")
        page = self.pages.get(request.path)
        if page is None:
            reply: Reply = (404, {"Content-Type": "text/plain"}, b"not found")
        else:
            ctype, body = page
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers = {"Content-Type": ctype, "ETag": etag, "Last-Modified": LAST_MODIFIED}
            fresh = if_none_match == etag or (if_none_match is None and if_modified_since == LAST_MODIFIED)
            reply = (304, headers, b"") if fresh else (200, headers, body)
        with self._lock:
            conditional = bool(if_none_match or if_modified_since)
            self._requests.append(Hit(arrived, request.path, reply[0], conditional, len(reply[2])))
        return reply

    def requests(self, path: str | None = None) -> list[Hit]:
        """Every request so far (for `path` only, if given), in order of arrival."""
        with self._lock:
            return [hit for hit in self._requests if path is None or hit.path == path]


@dataclass
class Network:
    sites: dict[str, NewsSite]
    original_of: dict[str, str | None] = field(default_factory=dict)  # story URL -> A's original (None: is one)
    private: list[str] = field(default_factory=list)  # listed in feeds/sitemaps, disallowed by robots.txt

    @property
    def stories(self) -> list[str]:
        return list(self.original_of)

    def stop(self) -> None:
        for site in self.sites.values():
            site.stop()


def _paragraphs(rng: random.Random, words: list[str]) -> list[str]:
    return [" ".join(rng.choice(words) for _ in range(rng.randint(25, 45))).capitalize() + "." for _ in range(8)]


def _article(site: str, title: str, paragraphs: list[str], published: str, extra: list[str]) -> bytes:
    chrome = {
        "a": ("Daily Alpha: Home World Business", "Daily Alpha. All rights reserved."),
        "b": ("Beta Post | Politics | Tech | Sport | Subscribe", "Beta Post is reader funded."),
        "c": ("Gamma Wire - latest - archive", "Gamma Wire, independent since 2001."),
    }[site]
    body = "".join(f"<p>{escape(p)}</p>" for p in [*paragraphs, *extra])
    return (
        f"<html><head><title>{escape(title)}</title>"
        f'<meta property="article:published_time" content="{published}"></head>'
        f"<body><nav>{chrome[0]}</nav><article><h1>{escape(title)}</h1>{body}</article>"
        f"<footer>{chrome[1]}</footer></body></html>"
    ).encode()


def _home(site: NewsSite, feed_path: str, feed_type: str, links: list[str]) -> bytes:
    items = "".join(f'<li><a href="{escape(link)}">story</a></li>' for link in links)
    return (
        f'<html><head><title>Home</title><link rel="alternate" type="{feed_type}" href="{feed_path}">'
        f"</head><body><ul>{items}</ul></body></html>"
    ).encode()


def _rss(site: NewsSite, links: list[str]) -> bytes:
    items = "".join(f"<item><title>t</title><link>{escape(link)}</link></item>" for link in links)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>feed</title>'
        f"<link>{site.base}/</link>{items}</channel></rss>"
    ).encode()


def _atom(site: NewsSite, links: list[str]) -> bytes:
    entries = "".join(
        f'<entry><title>t</title><id>{escape(link)}</id><link rel="alternate" href="{escape(link)}"/></entry>'
        for link in links
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>feed</title>'
        f'<link rel="self" href="{site.base}/atom.xml"/><link href="{site.base}/"/>{entries}</feed>'
    ).encode()


def _urlset(links: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{escape(link)}</loc></url>" for link in links)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


def build_network(addresses: tuple[str, str, str], stories: int, reposts: int, seed: int = 7) -> Network:
    """A's `stories` originals; B reposts A's first `reposts` whole, C excerpts `reposts` of them starting
    halfway through B's (so some originals have two copies); B and C add `stories - reposts` of their own."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(3000)]
    sites = {name: NewsSite(address) for name, address in zip("abc", addresses, strict=True)}
    network = Network(sites)
    texts = [_paragraphs(rng, words) for _ in range(stories)]
    listed: dict[str, list[str]] = {name: [] for name in sites}

    def publish(name: str, path: str, page: bytes, original: str | None) -> str:
        url = sites[name].base + path
        sites[name].pages[path] = ("text/html; charset=utf-8", page)
        network.original_of[url] = original
        listed[name].append(url)
        return url

    originals = []
    for i, text in enumerate(texts):
        day = f"2026-03-01T{8 + i // 60:02d}:{i % 60:02d}:00Z"
        originals.append(publish("a", f"/news/{i}.html", _article("a", f"Story {i}", text, day, []), None))
    disclaimer = ["Beta Post republishes articles in the public interest. Views expressed are the authors' own."]
    for i in range(reposts):
        page = _article("b", f"Story {i}", texts[i], "2026-03-02T09:00:00Z", disclaimer)
        publish("b", f"/world/{i}-repost.html", page, originals[i])
    start = reposts // 2
    for i in range(start, min(start + reposts, stories)):
        credit = [f"This article first appeared on Daily Alpha: {originals[i]}"]
        page = _article("c", f"Story {i} (excerpt)", texts[i][:5], "2026-03-03T10:00:00Z", credit)
        publish("c", f"/wire/{i}.html", page, originals[i])
    for name in ("b", "c"):
        for j in range(stories - reposts):
            page = _article(name, f"Own {name} {j}", _paragraphs(rng, words), "2026-03-04T10:00:00Z", [])
            publish(name, f"/own/{j}.html", page, None)

    for name, site in sites.items():
        private = f"{site.base}/private/exclusive.html"
        site.pages["/private/exclusive.html"] = ("text/html", _article(name, "Exclusive", texts[0], "2026", []))
        network.private.append(private)
        sitemap = "/sitemap_index.xml" if name == "c" else "/sitemap.xml"
        site.pages["/robots.txt"] = (
            "text/plain",
            f"User-agent: *\nDisallow: /private/\n\nSitemap: {site.base}{sitemap}\n".encode(),
        )
        links = listed[name]
        # The feed lists the same stories as the sitemap, spelt with tracking parameters and fragments
        # (A), or in part (B): normalisation must make them one URL each.
        feed_links = [f"{u}?utm_source=rss&utm_medium=feed#comments" for u in links] if name == "a" else links
        if name == "b":
            feed_links = links[: max(1, len(links) - 1)]  # the last one is in the sitemap only
        feed_links = [*feed_links, private]
        if name == "b":
            site.pages["/atom.xml"] = ("application/atom+xml", _atom(site, feed_links))
            site.pages["/"] = ("text/html", _home(site, "/atom.xml", "application/atom+xml", links[:3]))
        else:
            site.pages["/feed.xml"] = ("application/rss+xml", _rss(site, feed_links))
            site.pages["/"] = ("text/html", _home(site, "/feed.xml", "application/rss+xml", links[:3]))
        if name == "c":
            index = (
                '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{site.base}/sitemaps/stories.xml</loc></sitemap></sitemapindex>"
            ).encode()
            site.pages["/sitemap_index.xml"] = ("application/xml", index)
            site.pages["/sitemaps/stories.xml"] = ("application/xml", _urlset([*links, private]))
        else:
            site.pages["/sitemap.xml"] = ("application/xml", _urlset([*links, private]))
    return network
