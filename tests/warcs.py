"""Building real WARC files with warcio (the WARC library most tools write with), for tests and benches."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
    status: str = "200 OK"
    encoding: str | None = None  # HTTP Content-Encoding the body is sent with (e.g. "gzip": give it gzipped)


def dev_pages() -> Iterator[tuple[str, str, bytes]]:
    """(file name, truth URL, HTML bytes) of every dev corpus page, in file name order."""
    truth = json.loads((DEV / "truth.json").read_text())["pages"]
    for name in sorted(truth):
        yield name, truth[name]["url"], gzip.decompress((DEV / "pages" / name).read_bytes())


def write_warc(path: Path, entries: Iterable[Entry], gz: bool = True) -> list[int]:
    """Write the entries as one WARC (a gzip member a record when gz); the offset of each record."""
    with path.open("wb") as out:
        return write_records(out, entries, gz)


def warc_bytes(entries: Iterable[Entry], gz: bool = True) -> bytes:
    out = io.BytesIO()
    write_records(out, entries, gz)
    return out.getvalue()


def write_records(out: BinaryIO, entries: Iterable[Entry], gz: bool = True) -> list[int]:
    offsets: list[int] = []
    writer = WARCWriter(out, gzip=gz)
    for entry in entries:
        offsets.append(out.tell())
        warc_headers = {"WARC-Date": entry.date} if entry.date else None
        if entry.kind == "response":
            headers = [("Content-Type", entry.content_type)]
            headers += [("Content-Encoding", entry.encoding)] if entry.encoding else []
            http = StatusAndHeaders(entry.status, headers, protocol="HTTP/1.1")
        elif entry.kind == "request":
            http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example")], is_http_request=True)
        else:  # resource, metadata, warcinfo: no HTTP envelope, the block's type is Content-Type
            http = None
        record = writer.create_warc_record(
            entry.url,
            entry.kind,
            payload=io.BytesIO(entry.body),
            warc_content_type=entry.content_type if http is None else "",
            warc_headers_dict=warc_headers,
            http_headers=http,
        )
        writer.write_record(record)
    return offsets


def damage(record: bytes, how: str) -> bytes:
    """One record as warcio wrote it (a gzip member, or plain), damaged: "truncate" cuts it in half,
    "header" breaks its version line, "long"/"short" make its Content-Length lie by 5,000 bytes."""
    gz = record.startswith(b"\x1f\x8b")
    if how == "truncate":
        return record[: len(record) // 2]
    raw = gzip.decompress(record) if gz else record
    if how == "header":
        raw = b"WARX" + raw[4:]
    else:
        declared = int(re.search(rb"Content-Length: (\d+)", raw).group(1))  # type: ignore[union-attr]
        lie = declared + 5000 if how == "long" else declared - 5000
        raw = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % lie, raw, count=1)
    return gzip.compress(raw) if gz else raw
