"""End to end: a real Redis, real Celery worker processes, pages served over HTTP on 127.0.0.x."""

from __future__ import annotations

import functools
import json
import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from click.testing import CliRunner
from sqlalchemy import func, select

from ingest.extract import decode_html
from storage.archive import Archive
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import MemoryIndex
from storage.models import Cluster, Document, Failure
from tests.conftest import SEEDS
from tests.devsubset import assert_sound, batch_answer, hard_slice
from tests.servers import ROOT, Site, start_worker, stop_process, wait_for, worker_env
from tests.test_archive import partition
from worker.app import INGEST_HTML, INGEST_PAGES, INGEST_URL, REPAIR
from worker.cli import main
from worker.push import push_pages, pushed_key

# Each site on its own loopback address, so that every site is a different host, as on the web.
SITE_OF = {
    "southfront-original.html": "127.0.0.2",
    "globalresearch-repost.html": "127.0.0.3",
    "globalresearch-other.html": "127.0.0.3",
    "blog-repost.html": "127.0.0.4",
    "blog-original-003.html": "127.0.0.4",
}
CHROME = ["Disclaimer: The contents", "Leave a Reply", "Region:", "Theme:", "Skip to content"]


class Sites:
    def __init__(self) -> None:
        self.servers: dict[str, Site] = {}
        self.pages: dict[str, dict[str, tuple[int, str, bytes]]] = {}

    def add(self, address: str, path: str, body: bytes) -> str:
        if address not in self.servers:
            self.pages[address] = {}
            self.servers[address] = Site(self.pages[address], address).start()
        self.pages[address][path] = (200, "text/html; charset=utf-8", body)
        return self.servers[address].base + path

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture
def sites() -> Iterator[Sites]:
    s = Sites()
    yield s
    s.stop()


@pytest.fixture
def stack(tmp_path: Path, redis_url: str) -> Iterator[dict[str, object]]:
    """A fresh SQLite database and a 2-process Celery worker on the real Redis."""
    redis.Redis.from_url(redis_url).flushdb()
    database = f"sqlite:///{tmp_path / 'copydesk.db'}"
    upgrade(database)
    env = worker_env(database, redis_url, tmp_path)
    worker = start_worker(env, concurrency=2, log=tmp_path / "worker.log")
    client = Celery("test", broker=redis_url)
    client.conf.task_default_queue = "copydesk"
    sessions = make_sessionmaker(make_engine(database))
    yield {
        "client": client,
        "sessions": sessions,
        "database": database,
        "env": env,
        "log": tmp_path / "worker.log",
    }
    stop_process(worker)


def _settled(sessions: object, count: int) -> bool:
    with sessions() as session:  # type: ignore[operator]
        done = session.scalar(select(func.count()).select_from(Document).where(Document.clustered.is_(True)))
        return bool(done == count)


def _clusters(sessions: object) -> dict[int, set[str]]:
    groups: dict[int, set[str]] = {}
    with sessions() as session:  # type: ignore[operator]
        for url, cluster_id in session.execute(select(Document.url, Document.cluster_id)):
            groups.setdefault(cluster_id, set()).add(url)
    return groups


@pytest.mark.parametrize("seed", [1, 2])
def test_seed_pages_through_the_worker(stack: dict[str, object], sites: Sites, seed: int) -> None:
    urls = {name: sites.add(SITE_OF[name], f"/{name}", (SEEDS / name).read_bytes()) for name in SITE_OF}
    order = list(urls)
    random.Random(seed).shuffle(order)
    client: Celery = stack["client"]
    for name in order:
        client.send_task(INGEST_URL, args=[urls[name]])
    wait_for(lambda: _settled(stack["sessions"], 5), 60, "5 seed pages stored and clustered")
    name_of = {url: name for name, url in urls.items()}
    clusters = {frozenset(name_of[u] for u in members) for members in _clusters(stack["sessions"]).values()}
    mosul = frozenset({"southfront-original.html", "globalresearch-repost.html", "blog-repost.html"})
    assert clusters == {
        mosul,
        frozenset({"blog-original-003.html"}),
        frozenset({"globalresearch-other.html"}),
    }
    with stack["sessions"]() as session:  # type: ignore[operator]
        cluster_id = session.scalar(select(Document.cluster_id).where(Document.url == urls["blog-repost.html"]))
        canonical = session.get(Document, session.get(Cluster, cluster_id).canonical_id)
        assert canonical.url == urls["southfront-original.html"]
        for chrome in CHROME:
            assert chrome not in canonical.text
    # The batch mode gives the same clusters on the same pages.
    out = subprocess.run(
        [sys.executable, "-m", "worker.cli", "dedup", str(SEEDS), "--json"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        env={**os.environ, "COPYDESK_DATA_DIR": str(ROOT)},
    )
    batch = {frozenset(c["members"]) for c in json.loads(out.stdout)["clusters"]}
    assert batch == clusters


def _story(rng: random.Random, words: list[str]) -> list[str]:
    return [" ".join(rng.choice(words) for _ in range(rng.randint(25, 45))).capitalize() + "." for _ in range(8)]


def _page(title: str, paragraphs: list[str], extra_after: list[str] = ()) -> bytes:  # type: ignore[assignment]
    body = "".join(f"<p>{p}</p>" for p in [*paragraphs, *extra_after])
    return (
        f"<html><head><title>{title}</title></head><body><nav>Home News Sport</nav><article><h1>{title}</h1>"
        f"{body}</article><footer>Copyright</footer></body></html>"
    ).encode()


def test_four_copies_at_once_end_in_one_cluster(stack: dict[str, object], sites: Sites) -> None:
    """4 copies of one story queued at the same moment to 2 worker processes: one cluster, 20 runs in a row."""
    rng = random.Random(42)
    words = [f"w{i}" for i in range(3000)]
    disclaimer = ["This site republishes articles for fair use. Views are the authors' own and not ours at all."]
    client: Celery = stack["client"]
    for run in range(20):
        story = _story(rng, words)
        edited = [*story[:3], story[3].replace("w", "v", 3), *story[5:]]
        pages = [
            ("127.0.0.5", _page(f"Story {run}", story)),
            ("127.0.0.6", _page(f"Story {run}", story, disclaimer)),
            ("127.0.0.7", _page(f"Story {run} (excerpt)", story[:4], ["Read the rest at the source."])),
            ("127.0.0.8", _page(f"Rewritten {run}", edited)),
        ]
        urls = [sites.add(address, f"/run{run}", body) for address, body in pages]
        for url in urls:
            client.send_task(INGEST_URL, args=[url])
        wait_for(functools.partial(_settled, stack["sessions"], 4 * (run + 1)), 60, f"run {run} settled")
        clusters = [members for members in _clusters(stack["sessions"]).values() if set(urls) & members]
        assert len(clusters) == 1 and clusters[0] == set(urls), f"run {run}: {clusters}"


def test_copydesk_run_embedded_end_to_end(tmp_path: Path, sites: Sites) -> None:
    """`copydesk run` with nothing configured: embedded Redis + SQLite; enqueue; Ctrl-C stops all."""
    env = {**os.environ, "COPYDESK_DATA_DIR": str(tmp_path), "COPYDESK_ALLOW_NETWORKS": "127.0.0.0/8"}
    env.pop("COPYDESK_REDIS_URL", None)
    env.pop("COPYDESK_DATABASE_URL", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "run", "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for((tmp_path / "redis.url").exists, 30, "embedded Redis started")
        url = sites.add("127.0.0.9", "/a.html", (SEEDS / "southfront-original.html").read_bytes())
        cli = [sys.executable, "-m", "worker.cli", "enqueue"]
        first = subprocess.run([*cli, url, url], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        assert "queued 1, already known 0, repeated 1, invalid 0" in first.stdout  # given twice, queued once
        sessions = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'copydesk.db'}"))
        wait_for(lambda: _settled(sessions, 1), 60, "the page stored by `copydesk run`")
        again = subprocess.run([*cli, url], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        assert "queued 0, already known 1, repeated 0" in again.stdout
    finally:
        run.send_signal(signal.SIGINT)
        try:
            assert run.wait(60) == 0
        finally:  # never leave a copydesk run behind (its children get SIGTERM from the kernel when it dies)
            if run.poll() is None:
                run.kill()
                run.wait()
    assert not (tmp_path / "redis.url").exists()


def test_hard_slice_through_the_worker_matches_the_batch(stack: dict[str, object]) -> None:
    """Pushed one by one in a shuffled order to 2 worker processes, the pages end as the batch ends
    them (tests/test_archive.py checks the batch in several orders against the answer key)."""
    corpus = hard_slice()
    order = sorted(corpus.pages)
    random.Random(5).shuffle(order)
    client: Celery = stack["client"]
    for name in order:
        client.send_task(INGEST_HTML, args=[decode_html(corpus.pages[name])])
    wait_for(lambda: _settled(stack["sessions"], len(order)), 120, f"{len(order)} pages stored and clustered")
    name_of = {pushed_key(decode_html(html)): name for name, html in corpus.pages.items()}
    archive = Archive(stack["sessions"], MemoryIndex())  # type: ignore[arg-type]
    clusters, canonicals = partition(archive, name_of)
    assert clusters == batch_answer()
    assert_sound(clusters, canonicals, corpus)


def test_batches_of_pushed_pages_end_as_single_pushes(stack: dict[str, object], redis_url: str) -> None:
    """The hard slice pushed as ingest_pages batches of random sizes to 2 worker processes, half with the
    HTML in the task, half kept in Redis by worker.push, with a page repeated, a page that holds no
    article, an entry that is not a page and a page gone from Redis: the pages end as pushed one by one;
    each bad entry is a failure with its reason; the repeat is stored once; Redis keeps no page."""
    corpus = hard_slice()
    order = sorted(corpus.pages)
    random.Random(6).shuffle(order)
    pages: list[object] = [{"html": decode_html(corpus.pages[name])} for name in order]
    empty = "<html><body><nav><a href='/a'>Home</a></nav></body></html>"
    gone = "copydesk:pushed:never-stored"
    pages[3:3] = [pages[0], {"html": empty, "url": "http://empty.example/"}, "not a page", {"stored": gone}]
    client: Celery = stack["client"]
    server = redis.Redis.from_url(redis_url)
    rng = random.Random(7)
    start = 0
    while start < len(pages):
        size = rng.randint(1, 12)
        batch = pages[start : start + size]
        if start < len(pages) // 2:
            client.send_task(INGEST_PAGES, args=[batch])
        else:
            push_pages(client, server, [(p["html"], None) for p in batch], batch_size=5)  # type: ignore[index]
        start += size
    wait_for(lambda: _settled(stack["sessions"], len(order)), 120, f"{len(order)} pages stored and clustered")
    wait_for(lambda: len(_failures(stack["sessions"])) == 3, 30, "the three bad entries recorded")
    name_of = {pushed_key(decode_html(html)): name for name, html in corpus.pages.items()}
    archive = Archive(stack["sessions"], MemoryIndex())  # type: ignore[arg-type]
    clusters, canonicals = partition(archive, name_of)
    assert clusters == batch_answer()
    assert_sound(clusters, canonicals, corpus)
    assert _failures(stack["sessions"]) == {
        "http://empty.example/": "no_article",
        pushed_key(repr("not a page")): "invalid_input",
        gone: "expired",
    }
    assert not list(server.scan_iter("copydesk:pushed:*")), "pushed pages left in Redis"
    # A batch delivered again after a delivery that stored its pages, deleted them and died unacknowledged:
    # its pages are gone from Redis, but stored, so nothing is recorded against them.
    again = [{"stored": "copydesk:pushed:deleted", "url": None, "key": pushed_key(pages[0]["html"])}]  # type: ignore[index]
    task = client.send_task(INGEST_PAGES, args=[again])
    log = Path(str(stack["log"]))
    wait_for(lambda: f"{task.id}] succeeded" in log.read_text(), 30, "the batch delivered again done")
    assert "'known': 1" in log.read_text().split(f"{task.id}] succeeded")[1].splitlines()[0]
    assert len(_failures(stack["sessions"])) == 3


def _failures(sessions: object) -> dict[str, str]:
    with sessions() as session:  # type: ignore[operator]
        return {url: reason for url, reason in session.execute(select(Failure.url, Failure.reason))}


def test_a_copy_that_meets_an_index_redis_lost_fills_it_before_its_look_up(
    stack: dict[str, object], redis_url: str
) -> None:
    """The index's entries vanish from Redis (flushed, replaced by an empty one) and a copy arrives at
    once, long before beat's next repair: its task stores the copy, finds the index unfilled, files the
    stored documents again, and only then looks the copy up, which joins its story's cluster. Nothing is
    recorded as failed. Then a repair task, with nothing left to fill, has nothing to do."""
    client: Celery = stack["client"]
    server = redis.Redis.from_url(redis_url)
    log = Path(str(stack["log"]))
    # The repair every worker queues when it starts runs first: sent at the same moment as the story, on a
    # loaded machine, it filled the (flushed) index under the story's own look-up and logged it a second time.
    wait_for(
        lambda: log.exists() and "copydesk.repair[" in log.read_text() and "succeeded" in log.read_text(),
        60,
        "start-up repair",
    )
    client.send_task(INGEST_HTML, args=[(SEEDS / "southfront-original.html").read_text(), "https://a.example/1"])
    wait_for(lambda: _settled(stack["sessions"], 1), 60, "the story stored")
    assert any(server.scan_iter("copydesk:ix*filled"))
    for key in server.scan_iter("copydesk:ix*"):
        server.delete(key)
    client.send_task(INGEST_HTML, args=[(SEEDS / "blog-repost.html").read_text(), "https://b.example/1"])
    wait_for(lambda: _settled(stack["sessions"], 2), 60, "the copy stored")
    assert sorted(map(len, _clusters(stack["sessions"]).values())) == [2]
    assert _failures(stack["sessions"]) == {}
    # the story, and the copy: stored before its look-up was refused
    assert "the index had lost its entries: filled again from storage (this step filed 2)" in log.read_text()
    task = client.send_task(REPAIR)
    wait_for(lambda: f"{task.id}] succeeded in" in log.read_text(), 30, "the repair done")
    assert log.read_text().count("the index had lost its entries") == 1


def test_copydesk_push_queues_saved_pages_for_the_worker(stack: dict[str, object], tmp_path: Path) -> None:
    """`copydesk push` of a folder of saved pages and of one file again: the worker stores each page once
    and clusters them as the seeds cluster; an unreadable file is reported and skipped; a page without an
    article is recorded as failed under its file's name, and its batch's task ends FAILURE naming it."""
    folder = tmp_path / "saved"
    folder.mkdir()
    for page in SEEDS.glob("*.html"):
        (folder / page.name).write_bytes(page.read_bytes())
    (folder / "broken.html.gz").write_bytes(b"not gzip")
    (folder / "zz-nav-only.html").write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    env = {str(k): str(v) for k, v in stack["env"].items()}  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["push", str(folder), str(folder / "blog-repost.html"), "--batch", "2"], env=env)
    assert result.exit_code == 0, result.output
    assert "pushed 7 pages in 4 tasks, skipped 1" in result.output  # blog-repost.html twice
    assert "broken.html.gz" in result.output
    wait_for(lambda: _settled(stack["sessions"], 5), 60, "the 5 seed pages stored once and clustered")
    assert sorted(map(len, _clusters(stack["sessions"]).values())) == [1, 1, 3]
    wait_for(lambda: len(_failures(stack["sessions"])) == 1, 30, "the page without an article recorded")
    with stack["sessions"]() as session:  # type: ignore[operator]
        (message,) = session.scalars(select(Failure.message))
    assert message.startswith(f"{folder / 'zz-nav-only.html'}: "), message
    log = Path(str(stack["log"]))
    assert re.search(r"ingest_pages\[[-0-9a-f]+\] received", log.read_text())
    # The task logs its end after it has recorded the failure: wait for the line rather than race it.
    failed = "raised expected: PageFailed('pages_failed: 1 of 2 pages failed"
    wait_for(lambda: failed in log.read_text(), 30, "the failed batch's task logged as FAILURE")
    assert "zz-nav-only.html" in log.read_text()


@pytest.mark.parametrize("reverse", [False, True])
def test_the_seeds_on_one_site_queued_one_by_one(stack: dict[str, object], sites: Sites, reverse: bool) -> None:
    """A site that reposts a story under other URLs: the five seed pages on one address, queued one at a time
    as `copydesk enqueue` would. The Mosul pages end in one cluster with South Front's canonical, the others
    alone; after each page, the cluster its task reported is the one storage holds for it."""
    order = ["southfront-original.html", "globalresearch-repost.html", "blog-repost.html",
             "blog-original-003.html", "globalresearch-other.html"]  # fmt: skip
    if reverse:
        order.reverse()
    urls = {name: sites.add("127.0.0.5", f"/{name}", (SEEDS / name).read_bytes()) for name in order}
    client: Celery = stack["client"]
    log: Path = stack["log"]  # type: ignore[assignment]
    for done, name in enumerate(order, 1):
        client.send_task(INGEST_URL, args=[urls[name]])
        wait_for(lambda n=done: _settled(stack["sessions"], n), 60, f"{name} stored and clustered")  # type: ignore[misc]
        wait_for(lambda n=done: len(RESULT.findall(log.read_text())) == n, 30, f"{name}'s task result logged")  # type: ignore[misc]
        document, cluster = map(int, RESULT.findall(log.read_text())[-1])
        with stack["sessions"]() as session:  # type: ignore[operator]
            assert session.scalar(select(Document.cluster_id).where(Document.id == document)) == cluster
            assert session.scalar(select(Document.url).where(Document.id == document)) == urls[name]
    name_of = {url: name for name, url in urls.items()}
    clusters = {frozenset(name_of[u] for u in members) for members in _clusters(stack["sessions"]).values()}
    mosul = frozenset({"southfront-original.html", "globalresearch-repost.html", "blog-repost.html"})
    assert clusters == {mosul, frozenset({"blog-original-003.html"}), frozenset({"globalresearch-other.html"})}
    with stack["sessions"]() as session:  # type: ignore[operator]
        cluster_id = session.scalar(select(Document.cluster_id).where(Document.url == urls["blog-repost.html"]))
        canonical = session.get(Document, session.get(Cluster, cluster_id).canonical_id)
        assert canonical.url == urls["southfront-original.html"]


RESULT = re.compile(
    r"copydesk\.ingest_url\[[^\]]+\] succeeded in [0-9.]+s: \{'status': 'stored', 'document': (\d+), 'cluster': (\d+)\}"
)
