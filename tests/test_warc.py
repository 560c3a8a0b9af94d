"""WARC input end to end: real WARC files written by warcio, read by ingest.warc, run through the real CLI."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.extract import extract
from ingest.warc import Damaged, Skipped, WarcPage, read_warc
from tests.test_cli import _env, run_cli
from tests.warcs import DEV, Entry, damage, dev_pages, warc_bytes, write_warc

pytestmark = pytest.mark.skipif(not DEV.is_dir(), reason=f"no dev corpus at {DEV}")

DAMAGE = ["truncate", "header", "long", "short"]


def six_pages() -> list[Entry]:
    return [Entry(url, html) for _, url, html in list(dev_pages())[:6]]


def described(items: list[Any]) -> list[tuple[str, int]]:
    return [(type(item).__name__, item.offset) for item in items]


@pytest.mark.parametrize("gz", [True, False], ids=["warc.gz", "warc"])
@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_record_loses_only_itself(tmp_path: Path, gz: bool, how: str) -> None:
    """The third of six records is damaged: it is reported at its offset, the five others are read."""
    records = [warc_bytes([entry], gz) for entry in six_pages()]
    records[2] = damage(records[2], how)
    offsets = [sum(len(r) for r in records[:n]) for n in range(len(records))]
    path = tmp_path / ("damaged.warc.gz" if gz else "damaged.warc")
    path.write_bytes(b"".join(records))

    items = list(read_warc(path))

    expected = [("WarcPage", at) for at in offsets]
    expected[2] = ("Damaged", offsets[2])
    assert described(items) == expected
    assert [item.url for item in items if isinstance(item, WarcPage)] == [
        e.url for n, e in enumerate(six_pages()) if n != 2
    ]
    assert all(len(item.html) > 1000 for item in items if isinstance(item, WarcPage))
    (damaged,) = [item for item in items if isinstance(item, Damaged)]
    assert f"{path}: damaged record at offset {offsets[2]}: " in str(damaged)


def test_damage_at_the_start_and_the_end(tmp_path: Path) -> None:
    records = [warc_bytes([entry]) for entry in six_pages()]
    records[0], records[-1] = damage(records[0], "header"), damage(records[-1], "truncate")
    path = tmp_path / "ends.warc.gz"
    path.write_bytes(b"".join(records))
    kinds = [type(item).__name__ for item in read_warc(path)]
    assert kinds == ["Damaged", *["WarcPage"] * 4, "Damaged"]


def test_records_that_are_not_pages_are_skipped_and_the_http_charset_is_used(tmp_path: Path) -> None:
    text = "Привет, мир: новости дня. " * 40
    cyrillic = f"<html><head><title>Новости</title></head><body><article><p>{text}</p></article></body></html>"
    path = tmp_path / "mixed.warc"
    write_warc(
        path,
        [
            Entry("", b"software: test", kind="warcinfo", content_type="application/warc-fields"),
            Entry("https://news.example/a", b"", kind="request"),
            Entry(
                "https://news.example/a",
                cyrillic.encode("windows-1251"),
                content_type="text/html; charset=windows-1251",
                date="2024-03-01T10:20:30Z",
            ),
            Entry("https://news.example/logo.png", b"\x89PNG....", content_type="image/png"),
            Entry("https://news.example/gone", b"<html>not here</html>", status="404 Not Found"),
            Entry("https://news.example/b", b"<html><body><p>saved</p></body></html>", kind="resource"),
            Entry("https://news.example/b.txt", b"plain", kind="resource", content_type="text/plain"),
            Entry("https://news.example/a", b"{}", kind="metadata", content_type="application/json"),
        ],
        gz=False,
    )
    items = list(read_warc(path))
    assert [type(item).__name__ for item in items] == ["Skipped", "Skipped", "WarcPage", "Skipped", "Skipped",
                                                       "WarcPage", "Skipped", "Skipped"]  # fmt: skip
    assert [item.why for item in items if isinstance(item, Skipped)] == [
        "warcinfo",
        "request",
        "response image/png",
        "response 404",
        "resource text/plain",
        "metadata",
    ]
    page = items[2]
    assert isinstance(page, WarcPage)
    assert page.url == "https://news.example/a" and page.charset == "windows-1251"
    assert page.fetched is not None and page.fetched.isoformat() == "2024-03-01T10:20:30+00:00"
    article = extract(page.html, page.url, charset=page.charset)
    assert "новости дня" in article.text and article.host == "news.example"


def test_a_body_sent_gzipped_is_read_decoded(tmp_path: Path) -> None:
    """Crawlers store the HTTP payload as sent: with Content-Encoding: gzip, the page is the inflated body."""
    import gzip

    _, url, html = next(dev_pages())
    path = tmp_path / "encoded.warc.gz"
    write_warc(path, [Entry(url, gzip.compress(html), encoding="gzip")])
    (page,) = read_warc(path)
    assert isinstance(page, WarcPage) and page.html == html


# ---- the dev corpus as one WARC, through `copydesk dedup` ---------------------------------------------------


@pytest.fixture(scope="module")
def dev_warc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], list[int]]:
    """The dev pages under their truth URLs, each after its request record, with records that are no pages
    and three damaged records among them; ({URL: dev file name}, the damaged records' offsets)."""
    pages = list(dev_pages())
    names = {url: name for name, url, _ in pages}
    noise = [
        Entry("", b"software: copydesk tests", kind="warcinfo", content_type="application/warc-fields"),
        Entry("https://img.example/logo.png", b"\x89PNG....", content_type="image/png"),
        Entry("https://news.example/gone", b"<html>not here</html>", status="404 Not Found"),
    ]
    parts: list[bytes] = [warc_bytes(noise)]
    damaged: list[int] = []
    thirds = len(pages) // 3
    for number, (_, url, html) in enumerate(pages):
        parts.append(warc_bytes([Entry(url, b"", kind="request"), Entry(url, html)]))
        if number in (thirds, 2 * thirds, 2 * thirds + 1):
            how = {thirds: "truncate", 2 * thirds: "long", 2 * thirds + 1: "header"}[number]
            damaged.append(sum(map(len, parts)))
            parts.append(damage(warc_bytes([Entry(f"https://lost.example/{number}", html)]), how))
    path = tmp_path_factory.mktemp("warc") / "dev.warc.gz"
    path.write_bytes(b"".join(parts))
    return path, names, damaged


def partition(report: dict[str, Any], name: Any = lambda member: member) -> set[frozenset[str]]:
    return {frozenset(name(m) for m in cluster["members"]) for cluster in report["clusters"]}


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = run_cli("dedup", str(DEV / "pages"), "--json", env=_env(tmp_path_factory.mktemp("folder")))
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.fixture(scope="module")
def warc_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _env(tmp_path_factory.mktemp("warc-run"))


@pytest.fixture(scope="module")
def warc_run(
    dev_warc: tuple[Path, dict[str, str], list[int]], warc_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`copydesk dedup dev.warc.gz --json`, storing into warc_env's database (for the export tests)."""
    result = run_cli("dedup", str(dev_warc[0]), "--json", "--db", warc_env["COPYDESK_DATABASE_URL"], env=warc_env)
    assert result.returncode == 0, result.stderr
    return result


def test_dedup_of_a_warc_clusters_as_the_folder_does(
    dev_warc: tuple[Path, dict[str, str], list[int]],
    folder_run: dict[str, Any],
    warc_run: subprocess.CompletedProcess[str],
) -> None:
    path, names, damaged = dev_warc
    report = json.loads(warc_run.stdout)
    members = [m for cluster in report["clusters"] for m in cluster["members"]]
    assert sorted(members) == sorted(names), "every page, once, by its WARC-Target-URI"
    assert partition(report, names.__getitem__) == partition(folder_run)
    # The damaged records, and only they, fail: each named by file and offset.
    failed = {f["path"]: f["error"] for f in report["failed"]}
    assert set(failed) == {f"{path}@{offset}" for offset in damaged}
    assert all(error.startswith("damaged_record: ") for error in failed.values())
    assert all(f"damaged record at offset {offset}" in failed[f"{path}@{offset}"] for offset in damaged)
    # Progress counts records: 3 + 2 a page + 3 damaged, the pages stored and what was skipped.
    pages = len(names)
    assert f"{3 + 2 * pages + 3} records read: {pages} pages queued, {pages} stored" in warc_run.stderr
    assert f"{pages + 2 + 1} skipped, 3 damaged" in warc_run.stderr
    assert "254 request" in warc_run.stderr


def test_dedup_of_a_warc_stores_the_warc_date_and_the_target_uri(tmp_path: Path) -> None:
    path = tmp_path / "dated.warc.gz"
    name, url, html = next(dev_pages())
    write_warc(path, [Entry(url, html, date="2020-01-02T03:04:05Z")])
    env = _env(tmp_path)
    assert run_cli("dedup", str(path), "--db", env["COPYDESK_DATABASE_URL"], env=env).returncode == 0
    clusters = json.loads(run_cli("clusters", "--json", env=env).stdout)
    shown = json.loads(run_cli("export", "--format", "jsonl", env=env).stdout.splitlines()[0])
    assert clusters[0]["canonical"]["url"] == url == shown["url"]
    from sqlalchemy import create_engine, text

    with create_engine(env["COPYDESK_DATABASE_URL"]).connect() as connection:
        fetched = connection.execute(text("SELECT fetched FROM documents")).scalar_one()
    assert str(fetched).startswith("2020-01-02 03:04:05"), name


def test_parquet_export_has_a_row_a_document_and_one_canonical_a_cluster(
    warc_run: subprocess.CompletedProcess[str], warc_env: dict[str, str], tmp_path: Path
) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = tmp_path / "dev.parquet"
    result = run_cli("export", "--format", "parquet", "--output", str(out), env=warc_env)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    report = json.loads(warc_run.stdout)
    assert table.num_rows == sum(len(c["members"]) for c in report["clusters"]) == 254
    assert table.column_names == ["cluster", "document", "is_canonical", "relation", "url", "host", "title",
                                  "published", "fetched", "text"]  # fmt: skip
    assert len(set(table.column("document").to_pylist())) == table.num_rows
    canonicals = table.filter(pc.field("is_canonical"))
    clusters = set(table.column("cluster").to_pylist())
    assert sorted(canonicals.column("cluster").to_pylist()) == sorted(clusters)  # exactly one each
    assert sorted(canonicals.column("url").to_pylist()) == sorted(c["canonical"] for c in report["clusters"])
    relations = set(table.filter(pc.invert(pc.field("is_canonical"))).column("relation").to_pylist())
    assert relations and relations <= {"near-duplicate", "excerpt", "wrapped", "copy of a copy"}
    assert set(canonicals.column("relation").to_pylist()) == {"canonical"}
    assert all(text for text in table.column("text").to_pylist())
    assert str(table.schema.field("fetched").type) == "timestamp[us, tz=UTC]"


def test_parquet_needs_an_output_file(warc_env: dict[str, str]) -> None:
    result = run_cli("export", "--format", "parquet", env=warc_env)
    assert result.returncode == 2 and "--format parquet needs --output FILE" in result.stderr


def test_push_queues_the_pages_of_a_warc_by_their_target_uri(redis_client: Any, redis_url: str, tmp_path: Path) -> None:
    """`copydesk push` of a WARC with a damaged record, no worker running: the tasks in the broker's queue
    carry every sound page (its HTML kept in Redis, keyed by its WARC-Target-URI), the damage is reported."""
    import base64

    entries = six_pages()
    records = [warc_bytes([Entry(e.url, b"", kind="request"), e]) for e in entries]
    # The request record before page 3 lies about its length (a gzip member of its own): page 3 is still read.
    records[3] = damage(warc_bytes([Entry(entries[3].url, b"", kind="request")]), "long") + warc_bytes([entries[3]])
    path = tmp_path / "push.warc.gz"
    path.write_bytes(b"".join(records))
    env = _env(tmp_path) | {"COPYDESK_REDIS_URL": redis_url}

    result = run_cli("push", str(path), "--batch", "2", env=env)

    assert result.returncode == 0, result.stderr
    damaged_at = sum(map(len, records[:3]))
    assert f"{path}: damaged record at offset {damaged_at}: " in result.stderr
    assert "pushed 6 pages in 3 tasks, skipped 5, 12 WARC records read, 1 damaged" in result.stdout
    refs = []
    for message in redis_client.lrange("copydesk", 0, -1):
        body = json.loads(message)["body"]
        args, _, _ = json.loads(base64.b64decode(body))
        refs += args[0]
    assert sorted(ref["url"] for ref in refs) == sorted(e.url for e in entries)
    assert all(ref["key"] == ref["url"] and ref["name"].startswith(f"{path}@") for ref in refs)
    assert all(datetime.fromisoformat(ref["fetched"]).tzinfo is not None for ref in refs)  # the WARC-Date
    html = {ref["url"]: redis_client.get(ref["stored"]).decode() for ref in refs}
    assert all(html[e.url] == e.body.decode() for e in entries)
