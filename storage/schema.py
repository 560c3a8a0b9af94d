"""Bringing a database to the migrations' head without alembic where nothing needs it: alembic costs ~0.1 s to
import and ~0.1 s to run on a new database, paid by every `copydesk dedup` before its first page.

* A database already stamped with the head revision is left as it is (what alembic would do).
* A new, empty SQLite database is given the schema alembic's migrations make, from `sqlite_schema.sql`:
  the statements of a migrated database's `sqlite_master`, in order, and its version stamp. Used only while
  the file names the head revision; tests/test_start_up.py checks that it makes the same `sqlite_master`.

Anything else (PostgreSQL's first run, an older revision, another head) goes through alembic.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from storage.db import _READ_ONLY, MIGRATIONS, make_engine

SQLITE_SCHEMA = Path(__file__).parent / "sqlite_schema.sql"
_REVISION = re.compile(r"^revision(?:: str)? = [\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision(?:: [\w |]+)? = [\"']([^\"']+)[\"']", re.MULTILINE)
_SNAPSHOT_REVISION = re.compile(r"^-- revision: (\S+)$", re.MULTILINE)


@functools.cache
def migrations_head() -> str | None:
    """The one head revision of storage/migrations, read from the scripts' text; None when that text does
    not say (several heads, another layout): then alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text()
        found = _REVISION.search(source)
        if found is None:
            if "revision" in source:
                return None  # a script these patterns do not read
            continue
        revisions.add(found.group(1))
        parents.update(_DOWN_REVISION.findall(source))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head_without_alembic(url: str) -> bool:
    """Whether the database at `url` is at the head revision now, alembic left out: it was already, or it was
    a new SQLite database and got the snapshot."""
    head = migrations_head()
    if head is None:
        return False
    engine = make_engine(url)
    try:
        if _stamped(engine) == [head]:
            return True
        return url.startswith("sqlite") and _snapshot_revision() == head and _create_from_snapshot(engine)
    finally:
        engine.dispose()


def _stamped(engine: Engine) -> list[str] | None:
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(**{_READ_ONLY: True})
            return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:  # no such table: a new database, or one alembic never ran on
        return None


@functools.cache
def _snapshot_revision() -> str | None:
    found = _SNAPSHOT_REVISION.search(SQLITE_SCHEMA.read_text()) if SQLITE_SCHEMA.exists() else None
    return found.group(1) if found else None


def _create_from_snapshot(engine: Engine) -> bool:
    """The snapshot's statements in one write transaction (BEGIN IMMEDIATE: two processes creating the same
    database take turns), on a database with no table yet; False, untouched, if it has one."""
    with engine.begin() as connection:
        if connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar():
            return False
        for statement in sqlite_statements(SQLITE_SCHEMA.read_text()):
            connection.exec_driver_sql(statement)
    return True


def sqlite_statements(script: str) -> list[str]:
    """The statements of a snapshot: separated by lines holding only ';' (a CREATE TABLE spans lines)."""
    lines = [line for line in script.splitlines() if not line.startswith("-- ")]
    return [statement.strip() for statement in "\n".join(lines).split("\n;\n") if statement.strip(" \n;")]


def sqlite_schema(path: Path) -> str:
    """The snapshot of the SQLite database at `path`: what `sqlite_schema.sql` holds for one migrated to head."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        query = "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        statements = [sql for (sql,) in connection.execute(query)]
        versions = [version for (version,) in connection.execute("SELECT version_num FROM alembic_version")]
    finally:
        connection.close()
    (version,) = versions
    statements.append(f"INSERT INTO alembic_version (version_num) VALUES ('{version}')")
    header = (
        f"-- revision: {version}\n"
        "-- The schema storage/migrations make on SQLite, for new databases (storage/schema.py). Regenerate with\n"
        "-- python -c 'import storage.schema as s; s.write_sqlite_schema()' after adding a migration.\n"
    )
    return header + "".join(f"{statement}\n;\n" for statement in statements)


def write_sqlite_schema() -> None:
    """Migrate a new SQLite database with alembic and write its snapshot to `sqlite_schema.sql`."""
    import tempfile

    from alembic import command

    from storage.db import alembic_config

    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "schema.db"
        command.upgrade(alembic_config(f"sqlite:///{database}"), "head")
        SQLITE_SCHEMA.write_text(sqlite_schema(database))
