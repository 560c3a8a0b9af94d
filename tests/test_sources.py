"""Sources without servers: URL normalisation, durations, feeds, sitemaps, robots.txt, OPML, and the
database claims that keep two dispatchers or two polls from doing the same work (SQLite and PostgreSQL)."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ingest.feeds import (
    discover_feeds,
    feed_entries,
    kind_of,
    page_links,
    read,
    robots_sitemaps,
    sitemap_entries,
)
from ingest.fetch import FetchError
from ingest.robots import RobotsRules
from ingest.sources import SourceSpec, format_duration, parse_duration, parse_opml, parse_source_list
from ingest.urls import host, normalise, origin
from storage.db import make_engine, make_sessionmaker
from storage.models import Document, Source, SourceEntry, utcnow
from storage.sources import add_source, claim, claim_due, claim_entries, due_sources, list_sources, remove_source
from worker.cli import main

UA = "copydesk/0.1 (+https://example.invalid/copydesk)"

# ---- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com/a#comments", "http://example.com/a"),
        ("http://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x", "http://example.com/a"),
        ("http://example.com/a?fbclid=1&gclid=2&id=7", "http://example.com/a?id=7"),
        ("http://example.com/a?b=2&a=1", "http://example.com/a?a=1&b=2"),
        ("  http://example.com/a  ", "http://example.com/a"),
        ("http://127.0.0.2:8080/news/1.html?utm_source=rss#top", "http://127.0.0.2:8080/news/1.html"),
    ],
)
def test_normalise(url: str, expected: str) -> None:
    assert normalise(url) == expected


@pytest.mark.parametrize("url", ["", "ftp://example.com/a", "javascript:alert(1)", "http:///a", "example.com/a"])
def test_normalise_rejects_what_cannot_be_fetched(url: str) -> None:
    with pytest.raises(FetchError):
        normalise(url)


_segment = st.text(alphabet="abcXYZ019-_.~%", min_size=0, max_size=8)


@given(
    scheme=st.sampled_from(["http", "HTTP", "https"]),
    name=st.sampled_from(["Example.com", "news.example.org", "127.0.0.2"]),
    port=st.sampled_from(["", ":80", ":443", ":8080"]),
    path=st.lists(_segment, max_size=4),
    query=st.lists(st.tuples(st.sampled_from(["id", "utm_source", "page", "fbclid", "q"]), _segment), max_size=4),
    fragment=_segment,
)
@settings(max_examples=300, deadline=None)
def test_normalise_is_idempotent(
    scheme: str, name: str, port: str, path: list[str], query: list[tuple[str, str]], fragment: str
) -> None:
    url = f"{scheme}://{name}{port}/{'/'.join(path)}?{'&'.join(f'{k}={v}' for k, v in query)}#{fragment}"
    once = normalise(url)
    assert normalise(once) == once
    assert "#" not in once and "utm_source" not in once and "fbclid" not in once
    assert host(once) == name.lower()


def test_origin_and_host() -> None:
    assert origin("http://user@Example.com:8080/a?b") == "http://Example.com:8080"
    assert host("http://Example.com:8080/a") == "example.com"


# ---- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), ("90", 90), ("1.5m", 90), (" 5 M", 300)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "15x", "-5m", "1h-", "0s", "0.2s", "15m 3q"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**7))
def test_format_duration_reads_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_format_duration() -> None:
    assert [format_duration(s) for s in (900, 3600, 5400, 90, 86400)] == ["15m", "1h", "1h30m", "1m30s", "1d"]


# ---- feeds -----------------------------------------------------------------------------------

BASE = "http://news.example/"
RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"><channel>
 <title>News</title><link>http://news.example/</link>
 <item><title>One</title><link>/2026/one.html?utm_source=rss#c</link></item>
 <item><title>Two</title><link> http://news.example/2026/two.html </link></item>
 <item><title>Tracked</title><link>http://feeds.example/~r/x</link>
  <feedburner:origLink>http://news.example/2026/three.html</feedburner:origLink></item>
 <item><title>Guid only</title><guid>http://news.example/2026/four.html</guid></item>
 <item><title>Not a link</title><guid isPermaLink="false">tag:news.example,2026:5</guid></item>
 <item><title>Dup</title><link>http://news.example/2026/one.html</link></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title>
 <link rel="self" href="http://news.example/atom.xml"/><link href="http://news.example/"/>
 <entry><title>A</title><link rel="alternate" type="text/html" href="http://news.example/a.html"/>
  <link rel="enclosure" href="http://news.example/a.mp3"/><link rel="replies" href="http://news.example/a#c"/></entry>
 <entry><title>B</title><link href="b.html"/></entry>
</feed>"""
RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
 <channel rdf:about="http://news.example/"><title>N</title><link>http://news.example/</link></channel>
 <item rdf:about="http://news.example/r1.html"><title>1</title><link>http://news.example/r1.html</link></item>
 <item rdf:about="http://news.example/r2.html"><title>2</title></item>
</rdf:RDF>"""
JSON_FEED = b"""{"version": "https://jsonfeed.org/version/1.1", "title": "N",
 "items": [{"id": "1", "url": "http://news.example/j1.html"}, {"id": "http://news.example/j2.html"}, 7, {"id": "x"}]}"""


def test_rss_entries() -> None:
    assert feed_entries(RSS, BASE) == [
        "http://news.example/2026/one.html",
        "http://news.example/2026/two.html",
        "http://news.example/2026/three.html",  # feedburner:origLink over the tracking redirect
        "http://news.example/2026/four.html",
    ]


def test_atom_entries_take_the_alternate_link_only() -> None:
    assert feed_entries(ATOM, BASE) == ["http://news.example/a.html", "http://news.example/b.html"]


def test_rdf_and_json_feed_entries() -> None:
    assert feed_entries(RDF, BASE) == ["http://news.example/r1.html", "http://news.example/r2.html"]
    assert feed_entries(JSON_FEED, BASE) == ["http://news.example/j1.html", "http://news.example/j2.html"]


@pytest.mark.parametrize("body", [b"", b"not xml at all", b"<html><body>502 Bad Gateway</body></html>", b"{]", b"[1]"])
def test_junk_is_no_feed(body: bytes) -> None:
    assert feed_entries(body, BASE) == []
    assert kind_of(body) == "page"


def test_entities_are_not_expanded() -> None:
    xxe = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/hostname">]>
    <rss><channel><item><link>http://news.example/&x;</link></item></channel></rss>"""
    assert all("&" not in link and "localhost" not in link for link in feed_entries(xxe, BASE))


def test_kind_of() -> None:
    assert [kind_of(b) for b in (RSS, ATOM, RDF, JSON_FEED)] == ["feed"] * 4
    assert kind_of(SITEMAP) == "sitemap"
    assert kind_of(INDEX) == "sitemap"
    assert kind_of(b"<!doctype html><html><head></head><body>x</body></html>") == "page"


# ---- sitemaps --------------------------------------------------------------------------------

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
 <url><loc>http://news.example/s1.html</loc><image:image><image:loc>http://news.example/s1.jpg</image:loc></image:image></url>
 <url><loc>http://news.example/s2.html?utm_campaign=x</loc></url>
</urlset>"""
INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
 <sitemap><loc>http://news.example/sitemap-2026.xml</loc></sitemap>
 <sitemap><loc>http://news.example/sitemap-news.xml.gz</loc></sitemap>
</sitemapindex>"""


def test_sitemap_pages_without_their_images() -> None:
    listing = sitemap_entries(SITEMAP, BASE)
    assert listing.pages == ["http://news.example/s1.html", "http://news.example/s2.html"]
    assert listing.sitemaps == []


def test_sitemap_index() -> None:
    listing = sitemap_entries(INDEX, BASE)
    assert listing.pages == []
    assert listing.sitemaps == ["http://news.example/sitemap-2026.xml", "http://news.example/sitemap-news.xml.gz"]


def test_gzipped_and_text_sitemaps() -> None:
    assert sitemap_entries(gzip.compress(SITEMAP), BASE).pages == sitemap_entries(SITEMAP, BASE).pages
    text = b"http://news.example/t1.html\n\nhttp://news.example/t2.html\nnot a url\n"
    assert sitemap_entries(text, BASE).pages == ["http://news.example/t1.html", "http://news.example/t2.html"]
    assert sitemap_entries(b"<html><body>Not found</body></html>", BASE).pages == []


def test_read_dispatches_on_kind() -> None:
    assert read("sitemap", INDEX, BASE).sitemaps
    assert read("feed", RSS, BASE).pages == feed_entries(RSS, BASE)


# ---- pages and discovery ---------------------------------------------------------------------

HOME = b"""<html><head>
 <link rel="alternate" type="application/rss+xml" href="/feed.xml">
 <link rel="alternate" type="application/atom+xml; charset=utf-8" href="http://news.example/atom.xml?utm_source=x">
 <link rel="alternate" hreflang="de" href="/de/">
 <link rel="stylesheet" href="/site.css">
</head><body>
 <a href="/">Home</a><a href="/2026/story.html#top">Story</a><a href="2026/other.html">Other</a>
 <a href="http://elsewhere.example/story.html">Elsewhere</a><a href="/logo.png">logo</a>
 <a href="mailto:desk@news.example">mail</a><a href="/2026/story.html">again</a>
</body></html>"""


def test_discover_feeds_from_the_head() -> None:
    assert discover_feeds(HOME, BASE) == ["http://news.example/feed.xml", "http://news.example/atom.xml"]


def test_page_links_stay_on_the_host_and_skip_assets() -> None:
    assert page_links(HOME, BASE) == ["http://news.example/2026/story.html", "http://news.example/2026/other.html"]


def test_robots_sitemaps() -> None:
    robots = "User-agent: *\nDisallow: /private/\n" + "# filler\n" * 3000 + "Sitemap: http://news.example/s.xml\n"
    assert robots_sitemaps(robots, BASE) == ["http://news.example/s.xml"]
    assert robots_sitemaps("User-agent: *\nDisallow:\n", BASE) == []


# ---- robots.txt ------------------------------------------------------------------------------


def test_robots_rules() -> None:
    rules = RobotsRules(
        "User-agent: *\nDisallow: /private/\nCrawl-delay: 0.5\n\nUser-agent: copydesk\nDisallow: /nocopy/\n"
    )
    assert not rules.allowed("http://h/nocopy/a.html", UA)  # the group naming us
    assert rules.allowed("http://h/private/a.html", UA)  # a named group replaces the * group
    assert not rules.allowed("http://h/private/a.html", "otherbot/1.0")
    assert rules.crawl_delay("otherbot/1.0") == 1.0  # a fractional delay rounds up, not away
    assert RobotsRules("").allowed("http://h/anything", UA)
    assert RobotsRules("User-agent: *\nCrawl-delay: 999\n").crawl_delay(UA) == 60.0


# ---- source lists ----------------------------------------------------------------------------


def test_plain_source_list() -> None:
    data = b"\xef\xbb\xbf# my sources\nhttp://a.example/\n\n  http://b.example/feed.xml  \n#http://c.example/\n"
    assert parse_source_list(data) == [SourceSpec("http://a.example/"), SourceSpec("http://b.example/feed.xml")]


def test_opml() -> None:
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>subs</title></head><body>
 <outline text="News">
  <outline type="rss" text="Alpha" xmlUrl="http://a.example/feed.xml" htmlUrl="http://a.example/"/>
  <outline text="Beta site" htmlUrl="http://b.example/"/>
 </outline>
 <outline text="folder without urls"/>
 <outline title="Gamma" XMLURL=" http://c.example/rss "/>
</body></opml>"""
    assert parse_source_list(data) == [
        SourceSpec("http://a.example/feed.xml", "feed", "Alpha"),
        SourceSpec("http://b.example/", None, "Beta site"),
        SourceSpec("http://c.example/rss", "feed", "Gamma"),
    ]


def test_opml_must_be_opml() -> None:
    with pytest.raises(ValueError):
        parse_opml(b"<?xml version='1.0'?><rss></rss>")


# ---- the database side (SQLite and PostgreSQL) -----------------------------------------------


def test_add_update_list_remove(database_url: str) -> None:
    sessions = make_sessionmaker(make_engine(database_url))
    with sessions() as session, session.begin():
        _, created = add_source(session, "http://a.example/", "auto", 900)
        assert created
        _, created = add_source(session, "http://a.example/", "feed", 60)
        assert not created
    with sessions() as session:
        (row,) = list_sources(session)
        assert (row["url"], row["kind"], row["every_seconds"], row["polls"]) == ("http://a.example/", "feed", 60, 0)
    with sessions() as session, session.begin():
        assert remove_source(session, "http://a.example/")
        assert not remove_source(session, "http://a.example/")


def test_a_stale_claim_fails(database_url: str) -> None:
    """Two dispatchers read the same due source; the one that writes second must not claim it."""
    sessions = make_sessionmaker(make_engine(database_url))
    with sessions() as session, session.begin():
        add_source(session, "http://a.example/", "auto", 60)
    now = utcnow() + timedelta(seconds=1)
    with sessions() as session:
        first = due_sources(session, now)
    with sessions() as session:
        second = due_sources(session, now)
    assert first == second and len(first) == 1
    source_id, _, seen, every = first[0]
    with sessions() as session, session.begin():
        assert claim(session, source_id, seen, now, every)
    with sessions() as session, session.begin():
        assert not claim(session, source_id, seen, now, every)
    with sessions() as session:
        assert session.scalar(select(Source.next_poll)) == now + timedelta(seconds=60)


def test_racing_dispatchers_claim_each_source_once(database_url: str) -> None:
    sessions = make_sessionmaker(make_engine(database_url))
    with sessions() as session, session.begin():
        for i in range(60):
            add_source(session, f"http://s{i}.example/", "auto", 3600)
    now = utcnow() + timedelta(seconds=1)
    claimed: list[str] = []
    start = threading.Barrier(6)

    def dispatcher() -> None:
        start.wait()
        with sessions() as session, session.begin():
            claimed.extend(claim_due(session, now))

    threads = [threading.Thread(target=dispatcher) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(f"http://s{i}.example/" for i in range(60))
    with sessions() as session, session.begin():
        assert claim_due(session, now) == []  # nothing is due again until its period is over


def test_entries_are_claimed_once(database_url: str) -> None:
    sessions = make_sessionmaker(make_engine(database_url))
    with sessions() as session, session.begin():
        source, _ = add_source(session, "http://a.example/", "auto", 60)
        other, _ = add_source(session, "http://b.example/", "auto", 60)
        urls = [f"http://a.example/{i}.html" for i in range(1200)]  # more than one statement's worth
        assert claim_entries(session, source.id, urls[:700]) == (urls[:700], True)
        assert claim_entries(session, other.id, [urls[5], *urls[650:], urls[650]]) == (urls[700:], True)
    with sessions() as session:
        assert session.scalar(select(SourceEntry.source_id).where(SourceEntry.url == urls[5])) == source.id
        assert len(list(session.scalars(select(SourceEntry.url)))) == 1200
        assert session.scalar(select(Document.id)) is None


def test_a_long_listing_is_claimed_in_batches(database_url: str) -> None:
    sessions = make_sessionmaker(make_engine(database_url))
    urls = [f"http://a.example/{i}.html" for i in range(1300)]
    with sessions() as session, session.begin():
        source, _ = add_source(session, "http://a.example/", "auto", 60)
        first, complete = claim_entries(session, source.id, urls, limit=600)
        assert not complete and first == urls[:1000]  # whole statements: 500 at a time, stopping past 600
        second, complete = claim_entries(session, source.id, urls, limit=600)
        assert complete and second == urls[1000:]


# ---- the command line (no broker needed) -----------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COPYDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COPYDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.delenv("COPYDESK_REDIS_URL", raising=False)
    return tmp_path


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_sources_commands(cli_env: Path) -> None:
    assert "no sources" in _run("sources", "list").output
    added = _run("sources", "add", "HTTP://News.Example/?utm_source=x", "--every", "1h30m")
    assert added.exit_code == 0 and "added http://news.example/ (auto, every 1h30m)" in added.output
    again = _run("sources", "add", "http://news.example/", "--kind", "feed")
    assert "updated http://news.example/ (feed, every 1h30m)" in again.output  # what is not given stays
    listing = cli_env / "list.txt"
    listing.write_text("# mine\nhttp://a.example/\nftp://b.example/\nhttp://news.example/\n")
    imported = _run("sources", "import", str(listing), "--kind", "sitemap")
    assert "added 1, updated 1, invalid 1" in imported.output
    rows = json.loads(_run("sources", "list", "--json").output)
    assert [(r["url"], r["kind"], r["every_seconds"]) for r in rows] == [
        ("http://news.example/", "sitemap", 5400),  # the kind was given, the interval was not: it stays
        ("http://a.example/", "sitemap", 900),
    ]
    table = _run("sources", "list").output
    assert "http://a.example/" in table and "15m" in table
    assert "removed http://a.example/" in _run("sources", "remove", "http://a.example").output
    missing = _run("sources", "remove", "http://a.example/")
    assert missing.exit_code == 1 and "no such source: http://a.example/" in missing.output
    assert _run("sources", "poll", "http://nowhere.example/").exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sources", "add", "http://a.example/", "--every", "soon"], "not a duration"),
        (["sources", "add", "http://a.example/", "--kind", "rss"], "Invalid value for '--kind'"),
        (["sources", "add", "javascript:alert(1)"], "not a source URL"),
    ],
)
def test_sources_add_rejects(cli_env: Path, args: list[str], message: str) -> None:
    result = _run(*args)
    assert result.exit_code != 0 and message in result.output


def test_status_without_a_broker(cli_env: Path) -> None:
    result = _run("status")
    assert result.exit_code == 0
    assert "queue: unknown (no broker" in result.output
    assert "documents: 0 (0 in the last hour)" in result.output and "sources: 0 (0 due, 0 failing)" in result.output
