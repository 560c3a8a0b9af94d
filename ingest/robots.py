"""robots.txt rules (RFC 9309) over urllib.robotparser; fetching and caching them is the worker's job."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.robotparser import RobotFileParser

# Google reads the first 500 KiB of a robots.txt and ignores the rest; so do we.
MAX_ROBOTS_BYTES = 512_000
# A Crawl-delay above this is treated as this: one request a minute is as slow as we go.
MAX_CRAWL_DELAY = 60.0
_FRACTIONAL_DELAY = re.compile(r"^(\s*crawl-delay\s*:\s*)(\d*\.\d+)", re.I | re.M)


@dataclass(frozen=True)
class RobotsRules:
    text: str = ""  # empty: no robots.txt (or a 4xx for it), everything allowed
    _parser: RobotFileParser = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parser = RobotFileParser()
        # parse() also marks the rules as read; an unread parser would disallow everything.
        parser.parse(_whole_delays(self.text).splitlines())
        object.__setattr__(self, "_parser", parser)

    def allowed(self, url: str, user_agent: str) -> bool:
        return self._parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float | None:
        delay = self._parser.crawl_delay(user_agent)
        if delay is None:
            return None
        try:
            return min(max(float(delay), 0.0), MAX_CRAWL_DELAY)
        except ValueError:
            return None


def _whole_delays(text: str) -> str:
    # urllib.robotparser ignores a Crawl-delay that is not an integer; rounding up keeps it, erring slow.
    return _FRACTIONAL_DELAY.sub(lambda m: f"{m.group(1)}{math.ceil(float(m.group(2)))}", text)


def decode_robots(body: bytes) -> str:
    return body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace")
