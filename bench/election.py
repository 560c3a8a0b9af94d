"""A cluster's canonical election when one more copy joins: elected from scratch, against the kept Electorate.

`ingest.canonical.elect` picks a cluster's canonical from every member's evidence, and runs whenever a copy joins
a cluster (storage/clustering.py). Two ways of electing after the (n+1)th member joins, timed on the same
synthetic clusters, alternately, best of --repeat:

  from scratch   Electorate(all n+1 members).election(): every member's lines read for every member's names
                 (what every join cost before storage.clustering.Electorates kept them)
  kept           the Electorate of the n members, kept from the last election, .add([the newcomer]) and
                 .election(): the newcomer's lines for everyone's names, everyone's lines for its names

Members: random hosts and site names sharing common beginnings ("news", "the daily"...), each copy with one
attribution line naming the wire, a random member's site name, or its own host. The two must elect the same
member with the same reason; the script stops if they do not.

    .venv/bin/python bench/election.py [--sizes 10,30,100,300,1000,3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import machine

from ingest.canonical import Candidate, Election, Electorate

BEGINNINGS = ("news", "the", "daily", "local", "world", "post", "times")


def cluster(size: int, seed: int) -> list[Candidate]:
    rng = random.Random(seed)
    members = []
    for number in range(size):
        host = f"{rng.choice(BEGINNINGS)}{rng.choice(['', '-'])}{rng.randrange(10**6)}.example.com"
        named = rng.choice(["the Wire Service", f"The Daily {rng.randrange(size)}", host])
        members.append(
            Candidate(
                id=number,
                url=f"https://{host}/story",
                host=host,
                sitename=f"The Daily {number}",
                canonical_url=f"https://{host}/story",
                published=datetime(2026, 1, 1 + rng.randrange(28), tzinfo=UTC),
                published_source="meta",
                attributions=(f"This article was originally published on {named}.",) if number else (),
                arrival=number,
            )
        )
    return members


def timed(members: list[Candidate], kept: bool, repeat: int) -> tuple[float, Election]:
    """(best seconds of one election after the last member joined, that election)."""
    rounds = max(1, 300 // len(members))
    best = float("inf")
    for _ in range(repeat):
        # Kept: the Electorates of the members before the last, as the previous election left them.
        electorates = [Electorate(members[:-1]) for _ in range(rounds)] if kept else []
        began = time.perf_counter()
        for number in range(rounds):
            if kept:
                electorates[number].add(members[-1:])
                result = electorates[number].election()
            else:
                result = Electorate(members).election()
        best = min(best, (time.perf_counter() - began) / rounds)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,30,100,300,1000,3000", help="cluster sizes (members)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings (default 3)")
    args = parser.parse_args()
    print("# One canonical election after a copy joins: from scratch, against the kept Electorate")
    print(f"# {machine()}")
    print(f"{'members':>8} {'scratch ms':>11} {'kept ms':>8} {'ratio':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        members = cluster(size, size)
        scratch, before = timed(members, False, args.repeat)
        kept, after = timed(members, True, args.repeat)
        if before != after:
            raise SystemExit(f"{size} members: the kept Electorate elected {after}, from scratch {before}")
        print(f"{size:8d} {1000 * scratch:11.2f} {1000 * kept:8.2f} {scratch / kept:6.1f}")


if __name__ == "__main__":
    main()
