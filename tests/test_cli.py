"""The `copydesk` CLI end to end on the seed corpus: in-process (CliRunner) and as a real subprocess."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from ingest.extract import extract
from worker.cli import main, safe

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SEEDS = CORPUS / "seeds"
MOSUL = ["blog-repost.html", "globalresearch-repost.html", "southfront-original.html"]
SINGLES = ["blog-original-003.html", "globalresearch-other.html"]
SCRIPT = Path(sys.executable).parent / "copydesk"
UNREADABLE = {"bad.html.gz", "empty.html"}  # junk.htm: see test_random_bytes_are_no_article
JUNK_BUG = (
    "bug: `copydesk dedup DIR` stores a file of random bytes (junk.htm) as an article instead of listing it "
    "under failed: decode_html falls back to windows-1252 and the MIN_WORDS check counts mojibake as words"
)

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"no seed corpus at {SEEDS}")


def _env(tmp: Path) -> dict[str, str]:
    return {"COPYDESK_DATA_DIR": str(tmp / "data"), "COPYDESK_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}"}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A private data dir and database for one test; no Redis configured."""
    values = _env(tmp_path)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("COPYDESK_REDIS_URL", raising=False)
    return values


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "worker.cli"]
    child_env = {k: v for k, v in os.environ.items() if k != "COPYDESK_REDIS_URL"} | env
    return subprocess.run([*command, *args], env=child_env, capture_output=True, text=True, timeout=120)


def assert_clean_failure(result: Result, message: str) -> None:
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an unhandled error
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    return run_cli("dedup", str(SEEDS), "--json", env=_env(tmp_path_factory.mktemp("seeds")))


@pytest.fixture(scope="module")
def seeds_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding the seed corpus, stored by `dedup --db`."""
    values = _env(tmp_path_factory.mktemp("seeds-db"))
    args = ["dedup", str(SEEDS), "--db", values["COPYDESK_DATABASE_URL"]]
    result = CliRunner().invoke(main, args, env=values)
    assert result.exit_code == 0, result.output
    return values["COPYDESK_DATABASE_URL"]


@pytest.fixture
def on_seeds_db(seeds_db: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COPYDESK_DATABASE_URL", seeds_db)
    return seeds_db


@pytest.fixture
def messy_dir(tmp_path: Path) -> Path:
    """Two good pages, a gzipped good page, and three unreadable or article-less files."""
    folder = tmp_path / "messy"
    folder.mkdir()
    for name in SINGLES:
        shutil.copy(SEEDS / name, folder / name)
    (folder / "southfront-original.html.gz").write_bytes(gzip.compress((SEEDS / MOSUL[2]).read_bytes()))
    (folder / "empty.html").write_bytes(b"")
    (folder / "junk.htm").write_bytes(random.Random(1234).randbytes(4096))
    (folder / "bad.html.gz").write_bytes(gzip.compress((SEEDS / MOSUL[0]).read_bytes())[:300])
    return folder


def all_paths(report: dict[str, Any]) -> list[str]:
    return [m for c in report["clusters"] for m in c["members"]] + [f["path"] for f in report["failed"]]


def test_group_help() -> None:
    result = cli("--help")
    assert result.exit_code == 0
    assert "syndicated copy" in result.output
    assert set(main.commands) <= set(result.output.split())


COMMAND_PATHS = [[name] for name in sorted(main.commands)] + [["db", "upgrade"]]


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=" ".join)
def test_every_subcommand_has_help(path: list[str]) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")
    description = result.output.split("\n\n", 2)[1].strip()
    assert description and not description.startswith("Options:"), result.output


def test_compose_commands_exist() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    app = {name: svc for name, svc in services.items() if "build" in svc}
    assert app, "no app service found in docker-compose.yml"
    for name, svc in app.items():
        command = svc["command"]
        words = command.split() if isinstance(command, str) else command
        assert words[0] in main.commands, f"{name}: {words[0]!r} is not a copydesk subcommand"


def test_dedup_json_on_seeds(seeds_run: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    assert seeds_run.returncode == 0, seeds_run.stderr
    report = json.loads(seeds_run.stdout)  # stdout alone: progress must not leak into it
    assert set(report) == {"clusters", "failed"}
    assert report["failed"] == []
    for cluster in report["clusters"]:
        assert set(cluster) == {"canonical", "members"}
        assert cluster["canonical"] in cluster["members"]
    assert sorted(all_paths(report)) == sorted(p.name for p in SEEDS.glob("*.html"))
    assert report["clusters"][0] == {"canonical": "southfront-original.html", "members": MOSUL}
    assert sorted(c["members"] for c in report["clusters"][1:]) == [[name] for name in SINGLES]
    assert "5/5" in seeds_run.stderr

    pred = tmp_path / "pred.json"
    pred.write_text(seeds_run.stdout)
    scored = subprocess.run(
        [sys.executable, str(CORPUS / "score.py"), str(SEEDS / "truth.json"), str(pred)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert scored.returncode == 0, scored.stdout + scored.stderr
    assert json.loads(scored.stdout)["pairwise"]["f1"] == 1.0


def test_dedup_reports_every_file_once(env: dict[str, str], messy_dir: Path) -> None:
    result = cli("dedup", str(messy_dir), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    paths = all_paths(report)
    assert sorted(paths) == sorted(p.name for p in messy_dir.iterdir())
    assert len(paths) == len(set(paths)) == 6
    failed = {f["path"]: f["error"] for f in report["failed"]}
    assert set(failed) >= UNREADABLE
    assert all(error.strip() for error in failed.values())
    assert "unreadable" in failed["bad.html.gz"] and "empty" in failed["empty.html"]
    clustered = {m for c in report["clusters"] for m in c["members"]}
    assert {*SINGLES, "southfront-original.html.gz"} <= clustered


def test_dedup_jobs_give_the_same_report(tmp_path: Path, messy_dir: Path) -> None:
    """Pages extracted in worker processes (real ones, a subprocess each run) give the report and the progress
    lines of one process, failures included; the default is the CPU count."""
    for name in MOSUL[:2]:  # copies of southfront-original.html.gz: a cluster too
        shutil.copy(SEEDS / name, messy_dir / name)
    runs = {
        jobs: run_cli("dedup", str(messy_dir), "--json", *(["--jobs", jobs] if jobs else []), env=_env(tmp_path / jobs))
        for jobs in ("1", "2", "3", "")
    }
    for jobs, result in runs.items():
        assert result.returncode == 0, (jobs, result.stderr)
        assert (result.stdout, result.stderr) == (runs["1"].stdout, runs["1"].stderr), jobs
    report = json.loads(runs["1"].stdout)
    assert len(all_paths(report)) == 8 and {f["path"] for f in report["failed"]} >= UNREADABLE
    assert [*MOSUL[:2], "southfront-original.html.gz"] in [c["members"] for c in report["clusters"]]


def test_dedup_jobs_must_be_positive(env: dict[str, str], messy_dir: Path) -> None:
    result = CliRunner().invoke(main, ["dedup", str(messy_dir), "--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.output


def test_random_bytes_are_no_article(env: dict[str, str], messy_dir: Path) -> None:
    report = json.loads(cli("dedup", str(messy_dir), "--json", "--db", env["COPYDESK_DATABASE_URL"]).stdout)
    assert "junk.htm" in {f["path"] for f in report["failed"]}
    assert "junk.htm" in cli("failures").output


def test_dedup_into_a_database_finds_the_stories_already_in_it(env: dict[str, str], tmp_path: Path) -> None:
    """A second `dedup --db` run clusters its copies with the stories the first run stored."""
    for folder, name in (("first", "southfront-original.html"), ("second", "blog-repost.html")):
        (tmp_path / folder).mkdir()
        shutil.copy(SEEDS / name, tmp_path / folder / name)
        result = cli("dedup", str(tmp_path / folder), "--db", env["COPYDESK_DATABASE_URL"])
        assert result.exit_code == 0, result.output
    assert [row["size"] for row in cluster_list()] == [2]


def test_dedup_table(env: dict[str, str]) -> None:
    result = cli("dedup", str(SEEDS))
    assert result.exit_code == 0, result.output
    assert "3 clusters (2 single pages), 0 failed" in result.stdout
    assert "southfront-original.html" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def cluster_list() -> list[dict[str, Any]]:
    result = cli("clusters", "--json")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def test_clusters_largest_first(on_seeds_db: str) -> None:
    rows = cluster_list()
    assert [r["size"] for r in rows] == [3, 1, 1]
    assert rows[0]["canonical"]["host"] == "southfront.org"
    assert "southfront.org" in cli("clusters").output


def test_show_cluster(on_seeds_db: str) -> None:
    result = cli("show", str(cluster_list()[0]["id"]))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "approaching its final phase" in out and "\nwhy: " in out
    assert out.count("jaccard") == 2
    assert "levantdispatch.wordpress.com" in out and "globalresearch.ca" in out
    # Where each shared passage starts, in words a reader follows; why the canonical beat the next member.
    assert out.count(", at the start of the canonical") == 2, out
    assert re.search(r"\nwhy: .*ahead of #\d+, (which names #\d+ as its source|published later)", out), out
    assert "Disclaimer: The contents of this article" not in out and "Leave a Reply" not in out


def test_show_missing_cluster(on_seeds_db: str) -> None:
    assert_clean_failure(cli("show", "999999"), "no cluster 999999")


def test_a_database_that_cannot_be_opened_is_a_clear_error(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from another directory than `copydesk run`, the default ./data is not there: say so, not a traceback."""
    monkeypatch.delenv("COPYDESK_DATABASE_URL", raising=False)
    monkeypatch.setenv("COPYDESK_DATA_DIR", "/nonexistent/copydesk-data")
    for command in (["clusters"], ["failures"], ["show", "1"]):
        assert_clean_failure(cli(*command), "cannot open the database sqlite:////nonexistent/copydesk-data/copydesk.db")
    monkeypatch.setenv("COPYDESK_DATABASE_URL", "postgresql://copydesk:secret@127.0.0.1:1/copydesk")
    result = cli("clusters")
    assert_clean_failure(result, "cannot open the database postgresql://copydesk:***@127.0.0.1:1/copydesk")
    assert "secret" not in result.output


def test_export_jsonl(on_seeds_db: str) -> None:
    result = cli("export", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3 and all("copies" in row for row in rows)
    assert sorted(len(row["copies"]) for row in rows) == [0, 0, 2]


def test_a_copy_taken_from_another_copy_is_named_so(env: dict[str, str], tmp_path: Path) -> None:
    """A site reposts the blog's repost of the Mosul report, saying it first appeared on the blog: whatever its text
    is to South Front's original, `show` and the exports call it a copy of a copy, taken from the blog's page."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for name in MOSUL:
        shutil.copy(SEEDS / name, pages / name)
    blog = (SEEDS / "blog-repost.html").read_text(encoding="utf-8")
    again = blog.replace("https://levantdispatch.wordpress.com/", "https://eastern-wire.example/").replace(
        "<p>Via <a", "<p>This article first appeared on levantdispatch.wordpress.com.</p>\n<p>Via <a", 1
    )
    assert again.count("eastern-wire.example") >= 2 and "first appeared on levantdispatch" in again
    (pages / "again.html").write_text(again, encoding="utf-8")
    assert cli("dedup", str(pages), "--db", env["COPYDESK_DATABASE_URL"]).exit_code == 0
    mosul = cluster_list()[0]
    detail = json.loads(cli("show", str(mosul["id"]), "--json").stdout)
    assert detail["canonical"]["host"] == "southfront.org" and len(detail["copies"]) == 3
    by_host = {copy["host"]: copy for copy in detail["copies"]}
    taken = by_host["eastern-wire.example"]
    assert taken["relation"] == "copy of a copy", taken
    assert taken["via"] == by_host["levantdispatch.wordpress.com"]["id"]
    assert by_host["levantdispatch.wordpress.com"]["relation"] != "copy of a copy"  # it credits the original only
    shown = cli("show", str(mosul["id"])).output
    assert f"copy of a copy (taken from #{taken['via']})" in shown, shown
    exported = [json.loads(line) for line in cli("export").stdout.splitlines()]
    row = next(row for row in exported if row["cluster"] == mosul["id"])
    assert dict(zip(row["copies"], row["relations"], strict=True))[taken["url"]] == "copy of a copy"


def test_show_names_no_site_for_a_page_without_one(env: dict[str, str], tmp_path: Path) -> None:
    """A saved page that gives no address of its own has no site: `show` says when it was published, not an empty
    site name before it."""
    pages = tmp_path / "pages"
    pages.mkdir()
    shutil.copy(SEEDS / "southfront-original.html", pages / "southfront-original.html")
    story = "".join(f"<p>{p}</p>" for p in extract((SEEDS / "southfront-original.html").read_bytes()).paragraphs)
    (pages / "saved.html").write_text(f"<html><body><article>{story}</article></body></html>", encoding="utf-8")
    assert cli("dedup", str(pages), "--db", env["COPYDESK_DATABASE_URL"]).exit_code == 0
    shown = cli("show", str(cluster_list()[0]["id"])).output
    assert "file:saved.html (published unknown)" in shown and "(, " not in shown, shown


def test_export_csv(on_seeds_db: str) -> None:
    result = cli("export", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and list(rows[0]) == ["cluster", "url", "title", "published", "copies", "relations", "text"]
    assert len(rows) == 3
    assert sorted(len(row["copies"].split()) for row in rows) == [0, 0, 2]
    # Each copy's relation, in the copies' order: what the jsonl export says too.
    mosul = next(row for row in rows if row["copies"])
    jsonl = [json.loads(line) for line in cli("export").stdout.splitlines()]
    relations = next(row["relations"] for row in jsonl if row["copies"])
    assert mosul["relations"].split(";") == relations and len(relations) == 2


def test_export_parquet(on_seeds_db: str, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    result = cli("export", "--format", "parquet", "-o", str(tmp_path / "seeds.parquet"))
    assert result.exit_code == 0, result.output
    rows = pq.read_table(tmp_path / "seeds.parquet").to_pylist()
    assert len(rows) == 5 and "5 documents written" in result.stderr
    by_cluster: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_cluster.setdefault(row["cluster"], []).append(row)
    assert sorted(len(members) for members in by_cluster.values()) == [1, 1, 3]
    assert all(sum(row["is_canonical"] for row in members) == 1 for members in by_cluster.values())
    mosul = max(by_cluster.values(), key=len)
    assert [row["host"] for row in mosul if row["is_canonical"]] == ["southfront.org"]
    assert {row["relation"] for row in mosul if not row["is_canonical"]} <= {"near-duplicate", "excerpt", "wrapped"}


def test_failures(env: dict[str, str], messy_dir: Path) -> None:
    empty = cli("failures")
    assert empty.exit_code == 0 and "no failures" in empty.output, empty.output
    assert cli("dedup", str(messy_dir), "--db", env["COPYDESK_DATABASE_URL"]).exit_code == 0
    result = cli("failures")
    assert result.exit_code == 0, result.output
    assert "no failures" not in result.output
    lines = result.output.splitlines()
    for name in UNREADABLE:
        assert sum(name in line for line in lines) == 1, result.output
    assert any("bad.html.gz" in line and "unreadable_file" in line for line in lines)
    assert any("empty.html" in line and "empty" in line.split()[0] for line in lines)
    rows = json.loads(cli("failures", "--json").stdout)
    assert {r["url"].removeprefix("file:") for r in rows} >= UNREADABLE
    assert all(r["reason"] and r["message"] for r in rows)


def test_extract_file(env: dict[str, str]) -> None:
    result = cli("extract", str(SEEDS / "globalresearch-repost.html"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"title", "text", "url", "published"} <= set(data)
    assert "Mosul" in data["title"] and "approaching its final phase" in data["text"]
    assert data["url"].startswith("https://www.globalresearch.ca/")
    assert data["published"].startswith("2017-05-09")


def test_extract_missing(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["extract", "/nonexistent-file-and-not-a-url"])
    assert_clean_failure(result, "Error: no such file: /nonexistent-file-and-not-a-url")
    assert "invalid_url" not in result.output


def test_enqueue_without_urls(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["enqueue"])
    assert result.exit_code == 2
    assert "no URL given" in result.output


def test_enqueue_of_invalid_urls_only_fails(env: dict[str, str]) -> None:
    """Nothing to queue is an error (exit 1), before any broker is needed; each URL says why it was skipped."""
    result = CliRunner().invoke(main, ["enqueue", "ftp://x", "javascript:alert(1)", "not-a-url"])
    assert_clean_failure(result, "nothing queued: none of the 3 URL(s) given is valid")
    assert "skipped 'ftp://x'" in result.stderr
    assert "skipped 'javascript:alert(1)'" in result.stderr
    assert "skipped 'not-a-url'" in result.stderr


def test_enqueue_without_broker(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["enqueue", "https://news.example/a", "ftp://x"])
    assert_clean_failure(result, "no broker")
    assert "skipped 'ftp://x'" in result.stderr


def test_ping_without_broker(env: dict[str, str]) -> None:
    # It finds the broker as enqueue does, and says so when there is none (it tried localhost's 6379 before).
    assert_clean_failure(CliRunner().invoke(main, ["ping"]), "no broker")


def test_a_unix_socket_url_is_spelled_for_celery_and_back() -> None:
    from worker.config import celery_broker_url, redis_client_url

    assert (
        celery_broker_url("unix:///data/redis/redis.sock?db=0")
        == "redis+socket:///data/redis/redis.sock?virtual_host=0"
    )
    assert (
        redis_client_url("redis+socket:///data/redis/redis.sock?virtual_host=0") == "unix:///data/redis/redis.sock?db=0"
    )
    assert celery_broker_url("redis://127.0.0.1:6379/0") == redis_client_url("redis://127.0.0.1:6379/0")


def test_safe_strips_control_characters() -> None:
    out = safe("a\x1b[31mb\x07")
    assert "\x1b" not in out and "\x07" not in out
    assert out.startswith("a") and out.endswith("b")
    assert safe(None) == ""
    assert safe("line\nnext") == "line\nnext"


def test_flower_without_a_password_listens_on_loopback_only() -> None:
    from worker.cli import _flower_command
    from worker.config import Settings

    open_settings = Settings(data_dir=Path("."), database_url="sqlite://", redis_url=None)
    command, env = _flower_command(5555, open_settings)
    assert "--address=127.0.0.1" in command and env == {}
    guarded, env = _flower_command(5555, dataclasses.replace(open_settings, flower_basic_auth="me:secret"))
    assert "--address=0.0.0.0" in guarded
    # The password reaches Flower through its environment: a command line is readable by every local user.
    assert env == {"FLOWER_BASIC_AUTH": "me:secret"}
    assert not any("secret" in word for word in guarded)


def _on_one_host(html: str, name: str) -> str:
    """The page as if its site reposted it under its own URL: og:url and rel=canonical on one host."""
    url = f"https://onehost.example/{name.removesuffix('.html')}/"
    html = re.sub(r'(<meta property="og:url" content=")[^"]*', rf"\g<1>{url}", html)
    return re.sub(r'(<link rel="canonical" href=")[^"]*', rf"\g<1>{url}", html)


@pytest.mark.parametrize("reverse", [False, True])
def test_dedup_page_by_page_of_the_seeds_on_one_host(env: dict[str, str], tmp_path: Path, reverse: bool) -> None:
    """One site reposting its own story is the commonest duplicate: the three Mosul pages are one story
    with South Front's canonical, the Talafar post and the brief alone, whatever the order."""
    order = ["southfront-original.html", "globalresearch-repost.html", "blog-repost.html", *SINGLES]
    for number, name in enumerate(reversed(order) if reverse else order):
        folder = tmp_path / f"page{number}"
        folder.mkdir()
        html = (SEEDS / name).read_text(encoding="utf-8")
        (folder / name).write_text(_on_one_host(html, name), encoding="utf-8")
        result = cli("dedup", str(folder), "--db", env["COPYDESK_DATABASE_URL"])
        assert result.exit_code == 0, result.output
    rows = cluster_list()
    assert [r["size"] for r in rows] == [3, 1, 1]
    assert {r["canonical"]["host"] for r in rows} == {"onehost.example"}
    assert rows[0]["canonical"]["url"].endswith("/southfront-original/")
    shown = cli("show", str(rows[0]["id"])).output
    assert "/globalresearch-repost/" in shown and "/blog-repost/" in shown
    assert "shares" in shown and "added:" in shown
