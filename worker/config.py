"""Configuration from COPYDESK_* environment variables, read once and passed explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.fetch import FetchPolicy


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
        )
