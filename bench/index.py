"""Near-duplicate index, look-up + insert per document: copydesk's RedisIndex vs datasketch's MinHashLSH.

Both designs run in one process against the same freshly started embedded redis-server (FLUSHDB between
them), on the same synthetic articles, fingerprinted once beforehand with ingest.fingerprint (only the
index operations are timed). Then two spawned processes race near-identical pairs into each design to show
what atomicity buys: a pair is missed when neither copy's look-up returns the other.

    .venv/bin/python bench/index.py [--docs N] [--repeat R]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import statistics
import string
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import numpy as np
import redis
from datasketch import MinHash, MinHashLSH

from ingest.document import Article
from ingest.fingerprint import fingerprint
from storage.index import RedisIndex
from worker.embedded import EmbeddedRedis

SEED = 20240611
VOCAB_SIZE = 5000
WORDS_PER_DOC = 300
DUP_SHARE = 0.10
RACE_PAIRS = 200

Doc = tuple[list[str], list[str], np.ndarray]  # index keys, query keys, MinHash signature (uint32)
Sentences = list[list[str]]


def make_vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCAB_SIZE:
        words.add("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10))))
    return sorted(words)


def new_story(rng: random.Random, vocab: list[str]) -> Sentences:
    sentences: Sentences = []
    while sum(map(len, sentences)) < WORDS_PER_DOC:
        sentences.append(rng.choices(vocab, k=rng.randint(8, 20)))
    return sentences


def near_copy(rng: random.Random, vocab: list[str], source: Sentences, rate: float) -> Sentences:
    """A syndicated copy: each word replaced with probability `rate`."""
    return [[rng.choice(vocab) if rng.random() < rate else word for word in s] for s in source]


def to_doc(sentences: Sentences) -> Doc:
    lines = [" ".join(s).capitalize() + "." for s in sentences]
    paragraphs = [" ".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]
    fp = fingerprint(Article(text="\n".join(paragraphs)))
    return fp.index_keys, fp.query_keys, np.array(fp.signature, dtype=np.uint32)


def corpus(n: int, rng: random.Random, vocab: list[str]) -> tuple[list[Doc], dict[int, int]]:
    """n documents, ~DUP_SHARE of them near copies of an earlier original; returns docs, {copy: source}."""
    stories: list[Sentences] = []
    sources: dict[int, int] = {}
    originals: list[int] = []
    for i in range(n):
        if originals and rng.random() < DUP_SHARE:
            sources[i] = rng.choice(originals)
            stories.append(near_copy(rng, vocab, stories[sources[i]], rng.uniform(0.01, 0.08)))
        else:
            originals.append(i)
            stories.append(new_story(rng, vocab))
    return [to_doc(s) for s in stories], sources


def minhash(signature: np.ndarray) -> MinHash:
    return MinHash(num_perm=128, seed=1, scheme="affine32", hashvalues=signature)


def make_lsh(port: int, basename: bytes) -> MinHashLSH:
    config = {"type": "redis", "redis": {"host": "127.0.0.1", "port": port}, "basename": basename}
    lsh = MinHashLSH(threshold=0.5, num_perm=128, storage_config=config)
    for table in [*lsh.hashtables, lsh.keys]:
        table.size()  # open its connection now, not inside the first timed document
    return lsh


def copydesk_step(client: redis.Redis, namespace: str, docs: list[Doc]) -> Callable[[int, int], set[int]]:
    RedisIndex(client, "warm-up").add_and_query(-1, [], ["x"])  # load the script, open the connection
    index = RedisIndex(client, namespace)
    return lambda i, doc_id: index.add_and_query(doc_id, docs[i][0], docs[i][1])


def datasketch_step(port: int, basename: bytes, docs: list[Doc]) -> Callable[[int, int], set[int]]:
    lsh, hashes = make_lsh(port, basename), [minhash(d[2]) for d in docs]

    def step(i: int, doc_id: int) -> set[int]:
        found = set(lsh.query(hashes[i]))
        lsh.insert(doc_id, hashes[i])
        return found

    return step


def command_calls(client: redis.Redis) -> dict[str, int]:
    return {k: v["calls"] for k, v in client.info("commandstats").items() if k != "cmdstat_info"}


def measure(client: redis.Redis, step: Callable[[int, int], set[int]], n: int) -> dict[str, Any]:
    before = command_calls(client)
    latencies, found = [], []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter_ns()
        found.append(step(i, i))
        latencies.append((time.perf_counter_ns() - t0) / 1e6)
    wall = time.perf_counter() - start
    calls = {k: v - before.get(k, 0) for k, v in command_calls(client).items()}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "p50": cuts[49],
        "p99": cuts[98],
        "rate": n / wall,
        "found": found,
        "commands": sum(calls.values()) / n,
        # EVALSHA is the only command copydesk sends; datasketch sends no scripts, so every command is one
        "round_trips": (calls.get("cmdstat_evalsha", 0) or sum(calls.values())) / n,
    }


def race_worker(design: str, port: int, role: int, docs: list[Doc], barrier: Barrier, out: Any) -> None:
    """Insert docs[i] as id 2i+role at the same moment as the other process inserts its copy."""
    if design == "copydesk":
        step = copydesk_step(redis.Redis(port=port), "race", docs)
    else:
        step = datasketch_step(port, b"race", docs)
    seen = []
    for i in range(len(docs)):
        barrier.wait()
        seen.append(2 * i + (1 - role) in step(i, 2 * i + role))
    out.put((role, seen))


def race(design: str, port: int, pairs: tuple[list[Doc], list[Doc]]) -> int:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=race_worker, args=(design, port, r, pairs[r], barrier, out)) for r in (0, 1)]
    for p in procs:
        p.start()
    seen = dict(out.get() for _ in procs)
    for p in procs:
        p.join()
    return sum(not a and not b for a, b in zip(seen[0], seen[1], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(SEED)
    vocab = make_vocabulary(rng)
    docs, sources = corpus(args.docs, rng, vocab)
    stories = [new_story(rng, vocab) for _ in range(RACE_PAIRS)]
    pairs = ([to_doc(s) for s in stories], [to_doc(near_copy(rng, vocab, s, 0.02)) for s in stories])

    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        client = redis.Redis.from_url(server.start())
        try:
            version = client.info("server")["redis_version"]
            runs: dict[str, list[dict[str, Any]]] = {"copydesk": [], "datasketch": []}
            for r in range(args.repeat):
                order = ["copydesk", "datasketch"] if r % 2 == 0 else ["datasketch", "copydesk"]
                for design in order:  # alternate which design goes first
                    client.flushdb()
                    step = (
                        copydesk_step(client, "bench", docs)
                        if design == "copydesk"
                        else datasketch_step(server.port, b"bench", docs)
                    )
                    runs[design].append(measure(client, step, len(docs)))
            missed = {}
            for design in runs:
                client.flushdb()
                missed[design] = race(design, server.port, pairs)
        finally:
            server.stop()

    def median(design: str, field: str) -> float:
        return statistics.median(run[field] for run in runs[design])

    atomic = {"copydesk": "yes (one Lua script)", "datasketch": "no (query, then insert)"}
    print(f"# index look-up + insert, {args.docs} docs ({len(sources)} near-duplicates), median of {args.repeat} runs")
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, redis-server {version} (embedded, AOF on, 127.0.0.1)"
    )
    print(
        "| design | per-doc p50 ms | p99 ms | docs/s | Redis commands per doc | client round trips per doc | atomic? |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for design in runs:
        print(
            f"| {design} | {median(design, 'p50'):.3f} | {median(design, 'p99'):.3f} | "
            f"{median(design, 'rate'):,.0f} | {median(design, 'commands'):.1f} | "
            f"{median(design, 'round_trips'):.1f} | {atomic[design]} |"
        )
    print(f"p50 ratio datasketch/copydesk: {median('datasketch', 'p50') / median('copydesk', 'p50'):.1f}x")
    recall = {
        design: statistics.median(
            sum(src in run["found"][dup] for dup, src in sources.items()) / max(len(sources), 1) for run in runs[design]
        )
        for design in runs
    }
    print(
        f"recall (near-duplicates whose source was a candidate): copydesk {recall['copydesk']:.3f}, "
        f"datasketch {recall['datasketch']:.3f}"
    )
    print(
        f"missed pairs: copydesk {missed['copydesk']} / {RACE_PAIRS}, datasketch {missed['datasketch']} / {RACE_PAIRS}"
    )


if __name__ == "__main__":
    main()
