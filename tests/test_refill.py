"""Filling the shared index again after Redis lost it (storage.refill), on a real Redis, SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from ingest.extract import extract
from storage.archive import Archive, Arrival
from storage.index import IndexIncomplete, RedisIndex
from storage.models import Document
from storage.refill import refill
from tests.conftest import SEEDS

SEED_PAGES = sorted(SEEDS.glob("*.html"))
COPY = "https://copy.example/story"  # another site's copy of blog-repost.html


def stored(archive: Archive) -> dict[str, int]:
    """The seed pages archived; {name: document id}."""
    return {page.name: archive.add_html(page.read_bytes(), key=page.name).document_id for page in SEED_PAGES}


def guarded(archive: Archive) -> tuple[Archive, RedisIndex]:
    """The same archive with an emptied index that refuses look-ups until filled, as the worker has it."""
    assert isinstance(archive.index, RedisIndex)
    index = RedisIndex(archive.index.client, archive.index.namespace, require_filled=True)
    index.clear()
    return Archive(archive.sessions, index), index


def filed_ids(archive: Archive, index: RedisIndex, ids: dict[str, int]) -> set[int]:
    """The documents a look-up under each stored document's own keys finds (it finds the others only)."""
    found: set[int] = set()
    with archive.sessions() as session:
        for doc_id in ids.values():
            keys = session.get_one(Document, doc_id).index_keys.split()
            found |= index.add_and_query(-doc_id, [], keys)
    return found


def test_a_guarded_index_refuses_look_ups_until_it_is_filled(archive: Archive) -> None:
    ids = stored(archive)
    refilling, index = guarded(archive)
    with pytest.raises(IndexIncomplete):
        index.add_and_query(999, ["a key"], ["a key"])
    assert not [key for key in index.client.scan_iter(f"{index.prefix}*")], "a refused call filed something"
    with pytest.raises(IndexIncomplete):  # the archive's look-up too, before it records any cluster
        refilling.add_html((SEEDS / "blog-repost.html").read_bytes(), key="a copy", url=COPY)
    assert refill(refilling, index, until=time.monotonic() + 60)
    assert index.filled()
    refused = refilling.find("a copy")  # stored before its look-up was refused: filed, as any document settling
    assert refused is not None
    assert filed_ids(refilling, index, ids) == set(ids.values()) | {refused}
    copy = refilling.add_html((SEEDS / "blog-repost.html").read_bytes(), key="a copy", url=COPY)
    with archive.sessions() as session:
        assert copy.cluster_id == session.get_one(Document, ids["blog-repost.html"]).cluster_id


def test_a_refill_goes_a_step_at_a_time_and_resumes_where_it_stopped(archive: Archive) -> None:
    ids = stored(archive)
    refilling, index = guarded(archive)
    steps = 0
    while not refill(refilling, index, until=0, chunk=2):  # a deadline already past: one chunk a step
        steps += 1
        assert steps < 10, "the refill does not progress"
        progress = int(index.client.get(index.prefix + "filled-to") or 0)
        assert progress == sorted(ids.values())[min(2 * steps, len(ids)) - 1]
        assert not index.client.exists(index.prefix + "filling"), "a step that stopped did not release its claim"
    assert steps == -(-len(ids) // 2)  # a step a chunk, and the last one finds there is no more
    assert not index.client.exists(index.prefix + "filled-to")
    assert filed_ids(refilling, index, ids) == set(ids.values())


def test_a_refill_files_a_document_whose_settle_is_still_under_way(archive: Archive) -> None:
    """A settle looked its document up just before Redis lost the index and records it only after the refill
    has passed its id: the refill files it anyway, as a settle files a document before recording it."""
    article = extract((SEEDS / "southfront-original.html").read_bytes())
    arrival = Arrival(article, "settling", "https://a.example/settling")
    keys = [arrival.storage_key]
    settling = archive._store([arrival], keys, archive._prepare([arrival], keys)).ids["settling"]  # not settled
    refilling, index = guarded(archive)
    assert refill(refilling, index, until=time.monotonic() + 60)
    assert filed_ids(refilling, index, {"settling": settling}) == {settling}


def test_a_refill_claimed_elsewhere_files_nothing(archive: Archive) -> None:
    stored(archive)
    refilling, index = guarded(archive)
    index.client.set(index.prefix + "filling", "another process")
    assert not refill(refilling, index, until=time.monotonic() + 60)
    assert not [key for key in index.client.scan_iter(f"{index.prefix}g*")]
    assert index.client.get(index.prefix + "filling") == b"another process"


@dataclass
class LosesRedisMidway(Archive):
    """An archive whose Redis is flushed after its first chunk is filed: a Redis replaced during a refill."""

    def reindex_steps(self, *args: object, **kwargs: object) -> Iterator[tuple[int, int]]:
        for number, step in enumerate(super().reindex_steps(*args, **kwargs)):  # type: ignore[arg-type]
            yield step
            if number == 0:
                assert isinstance(self.index, RedisIndex)
                self.index.client.flushdb()


def test_a_refill_whose_redis_was_replaced_meanwhile_never_marks_the_index_filled(
    archive: Archive, redis_client: redis.Redis
) -> None:
    ids = stored(archive)
    _, index = guarded(archive)
    losing = LosesRedisMidway(archive.sessions, index)
    assert not refill(losing, index, until=time.monotonic() + 60, chunk=2)
    assert not index.filled() and not redis_client.exists(index.prefix + "filled-to")
    assert refill(Archive(archive.sessions, index), index, until=time.monotonic() + 60, chunk=2)
    assert filed_ids(archive, index, ids) == set(ids.values())
