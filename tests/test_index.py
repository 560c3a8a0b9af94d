"""storage/index.py on a real Redis: packed buckets, the boilerplate cap, removal and the time window."""

from __future__ import annotations

import redis

from storage.index import MAX_BUCKET, RedisIndex


def test_finds_what_shares_a_key_and_nothing_else(redis_client: redis.Redis) -> None:
    index = RedisIndex(redis_client, "t")
    assert index.add_and_query(1, ["b0:a", "s:1"], ["b0:a", "s:1"]) == set()
    assert index.add_and_query(2, ["b0:b"], ["b0:b", "s:1"]) == {1}
    assert index.add_and_query(3, ["b0:c"], ["b0:c", "s:2"]) == set()
    index.remove(1, ["b0:a", "s:1"])
    assert index.add_and_query(4, [], ["b0:a", "s:1"]) == set()


def test_a_key_on_too_many_documents_is_boilerplate(redis_client: redis.Redis) -> None:
    index = RedisIndex(redis_client, "t")
    for doc_id in range(1, MAX_BUCKET + 3):
        index.add_and_query(doc_id, ["s:disclaimer", f"s:own{doc_id}"], [])
    assert index.add_and_query(999, [], ["s:disclaimer"]) == set()
    assert index.add_and_query(999, [], ["s:own7"]) == {7}


def test_buckets_stay_packed(redis_client: redis.Redis) -> None:
    index = RedisIndex(redis_client, "t", buckets=4)
    for doc_id in range(1, 301):
        index.add_and_query(doc_id, [f"b{i}:{doc_id}" for i in range(4)], [])
    encodings = {redis_client.object("encoding", key) for key in redis_client.scan_iter("copydesk:ix:t:*")}
    assert encodings <= {b"ziplist", b"listpack"}, encodings  # 300 entries a bucket: packed only with REDIS_CONFIG


def test_the_window_forgets_old_generations(redis_client: redis.Redis) -> None:
    now = [1_000_000.0]
    index = RedisIndex(redis_client, "t", window_days=1, clock=lambda: now[0])
    index.add_and_query(1, ["s:story"], [])
    ttl = redis_client.ttl(next(iter(redis_client.scan_iter("copydesk:ix:t:*"))))
    assert 0 < ttl <= 2 * 86400
    now[0] += 86400  # the next generation still looks into the previous one
    assert index.add_and_query(2, [], ["s:story"]) == {1}
    now[0] += 86400  # two generations on, the entry is out of the window
    assert index.add_and_query(3, [], ["s:story"]) == set()
