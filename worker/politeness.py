"""Fetching the way a well-behaved crawler does, coordinated across every worker process through Redis.

* robots.txt is read once per origin and cached in Redis for ROBOTS_TTL; a disallowed URL is not fetched.
* One request per host every `interval` seconds (or the site's Crawl-delay, if longer), shared by all
  workers: a Lua script hands out each host's next free slot atomically, from Redis's clock, so ten
  workers on five machines still take turns; just before the request, a second script makes sure the
  host's previous request started at least an interval earlier (a sender that stalled after its turn, on
  a busy machine, must not bunch up with the next one). A worker whose turn is near sleeps until it; one
  whose turn is further than MAX_SLEEP away does not tie up its process but gets `Deferred` and the task
  comes back later (see `defer`).
* A 429 or 503 pushes the host's next slot back by its Retry-After for every worker, not just the one
  that was told.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace

import redis
from celery import Task
from celery.exceptions import Retry

from ingest.fetch import POLICY_REASONS, FetchedPage, FetchError, FetchPolicy, fetch
from ingest.robots import MAX_ROBOTS_BYTES, RobotsRules, decode_robots
from ingest.urls import host, origin
from worker.app import app, settings
from worker.config import redis_client_url

log = logging.getLogger(__name__)

ROBOTS_PREFIX = "copydesk:robots:"
SLOT_PREFIX = "copydesk:slot:"
STARTED_PREFIX = "copydesk:started:"
ROBOTS_TTL = 3600  # seconds a robots.txt is trusted
ROBOTS_WAIT = 5.0  # seconds a worker waits for another one that is fetching the same robots.txt
MAX_SLEEP = 5.0  # a turn further away than this is not waited for in-process
MAX_BACK_OFF = 600.0  # a Retry-After longer than this is read as this
DEFAULT_BACK_OFF = 10.0  # a 429 or 503 without Retry-After
_ROBOTS_POLICY_TYPES = ("text/plain", "text/html", "application/octet-stream")

# The next free slot of a host, in ms of Redis time. A caller whose slot starts within ARGV[2] ms takes it
# (and the slot after it becomes the next free one); a caller further away takes nothing and is told how
# long to wait, so the queue of promised slots never reaches further than ARGV[2] + one interval.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, free)
local wait = start - now
if wait > tonumber(ARGV[2]) then
  return {0, wait}
end
redis.call('SET', KEYS[1], start + tonumber(ARGV[1]), 'PX', wait + tonumber(ARGV[1]) + 1000)
return {1, wait}
"""
# A request may start now only if the host's last one started at least ARGV[1] ms ago (by Redis's clock);
# then this one is the last one. Returns 0, or the ms still to wait.
_START = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local interval = tonumber(ARGV[1])
if now - last < interval then
  return interval - (now - last)
end
redis.call('SET', KEYS[1], now, 'PX', interval + 1000)
return 0
"""
# Move the next free slot to at least now + ARGV[1] ms.
_BACK_OFF = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = now + tonumber(ARGV[1])
if free > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], free, 'PX', tonumber(ARGV[1]) + 1000)
end
return free - now
"""


class Deferred(Exception):
    """The host's next free turn is further away than a worker should sleep: try again after `wait`."""

    def __init__(self, host: str, wait: float) -> None:
        super().__init__(f"{host}: next request allowed in {wait:.1f}s")
        self.host = host
        self.wait = wait


class HostSlots:
    """Per-host request spacing shared by every process that talks to the same Redis."""

    def __init__(self, client: redis.Redis, max_sleep: float = MAX_SLEEP) -> None:
        self.max_sleep = max_sleep
        self._take = client.register_script(_TAKE)
        self._start = client.register_script(_START)
        self._back_off = client.register_script(_BACK_OFF)

    def take(self, hostname: str, interval: float) -> float:
        """Wait for this host's next turn and claim it; returns the seconds waited. Raises Deferred."""
        interval_ms = max(1, int(interval * 1000))
        taken, wait_ms = self._take(keys=[SLOT_PREFIX + hostname], args=[interval_ms, int(self.max_sleep * 1000)])
        wait = int(wait_ms) / 1000
        if not int(taken):
            raise Deferred(hostname, wait)
        if wait > 0:
            time.sleep(wait)
        # The slot says when to go; this makes sure: a sender that stalled after its slot (a busy machine)
        # must not let the next request follow its own closer than the interval.
        while (behind := int(self._start(keys=[STARTED_PREFIX + hostname], args=[interval_ms]))) > 0:
            time.sleep(behind / 1000)
            wait += behind / 1000
        return wait

    def back_off(self, hostname: str, seconds: float) -> None:
        self._back_off(keys=[SLOT_PREFIX + hostname], args=[int(min(seconds, MAX_BACK_OFF) * 1000)])


class Polite:
    """fetch() behind robots.txt and the per-host turns."""

    def __init__(self, client: redis.Redis, policy: FetchPolicy, interval: float, max_sleep: float = MAX_SLEEP):
        self.client = client
        self.policy = policy
        self.interval = interval
        self.slots = HostSlots(client, max_sleep)
        self._robots_policy = replace(policy, max_bytes=MAX_ROBOTS_BYTES, accept_content_types=_ROBOTS_POLICY_TYPES)

    @property
    def user_agent(self) -> str:
        return self.policy.user_agent

    def fetch(
        self, url: str, policy: FetchPolicy | None = None, headers: dict[str, str] | None = None
    ) -> FetchedPage:
        """Fetch url if robots.txt allows it, in the host's turn. Raises FetchError or Deferred."""
        rules = self.robots(url)
        if not rules.allowed(url, self.user_agent):
            raise FetchError("robots_disallowed", f"{url}: disallowed by {origin(url)}/robots.txt{self._robots_hint}")
        return self._in_turn(url, policy or self.policy, headers, rules.crawl_delay(self.user_agent), self._redirect)

    def _redirect(self, source: str, target: str) -> None:
        """A redirect is a request too: the target's robots.txt, and its host's turn if it is another host."""
        rules = self.robots(target)
        if not rules.allowed(target, self.user_agent):
            raise FetchError(
                "robots_disallowed", f"{source} redirects to {target}, disallowed by its robots.txt{self._robots_hint}"
            )
        if host(target) != host(source):
            self.slots.take(host(target), max(self.interval, rules.crawl_delay(self.user_agent) or 0.0))

    @property
    def _robots_hint(self) -> str:
        return (
            f" for the user agent {self.user_agent!r} (COPYDESK_USER_AGENT); copydesk always honours robots.txt:"
            " push a saved copy of the page instead"
        )

    def allowed(self, url: str) -> bool:
        return self.robots(url).allowed(url, self.user_agent)

    def robots(self, url: str) -> RobotsRules:
        """The robots.txt rules of url's origin, from Redis or fetched (once, by one worker) and cached."""
        key = ROBOTS_PREFIX + origin(url)
        cached = self.client.get(key)
        if cached is not None:
            return RobotsRules(_text(cached))
        # One worker fetches it; the others wait a little for its answer rather than all asking the site.
        fetching = bool(self.client.set(key + ":fetching", "1", nx=True, px=int((ROBOTS_WAIT + 30) * 1000)))
        if not fetching:
            deadline = time.monotonic() + ROBOTS_WAIT
            while time.monotonic() < deadline:
                time.sleep(0.05)
                cached = self.client.get(key)
                if cached is not None:
                    return RobotsRules(_text(cached))
        try:
            text = self._fetch_robots(url)
            self.client.set(key, text.encode("utf-8"), ex=ROBOTS_TTL)
        finally:
            if fetching:
                self.client.delete(key + ":fetching")
        return RobotsRules(text)

    def _fetch_robots(self, url: str) -> str:
        robots_url = origin(url) + "/robots.txt"
        try:
            page = self._in_turn(robots_url, self._robots_policy, None, None)
        except FetchError as err:
            if err.reason in POLICY_REASONS:  # our own refusal (a blocked address): final, not an outage
                raise
            # RFC 9309: a 4xx means there are no rules; so does a file we cannot read as text.
            if err.status is not None and 400 <= err.status < 500 and err.status != 429:
                return ""
            if err.reason in ("not_html", "too_large", "empty_body"):
                return ""
            # Unreachable (5xx, 429, network): crawl nothing there for now; the task retries later.
            raise FetchError(
                "robots_unavailable", f"{robots_url}: {err.message}", retryable=True, retry_after=err.retry_after
            ) from None
        return decode_robots(page.body)

    def _in_turn(
        self,
        url: str,
        policy: FetchPolicy,
        headers: dict[str, str] | None,
        crawl_delay: float | None,
        before_redirect: Callable[[str, str], None] | None = None,
    ) -> FetchedPage:
        hostname = host(url)
        self.slots.take(hostname, max(self.interval, crawl_delay or 0.0))
        try:
            return fetch(url, policy, headers, before_redirect)
        except FetchError as err:
            if err.status in (429, 503):
                self.slots.back_off(hostname, err.retry_after if err.retry_after is not None else DEFAULT_BACK_OFF)
            raise


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@functools.cache
def polite() -> Polite:
    """This process's Polite fetcher (built on first use: connections must not cross a fork)."""
    client = redis.Redis.from_url(settings.redis_url or redis_client_url(app.conf.broker_url))
    return Polite(client, settings.fetch, settings.host_interval)


def polite_fetch(url: str, policy: FetchPolicy | None = None, headers: dict[str, str] | None = None) -> FetchedPage:
    return polite().fetch(url, policy, headers)


def defer(task: Task, later: Deferred) -> Retry:
    """Send this task again for when the host's turn comes, and return the Retry that ends this run.

    The copy keeps the task's id and its retry count: waiting for one's turn is not a failure, so it
    must not use up the retries that 429s and 5xx are allowed.
    """
    countdown = later.wait + random.uniform(0, min(1.0, later.wait / 4))
    # Back to the queue it came from (a host queue, see worker.routing), as Task.retry does.
    queue = (task.request.delivery_info or {}).get("routing_key")
    task.apply_async(
        args=task.request.args,
        kwargs=task.request.kwargs,
        countdown=countdown,
        task_id=task.request.id,
        retries=task.request.retries,
        **({"queue": queue} if queue else {}),
    )
    log.info("deferred %s by %.1fs: %s", task.name, countdown, later)
    return Retry(f"deferred: {later}", later, when=countdown)
