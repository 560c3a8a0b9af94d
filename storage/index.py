"""The near-duplicate index shared by every worker: LSH bands and sentence anchors -> document ids.

A document is written to the database first and only then added here, in one atomic step that
also returns every document already filed under any of its keys. Of two copies processed at the
same moment, whichever is added second therefore always sees the first, whose row is already
committed and can be verified: no pair is missed, whatever the timing (README: "Near-duplicate index").

Memory: a document is filed under ~48 keys, so one Redis key per index key would cost kilobytes per
document. Instead each index key is hashed to 64 bits and split into a 24-bit field and a bucket
number (one Redis string) that holds 7-byte records, field + 4-byte document id. A plain string
needs no Redis settings, costs 7 bytes a record, and a look-up finds its field with one C-speed
substring search instead of walking a packed hash entry by entry, so look-ups stay about as fast as
buckets fill. A field collision only adds a candidate, which verification drops.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # redis is imported by whoever makes the client: `copydesk dedup`'s MemoryIndex needs none
    import redis

# A key is filed under by at most this many documents (+1), which keeps every look-up O(1) however
# large the archive grows. A full key is boilerplate shared by many pages, or a story copied more
# than this many times.
MAX_BUCKET = 64
# What a look-up of a full key returns: the first documents filed under it. A story copied more than
# MAX_BUCKET times fills every one of its keys, and its later copies must still find it (they made
# clusters of their own when a full key returned nothing). For boilerplate they are a few candidates
# more, which verification drops.
FULL_KEY_SAMPLE = 4
# Buckets per generation. At a million documents 2**19 buckets hold ~92 records (~640 bytes) each,
# and their Redis key overhead (~115 bytes a key) adds ~60 bytes a document: ~400 in all
# (bench/index_scale.py). 2**20 (46 records) measured no faster and ~60 bytes a document dearer: a
# look-up's time goes to reaching its ~80 keys in memory, not to searching them. Fixed for the life
# of an index: records filed under another bucket count are not found.
BUCKETS = 2**19
# 24 bits: a record is 3 + 4 bytes, and a look-up in a ~90-record bucket matches another key's
# field about once in 2**24 / 90 (~190,000) look-ups: a spurious candidate, which verification drops.
_FIELD_BYTES = 3
_ID_BYTES = 4  # signed big-endian, like the documents table's INTEGER key
# Part of every key name: an index written in another layout is never misread, only ignored.
_LAYOUT = "ix2"
_OLD_LAYOUTS = ("ix",)  # cleared by clear()

# KEYS: the index's "filled" marker, then one bucket per slot. ARGV: document id (4 bytes), bucket
# limit, how many ids a full key returns, TTL seconds (0: none), the buckets' fields (3 bytes each)
# and their modes (a byte each; 1: file the document there, 2: look it up, 3: both), concatenated:
# two arguments rather than 160 halve the cost of sending a call; then "1" to refuse (UNFILLED)
# while the marker is missing. One round trip, and atomic: Redis runs scripts one at a time.
# string.find(..., true) is a plain memchr/memcmp search; a hit off a record boundary is part of
# another record and is skipped. The bucket is rewritten with SET rather than grown with APPEND,
# which would leave up to as much again allocated (+28% memory a document in bench/index_scale.py).
_ADD_AND_QUERY = """
local id = ARGV[1]
local limit = tonumber(ARGV[2])
local sample = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local fields, modes = ARGV[5], ARGV[6]
if ARGV[7] == '1' and redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('UNFILLED the index is being filled again from storage')
end
local seen = {[id] = true}
local found = {}
for i = 1, #KEYS - 1 do
  local key = KEYS[i + 1]
  local field = string.sub(fields, 3 * i - 2, 3 * i)
  local mode = string.byte(modes, i)
  local value = redis.call('GET', key)
  local ids, present = {}, false
  if value then
    local pos = string.find(value, field, 1, true)
    while pos and #ids <= limit do
      if pos % 7 == 1 then
        local member = string.sub(value, pos + 3, pos + 6)
        ids[#ids + 1] = member
        present = present or member == id
        pos = pos + 7
      else
        pos = pos + 1
      end
      pos = string.find(value, field, pos, true)
    end
  end
  if mode >= 2 then
    local shown = #ids
    if shown > limit then shown = math.min(sample, shown) end
    for j = 1, shown do
      local member = ids[j]
      if not seen[member] then
        seen[member] = true
        found[#found + 1] = member
      end
    end
  end
  if mode ~= 2 then
    if not present and #ids <= limit then
      value = (value or '') .. field .. id
      if ttl > 0 then
        redis.call('SET', key, value, 'EX', ttl)
      else
        redis.call('SET', key, value)
      end
    elseif ttl > 0 then
      redis.call('EXPIRE', key, ttl)
    end
  end
end
return found
"""

# KEYS: buckets. ARGV: document id, then a field per KEY. Drops the record of that id and field (filed
# at most once) from each bucket, keeping the bucket's expiry.
_REMOVE = """
for i = 1, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value then
    local record = ARGV[1 + i] .. ARGV[1]
    local pos = string.find(value, record, 1, true)
    while pos and pos % 7 ~= 1 do pos = string.find(value, record, pos + 1, true) end
    if pos and #value == 7 then
      redis.call('DEL', KEYS[i])
    elseif pos then
      redis.call('SET', KEYS[i], string.sub(value, 1, pos - 1) .. string.sub(value, pos + 7), 'KEEPTTL')
    end
  end
end
return #KEYS
"""

# (document id, the keys it is filed under, the keys it looks up)
Filing = tuple[int, Iterable[str], Iterable[str]]


class IndexIncomplete(Exception):
    """The shared index lost its entries (Redis flushed, replaced, restored without them) and is not
    filled again from storage yet: a look-up now would miss the stories stored before. Nothing was
    filed; try again once it is filled (storage.refill)."""


class NearDupIndex(Protocol):
    def add_and_query(self, doc_id: int, index_keys: Iterable[str], query_keys: Iterable[str]) -> set[int]:
        """File doc_id under index_keys and return the other ids filed under any of query_keys."""
        ...

    def add_and_query_many(self, documents: Sequence[Filing]) -> list[set[int]]:
        """add_and_query for each (doc_id, index_keys, query_keys) in turn: each sees those before it."""
        ...

    def file_many(self, documents: Sequence[tuple[int, Iterable[str]]]) -> None:
        """File each (doc_id, index_keys), looking nothing up: to fill an index from storage."""
        ...

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None: ...

    def clear(self) -> None: ...


def slot(key: str, buckets: int = BUCKETS) -> tuple[int, bytes]:
    """(bucket, field) of one index key."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest[_FIELD_BYTES:], "big") % buckets, digest[:_FIELD_BYTES]


def pack_id(doc_id: int) -> bytes:
    return doc_id.to_bytes(_ID_BYTES, "big", signed=True)


def unpack_ids(found: Iterable[bytes]) -> set[int]:
    return {int.from_bytes(member, "big", signed=True) for member in found}


class RedisIndex:
    """The production index: buckets of fixed-width records in Redis strings, one Lua script per document.

    With `window_days`, entries are filed in generations of that length and a generation expires
    once the next one has run its course: a document stays findable for window_days to twice that,
    and the index's memory stops growing while the documents stay in storage.

    With `require_filled`, look-ups refuse (IndexIncomplete) unless the `marker` key says the index
    holds the archive: a Redis that lost the index whole (flushed, replaced, restarted empty) loses
    the marker with it, in the same instant, so no copy is compared with what is left of it. A partial
    loss that keeps the marker (an older snapshot, eviction) is not detected. storage.refill files the
    archive and sets the marker.
    """

    def __init__(
        self,
        client: redis.Redis,
        namespace: str,
        max_bucket: int = MAX_BUCKET,
        full_key_sample: int = FULL_KEY_SAMPLE,
        window_days: float | None = None,
        buckets: int = BUCKETS,
        clock: Callable[[], float] = time.time,
        require_filled: bool = False,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.prefix = f"copydesk:{_LAYOUT}:{namespace}:"
        self.marker = self.prefix + "filled"
        self.require_filled = require_filled
        self.max_bucket = max_bucket
        self.full_key_sample = full_key_sample
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

    def _slots(self, keys: Iterable[str], generations: list[int]) -> tuple[list[str], list[bytes]]:
        names, fields = [], []
        for key in keys:
            bucket, field = slot(key, self.buckets)
            for generation in generations:
                names.append(f"{self.prefix}g{generation}:{bucket}")
                fields.append(field)
        return names, fields

    def add_and_query(self, doc_id: int, index_keys: Iterable[str], query_keys: Iterable[str]) -> set[int]:
        return self.add_and_query_many([(doc_id, index_keys, query_keys)])[0]

    def add_and_query_many(self, documents: Sequence[Filing]) -> list[set[int]]:
        return [unpack_ids(found) for found in self._run(documents, self.require_filled)]

    def file_many(self, documents: Sequence[tuple[int, Iterable[str]]]) -> None:
        self._run([(doc_id, keys, ()) for doc_id, keys in documents], require_filled=False)

    def filled(self) -> bool:
        return bool(self.client.exists(self.marker))

    def _run(self, documents: Sequence[Filing], require_filled: bool) -> list[list[bytes]]:
        # One round trip for a batch; each script is still atomic, and they run in order.
        pipe = self.client.pipeline(transaction=False)
        for doc_id, index_keys, query_keys in documents:
            keys, args = self.script_input(index_keys, query_keys)
            self._add(keys=keys, args=[pack_id(doc_id), *args, int(require_filled)], client=pipe)
        results = pipe.execute(raise_on_error=False)
        from redis import ResponseError  # loaded already: the client is redis's

        for result in results:
            if isinstance(result, ResponseError):
                if str(result).startswith("UNFILLED"):
                    raise IndexIncomplete(str(result).removeprefix("UNFILLED "))
                raise result
        return results

    def script_input(self, index_keys: Iterable[str], query_keys: Iterable[str]) -> tuple[list[str], list[bytes | int]]:
        """The add-and-query script's KEYS and its ARGV after the document id (`pack_id(doc_id)`),
        without the last one (whether to require the marker)."""
        modes = dict.fromkeys(index_keys, 1)
        for key in query_keys:
            modes[key] = modes.get(key, 0) | 2
        generations = [f"{self.prefix}g{generation}:" for generation in self._generations()]
        names, fields, slot_modes = [], [], bytearray()
        for key, mode in modes.items():
            bucket, field = slot(key, self.buckets)
            # Filed in the current generation only; looked up in every generation of the window.
            for generation, generation_mode in zip(generations, (mode, mode & 2), strict=False):
                if generation_mode:
                    names.append(f"{generation}{bucket}")
                    fields.append(field)
                    slot_modes.append(generation_mode)
        ttl = int(2 * self.window) if self.window else 0
        return [self.marker, *names], [self.max_bucket, self.full_key_sample, ttl, b"".join(fields), bytes(slot_modes)]

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None:
        names, fields = self._slots(index_keys, self._generations())
        if names:
            self._remove(keys=names, args=[pack_id(doc_id), *fields])

    def clear(self) -> None:
        """Delete this namespace's index, in this layout and the ones before it."""
        for layout in (_LAYOUT, *_OLD_LAYOUTS):
            names: list[bytes] = []
            for name in self.client.scan_iter(match=f"copydesk:{layout}:{self.namespace}:*", count=1000):
                names.append(name)
                if len(names) == 1000:
                    self.client.delete(*names)
                    names = []
            if names:
                self.client.delete(*names)


class MemoryIndex:
    """The same index in one process's memory: for batch runs (`copydesk dedup`) and unit tests."""

    def __init__(self, max_bucket: int = MAX_BUCKET, full_key_sample: int = FULL_KEY_SAMPLE) -> None:
        self.buckets: dict[str, dict[int, None]] = defaultdict(dict)  # ids in the order filed
        self.max_bucket = max_bucket
        self.full_key_sample = full_key_sample
        self._lock = threading.Lock()

    def add_and_query(self, doc_id: int, index_keys: Iterable[str], query_keys: Iterable[str]) -> set[int]:
        with self._lock:
            found: set[int] = set()
            for key in query_keys:
                bucket = self.buckets.get(key, {})
                found.update(bucket if len(bucket) <= self.max_bucket else islice(bucket, self.full_key_sample))
            for key in index_keys:
                bucket = self.buckets[key]
                if len(bucket) <= self.max_bucket:
                    bucket[doc_id] = None
            found.discard(doc_id)
            return found

    def add_and_query_many(self, documents: Sequence[Filing]) -> list[set[int]]:
        return [self.add_and_query(*document) for document in documents]

    def file_many(self, documents: Sequence[tuple[int, Iterable[str]]]) -> None:
        for doc_id, index_keys in documents:
            self.add_and_query(doc_id, index_keys, ())

    def remove(self, doc_id: int, index_keys: Iterable[str]) -> None:
        with self._lock:
            for key in index_keys:
                self.buckets.get(key, {}).pop(doc_id, None)

    def clear(self) -> None:
        with self._lock:
            self.buckets.clear()
