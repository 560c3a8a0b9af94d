"""The near-duplicate index shared by every worker: LSH bands and sentence anchors -> document ids.

A document is written to the database first and only then added here, in one atomic step that
also returns every document already filed under any of its keys. Of two copies processed at the
same moment, whichever is added second therefore always sees the first, whose row is already
committed and can be verified: no pair is missed, whatever the timing (README: "Near-duplicate index").
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

import redis

# A bucket this full is boilerplate shared by many documents, not a story: its ids are not returned,
# which keeps every look-up O(1) however large the archive grows.
MAX_BUCKET = 64

# KEYS: index keys (stored under), then query keys; ARGV[1]: document id, ARGV[2]: #index keys,
# ARGV[3]: bucket limit. One round trip, atomic: Redis runs scripts one at a time.
_ADD_AND_QUERY = """
local id = ARGV[1]
local n_index = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local seen = {}
local found = {}
for i = n_index + 1, #KEYS do
  local size = redis.call('SCARD', KEYS[i])
  if size > 0 and size <= limit then
    for _, member in ipairs(redis.call('SMEMBERS', KEYS[i])) do
      if member ~= id and not seen[member] then
        seen[member] = true
        found[#found + 1] = member
      end
    end
  end
end
for i = 1, n_index do
  redis.call('SADD', KEYS[i], id)
end
return found
"""

_REMOVE = """
for i = 1, #KEYS do
  redis.call('SREM', KEYS[i], ARGV[1])
end
return #KEYS
"""


class NearDupIndex(Protocol):
    def add_and_query(self, doc_id: int, index_keys: Iterable[str], query_keys: Iterable[str]) -> set[int]:
        """File doc_id under index_keys and return the other ids filed under any of query_keys."""
        ...

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None: ...

    def clear(self) -> None: ...


class RedisIndex:
    """The production index: Redis sets, one Lua script per document."""

    def __init__(self, client: redis.Redis, namespace: str, max_bucket: int = MAX_BUCKET) -> None:
        self.client = client
        self.prefix = f"copydesk:ix:{namespace}:"
        self.max_bucket = max_bucket
        self._add = client.register_script(_ADD_AND_QUERY)
        self._remove = client.register_script(_REMOVE)

    def add_and_query(self, doc_id: int, index_keys: Iterable[str], query_keys: Iterable[str]) -> set[int]:
        stored = [self.prefix + key for key in index_keys]
        queried = [self.prefix + key for key in query_keys]
        found = self._add(keys=stored + queried, args=[doc_id, len(stored), self.max_bucket])
        return {int(member) for member in found}

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None:
        keys = [self.prefix + key for key in index_keys]
        if keys:
            self._remove(keys=keys, args=[doc_id])

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
                self.buckets[key].add(doc_id)
            found.discard(doc_id)
            return found

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None:
        with self._lock:
            for key in index_keys:
                self.buckets.get(key, set()).discard(doc_id)

    def clear(self) -> None:
        with self._lock:
            self.buckets.clear()
