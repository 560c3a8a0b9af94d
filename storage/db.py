"""Engines, sessions, migrations and the lock that serialises cluster changes."""

from __future__ import annotations

import fcntl
import operator
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Table, TypeDecorator, bindparam, create_engine, event, insert, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

if TYPE_CHECKING:  # alembic costs ~0.1 s to import: only when migrations must run (`upgrade`)
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_CLUSTER_LOCK_KEY = 0x636F7079  # any constant shared by every process: "copy"
_READ_ONLY = "copydesk_read_only"  # storage.schema reads with it too


# How long a writer waits for SQLite's write lock (its turn, then BEGIN IMMEDIATE) before it fails.
SQLITE_TIMEOUT = 60.0
# How often a writer waiting for its turn looks again: SQLite's own busy handler sleeps 1, 2, 5 ... 100 ms
# between looks, so a waiting writer slept on well past the other's commit (bench/README.md).
_TURN_POLL = 0.0005


class _TurnTakingConnection(sqlite3.Connection):
    """A pysqlite connection whose write transactions take turns through a lock file beside the database.

    SQLite lets one writer in at a time and makes the others poll with sleeps that grow to 100 ms, so with
    two worker processes the one waiting idled for most of a sleep after the other had committed. The
    lock file (`<database>-writers`, flock) is looked at every half millisecond instead. SQLite's own
    lock still excludes writers that do not take turns (another program, the sqlite3 shell); this only
    shortens the wait. A process that dies releases its turn with its file descriptors.
    """

    def __init__(self, database: str, timeout: float = 5.0, **kwargs: Any) -> None:
        super().__init__(database, timeout, **kwargs)
        # Only a plain file: a "file:" URI or an in-memory database is left to SQLite's busy handler.
        plain_file = not kwargs.get("uri") and os.fspath(database) not in ("", ":memory:")
        self.turn_path = os.path.abspath(database) + "-writers" if plain_file else None
        self.timeout = timeout
        self.turn: int | None = None  # the lock file's descriptor while this connection's turn lasts

    def take_turn(self) -> None:
        """Wait until no other connection's write transaction is under way; raise sqlite3.OperationalError
        after `timeout` seconds, as SQLite would."""
        if self.turn_path is None or self.turn is not None:
            return
        # A descriptor of its own each turn: flock is held per open file, so two connections of one
        # process (threads) exclude each other too.
        turn = os.open(self.turn_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.turn = turn
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(turn)
                    raise sqlite3.OperationalError(
                        f"database is locked: another writer held {self.turn_path} for {self.timeout:.0f} s"
                    ) from None
                time.sleep(_TURN_POLL)

    def end_turn(self) -> None:
        if self.turn is not None:
            os.close(self.turn)  # closing releases the flock
            self.turn = None

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()


def make_engine(url: str, sqlite_timeout: float = SQLITE_TIMEOUT) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": sqlite_timeout, "factory": _TurnTakingConnection})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, open transactions, so that each one can be IMMEDIATE:
            # SQLite then serialises writers up front instead of failing one of them at COMMIT.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(sqlite_timeout * 1000)}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A session that only reads (see `reading`) takes no write lock, so it runs beside a writer.
            if conn.get_execution_options().get(_READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            dbapi_connection: _TurnTakingConnection = conn.connection.dbapi_connection
            try:
                dbapi_connection.take_turn()
            except sqlite3.OperationalError as err:  # as SQLAlchemy raises SQLite's own "database is locked"
                raise OperationalError("BEGIN IMMEDIATE", None, err) from err
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_connection.end_turn()
                raise

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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` up to date (creates it on an empty database)."""
    from storage import schema

    if revision == "head" and schema.at_head_without_alembic(url):
        return
    from alembic import command

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
        columns = list(rows[0])
        if _sqlite_plain(table, columns, rows, inserting=True):
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            if len(columns) > 1:  # itemgetter makes the tuples in C; for one column it gives the value alone
                params = list(map(operator.itemgetter(*columns), rows))
            else:
                params = [(row[columns[0]],) for row in rows]
            _sqlite_executemany(session, sql, params)
            return
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
    table: Table = model.__table__
    columns = list(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        if _sqlite_plain(table, columns, rows, inserting=False):
            session.flush()
            values = [c for c in columns if c != "id"]
            sql = f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in values)} WHERE id = ?"
            updated = _sqlite_executemany(session, sql, [(*(row[c] for c in values), row["id"]) for row in rows])
            if updated != len(rows):  # as the ORM's bulk UPDATE says it
                raise StaleDataError(f"UPDATE of {table.name} expected to update {len(rows)} row(s); {updated} matched")
            return
        session.execute(update(model).execution_options(synchronize_session=False), rows)
        return
    assignments = ", ".join(f"{c} = v.{c}" for c in columns if c != "id")
    statement = text(
        f"UPDATE {table.name} SET {assignments} FROM unnest({', '.join(':' + c for c in columns)}) "
        f"AS v({', '.join(columns)}) WHERE {table.name}.id = v.id"
    )
    session.execute(statement.bindparams(*_arrays(table, columns)), _by_column(rows, columns))


# On SQLite, rows of values SQLAlchemy would hand to the driver unchanged go to it directly, in one
# executemany: SQLAlchemy's handling of each row (Core or the ORM's bulk UPDATE) cost more than SQLite's work
# (insert_rows and update_rows were ~6% of the archive's time, py-spy). Anything else takes SQLAlchemy's way.
_PLAIN_VALUES = (int, float, str, bytes, bool, type(None))


def _sqlite_plain(table: Table, columns: list[str], rows: Sequence[Mapping[str, Any]], inserting: bool) -> bool:
    """Whether the driver stores these rows as SQLAlchemy would: every column of a plain type (no
    TypeDecorator processing its values), no Python-side default (INSERT) or onupdate (UPDATE) left to fill
    in, every value plain."""
    if any(isinstance(table.c[c].type, TypeDecorator) for c in columns):
        return False
    left = [column for column in table.columns if column.key not in columns]
    if any((column.default if inserting else column.onupdate) is not None for column in left):
        return False
    return all(type(value) in _PLAIN_VALUES for row in rows for value in row.values())


def sqlite_rows(session: Session, sql: str, params: Sequence[Any], listed: Sequence[Any] = ()) -> list[Any] | None:
    """On SQLite: `sql`, whose "{}" becomes as many placeholders as `listed` has items, run on the driver's
    cursor with `params`, in the session's transaction (after its pending changes): for the statements run a
    few times a page, whose handling by SQLAlchemy cost more than SQLite's answer. None on other databases:
    the caller runs its SQLAlchemy statement."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    session.flush()
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        return cursor.execute(sql.format(", ".join("?" * len(listed))), params).fetchall()
    finally:
        cursor.close()


def _sqlite_executemany(session: Session, sql: str, params: list[tuple[Any, ...]]) -> int:
    """Run `sql` for each of `params` on the session's connection, in its transaction; how many rows it changed."""
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, params)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _arrays(table: Table, columns: list[str]) -> list[Any]:
    return [bindparam(c, type_=ARRAY(table.c[c].type)) for c in columns]


def _by_column(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> dict[str, list[Any]]:
    return {c: [row[c] for row in rows] for c in columns}
