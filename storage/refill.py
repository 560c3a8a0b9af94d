"""Filling the shared index again from storage after Redis lost it: one process at a time, in resumable steps.

The index lives in Redis beside the broker's queues. A Redis that is flushed, replaced, or restored
without the index (or a new index layout) would leave every new copy blind to the stories stored
before. Its "filled" marker goes with the entries, and a RedisIndex with `require_filled` refuses
look-ups without it (IndexIncomplete), so the workers that meet an empty index fill it here first.

A million documents take minutes to file, longer than a task may run, so the work goes a step at a
time: whoever holds the claim files chunks until its deadline and records how far it got; the next
step, in any process, resumes there. The marker is set only by a holder whose claim survived: a Redis
that lost the index again meanwhile lost the claim and the progress with it, and filling starts over.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import redis

from storage.archive import Archive
from storage.index import RedisIndex

log = logging.getLogger(__name__)

CHUNK = 1000  # documents filed per round trip
# A filler that died (killed mid-step) hands over after this long; renewed with every chunk, which takes
# ~0.3 s (bench/refill.py). If a chunk ever took longer, a second filler would take over and the first
# would stop at its next chunk: filing twice is harmless.
CLAIM_MS = 10_000

# KEYS: the claim, the progress, the marker. ARGV: the claim's token, the last document id filed,
# "1" when every document is filed, the claim's lifetime in ms. 0 if the claim is no longer ours.
_STEP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[3], '1')
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
"""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
# KEYS: the claim, the marker. ARGV: a token, the claim's lifetime in ms. 2: filled already (in the same
# step as the claim: a refill that ends in between must not send the next one back to the first id),
# 1: claimed, 0: someone else holds the claim.
_CLAIM = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""


def refill(archive: Archive, index: RedisIndex, until: float, chunk: int = CHUNK) -> bool:
    """Fill `index` with `archive`'s settled documents until the time.monotonic() `until` (a chunk at
    least). True once the index is filled; False if there is more to do or another process is at it."""
    client = index.client
    claim, progress = index.prefix + "filling", index.prefix + "filled-to"
    keys = [claim, progress, index.marker]
    token = uuid.uuid4().hex
    claimed = client.eval(_CLAIM, 2, claim, index.marker, token, CLAIM_MS)
    if claimed != 1:
        return claimed == 2
    # Entries older than the window have expired anyway (RedisIndex: up to two windows).
    since = datetime.now(UTC) - timedelta(seconds=2 * index.window) if index.window else None
    after = int(client.get(progress) or 0)
    filed = 0
    try:
        for last, count in archive.reindex_steps(since, after=after, chunk=chunk):
            filed += count
            if not client.eval(_STEP, 3, *keys, token, last, 0, CLAIM_MS):
                return False  # Redis lost the claim, so the progress too: start over in the next step
            if time.monotonic() >= until:
                client.eval(_RELEASE, 1, claim, token)
                log.info("index refill: filed %d documents, up to id %d; more to do", filed, last)
                return False
        done = bool(client.eval(_STEP, 3, *keys, token, 0, 1, CLAIM_MS))
    except BaseException:
        with contextlib.suppress(redis.RedisError):
            client.eval(_RELEASE, 1, claim, token)
        raise
    if done and (filed or after):
        log.warning("the index had lost its entries: filled again from storage (this step filed %d)", filed)
    return done
