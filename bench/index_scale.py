"""The near-duplicate index as the archive grows: look-up+insert latency and memory per document.

Synthetic documents, each filed under 32 band keys + 16 sentence anchors and looking up its 32 bands
and 40 sentences (as `ingest.fingerprint` gives for a ~500-word article); 5% are near copies of an
earlier document (half their keys shared). The index is filled (pipelined, untimed) up to each
checkpoint, then SAMPLE more documents are added one call at a time and timed. Memory is Redis
`used_memory` above the empty server's, divided by the documents filed.

    .venv/bin/python bench/index_scale.py [--sizes 10000,100000,1000000] [--sample 2000] [--buckets N]

`--sizes 10000,250000 --buckets <BUCKETS/4>` gives the last row a million documents' records per bucket
in a quarter of the time.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

import redis

from storage.index import BUCKETS, RedisIndex
from worker.embedded import EmbeddedRedis

Keys = tuple[list[str], list[str]]


def document(rng: random.Random, earlier: list[Keys]) -> Keys:
    """(index keys, query keys) of one synthetic document."""
    bands = [f"b{i}:{rng.getrandbits(64):x}" for i in range(32)]
    sentences = [f"s:{rng.getrandbits(64):x}" for _ in range(40)]
    if earlier and rng.random() < 0.05:  # a near copy: shares half of an earlier document's keys
        other_index, other_query = rng.choice(earlier)
        bands[:16] = other_index[:16]
        sentences[:20] = other_query[32:52]
    return bands + sentences[:16], bands + sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--sample", type=int, default=2000)
    parser.add_argument("--buckets", type=int, default=BUCKETS, help="Redis keys (buckets) the index spreads over")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        client = redis.Redis.from_url(server.start())
        try:
            client.config_set("appendonly", "no")  # the fill would spend its time rewriting the AOF
            index = RedisIndex(client, "bench", buckets=args.buckets)
            index.add_and_query(-1, [], ["warm-up"])
            baseline = int(client.info("memory")["used_memory"])
            recent: list[Keys] = []
            filed = 0
            rows = []
            print(
                f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.platform()}, "
                f"redis-server {client.info('server')['redis_version']}, 127.0.0.1, {args.buckets} buckets"
            )
            for size in sizes:
                fill_start = time.perf_counter()
                while filed < size - args.sample:
                    batch = min(1000, size - args.sample - filed)
                    documents = []
                    for _ in range(batch):
                        filed += 1
                        keys = document(rng, recent)
                        recent = [*recent[-999:], keys]
                        documents.append((filed, *keys))
                    index.add_and_query_many(documents)
                fill = time.perf_counter() - fill_start
                timings = []
                for _ in range(args.sample):
                    filed += 1
                    keys = document(rng, recent)
                    recent = [*recent[-999:], keys]
                    start = time.perf_counter()
                    index.add_and_query(filed, *keys)
                    timings.append((time.perf_counter() - start) * 1000)
                timings.sort()
                memory = int(client.info("memory")["used_memory"]) - baseline
                rows.append((filed, statistics.median(timings), timings[int(len(timings) * 0.99) - 1], memory / filed))
                print(f"filled {filed:,} docs (fill {fill:.0f} s)", flush=True)
        finally:
            server.stop()
    print("\n| documents | look-up+insert p50 ms | p99 ms | index memory bytes/doc |")
    print("|---:|---:|---:|---:|")
    for filed, p50, p99, per_doc in rows:
        print(f"| {filed:,} | {p50:.3f} | {p99:.3f} | {per_doc:.0f} |")
    first, last = rows[0], rows[-1]
    print(
        f"\np50 at {last[0]:,} / p50 at {first[0]:,}: {last[1] / first[1]:.2f}x; "
        f"p99: {last[2] / first[2]:.2f}x; bytes/doc: {last[3] / first[3]:.2f}x"
    )


if __name__ == "__main__":
    main()
