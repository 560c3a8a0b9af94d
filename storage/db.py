"""Engines, sessions, migrations and the lock that serialises cluster changes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, bindparam, create_engine, event, insert, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
_CLUSTER_LOCK_KEY = 0x636F7079  # any constant shared by every process: "copy"
_READ_ONLY = "copydesk_read_only"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, open transactions, so that each one can be IMMEDIATE:
            # SQLite then serialises writers up front instead of failing one of them at COMMIT.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A session that only reads (see `reading`) takes no write lock, so it runs beside a writer.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only: on SQLite its transaction does not hold the write lock."""
    with sessions() as session:
        session.connection(execution_options={_READ_ONLY: True})
        yield session


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` up to date (creates it on an empty database)."""
    command.upgrade(alembic_config(url), revision)


@contextmanager
def cluster_lock(session: Session) -> Iterator[None]:
    """Hold the one lock under which clusters change, until the session's transaction ends.

    Cluster changes are small (a few rows), so one global lock costs little and makes the
    union of two concurrently arriving copies impossible to miss.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLUSTER_LOCK_KEY})
    # SQLite: every transaction here is BEGIN IMMEDIATE, which already excludes other writers.
    yield


# psycopg's executemany sends one INSERT or UPDATE a row. On PostgreSQL, rows go instead as one array per
# column, unnested by the server, in one statement: 8 statements a page instead of 34, and the archive 7%
# faster there (bench/README.md). SQLite's executemany already runs in C; inserted rows go to it through
# SQLAlchemy Core, which handles them 3-4 times faster than the ORM's bulk INSERT (bulk UPDATEs: no faster).


def insert_rows(session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT the rows (dicts with the same keys) into `model`'s table, in one statement on PostgreSQL."""
    if not rows:
        return
    table: Table = model.__table__
    if session.get_bind().dialect.name != "postgresql":
        session.flush()  # as session.execute() would: the session's pending changes go first
        session.connection().execute(insert(table), rows)
        return
    columns = list(rows[0])
    statement = text(
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({', '.join(':' + c for c in columns)})"
    )
    session.execute(statement.bindparams(*_arrays(table, columns)), _by_column(rows, columns))


def update_rows(session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """UPDATE rows of `model`'s table by primary key "id": each dict holds the row's id and the values to set.
    Objects of these rows already loaded in the session are not refreshed."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(model).execution_options(synchronize_session=False), rows)
        return
    table: Table = model.__table__
    columns = list(rows[0])
    assignments = ", ".join(f"{c} = v.{c}" for c in columns if c != "id")
    statement = text(
        f"UPDATE {table.name} SET {assignments} FROM unnest({', '.join(':' + c for c in columns)}) "
        f"AS v({', '.join(columns)}) WHERE {table.name}.id = v.id"
    )
    session.execute(statement.bindparams(*_arrays(table, columns)), _by_column(rows, columns))


def _arrays(table: Table, columns: list[str]) -> list[Any]:
    return [bindparam(c, type_=ARRAY(table.c[c].type)) for c in columns]


def _by_column(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> dict[str, list[Any]]:
    return {c: [row[c] for row in rows] for c in columns}
