"""What a command imports before its first page: modules it does not use cost every run (bench/README.md,
"Whole processes and start-up")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from storage.db import upgrade
from storage.schema import SQLITE_SCHEMA, migrations_head, sqlite_schema


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_batch_archive_imports_no_redis(tmp_path: Path) -> None:
    # `copydesk dedup` files pages in memory (MemoryIndex): the Redis client is for the worker only.
    code = (
        "from worker.cli import _archive\n"
        "import worker.batch, storage.archive, storage.index\n"
        f"_archive('sqlite:///{tmp_path / 'a.db'}')"
    )
    assert "redis" not in _modules_after(code)


def test_an_up_to_date_database_is_not_migrated_with_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(url)  # a new database
    assert "alembic" not in _modules_after(f"from storage.db import upgrade\nupgrade('{url}')")
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            migrations_head()
        ]


def test_migrations_head_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    assert migrations_head() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_an_outdated_database_is_still_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(url, "0001")
    upgrade(url)
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == migrations_head()


def test_a_new_sqlite_database_gets_the_snapshot_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert "alembic" not in _modules_after(f"from storage.db import upgrade\nupgrade('{url}')")
    upgrade(url)  # at head now: nothing to do, and nothing breaks


def test_the_snapshot_is_what_the_migrations_make(tmp_path: Path) -> None:
    # Regenerate after adding a migration: python -c 'import storage.schema as s; s.write_sqlite_schema()'
    from alembic import command

    from storage.db import alembic_config

    by_alembic, by_snapshot = tmp_path / "alembic.db", tmp_path / "snapshot.db"
    command.upgrade(alembic_config(f"sqlite:///{by_alembic}"), "head")
    upgrade(f"sqlite:///{by_snapshot}")
    assert sqlite_schema(by_snapshot) == sqlite_schema(by_alembic) == SQLITE_SCHEMA.read_text()


def test_a_database_with_tables_but_no_stamp_is_left_to_alembic(tmp_path: Path) -> None:
    database = tmp_path / "a.db"
    with create_engine(f"sqlite:///{database}").begin() as connection:
        connection.execute(text("CREATE TABLE other (x INTEGER)"))
    upgrade(f"sqlite:///{database}")
    with create_engine(f"sqlite:///{database}").connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == migrations_head()
        assert connection.execute(text("SELECT count(*) FROM other")).scalar() == 0
