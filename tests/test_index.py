"""storage/index.py on a real Redis: compact buckets, the boilerplate cap, removal and the time window."""

from __future__ import annotations

import pytest
import redis

from storage.index import FULL_KEY_SAMPLE, MAX_BUCKET, MemoryIndex, NearDupIndex, RedisIndex, slot


def test_finds_what_shares_a_key_and_nothing_else(redis_client: redis.Redis) -> None:
    index = RedisIndex(redis_client, "t")
    assert index.add_and_query(1, ["b0:a", "s:1"], ["b0:a", "s:1"]) == set()
    assert index.add_and_query(2, ["b0:b"], ["b0:b", "s:1"]) == {1}
    assert index.add_and_query(3, ["b0:c"], ["b0:c", "s:2"]) == set()
    index.remove(1, ["b0:a", "s:1"])
    assert index.add_and_query(4, [], ["b0:a", "s:1"]) == set()


@pytest.mark.parametrize("kind", ["redis", "memory"])
def test_a_full_key_names_only_the_first_documents_filed_under_it(redis_client: redis.Redis, kind: str) -> None:
    """A key on more than MAX_BUCKET documents (boilerplate, or a story copied that often) stops growing,
    and a look-up of it returns the first FULL_KEY_SAMPLE documents filed, in either index."""
    index: NearDupIndex = RedisIndex(redis_client, "t") if kind == "redis" else MemoryIndex()
    for doc_id in range(1, MAX_BUCKET + 3):
        index.add_and_query(doc_id, ["s:disclaimer", f"s:own{doc_id}"], [])
    first = set(range(1, FULL_KEY_SAMPLE + 1))
    assert index.add_and_query(999, ["s:disclaimer"], ["s:disclaimer"]) == first
    assert index.add_and_query(1000, [], ["s:disclaimer"]) == first  # 999 was not filed: the key is full
    assert index.add_and_query(999, [], ["s:own7"]) == {7}


def test_a_record_costs_seven_bytes(redis_client: redis.Redis) -> None:
    index = RedisIndex(redis_client, "t", buckets=4)
    for doc_id in range(1, 301):
        index.add_and_query(doc_id, [f"b{i}:{doc_id}" for i in range(4)], [])
    names = list(redis_client.scan_iter(index.prefix + "*"))
    assert {redis_client.type(name) for name in names} == {b"string"}
    assert sum(redis_client.strlen(name) for name in names) == 7 * 4 * 300  # 3-byte field + 4-byte id


def test_a_field_inside_another_record_is_not_a_match(redis_client: redis.Redis) -> None:
    index = RedisIndex(redis_client, "t", buckets=1)
    field = slot("s:b", 1)[1]
    tricky = int.from_bytes(b"\x00" + field, "big")  # its id bytes hold s:b's field, off a record boundary
    assert index.add_and_query(tricky, ["s:a"], []) == set()
    assert index.add_and_query(2, ["s:c"], ["s:b"]) == set()
    assert index.add_and_query(3, [], ["s:a", "s:c"]) == {tricky, 2}
    assert index.add_and_query(-1, [], ["s:a"]) == {tricky}  # ids are signed, like the database's


def test_filing_again_is_idempotent(redis_client: redis.Redis) -> None:
    """Archive.reindex files documents that may be filed already: each stays one 7-byte record a key."""

    def records() -> int:
        return sum(int(redis_client.strlen(name)) for name in redis_client.scan_iter("copydesk:ix2:t:*")) // 7

    index = RedisIndex(redis_client, "t")
    index.add_and_query_many([(1, ["s:story", "b0:x"], ()), (2, ["s:story"], ())])
    index.add_and_query_many([(1, ["s:story", "b0:x"], ())])
    assert records() == 3
    assert index.add_and_query(3, [], ["s:story", "b0:x"]) == {1, 2}
    index.remove(1, ["s:story", "b0:x"])
    assert records() == 1
    assert index.add_and_query(3, [], ["s:story", "b0:x"]) == {2}


def test_clear_drops_this_index_and_its_old_layout_only(redis_client: redis.Redis) -> None:
    redis_client.hset("copydesk:ix:t:0", "1", "7")  # the layout before: packed hashes
    index, other = RedisIndex(redis_client, "t"), RedisIndex(redis_client, "other")
    assert index.add_and_query(1, ["s:story"], ["s:story"]) == set()  # the old keys are never read
    other.add_and_query(1, ["s:story"], [])
    index.clear()
    assert {name.split(b":")[2] for name in redis_client.scan_iter("copydesk:*")} == {b"other"}


def test_the_window_forgets_old_generations(redis_client: redis.Redis) -> None:
    now = [1_000_000.0]
    index = RedisIndex(redis_client, "t", window_days=1, clock=lambda: now[0])
    index.add_and_query(1, ["s:story", "s:other"], [])
    index.add_and_query(2, ["s:story"], [])
    index.remove(2, ["s:story"])  # a removal keeps the bucket's expiry
    ttls = {redis_client.ttl(name) for name in redis_client.scan_iter(index.prefix + "*")}
    assert all(0 < ttl <= 2 * 86400 for ttl in ttls), ttls
    now[0] += 86400  # the next generation still looks into the previous one
    assert index.add_and_query(3, [], ["s:story"]) == {1}
    now[0] += 86400  # two generations on, the entry is out of the window
    assert index.add_and_query(4, [], ["s:story"]) == set()
