"""How long filling the shared index again from storage takes (storage.refill), after Redis lost it.

Synthetic settled documents (index keys shaped like real ones: 32 bands + 16 anchors) are written straight
into a fresh SQLite database; the embedded Redis is emptied; then storage.refill runs in steps of --step
seconds, as the workers run it (each step resumes where the last one stopped), until the index is filled.
Prints documents filed a second and the steps it took, against the task time limit's step (0.15 x 120 s).

    .venv/bin/python bench/refill.py [--documents 100000] [--step 18]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from sqlalchemy import insert

from storage.archive import Archive
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import RedisIndex
from storage.models import Document
from storage.refill import refill
from worker.embedded import EmbeddedRedis


def documents(archive: Archive, count: int) -> None:
    rng = random.Random(1)
    engine = archive.sessions.kw["bind"]
    with engine.begin() as conn:
        for start in range(0, count, 10_000):
            rows = [
                {
                    "url": f"https://site{i % 500}.example/{i}",
                    "text": "",
                    "content_hash": f"{i:064x}",
                    "fp_params": archive.params.key,
                    "signature": b"",
                    "index_keys": " ".join(
                        [f"b{band}:{rng.getrandbits(64):x}" for band in range(32)]
                        + [f"s:{rng.getrandbits(64):x}" for _ in range(16)]
                    ),
                    "clustered": True,
                }
                for i in range(start, min(count, start + 10_000))
            ]
            conn.execute(insert(Document), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--step", type=float, default=18.0, help="seconds a step (default 18: 0.15 x 120 s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis")
        client = redis.Redis.from_url(server.start())
        try:
            url = f"sqlite:///{Path(tmp) / 'refill.db'}"
            upgrade(url)
            index = RedisIndex(client, "bench", require_filled=True)
            archive = Archive(make_sessionmaker(make_engine(url)), index)
            documents(archive, args.documents)
            began = time.perf_counter()
            steps = 1
            while not refill(archive, index, until=time.monotonic() + args.step):
                steps += 1
            seconds = time.perf_counter() - began
            memory = client.info("memory")["used_memory"]
        finally:
            server.stop()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.platform()}")
    print(
        f"{args.documents} documents filed in {seconds:.1f} s: {args.documents / seconds:,.0f} documents/s, "
        f"{steps} steps of up to {args.step:.0f} s; Redis holds {memory / 1e6:.0f} MB"
    )
    print(f"a million documents: ~{1e6 / (args.documents / seconds):.0f} s")


if __name__ == "__main__":
    main()
