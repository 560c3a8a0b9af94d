from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from storage.archive import Archive
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import MemoryIndex, RedisIndex
from tests.servers import Postgres
from worker.embedded import EmbeddedRedis

# The tests' sites are local: space requests to one host by 10 ms rather than the production second, so
# tests about other things do not wait on politeness (worker processes inherit this; tests of the spacing
# set their own).
os.environ.setdefault("COPYDESK_HOST_INTERVAL", "0.01")

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
SEEDS = CORPUS / "seeds"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    # Not under pytest's tmp dir: that one is private to root, and PostgreSQL runs as "postgres".
    directory = Path(tempfile.mkdtemp(prefix="copydesk-pg-"))
    server = Postgres(directory)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


_db_counter = 0


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: SQLite and PostgreSQL in turn."""
    global _db_counter
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'copydesk.db'}"
    else:
        from sqlalchemy import create_engine, text

        base = request.getfixturevalue("postgres_url")
        _db_counter += 1
        name = f"copydesk_test_{_db_counter}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = base.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url


@pytest.fixture
def memory_archive(tmp_path: Path) -> Archive:
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    upgrade(url)
    return Archive(make_sessionmaker(make_engine(url)), MemoryIndex())


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def archive(database_url: str, redis_client: redis.Redis) -> Archive:
    """The production combination: a real database and the Redis index."""
    return Archive(make_sessionmaker(make_engine(database_url)), RedisIndex(redis_client, "test"))
