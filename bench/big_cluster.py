"""One story copied on ever more sites: what adding one more copy costs as its cluster grows.

A wire story can be reposted on thousands of sites. Every copy is filed under the same index keys, which stop
taking documents after storage.index.MAX_BUCKET, and every copy that joins re-elects the cluster's canonical
over all its members (storage/clustering.py). This adds copies of one synthetic story (12 paragraphs of random
words, each copy on its own host, with an attribution line naming another copy's site) to an archive on SQLite
and the embedded Redis, in batches of 32 as ingest_pages does, and at each --sizes mark times 5 single adds.
It checks that every copy ends in one cluster.

    .venv/bin/python bench/big_cluster.py [--sizes 10,100,300,1000,2000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from common import machine, remove_unless_kept
from sqlalchemy import func, select

from ingest.document import Article
from storage.archive import Archive, Arrival
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.index import RedisIndex
from storage.models import Cluster
from worker.embedded import EmbeddedRedis

TIMED = 5  # single adds timed at each mark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,300,1000,2000", help="cluster sizes to time an add at")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    rng = random.Random(1)
    words = [f"w{i}" for i in range(5000)]
    story = "\n".join(" ".join(rng.choice(words) for _ in range(40)) + "." for _ in range(12))

    def copy(number: int) -> Arrival:
        host = f"{rng.choice(['news', 'the', 'daily'])}{number}.example.com"
        credit = f"This article was originally published on The Daily {rng.randrange(number + 1)}."
        article = Article(
            text=f"Republished from Wire Service.\n{story}\n{credit}",
            title="Story",
            url=f"https://{host}/story",
            host=host,
            sitename=f"The Daily {number}",
        )
        return Arrival(article, key=article.url)

    tmp = Path(tempfile.mkdtemp(prefix="copydesk-bench-cluster-"))
    server = EmbeddedRedis(tmp / "redis")
    url = server.start()
    print("# One story's cluster as it grows: the time to add one more copy (SQLite, embedded Redis)")
    print(f"# {machine()}")
    print(f"{'copies':>7} {'ms an add':>10}")
    try:
        database = f"sqlite:///{tmp / 'cluster.db'}"
        upgrade(database)
        archive = Archive(make_sessionmaker(make_engine(database)), RedisIndex(redis.Redis.from_url(url), "bench"))
        added = 0
        for size in (int(s) for s in args.sizes.split(",")):
            while added < size:
                batch = [copy(added + k) for k in range(min(32, size - added))]
                archive.add_many(batch)
                added += len(batch)
            began = time.perf_counter()
            for _ in range(TIMED):
                one = copy(added)
                archive.add(one.article, key=one.key)
                added += 1
            print(f"{added - TIMED:7d} {1000 * (time.perf_counter() - began) / TIMED:10.1f}", flush=True)
        with archive.sessions() as session:
            clusters = session.scalar(select(func.count()).select_from(Cluster))
        print(f"{added} copies in {clusters} cluster(s)")
        if clusters != 1:
            raise SystemExit("the copies did not end in one cluster")
    finally:
        server.stop()
        remove_unless_kept(tmp, args.keep)


if __name__ == "__main__":
    main()
