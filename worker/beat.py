"""A beat scheduler that sends only while it holds a lock in Redis, so any number of beats can be started
and exactly one is active; the others stand by and take over within the lock's TTL if it goes away.

The schedule itself is kept in memory, not in a celerybeat-schedule file: what must survive a restart,
when each source is due, lives in the database (storage.sources.claim_due), and two beats sharing one
data directory would fight over the file.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from typing import Any

import redis
from celery.beat import Scheduler

from worker.config import Settings, redis_client_url

log = logging.getLogger("celery.beat")

LOCK_KEY = "copydesk:beat:lock"
# Extend the lock only if it is still ours (a beat that was paused past the TTL must not extend another's).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@functools.cache
def _token(pid: int) -> str:
    """Who holds the lock: one beat process. Celery makes a second scheduler in it for its start-up banner, which
    must name the same holder as the one that runs; a forked process is another holder."""
    return f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}"


class SingleBeatScheduler(Scheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ttl = Settings.from_env().beat_lock_ttl
        # Renew well before expiry; also the longest a standby sleeps between attempts to take over.
        self.renew_every = max(self.ttl / 3, 0.2)
        self.token = _token(os.getpid())
        self.leading: bool | None = None  # None until the first attempt, so that it is logged either way
        self._client: redis.Redis | None = None
        super().__init__(*args, **kwargs)

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(redis_client_url(self.app.conf.broker_url), socket_timeout=5)
        return self._client

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._lead():
            return self.renew_every
        return min(float(super().tick(*args, **kwargs)), self.renew_every)

    def _lead(self) -> bool:
        ttl_ms = int(self.ttl * 1000)
        try:
            if self.leading:
                holds = bool(self.client.eval(_RENEW, 1, LOCK_KEY, self.token, ttl_ms))
            else:
                holds = bool(self.client.set(LOCK_KEY, self.token, nx=True, px=ttl_ms))
        except redis.RedisError as err:
            # Without Redis nothing can be sent anyway, and we cannot prove we still hold the lock.
            log.warning("beat lock: %s", err)
            holds = False
        if holds and self.leading is not True:
            log.info("beat %s holds the scheduler lock: this beat sends", self.token)
        elif not holds and self.leading is not False:
            log.info("beat %s stands by: another beat holds the scheduler lock", self.token)
        self.leading = holds
        return holds

    def close(self) -> None:
        if self.leading:
            try:
                self.client.eval(_RELEASE, 1, LOCK_KEY, self.token)
            except redis.RedisError as err:
                log.warning("beat lock not released (it expires in %ss): %s", self.ttl, err)
            self.leading = False
        super().close()

    @property
    def info(self) -> str:
        return f"    . lock: {LOCK_KEY} (ttl {self.ttl}s, {self.token})"
