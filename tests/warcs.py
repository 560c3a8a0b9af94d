"""Building real WARC files with warcio (the WARC library most tools write with), for tests and benches."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

DEV = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"


@dataclass(frozen=True)
class Entry:
    """One record to write: a `response` (with HTTP headers) unless `kind` says otherwise."""

    url: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    kind: str = "response"
    date: str | None = None  # WARC-Date, ISO 8601; None: warcio's now


def dev_pages() -> Iterator[tuple[str, str, bytes]]:
    """(file name, truth URL, HTML bytes) of every dev corpus page, in file name order."""
    truth = json.loads((DEV / "truth.json").read_text())["pages"]
    for name in sorted(truth):
        yield name, truth[name]["url"], gzip.decompress((DEV / "pages" / name).read_bytes())


def write_warc(path: Path, entries: Iterable[Entry], gz: bool = True) -> list[int]:
    """Write the entries as one WARC (a gzip member a record when gz); the offset of each record."""
    offsets: list[int] = []
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gz)
        for entry in entries:
            offsets.append(out.tell())
            warc_headers = {"WARC-Date": entry.date} if entry.date else None
            if entry.kind in ("response", "request"):
                status = "200 OK" if entry.kind == "response" else "GET / HTTP/1.1"
                http = StatusAndHeaders(status, [("Content-Type", entry.content_type)], protocol="HTTP/1.1")
                if entry.kind == "request":
                    http = StatusAndHeaders(status, [("Host", "example")], is_http_request=True)
                record = writer.create_warc_record(
                    entry.url,
                    entry.kind,
                    payload=io.BytesIO(entry.body),
                    http_headers=http,
                    warc_headers_dict=warc_headers,
                )
            else:  # resource, metadata, warcinfo: no HTTP envelope, the block's type is Content-Type
                record = writer.create_warc_record(
                    entry.url,
                    entry.kind,
                    payload=io.BytesIO(entry.body),
                    warc_content_type=entry.content_type,
                    warc_headers_dict=warc_headers,
                )
            writer.write_record(record)
    return offsets
