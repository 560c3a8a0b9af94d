"""Pages out of web archives (WARC 1.0/1.1, plain or gzipped), streamed record by record.

`read_warc(path)` yields, in file order, a `WarcPage` for every HTML page (a 2xx HTTP `response` or a
`resource` record whose type is HTML), a `Skipped` for every other record, and a `Damaged` for every part of
the file that is not a sound record. Pure: no database, no Celery.

Records are parsed by FastWARC (resiliparse), twice as fast as warcio here (bench/warc_read.py,
bench/README.md). FastWARC stops at the first damaged record, so this module resumes after it: damage is
reported with the file and the offset of the record it hit, and reading goes on at the next sound record
start (a gzip member that opens with `WARC/`, or a `WARC/1.x` line), so only the damaged record is lost.
A record that lies about its length is only found out when the record after it fails to parse; so every
record is held back until the next one has parsed (or the file has ended), and the held record is checked
byte by byte against its Content-Length when parsing fails after it. That check runs only on damage.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

SUFFIXES = (".warc", ".warc.gz")
GZIP_MAGIC = b"\x1f\x8b\x08"
HTML_TYPES = ("text/html", "application/xhtml+xml")
_SCAN_CHUNK = 1 << 20
# A record header longer than this is not one (FastWARC's own limit is of the same order).
_MAX_HEADER = 1 << 16
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)[ \t]*$", re.I | re.M)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_:.-]+)", re.I)


@dataclass(frozen=True)
class WarcPage:
    """An HTML page found in an archive: `url` is its WARC-Target-URI, `fetched` its WARC-Date."""

    path: Path
    offset: int  # of its record in the file (compressed offset for .warc.gz)
    url: str
    fetched: datetime | None
    html: bytes
    charset: str | None  # from the HTTP Content-Type (or the resource record's), None if not declared


@dataclass(frozen=True)
class Skipped:
    """A sound record that holds no HTML page: why is its type ("request", "response image/png", ...)."""

    path: Path
    offset: int
    why: str


@dataclass(frozen=True)
class Damaged:
    """Bytes that are not a sound record, from `offset` on; reading resumed at the next sound record."""

    path: Path
    offset: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}: damaged record at offset {self.offset}: {self.message}"


Item = WarcPage | Skipped | Damaged


def is_warc(path: Path) -> bool:
    return path.name.endswith(SUFFIXES)


def warc_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and is_warc(p))


def read_warcs(paths: Iterable[Path]) -> Iterator[Item]:
    for path in paths:
        yield from read_warc(path)


def read_warc(path: Path) -> Iterator[Item]:
    """Every record of one WARC file as a WarcPage, Skipped or Damaged, in file order.

    OSError if the file cannot be opened; anything wrong inside it is a Damaged item.
    """
    with path.open("rb") as stream:
        gz = stream.read(len(GZIP_MAGIC)) == GZIP_MAGIC  # by content: a .warc that is gzipped is read too
        size = stream.seek(0, 2)
        start: int | None = 0
        while start is not None and start < size:
            start = yield from _read_from(path, stream, start, gz)


def _read_from(path: Path, stream: BinaryIO, start: int, gz: bool) -> Generator[Item, None, int | None]:
    """Records from `start` on until the end (returns None) or damage (returns where to resume)."""
    stream.seek(start)
    records = ArchiveIterator(stream, record_types=WarcRecordType.any_type, auto_decode="all")
    held: Item | None = None  # the last record parsed, yielded once the next one parsed too
    while True:
        try:
            record = next(records)
            item = _item(path, record)
        except StopIteration:
            break
        except Exception as err:  # FastWARC raises OSError; a body that fails to decode, ValueError
            return (yield from _after_damage(path, stream, start, gz, held, err))
        if held is not None:
            yield held
        held = item
    if held is not None:
        # The last record has no successor to prove its length: check it (once a file, cheap).
        problem, _ = _check(stream, held.offset, gz)
        yield Damaged(path, held.offset, problem) if problem else held
    return None


def _after_damage(
    path: Path, stream: BinaryIO, start: int, gz: bool, held: Item | None, err: Exception
) -> Generator[Item, None, int | None]:
    """Report what parsing failed on, yield the held record if it is sound; the offset to resume at."""
    reason = f"{type(err).__name__}: {err}".strip()
    if held is None:  # the first record from `start` failed
        damaged_at = start
    else:
        problem, end = _check(stream, held.offset, gz)
        if problem:  # the held record lied about its length: the failure after it was its doing
            yield Damaged(path, held.offset, problem)
            damaged_at, reason = held.offset, ""
        else:
            yield held
            damaged_at = end
    resume = _next_record(stream, damaged_at + 1, gz)
    if reason:
        yield Damaged(path, damaged_at, _describe(reason, resume))
    return resume


def _describe(reason: str, resume: int | None) -> str:
    return f"{reason}; " + (f"resumed at offset {resume}" if resume is not None else "nothing readable after it")


def _item(path: Path, record: WarcRecord) -> Item:
    offset = int(record.stream_pos)
    kind = record.record_type
    url = record.headers.get("WARC-Target-URI") or ""
    if kind == WarcRecordType.response:
        content_type = record.http_content_type or "" if record.is_http else ""
        status = record.http_headers.status_code if record.is_http and record.http_headers else None
        if status is None or not 200 <= status < 300:
            return Skipped(path, offset, f"response {status or 'without HTTP status'}")
        charset = record.http_charset
    elif kind == WarcRecordType.resource:
        content_type = record.headers.get("Content-Type") or ""
        found = _CHARSET.search(content_type)
        charset = found.group(1) if found else None
    else:
        return Skipped(path, offset, _kind_name(kind))
    if content_type.split(";")[0].strip().lower() not in HTML_TYPES:
        return Skipped(path, offset, f"{_kind_name(kind)} {content_type.split(';')[0].strip() or 'untyped'}")
    if not url:
        return Skipped(path, offset, f"{_kind_name(kind)} without WARC-Target-URI")
    date = record.headers.get("WARC-Date")
    return WarcPage(path, offset, url, _date(date), record.reader.read(), charset)


def _kind_name(kind: WarcRecordType) -> str:
    return str(kind.name) if hasattr(kind, "name") else str(kind).rsplit(".", 1)[-1]


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:  # a page with a malformed date is still a page
        return None


# ---- damage: checking a record's framing and finding the next record ---------------------------------


def _check(stream: BinaryIO, offset: int, gz: bool) -> tuple[str | None, int]:
    """(what is wrong with the record at offset or None, the offset right after it).

    Keeps only the record's header and its last bytes: a record may be a video of gigabytes, and a lying
    Content-Length may claim the rest of the file.
    """
    if gz and not _starts_record(stream, offset, gz):
        # Not a gzip member of its own (a whole file gzipped as one member): nothing to check it against.
        return None, offset + 1
    stream.seek(offset)
    if gz:
        inflate = zlib.decompressobj(31)
        head, tail, length = b"", b"", 0
        try:
            while not inflate.eof and (chunk := stream.read(_SCAN_CHUNK)):
                part = inflate.decompress(chunk)
                if len(head) < _MAX_HEADER:
                    head += part[: _MAX_HEADER - len(head)]
                tail, length = (tail + part[-4:])[-4:], length + len(part)
        except zlib.error as err:
            return f"gzip member does not inflate: {err}", offset + 1
        if not inflate.eof:
            return "truncated gzip member", stream.tell()
        end = stream.tell() - len(inflate.unused_data)
    else:
        head = stream.read(_MAX_HEADER)
    header_end = head.find(b"\r\n\r\n")
    found = _CONTENT_LENGTH.search(head, 0, max(header_end, 0))
    if header_end < 0 or not found:
        return "no WARC header with a Content-Length", offset + 1
    declared = int(found.group(1))
    if gz:
        actual = length - header_end - 4 - 4
        if tail != b"\r\n\r\n" or declared != actual:
            return f"its Content-Length ({declared}) does not match its gzip member's {max(actual, 0)} bytes", end
        return None, end
    end = offset + header_end + 4 + declared + 4
    if (following := _next_record(stream, offset + 1, gz)) is not None and following < end:
        return f"its Content-Length ({declared}) runs into the record at offset {following}", end
    stream.seek(end - 4)
    if stream.read(4) != b"\r\n\r\n":
        return f"its Content-Length ({declared}) does not end where the record does", end
    return None, end


def _next_record(stream: BinaryIO, position: int, gz: bool) -> int | None:
    """The first offset >= position where a sound record seems to start, or None."""
    marker = GZIP_MAGIC if gz else b"WARC/1."
    while True:
        stream.seek(position)
        chunk = stream.read(_SCAN_CHUNK + len(marker))
        if len(chunk) < len(marker):
            return None
        at = chunk.find(marker)
        while at >= 0:
            if _starts_record(stream, position + at, gz):
                return position + at
            at = chunk.find(marker, at + 1)
        position += _SCAN_CHUNK


def _starts_record(stream: BinaryIO, offset: int, gz: bool) -> bool:
    """Whether a record header starts at offset: a version line, then a header block with a Content-Length.

    Not "after a newline": a truncated record ends anywhere, and the record after it starts right there.
    """
    stream.seek(offset)
    head = stream.read(4096)
    if gz:  # a gzip member whose first bytes inflate to a WARC header
        try:
            head = zlib.decompressobj(31).decompress(head, 4096)
        except zlib.error:
            return False
    if re.match(rb"WARC/1\.[01]\r\n", head) is None:
        return False
    header_end = head.find(b"\r\n\r\n")
    return _CONTENT_LENGTH.search(head, 0, header_end if header_end >= 0 else len(head)) is not None
