"""The near-duplicate index shared by every worker: LSH bands and sentence anchors -> document ids.

A document is written to the database first and only then added here, in one atomic step that
also returns every document already filed under any of its keys. Of two copies processed at the
same moment, whichever is added second therefore always sees the first, whose row is already
committed and can be verified: no pair is missed, whatever the timing (README: "Near-duplicate index").

Memory: a document is filed under ~48 keys, so one Redis key per index key would cost kilobytes per
document. Instead each index key is hashed to 64 bits and split into a bucket number (a small Redis
hash) and a 23-bit field inside it; the value is the document id. Redis keeps small hashes as a
packed list (hash-max-listpack-entries / hash-max-ziplist-entries, which copydesk's Redis raises to
2048), about 10 bytes per entry. A field collision only adds a candidate, which verification drops.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import redis

# A key filed under by this many documents is boilerplate shared by many pages, not a story: its
# ids are not returned (and no more are stored), which keeps every look-up O(1) however large the
# archive grows.
MAX_BUCKET = 64
# Buckets per generation: a look-up scans its bucket, which holds about 48 x documents / BUCKETS
# entries. 2**17 keeps that near 370 at a million documents (bench/index_scale.py: 489 bytes a
# document, look-up+insert 1.5x its cost at 10k). Fixed for the life of an index: entries filed
# under another bucket count are not found.
BUCKETS = 2**17
_FIELD_BITS = 23  # fits Redis's 24-bit integer encoding: 5 bytes per field in a packed list
# Redis settings that keep the buckets packed; copydesk's embedded Redis and docker-compose set them.
REDIS_CONFIG = {"hash-max-ziplist-entries": "2048", "hash-max-ziplist-value": "64"}

# KEYS: one bucket per slot. ARGV: document id, bucket limit, TTL seconds (0: none), then a field
# and a mode per KEY (1: file the document there, 2: look it up, 3: both). One round trip, and
# atomic: Redis runs scripts one at a time.
_ADD_AND_QUERY = """
local id = ARGV[1]
local limit = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local seen = {}
local found = {}
for i = 1, #KEYS do
  local field = ARGV[2 + 2 * i]
  local mode = tonumber(ARGV[3 + 2 * i])
  local value = redis.call('HGET', KEYS[i], field)
  local count, present = 0, false
  if value then
    local ids = {}
    for member in string.gmatch(value, '[^,]+') do
      ids[#ids + 1] = member
      if member == id then present = true end
    end
    count = #ids
    if mode >= 2 and count <= limit then
      for _, member in ipairs(ids) do
        if member ~= id and not seen[member] then
          seen[member] = true
          found[#found + 1] = member
        end
      end
    end
  end
  if mode ~= 2 then
    if not value then
      redis.call('HSET', KEYS[i], field, id)
    elseif not present and count <= limit then
      redis.call('HSET', KEYS[i], field, value .. ',' .. id)
    end
    if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
  end
end
return found
"""

_REMOVE = """
for i = 1, #KEYS do
  local value = redis.call('HGET', KEYS[i], ARGV[1 + i])
  if value then
    local kept = {}
    for member in string.gmatch(value, '[^,]+') do
      if member ~= ARGV[1] then kept[#kept + 1] = member end
    end
    if #kept == 0 then
      redis.call('HDEL', KEYS[i], ARGV[1 + i])
    else
      redis.call('HSET', KEYS[i], ARGV[1 + i], table.concat(kept, ','))
    end
  end
end
return #KEYS
"""


# (document id, the keys it is filed under, the keys it looks up)
Filing = tuple[int, Iterable[str], Iterable[str]]


class NearDupIndex(Protocol):
    def add_and_query(self, doc_id: int, index_keys: Iterable[str], query_keys: Iterable[str]) -> set[int]:
        """File doc_id under index_keys and return the other ids filed under any of query_keys."""
        ...

    def add_and_query_many(self, documents: Sequence[Filing]) -> list[set[int]]:
        """add_and_query for each (doc_id, index_keys, query_keys) in turn: each sees those before it."""
        ...

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None: ...

    def clear(self) -> None: ...


def slot(key: str, buckets: int = BUCKETS) -> tuple[int, int]:
    """(bucket, field) of one index key."""
    value = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return value % buckets, (value // buckets) & ((1 << _FIELD_BITS) - 1)


class RedisIndex:
    """The production index: packed Redis hashes, one Lua script per document.

    With `window_days`, entries are filed in generations of that length and a generation expires
    once the next one has run its course: a document stays findable for window_days to twice that,
    and the index's memory stops growing while the documents stay in storage.
    """

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        max_bucket: int = MAX_BUCKET,
        window_days: float | None = None,
        buckets: int = BUCKETS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = f"copydesk:ix:{namespace}:"
        self.max_bucket = max_bucket
        self.window = window_days * 86400 if window_days else None
        self.buckets = buckets
        self.clock = clock
        self._add = client.register_script(_ADD_AND_QUERY)
        self._remove = client.register_script(_REMOVE)

    def _generations(self) -> list[int]:
        if not self.window:
            return [0]
        current = int(self.clock() // self.window)
        return [current, current - 1]

    def _slots(self, keys: Iterable[str], generations: list[int]) -> tuple[list[str], list[int]]:
        names, fields = [], []
        for key in keys:
            bucket, field = slot(key, self.buckets)
            for generation in generations:
                names.append(f"{self.prefix}g{generation}:{bucket}")
                fields.append(field)
        return names, fields

    def add_and_query(self, doc_id: int, index_keys: Iterable[str], query_keys: Iterable[str]) -> set[int]:
        keys, args = self.script_input(index_keys, query_keys)
        return {int(member) for member in self._add(keys=keys, args=[doc_id, *args])}

    def add_and_query_many(self, documents: Sequence[Filing]) -> list[set[int]]:
        # One round trip for a batch; each script is still atomic, and they run in order.
        pipe = self.client.pipeline(transaction=False)
        for doc_id, index_keys, query_keys in documents:
            keys, args = self.script_input(index_keys, query_keys)
            self._add(keys=keys, args=[doc_id, *args], client=pipe)
        return [{int(member) for member in found} for found in pipe.execute()]

    def script_input(self, index_keys: Iterable[str], query_keys: Iterable[str]) -> tuple[list[str], list[int]]:
        """The add-and-query script's KEYS and its ARGV after the document id."""
        generations = self._generations()
        modes: dict[tuple[str, int], int] = {}
        for mode, keys, gens in ((1, index_keys, generations[:1]), (2, query_keys, generations)):
            names, fields = self._slots(keys, gens)
            for name_field in zip(names, fields, strict=True):
                modes[name_field] = modes.get(name_field, 0) | mode
        args: list[int] = [self.max_bucket, int(2 * self.window) if self.window else 0]
        for (_, field), mode in modes.items():
            args += [field, mode]
        return [name for name, _ in modes], args

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None:
        names, fields = self._slots(index_keys, self._generations())
        if names:
            self._remove(keys=names, args=[doc_id, *fields])

    def clear(self) -> None:
        for key in self.client.scan_iter(match=self.prefix + "*", count=1000):
            self.client.delete(key)


class MemoryIndex:
    """The same index in one process's memory: for batch runs (`copydesk dedup`) and unit tests."""

    def __init__(self, max_bucket: int = MAX_BUCKET) -> None:
        self.buckets: dict[str, set[int]] = defaultdict(set)
        self.max_bucket = max_bucket
        self._lock = threading.Lock()

    def add_and_query(self, doc_id: int, index_keys: Iterable[str], query_keys: Iterable[str]) -> set[int]:
        with self._lock:
            found: set[int] = set()
            for key in query_keys:
                bucket = self.buckets.get(key)
                if bucket and len(bucket) <= self.max_bucket:
                    found |= bucket
            for key in index_keys:
                bucket = self.buckets[key]
                if len(bucket) <= self.max_bucket:
                    bucket.add(doc_id)
            found.discard(doc_id)
            return found

    def add_and_query_many(self, documents: Sequence[Filing]) -> list[set[int]]:
        return [self.add_and_query(*document) for document in documents]

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None:
        with self._lock:
            for key in index_keys:
                self.buckets.get(key, set()).discard(doc_id)

    def clear(self) -> None:
        with self._lock:
            self.buckets.clear()
