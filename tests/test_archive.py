"""storage/: the archive on SQLite and PostgreSQL with the Redis index (real servers)."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import delete, func, or_, select, update

from ingest.document import Article
from ingest.extract import extract
from storage.archive import Archive, Arrival
from storage.db import insert_rows, make_engine, make_sessionmaker, reading, update_rows, upgrade
from storage.fingerprints import make, packed, to_article
from storage.index import Filing, IndexIncomplete, NearDupIndex, RedisIndex
from storage.models import Cluster, Document, Match
from storage.queries import cluster_detail
from storage.verification import TRIES_PER_CLUSTER
from tests.conftest import SEEDS
from tests.devsubset import assert_sound, batch_answer, hard_slice

MOSUL = {"southfront-original.html", "globalresearch-repost.html", "blog-repost.html"}
# What an archive learns from its documents, in the order they can be emptied.
ARCHIVE_TABLES = ("matches", "host_paragraphs", "template_sentences", "network_sentences", "documents", "clusters")


def seed_clusters(archive: Archive, order: list[str]) -> set[frozenset[str]]:
    for name in order:
        archive.add_html((SEEDS / name).read_bytes(), key=f"file:{name}")
    return clusters_by_name(archive)


def clusters_by_name(archive: Archive) -> set[frozenset[str]]:
    groups: dict[int | None, set[str]] = {}
    with archive.sessions() as session:
        for url, cluster_id in session.execute(select(Document.url, Document.cluster_id)):
            groups.setdefault(cluster_id, set()).add(url.removeprefix("file:"))
    return {frozenset(g) for g in groups.values()}


def canonical_name(archive: Archive, member: str) -> str:
    with archive.sessions() as session:
        cluster_id = session.scalar(select(Document.cluster_id).where(Document.url == f"file:{member}"))
        canonical_id = session.scalar(select(Cluster.canonical_id).where(Cluster.id == cluster_id))
        return str(session.scalar(select(Document.url).where(Document.id == canonical_id))).removeprefix("file:")


def test_seeds_cluster_the_same_in_any_order(archive: Archive, redis_client: redis.Redis) -> None:
    names = sorted(p.name for p in SEEDS.glob("*.html"))
    expected = {
        frozenset(MOSUL),
        frozenset({"blog-original-003.html"}),
        frozenset({"globalresearch-other.html"}),
    }
    rng = random.Random(7)
    for _ in range(3):
        order = names[:]
        rng.shuffle(order)
        with archive.sessions() as session, session.begin():
            for table in ARCHIVE_TABLES:
                session.execute(Document.metadata.tables[table].delete())
        redis_client.flushdb()
        assert seed_clusters(archive, order) == expected, order
        assert canonical_name(archive, "blog-repost.html") == "southfront-original.html", order


def test_same_url_is_stored_once(archive: Archive) -> None:
    html = (SEEDS / "southfront-original.html").read_bytes()
    first = archive.add_html(html, key="https://southfront.org/a")
    second = archive.add_html(html, key="https://southfront.org/a")
    assert first.created and not second.created and first.document_id == second.document_id
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 1


def test_repair_settles_a_document_a_crash_left_half_done(archive: Archive) -> None:
    archive.add_html((SEEDS / "southfront-original.html").read_bytes(), key="file:southfront-original.html")
    article = extract((SEEDS / "blog-repost.html").read_bytes())
    arrival = Arrival(article, "file:blog-repost.html", article.url)
    keys = [arrival.storage_key]
    doc_id = archive._store([arrival], keys, archive._prepare([arrival], keys)).ids[keys[0]]  # the crash: no settle
    with archive.sessions() as session:
        assert session.get(Document, doc_id).clustered is False  # type: ignore[union-attr]
    assert archive.repair(until=time.monotonic()) == 0  # out of time: no chunk starts, the next run settles it
    assert archive.repair() == 1
    assert frozenset({"southfront-original.html", "blog-repost.html"}) in clusters_by_name(archive)
    assert archive.repair() == 0


def test_requeueing_a_half_done_document_finishes_it(archive: Archive) -> None:
    archive.add_html((SEEDS / "southfront-original.html").read_bytes(), key="file:southfront-original.html")
    html = (SEEDS / "blog-repost.html").read_bytes()
    article = extract(html)
    arrival = Arrival(article, "file:blog-repost.html", article.url)
    keys = [arrival.storage_key]
    doc_id = archive._store([arrival], keys, archive._prepare([arrival], keys)).ids[keys[0]]  # the crash: no settle
    again = archive.add_html(html, key="file:blog-repost.html")  # the task delivered again
    assert again.created and again.document_id == doc_id  # the crashed delivery reported nothing: stored now
    assert frozenset({"southfront-original.html", "blog-repost.html"}) in clusters_by_name(archive)
    assert archive.repair() == 0


def test_concurrent_copies_end_in_one_cluster(database_url: str, redis_client: redis.Redis) -> None:
    """4 copies of one story added at the same moment by 4 archives (own engines): one cluster, 20 times."""
    pages = [(SEEDS / name).read_bytes() for name in sorted(MOSUL)]
    pages.append(pages[0].replace(b"<title>", b"<title>Republished: "))  # a fourth copy
    archives = [
        Archive(
            make_sessionmaker(make_engine(database_url)),
            RedisIndex(
                redis.Redis.from_url(_url(redis_client)),
                "test",
            ),
        )
        for _ in pages
    ]
    for run in range(20):
        barrier = threading.Barrier(len(pages))
        errors: list[BaseException] = []

        def add(
            i: int, run: int = run, barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
        ) -> None:
            try:
                barrier.wait()
                archives[i].add_html(pages[i], key=f"https://copy{i}.example/run{run}")
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=add, args=(i,)) for i in range(len(pages))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        with archives[0].sessions() as session:
            clusters = set(session.scalars(select(Document.cluster_id).where(Document.url.like(f"%/run{run}"))))
        assert len(clusters) == 1, f"run {run}: {len(clusters)} clusters"


def _url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def partition(archive: Archive, name_of: dict[str, str]) -> tuple[set[frozenset[str]], set[str]]:
    """(clusters, canonicals of multi-page clusters) by page name, for pages keyed in name_of."""
    groups: dict[int | None, set[str]] = {}
    with archive.sessions() as session:
        for url, cluster_id in session.execute(select(Document.url, Document.cluster_id)):
            groups.setdefault(cluster_id, set()).add(name_of[url])
        canonicals = {
            name_of[url]
            for url in session.scalars(
                select(Document.url).join(Cluster, Cluster.canonical_id == Document.id).where(Cluster.size > 1)
            )
        }
    return {frozenset(g) for g in groups.values()}, canonicals


def test_hard_slice_is_the_same_in_any_order(tmp_path: Path, redis_client: redis.Redis) -> None:
    corpus = hard_slice()
    rng = random.Random(11)
    for run in range(3):
        order = sorted(corpus.pages)
        rng.shuffle(order)
        redis_client.flushdb()
        url = f"sqlite:///{tmp_path / f'run{run}.db'}"
        upgrade(url)
        archive = Archive(make_sessionmaker(make_engine(url)), RedisIndex(redis_client, "test"))
        for name in order:
            archive.add_html(corpus.pages[name], key=f"file:{name}")
        clusters, canonicals = partition(archive, {f"file:{n}": n for n in corpus.pages})
        assert clusters == batch_answer(), f"order {order}"
        assert_sound(clusters, canonicals, corpus)


def test_hard_slice_in_batches_matches_one_by_one(database_url: str, redis_client: redis.Redis) -> None:
    """`add_many` (what `copydesk dedup` uses) in batches of random sizes, shuffled: the same answer."""
    corpus = hard_slice()
    articles = {name: extract(html) for name, html in corpus.pages.items()}
    rng = random.Random(5)
    for run in range(3):
        order = sorted(corpus.pages)
        rng.shuffle(order)
        archive = Archive(make_sessionmaker(make_engine(database_url)), RedisIndex(redis_client, f"batch{run}"))
        with archive.sessions() as session, session.begin():
            for table in ARCHIVE_TABLES:
                session.execute(Document.metadata.tables[table].delete())
        keys = {f"file:{run}:{name}": name for name in order}
        start = 0
        while start < len(order):
            size = rng.choice([1, 2, 7, 20, 56])
            part = order[start : start + size]
            stored = archive.add_many([Arrival(articles[name], key=f"file:{run}:{name}") for name in part])
            assert [s.created for s in stored] == [True] * len(part)
            assert all(s.cluster_id is not None for s in stored)
            start += size
        clusters, canonicals = partition(archive, keys)
        assert clusters == batch_answer(), f"order {order}"
        assert_sound(clusters, canonicals, corpus)


def test_a_batch_stores_each_key_once(archive: Archive) -> None:
    original = extract((SEEDS / "southfront-original.html").read_bytes())
    copy = extract((SEEDS / "blog-repost.html").read_bytes())
    first = archive.add_many([Arrival(original, key="k1")])
    again = archive.add_many([Arrival(copy, key="k2"), Arrival(original, key="k1"), Arrival(copy, key="k2")])
    assert [s.created for s in again] == [True, False, False]
    assert again[1].document_id == first[0].document_id and again[0].document_id == again[2].document_id
    assert len({s.cluster_id for s in again}) == 1  # the copy joined the original's cluster
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 2


def _reworded(paragraph: str) -> str:
    """Every fifth word replaced: most of the sentence's shingles change, some survive (an edit)."""
    return " ".join(f"w{i}" if i % 5 == 4 else word for i, word in enumerate(paragraph.split()))


def test_a_document_joining_two_clusters_merges_them(archive: Archive) -> None:
    """Two copies edited in different halves are not each other's duplicates, so two clusters, until the
    unedited story arrives, a duplicate of both: then they are one, under the older cluster id."""
    whole = extract((SEEDS / "southfront-original.html").read_bytes())
    paragraphs = whole.paragraphs
    half = len(paragraphs) // 2
    first_edit = [_reworded(p) for p in paragraphs[:half]] + paragraphs[half:]
    second_edit = paragraphs[:half] + [_reworded(p) for p in paragraphs[half:]]
    first = archive.add(Article(text="\n".join(first_edit), host="a.example"), key="first-edit")
    second = archive.add(Article(text="\n".join(second_edit), host="b.example"), key="second-edit")
    assert first.cluster_id != second.cluster_id
    joined = archive.add(whole, key="whole")
    assert joined.cluster_id == min(first.cluster_id or 0, second.cluster_id or 0)
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Cluster)) == 1
        assert session.scalar(select(Cluster.size)) == 3


def test_a_later_text_opening_with_prose_of_its_own_quotes_what_it_holds(archive: Archive) -> None:
    """A text that starts with prose of its own before the shared passage, and is later, quotes it: the
    earlier text (here the second half of the story) stays apart, and does not pull the first half, an
    excerpt of the later text, into its cluster."""
    whole = extract((SEEDS / "southfront-original.html").read_bytes())
    paragraphs = whole.paragraphs
    half = len(paragraphs) // 2
    day = datetime(2020, 1, 1, tzinfo=UTC)
    first = archive.add(Article(text="\n".join(paragraphs[:half]), host="a.example", published=day), key="first-half")
    second = archive.add(Article(text="\n".join(paragraphs[half:]), host="b.example", published=day), key="second-half")
    joined = archive.add(dataclasses.replace(whole, published=day + timedelta(days=1)), key="whole")
    assert joined.cluster_id == first.cluster_id
    assert archive_cluster(archive, second.document_id) != joined.cluster_id


def archive_cluster(archive: Archive, doc_id: int) -> int | None:
    with archive.sessions() as session:
        return session.scalar(select(Document.cluster_id).where(Document.id == doc_id))


def matches_of(archive: Archive, doc_id: int) -> list[tuple[int, int]]:
    with archive.sessions() as session:
        where = or_(Match.low_id == doc_id, Match.high_id == doc_id)
        return [(m.low_id, m.high_id) for m in session.scalars(select(Match).where(where))]


def test_a_big_cluster_costs_a_new_copy_few_comparisons(archive: Archive) -> None:
    """Nine excerpts of the story's start, then a copy whose start is reworded: only the original holds
    the rest. It is compared with the canonical first and joins. A whole copy then, which matches all
    eleven, is compared with the canonical only: one match is recorded, not eleven."""
    original = extract((SEEDS / "southfront-original.html").read_bytes())
    paragraphs = original.paragraphs
    story = archive.add(original, key="original")
    for i in range(TRIES_PER_CLUSTER + 1):
        excerpt = Article(text="\n".join(paragraphs[:4]), host=f"start{i}.example", url=f"https://start{i}.example/")
        assert archive.add(excerpt, key=f"start{i}").cluster_id == story.cluster_id
    reworded = [_reworded(p) for p in paragraphs[:4]] + paragraphs[4:]
    end = archive.add(Article(text="\n".join(reworded), host="end.example"), key="end")
    assert end.cluster_id == story.cluster_id
    assert matches_of(archive, end.document_id) == [(story.document_id, end.document_id)]
    copy = archive.add(Article(text=original.text, host="copy.example"), key="copy")
    assert copy.cluster_id == story.cluster_id
    assert matches_of(archive, copy.document_id) == [(story.document_id, copy.document_id)]
    with archive.sessions() as session:
        assert session.scalar(select(Cluster.size).where(Cluster.id == story.cluster_id)) == TRIES_PER_CLUSTER + 4


def test_a_story_copied_more_often_than_a_key_holds_stays_one_cluster(
    archive: Archive, redis_client: redis.Redis
) -> None:
    """Every copy fills the same index keys, and a key stops taking documents after max_bucket of them.
    Later copies must still find the story through the first documents filed (they each made a cluster
    of their own when a full key returned nothing: a wire story on more than 64 sites split apart)."""
    index = RedisIndex(redis_client, "full-keys", max_bucket=3)
    index.clear()
    archive = Archive(archive.sessions, index)
    text = extract((SEEDS / "southfront-original.html").read_bytes()).text
    stored = [
        archive.add(Article(text=f"Republished from South Front.\n{text}", host=f"copy{i}.example"), key=f"copy{i}")
        for i in range(12)
    ]
    assert {s.cluster_id for s in stored} == {stored[0].cluster_id}


def test_a_copy_on_its_own_host_repeating_its_headline_tells_the_same_story(archive: Archive) -> None:
    """Extraction often keeps a page's headline as its first line. A second URL of a story on its own host whose
    text lost the opening paragraph and starts with its headline instead adds no prose of its own by it: what
    it shares with the first page is their story, not the host's chrome."""
    article = extract((SEEDS / "southfront-original.html").read_bytes())
    headline = "Mosul: the last stand of the jihadists is near. Will the old city fall by summer?"
    first = Article(text=article.text, title=headline, host="news.example", url="https://news.example/story")
    second = Article(
        text="\n".join([headline, *article.paragraphs[1:]]),
        title=headline,
        host="news.example",
        url="https://news.example/amp/story",
    )
    stored = [archive.add(first, key="story"), archive.add(second, key="amp")]
    assert stored[0].cluster_id == stored[1].cluster_id
    with reading(archive.sessions) as session:
        docs = [session.get_one(Document, s.document_id) for s in stored]
        assert archive.fingerprints.chrome_of(session, docs) == {doc.id: frozenset() for doc in docs}


def excerpt_page(paragraphs: list[str], link: str | None) -> str:
    """A site's page holding a story's first paragraphs and, when `link` is given, "Continue reading at" it, then
    the site's author box and its courses' blurbs: more prose of the site's own than the excerpt holds."""
    read_on = f'<p>Continue reading at <a href="{link}">the original</a></p>' if link else ""
    chrome = [
        "Pamela Wilson is an online educator, author and keynote speaker, and the founder of a design studio.",
        "Her courses have taught thousands of small business owners how to build a brand that stands out.",
        "Click to watch free on-demand training about running an online business and visual marketing.",
        "I want to help you take the next step, so pick your free workshop topic and let us get started today.",
    ]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>Mosul</title></head><body><article><h1>Mosul</h1>{body}{read_on}"
        f"{''.join(f'<p>{c}</p>' for c in chrome)}</article></body></html>"
    )


def test_an_excerpt_linking_its_original_joins_it_under_its_sites_prose(archive: Archive) -> None:
    """An excerpt on a site with one page, which adds more prose of its own after it than it holds: alone by its
    text, the original's by its link to it; `copydesk show` says so."""
    story = SEEDS / "southfront-original.html"
    original = archive.add_html(story.read_bytes(), key="original", url="https://southfront.example/mosul")
    paragraphs = extract(story.read_bytes()).paragraphs[:2]
    alone = archive.add_html(excerpt_page(paragraphs, None), key="unlinked", url="https://blog.example/a")
    assert alone.cluster_id != original.cluster_id
    linked = archive.add_html(
        excerpt_page(paragraphs, "https://southfront.example/mosul/"), key="linked", url="https://shop.example/b"
    )
    assert linked.cluster_id == original.cluster_id is not None
    with reading(archive.sessions) as session:
        detail = cluster_detail(session, original.cluster_id)
    assert detail is not None
    copy = next(copy for copy in detail["copies"] if copy["id"] == linked.document_id)
    assert copy["relation"] == "excerpt" and copy["explanation"]["linked"]
    # The page without the link is the same text as the linked one: it follows it, as a copy of a copy.
    assert {copy["id"]: copy["explanation"]["linked"] for copy in detail["copies"]} == {
        linked.document_id: True,
        alone.document_id: False,
    }


@pytest.mark.parametrize("edition_first", [True, False])
def test_a_sites_edition_declaring_its_story_is_a_copy_not_its_chrome(archive: Archive, edition_first: bool) -> None:
    """The site's newsletter edition carries its story under a greeting and a footer of its own, and declares the
    story's page its rel=canonical; the story's page has a standfirst the edition left out. Each adds prose of its
    own, so by their paragraphs the two would be two stories sharing the site's chrome, the story itself; the
    publisher's word makes them copies of one another, and the story stays theirs (ingest.boilerplate)."""
    story = extract((SEEDS / "southfront-original.html").read_bytes()).paragraphs[:6]
    title = "US-backed operation in Mosul approaches its final phase"
    pages = {
        "story": Article(
            text="\n".join(["A standfirst: how a months-long battle for the city came to its last streets.", *story]),
            title=title,
            host="news.example",
            url="https://news.example/2017/05/mosul",
        ),
        "edition": Article(
            text="\n".join(
                [
                    "Good morning, and welcome to the briefing: one story that mattered this week, in full.",
                    *story,
                    "Thanks for reading. The briefing returns on Monday with the week's other stories.",
                ]
            ),
            title=title,
            host="news.example",
            url="https://news.example/newsletter/2017-05-09/daily",
            canonical_url="https://news.example/2017/05/mosul",
        ),
    }
    order = ["edition", "story"] if edition_first else ["story", "edition"]
    stored = {name: archive.add(pages[name], key=name) for name in order}
    assert stored["edition"].cluster_id == stored["story"].cluster_id is not None


@pytest.mark.parametrize("order", [("story", "excerpt", "table"), ("table", "excerpt", "story")])
def test_a_table_page_quoting_a_story_stays_apart_from_it_and_its_excerpt(
    archive: Archive, order: tuple[str, ...]
) -> None:
    """A later page whose own text is a table (standings) quotes the story's first two paragraphs under its own
    headline; an excerpt of the same two paragraphs keeps the story's. By their prose both are excerpts of the story
    and each other's duplicate; by their headlines the table page is another story (ingest.relation.named)."""
    story = (SEEDS / "southfront-original.html").read_bytes()
    headline = extract(story).title
    paragraphs = extract(story).paragraphs[:2]
    rows = "".join(f"<tr><td>{n}</td><td>Driver {n}</td><td>{5100 - 13 * n}</td></tr>" for n in range(9))

    def page(title: str, body: str) -> str:
        return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>"

    quoted = "".join(f"<p>{p}</p>" for p in paragraphs)
    pages: dict[str, str | bytes] = {
        "story": story,
        "excerpt": page(str(headline), quoted),
        "table": page(
            "NASCAR Cup Series standings after the last race",
            f"<p>As previously reported by SouthFront,</p>{quoted}<table>{rows}</table>",
        ),
    }
    hosts = {"story": "southfront.example", "excerpt": "digest.example", "table": "racing.example"}
    stored = {name: archive.add_html(pages[name], key=name, url=f"https://{hosts[name]}/{name}") for name in order}
    assert stored["excerpt"].cluster_id == stored["story"].cluster_id != stored["table"].cluster_id


@pytest.mark.parametrize("excerpt_first", [True, False])
def test_an_excerpt_joins_its_story_not_an_older_report_holding_part_of_it(
    archive: Archive, excerpt_first: bool
) -> None:
    """An excerpt inside its story and inside an older report of the same event that shares three of its four
    paragraphs: it joins the story, which holds all of it, in any arrival order; the report stays alone."""
    paragraphs = extract((SEEDS / "southfront-original.html").read_bytes()).paragraphs
    other = extract((SEEDS / "blog-original-003.html").read_bytes()).paragraphs
    day = datetime(2020, 1, 1, tzinfo=UTC)
    pages = {
        "report": Article(text="\n".join([*paragraphs[:3], *other[1:4]]), host="a.example", published=day),
        "story": Article(text="\n".join(paragraphs[:7]), host="b.example", published=day + timedelta(days=1)),
        "excerpt": Article(text="\n".join(paragraphs[:4]), host="c.example", published=day + timedelta(days=2)),
    }
    order = ["excerpt", "report", "story"] if excerpt_first else ["report", "story", "excerpt"]
    stored = {name: archive.add(pages[name], key=name) for name in order}
    cluster = {name: archive_cluster(archive, found.document_id) for name, found in stored.items()}
    assert cluster["excerpt"] == cluster["story"] != cluster["report"]


def page_and_promo() -> tuple[Article, Article]:
    """Two pages of one host; the second carries the first's opening paragraph (a promo box), which makes
    that paragraph the host's chrome: the first page must then be fingerprinted again without it."""
    article = extract((SEEDS / "southfront-original.html").read_bytes())
    page = Article(text=article.text, host="news.example", url="https://news.example/story")
    promo = Article(
        text=article.paragraphs[0] + "\n" + extract((SEEDS / "blog-original-003.html").read_bytes()).text,
        host="news.example",
        url="https://news.example/other",
    )
    return page, promo


def assert_fingerprint_is_current(archive: Archive, doc_id: int) -> None:
    """The document is settled, with the fingerprint its host's chrome now gives it (which that chrome changed)."""
    with reading(archive.sessions) as session:
        doc = session.get_one(Document, doc_id)
        boilerplate = archive.fingerprints.network_of(session, [doc])[doc.id]
        now = archive.fingerprints.of(doc, archive.fingerprints.chrome_of(session, [doc])[doc.id], boilerplate)
        before = archive.fingerprints.of(doc, frozenset(), boilerplate)
    assert now.index_keys != before.index_keys, "the shared paragraph did not change the fingerprint"
    assert doc.clustered and doc.index_keys == " ".join(now.index_keys), "settled with a stale fingerprint"


class Interrupting:
    """The archive's index, which calls `meanwhile()` once during the next look-up: another worker's
    work landing between a document's look-up and the recording of its cluster."""

    def __init__(self, index: NearDupIndex) -> None:
        self.index = index
        self.meanwhile: Callable[[], object] | None = None

    def add_and_query_many(self, documents: Sequence[Filing]) -> list[set[int]]:
        found = self.index.add_and_query_many(documents)
        if self.meanwhile:
            interrupt, self.meanwhile = self.meanwhile, None
            interrupt()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)


def test_a_document_re_fingerprinted_while_it_settles_keeps_the_new_fingerprint(archive: Archive) -> None:
    """While a page settles, another worker stores a second page of its host that shares one of its
    paragraphs: that paragraph is now the host's chrome, and the other worker re-fingerprints and
    settles the first page. The first settle, done with the old fingerprint, must not then record it."""
    page, promo = page_and_promo()
    other_worker = Archive(archive.sessions, archive.index)
    interrupting = Interrupting(archive.index)
    archive.index = interrupting
    interrupting.meanwhile = lambda: other_worker.add(promo, key="other")
    stored = archive.add(page, key="story")
    assert_fingerprint_is_current(archive, stored.document_id)


class LosesItsEntriesOnce:
    """The archive's index, whose next look-up is refused as a Redis that just lost the index refuses it."""

    def __init__(self, index: NearDupIndex) -> None:
        self.index = index
        self.armed = True

    def add_and_query_many(self, documents: Sequence[Filing]) -> list[set[int]]:
        if self.armed:
            self.armed = False
            raise IndexIncomplete("lost")
        return self.index.add_and_query_many(documents)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)


def test_a_batch_stopped_after_storing_leaves_its_stale_documents_to_its_retry(archive: Archive) -> None:
    """A page makes a paragraph its host's chrome, so an older page of that host must be re-fingerprinted;
    but the batch stops before (its look-up refused: Redis lost the index, or was unreachable). Its retry,
    which finds the page already stored, still re-fingerprints the older page."""
    page, promo = page_and_promo()
    older = archive.add(page, key="story")
    archive.index = LosesItsEntriesOnce(archive.index)
    with pytest.raises(IndexIncomplete):
        archive.add(promo, key="other")
    retried = archive.add(promo, key="other")  # the task's retry
    assert retried.created, "the retry completed the first store: the page is stored, not known"
    assert not archive.add(promo, key="other").created  # from now on the URL is known
    assert_fingerprint_is_current(archive, older.document_id)
    with reading(archive.sessions) as session:
        assert session.scalar(select(func.count()).where(Document.clustered.is_(False))) == 0
    assert archive.repair() == 0


def test_a_page_queued_again_while_stale_is_known(archive: Archive) -> None:
    """An older page left unsettled because new chrome made it stale was stored and clustered once: queued
    again, it is known, not stored."""
    page, promo = page_and_promo()
    archive.add(page, key="story")
    archive.index = LosesItsEntriesOnce(archive.index)
    with pytest.raises(IndexIncomplete):
        archive.add(promo, key="other")  # makes "story" stale, then stops
    again = archive.add(page, key="story")
    assert not again.created and again.cluster_id is not None


def test_an_index_that_lost_its_entries_is_filled_again_from_storage(archive: Archive) -> None:
    """Redis flushed (or a new index layout): a copy arriving then misses the story it copies. reindex()
    files every settled document again from what storage holds, and the next copy finds the story."""
    original = archive.add_html((SEEDS / "southfront-original.html").read_bytes(), key="original")
    archive.index.clear()
    missed = archive.add_html((SEEDS / "globalresearch-repost.html").read_bytes(), key="missed")
    assert missed.cluster_id != original.cluster_id  # what a lost index costs
    assert archive.reindex() == 2
    found = archive.add_html((SEEDS / "blog-repost.html").read_bytes(), key="found")
    assert found.cluster_id in (original.cluster_id, missed.cluster_id)
    assert clusters_by_name(archive) >= {frozenset({"original", "missed", "found"})}
    assert archive.reindex(since=datetime.now(UTC) + timedelta(days=1)) == 0  # none fetched since


def test_canonical_is_re_elected_when_the_original_arrives(archive: Archive) -> None:
    for name in ("globalresearch-repost.html", "blog-repost.html"):
        archive.add_html((SEEDS / name).read_bytes(), key=f"file:{name}")
    # Neither copy credits the other, so the one with the earlier declared date leads for now.
    assert canonical_name(archive, "blog-repost.html") != "southfront-original.html"
    archive.add_html((SEEDS / "southfront-original.html").read_bytes(), key="file:southfront-original.html")
    assert canonical_name(archive, "blog-repost.html") == "southfront-original.html"
    with archive.sessions() as session:
        reason = session.scalar(select(Cluster.canonical_reason).where(Cluster.size == 3))
    assert reason is not None and "credited by" in reason


def test_migrations_give_the_models_schema(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    with make_engine(database_url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_an_election_fills_in_attributions_stored_before_they_were_kept(archive: Archive) -> None:
    """Documents from before migration 0003 have no attributions: the next election reads their text."""
    for name in ("southfront-original.html", "globalresearch-repost.html"):
        archive.add_html((SEEDS / name).read_bytes(), key=f"file:{name}")
    with archive.sessions() as session, session.begin():
        session.execute(update(Document).values(attributions=None))
    archive.add_html((SEEDS / "blog-repost.html").read_bytes(), key="file:blog-repost.html")
    assert canonical_name(archive, "globalresearch-repost.html") == "southfront-original.html"
    with archive.sessions() as session:
        kept = dict(session.execute(select(Document.url, Document.attributions)).all())
    assert None not in kept.values()
    assert "original source" in (kept["file:globalresearch-repost.html"] or "").lower()


def test_reads_do_not_wait_for_a_writer_on_sqlite(tmp_path: Path) -> None:
    """Look-up and verification read while another worker holds SQLite's write lock; writers still queue."""
    url = f"sqlite:///{tmp_path / 'lock.db'}"
    upgrade(url)
    writer, other = make_sessionmaker(make_engine(url)), make_sessionmaker(make_engine(url))
    with writer() as holding, holding.begin():
        holding.execute(delete(Document))  # BEGIN IMMEDIATE: the write lock is held from here
        with reading(other) as session:
            assert session.scalar(select(func.count()).select_from(Document)) == 0
        blocked = sqlite3.connect(tmp_path / "lock.db", timeout=0.2, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            blocked.execute("BEGIN IMMEDIATE")  # a second writer still waits: the lock was really held
        blocked.close()


def test_rows_are_inserted_and_updated_many_at_once(database_url: str) -> None:
    # On PostgreSQL these go as one statement of column arrays: NULLs, bytes and booleans must come through.
    sessions = make_sessionmaker(make_engine(database_url))
    with sessions() as session, session.begin():
        docs = [
            Document(url=f"https://s{i}.example/a", text="t", content_hash=str(i), fp_params="p", signature=b"")
            for i in range(3)
        ]
        session.add_all(docs)
        session.flush()
        ids = [doc.id for doc in docs]
        insert_rows(session, Match, [{"low_id": ids[0], "high_id": ids[1], "jaccard": 0.5, "containment": 0.75}])
        update_rows(
            session,
            Document,
            [
                {"id": ids[0], "title": None, "signature": b"\x00\x01", "clustered": True},
                {"id": ids[2], "title": "Vote", "signature": b"", "clustered": False},
            ],
        )
        insert_rows(session, Match, [])
        update_rows(session, Document, [])
    with sessions() as session:
        rows = session.execute(select(Document.id, Document.title, Document.signature, Document.clustered)).all()
        assert sorted(tuple(row) for row in rows) == [
            (ids[0], None, b"\x00\x01", True),
            (ids[1], None, b"", False),
            (ids[2], "Vote", b"", False),
        ]
        match = session.scalars(select(Match)).one()
        assert (match.low_id, match.high_id, match.jaccard, match.containment) == (ids[0], ids[1], 0.5, 0.75)


def test_a_settled_documents_stored_chrome_gives_its_signature(database_url: str, redis_client: redis.Redis) -> None:
    # Verification reads a settled candidate's chrome from the document instead of counting its host's
    # paragraphs: both must give the signature it was settled with. The hard slice has hosts whose
    # disclaimers become chrome as their pages arrive, which unsettles the pages before them.
    corpus = hard_slice()
    archive = Archive(make_sessionmaker(make_engine(database_url)), RedisIndex(redis_client, "chrome"))
    order = sorted(corpus.pages)
    random.Random(3).shuffle(order)
    for start in range(0, len(order), 7):
        archive.add_many([Arrival(extract(corpus.pages[name]), key=name) for name in order[start : start + 7]])
    with archive.sessions() as session:
        docs = list(session.scalars(select(Document)))
        counted = archive.fingerprints.chrome_of(session, docs)
    assert all(doc.clustered and doc.chrome is not None for doc in docs)
    assert sum(bool(doc.chrome) for doc in docs) >= 3
    for doc in docs:
        stored = frozenset(map(int, (doc.chrome or "").split()))
        for chrome in (stored, counted[doc.id]):
            fp = make(to_article(doc), archive.params, chrome, frozenset())
            assert packed(fp) == doc.signature, doc.url


@pytest.mark.parametrize(
    "order", [("brief", "syndicated", "wrapped", "quoting"), ("quoting", "wrapped", "syndicated", "brief")]
)
def test_a_brief_copied_under_notices_joins_it_by_its_headline(archive: Archive, order: tuple[str, ...]) -> None:
    """A news site's brief (a sentence, under its template's lines) is reposted by two sites, each wrapping it in
    notices that outweigh it: by their texts they share a sentence and little else, and no band of their signatures;
    by their headline they are one story (ingest.relation.titled, found through the headline's index key). A later
    story quoting the same sentence under its own headline stays apart, as does `show` read them."""
    sentence = (
        "The US-backed military operation against ISIS terrorists in the Iraqi city of Mosul is approaching its final"
        " phase, the coalition said on Tuesday."
    )
    notices = [
        "The publisher reserves the right to remove any content at its sole discretion.",
        "If you value this work, please consider a small monthly donation; every contribution keeps us free.",
        "Comments are moderated and may take up to twenty-four hours to appear below this article.",
        "Corrections can be sent to our editors using the contact form at the bottom of every page.",
        "Images may be subject to separate licences; contact the photographers directly for reuse.",
    ]
    headline = "Mosul operation approaches its final phase, coalition says"

    def page(title: str, site: str, *paragraphs: str) -> str:
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        return (
            f"<html><head><title>{title} | {site}</title><meta property='og:site_name' content='{site}'></head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>"
        )

    pages = {
        # Its extraction runs the template's lines into the sentence: by its text, its own words outweigh it.
        "brief": (
            "news.example",
            page(
                headline,
                "News Example",
                "Filed under: World Middle East Iraq By Ann Smith Jul 3, 2019, 4:22am EDT Share this story Share this"
                f" on Facebook Share this on Twitter Photo by Ann Smith for News Example {sentence}",
            ),
        ),
        "syndicated": ("wire.example", page(headline, "Wire", "Syndicated from News Example.", sentence, *notices)),
        "wrapped": ("daily.example", page(headline, "Daily", sentence, "It ran on News Example.", *notices[1:])),
        "quoting": (
            "later.example",
            page(
                "Coalition declares victory in Mosul after nine months",
                "Later Example",
                "Nine months after the offensive began, the coalition declared the city free on Sunday, and the"
                " last fighters in the old city surrendered to Iraqi forces near the river.",
                "The prime minister arrived in the city to congratulate the troops and promised that the displaced"
                " would be able to return to their homes before the winter.",
                f"As we reported at the time: {sentence}",
                "Rebuilding the old city will take years, officials said, and most of its people are still displaced"
                " in camps to the east, where aid agencies warn that supplies are running short.",
                "Engineers estimate that clearing the rubble and the explosives left behind will cost billions, and the"
                " government has asked its allies to share the bill at a conference next month.",
            ),
        ),
    }
    stored = {
        name: archive.add_html(pages[name][1], key=name, url=f"https://{pages[name][0]}/{name}") for name in order
    }
    cluster = stored["brief"].cluster_id
    assert cluster is not None and stored["syndicated"].cluster_id == stored["wrapped"].cluster_id == cluster
    assert stored["quoting"].cluster_id != cluster
    with archive.sessions() as session:
        detail = cluster_detail(session, cluster)
    # The brief is the story; each copy wraps it in notices (not an "excerpt" of it: the brief adds less of its own).
    assert detail is not None and detail["canonical"]["url"] == "https://news.example/brief"
    assert [c["relation"] for c in detail["copies"]] == ["wrapped", "wrapped"]
    assert any(c["explanation"]["by_headline"] for c in detail["copies"])


@pytest.mark.parametrize("copy_first", [True, False])
def test_a_copy_under_its_templates_block_joins_the_story_whose_headline_it_carries(
    archive: Archive, copy_first: bool
) -> None:
    """A later copy on a site whose template puts another story's standfirst before every story (one page of that
    site: nothing to learn the block from as chrome) opens with more prose of its own than an intro line, as a later
    story quoting the first does. Carrying the story's headline, it is the story's copy; under a headline of its own,
    the same page is another story quoting it, and stays apart."""
    story = extract((SEEDS / "southfront-original.html").read_bytes())
    block = (
        "Night mode is an automatic setting which takes over in low light and brightens the picture, and the camera"
        " app now suggests it whenever the scene is dark enough for it to help, with a moon icon in the corner."
    )
    text = "\n".join(story.paragraphs[:4])
    day = datetime(2017, 5, 9, tzinfo=UTC)
    pages = {
        "story": Article(text=text, title=story.title, host="southfront.example", published=day),
        "copy": Article(
            text=f"{block}\n{text}", title=story.title, host="gadgets.example", published=day + timedelta(days=1)
        ),
        "quoting": Article(
            text=f"{block}\n{text}",
            title="Phones that see in the dark, and what they show",
            host="other.example",
            published=day + timedelta(days=1),
        ),
    }
    order = ["copy", "quoting", "story"] if copy_first else ["story", "quoting", "copy"]
    stored = {name: archive.add(pages[name], key=name) for name in order}
    assert stored["copy"].cluster_id == stored["story"].cluster_id is not None
    assert stored["quoting"].cluster_id != stored["story"].cluster_id
