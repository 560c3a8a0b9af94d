"""SQLite writers take turns through a lock file (storage/db.py), and fail as SQLite would when they wait too long."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError

from storage.db import make_engine, make_sessionmaker, reading, upgrade
from storage.models import Failure


def turn_is_free(database: Path) -> bool:
    descriptor = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


@contextmanager
def turn_held(database: Path) -> Iterator[None]:
    descriptor = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(descriptor)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "copydesk.db"
    upgrade(f"sqlite:///{path}")
    return path


def engine_for(database: Path, timeout: float = 60.0) -> Engine:
    return make_engine(f"sqlite:///{database}", sqlite_timeout=timeout)


def test_a_write_transaction_holds_the_turn_until_it_commits_or_rolls_back(database: Path) -> None:
    sessions = make_sessionmaker(engine_for(database))
    with sessions() as session, session.begin():
        session.add(Failure(url="https://example.com/a", reason="http_error", message="404"))
        session.flush()
        assert not turn_is_free(database)
    assert turn_is_free(database)
    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        session.execute(text("DELETE FROM failures"))
        assert not turn_is_free(database)
        raise RuntimeError("rolled back")
    assert turn_is_free(database)
    with reading(sessions) as session:
        assert session.scalars(select(Failure.url)).all() == ["https://example.com/a"]
        assert turn_is_free(database)  # readers do not queue behind writers


def test_a_writer_waits_for_its_turn_before_it_takes_sqlites_lock(database: Path) -> None:
    sessions = make_sessionmaker(engine_for(database))
    began, done = threading.Event(), threading.Event()

    def write() -> None:
        began.set()
        with sessions() as session, session.begin():
            session.add(Failure(url="https://example.com/b", reason="http_error", message="500"))
        done.set()

    with turn_held(database):
        writer = threading.Thread(target=write)
        writer.start()
        began.wait(5)
        assert not done.wait(0.3)
        # Waiting for its turn, it has not taken SQLite's write lock: another program can still write.
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()
    assert done.wait(10)
    writer.join()
    with reading(sessions) as session:
        assert session.scalars(select(Failure.url)).all() == ["https://example.com/b"]


def test_a_writer_that_never_gets_its_turn_fails_like_a_locked_database(database: Path) -> None:
    sessions = make_sessionmaker(engine_for(database, timeout=0.3))
    locked = pytest.raises(OperationalError, match="database is locked")
    with turn_held(database), locked, sessions() as session, session.begin():
        session.add(Failure(url="https://example.com/c", reason="http_error", message="500"))
    with sessions() as session, session.begin():  # and the turn it never had is not left held
        session.add(Failure(url="https://example.com/c", reason="http_error", message="500"))
    assert turn_is_free(database)


def test_threads_writing_at_once_lose_no_update(database: Path) -> None:
    engine = engine_for(database)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))

    def add(times: int) -> None:
        for _ in range(times):
            with engine.begin() as conn:
                n = conn.execute(text("SELECT n FROM counter")).scalar_one()
                conn.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=add, args=(50,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 200
    assert turn_is_free(database)
