"""What a source is made of on the command line: poll intervals ("15m") and lists of sources (lines or OPML)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

KINDS = ("auto", "feed", "sitemap", "page")
MIN_EVERY = 1  # seconds; anything below is a typo, not a schedule
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)", re.I)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in "30s", "15m", "1h", "1h30m", "2d" or a bare number of seconds. Raises ValueError."""
    value = text.strip().lower().replace(" ", "")
    if not value:
        raise ValueError("empty duration")
    total = 0.0
    position = 0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT[match.group(2)]
        position = match.end()
    if position != len(value):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 15m, 1h, 1h30m, 2d)")
    seconds = round(total)
    if seconds < MIN_EVERY:
        raise ValueError(f"duration {text!r} is shorter than {MIN_EVERY}s")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest spelling parse_duration reads back: 90 -> "1m30s", 3600 -> "1h"."""
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


@dataclass(frozen=True)
class SourceSpec:
    url: str
    kind: str | None = None  # None: whatever the importer was told (default auto)
    title: str | None = None


def parse_source_list(data: bytes) -> list[SourceSpec]:
    """An OPML subscription list, or one URL per line (blank lines and # comments skipped)."""
    head = data.lstrip()[:512].lower()
    if b"<opml" in head or (head.startswith(b"<?xml") and b"<opml" in data[:4096].lower()):
        return parse_opml(data)
    text = data.decode("utf-8-sig", "replace")
    specs = [SourceSpec(line.strip()) for line in text.splitlines()]
    return [spec for spec in specs if spec.url and not spec.url.startswith("#")]


def parse_opml(data: bytes) -> list[SourceSpec]:
    """Every <outline> with an xmlUrl (a feed) or, failing that, an htmlUrl (a site to discover)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)
    try:
        root = etree.fromstring(data.lstrip(), parser)
    except (etree.XMLSyntaxError, ValueError) as err:
        raise ValueError(f"not an OPML file: {err}") from None
    if root is None or not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise ValueError("not an OPML file: no <opml> root")
    specs: list[SourceSpec] = []
    for outline in root.iter("outline"):
        attrs = {key.lower(): value.strip() for key, value in outline.attrib.items()}
        title = attrs.get("title") or attrs.get("text") or None
        if attrs.get("xmlurl"):
            specs.append(SourceSpec(attrs["xmlurl"], "feed", title))
        elif attrs.get("htmlurl"):
            specs.append(SourceSpec(attrs["htmlurl"], None, title))
    return specs
