"""Configuration from COPYDESK_* environment variables, read once and passed explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ingest.fetch import FetchPolicy

PUSH_BATCH_SIZE = 32  # pushed pages a task (worker.push): a few seconds of work, well inside the task time limit


def celery_broker_url(redis_url: str) -> str:
    """A Redis URL as Celery (kombu) spells it: redis-py's unix:///path?db=N is kombu's redis+socket."""
    if not redis_url.startswith("unix://"):
        return redis_url
    parts = urlsplit(redis_url)
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.path}?virtual_host={db}"


def redis_client_url(url: str) -> str:
    """A broker URL as redis-py spells it (the reverse of celery_broker_url)."""
    if not url.startswith("redis+socket://"):
        return url
    parts = urlsplit(url)
    db = parse_qs(parts.query).get("virtual_host", ["0"])[0]
    return f"unix://{parts.path}?db={db}"


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError as err:
        raise ValueError(f"{name} must be a number, got {value!r}") from err


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None  # None: copydesk run starts an embedded Redis under data_dir
    fetch: FetchPolicy = field(default_factory=FetchPolicy)
    max_retries: int = 3
    task_time_limit: float = 120.0  # hard limit per task; the broker's visibility timeout is well above it
    flower_basic_auth: str | None = None
    index_window_days: float | None = None  # None: index entries never expire
    # A page whose processing killed the worker process this many times is recorded as `poison`.
    max_attempts: int = 3
    # Wall-clock limit on extracting one page (worker and `copydesk dedup`), recorded as `time_limit`.
    page_time_limit: float = 60.0
    # None: far above the task time limit, so that a slow task is never delivered twice.
    visibility_timeout_override: float | None = None
    host_interval: float = 1.0  # seconds between two requests to one host, across every worker
    # How often beat wakes the dispatcher that queues due sources. Each wake is a task in Flower's list:
    # once a minute (not every 10 s) does not bury ingest tasks; a source is polled up to this late.
    dispatch_every: float = 60.0
    beat_lock_ttl: float = 30.0  # a beat that stops renewing its lock hands over after this long

    @property
    def visibility_timeout(self) -> float:
        """Seconds after which Redis re-delivers a task whose worker vanished without acknowledging it."""
        if self.visibility_timeout_override is not None:
            return self.visibility_timeout_override
        return max(3600.0, self.task_time_limit * 10)

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(os.environ.get("COPYDESK_DATA_DIR", "./data")).resolve()
        allowed = tuple(n.strip() for n in os.environ.get("COPYDESK_ALLOW_NETWORKS", "").split(",") if n.strip())
        fetch = FetchPolicy(
            user_agent=os.environ.get("COPYDESK_USER_AGENT", FetchPolicy.user_agent),
            max_bytes=int(_float("COPYDESK_MAX_BYTES", FetchPolicy.max_bytes)),
            total_timeout=_float("COPYDESK_FETCH_TIMEOUT", FetchPolicy.total_timeout),
            allowed_networks=allowed,
        )
        return cls(
            data_dir=data_dir,
            database_url=os.environ.get("COPYDESK_DATABASE_URL", f"sqlite:///{data_dir / 'copydesk.db'}"),
            redis_url=os.environ.get("COPYDESK_REDIS_URL") or None,
            fetch=fetch,
            max_retries=int(_float("COPYDESK_MAX_RETRIES", 3)),
            task_time_limit=_float("COPYDESK_TASK_TIME_LIMIT", 120.0),
            flower_basic_auth=os.environ.get("COPYDESK_FLOWER_BASIC_AUTH") or None,
            index_window_days=_float("COPYDESK_INDEX_WINDOW_DAYS", 0) or None,
            max_attempts=int(_float("COPYDESK_MAX_ATTEMPTS", 3)),
            page_time_limit=_float("COPYDESK_PAGE_TIME_LIMIT", 60.0),
            visibility_timeout_override=_float("COPYDESK_VISIBILITY_TIMEOUT", 0) or None,
            host_interval=_float("COPYDESK_HOST_INTERVAL", 1.0),
            dispatch_every=_float("COPYDESK_DISPATCH_EVERY", 60.0),
            beat_lock_ttl=_float("COPYDESK_BEAT_LOCK_TTL", 30.0),
        )
