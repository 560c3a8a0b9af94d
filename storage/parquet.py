"""`copydesk export --format parquet`: one row per stored document, written in row groups as it streams.

The columns are what a dataset tool needs to keep one row per story with a filter (`is_canonical`) or
to study the copies (`relation`: "canonical", "near-duplicate", "excerpt", "wrapped", "copy of a copy").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        pa.field("cluster", pa.int64(), nullable=False),
        pa.field("document", pa.int64(), nullable=False),
        pa.field("is_canonical", pa.bool_(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("host", pa.string()),
        pa.field("title", pa.string()),
        pa.field("published", pa.timestamp("us", tz="UTC")),  # declared by the page; null if it declared none
        pa.field("fetched", pa.timestamp("us", tz="UTC")),  # fetched, or its WARC-Date
        pa.field("text", pa.string()),
    ]
)
# Rows a row group: small enough to hold a group's text in memory, large enough for readers to skip well.
ROWS_PER_GROUP = 2000


def write_parquet(rows: Iterable[dict[str, Any]], path: Path, rows_per_group: int = ROWS_PER_GROUP) -> int:
    """Write the rows (storage.queries.iter_documents) to `path` (zstd-compressed); the number written."""
    written = 0
    group: list[dict[str, Any]] = []
    with pq.ParquetWriter(path, SCHEMA, compression="zstd") as writer:
        for row in rows:
            group.append({name: _utc(row.get(name)) for name in SCHEMA.names})
            if len(group) >= rows_per_group:
                writer.write_table(pa.Table.from_pylist(group, schema=SCHEMA))
                written += len(group)
                group = []
        if group or not written:  # an empty archive still gives a readable file with the schema
            writer.write_table(pa.Table.from_pylist(group, schema=SCHEMA))
            written += len(group)
    return written


def _utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value
