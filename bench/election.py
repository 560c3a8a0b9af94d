"""A cluster's canonical election as the cluster grows: every line searched for every name, against the automaton.

`ingest.canonical.elect` runs whenever a copy joins a cluster (storage/clustering.py), over all its members. It
looks for every member's names (host, first label of the host, site name) in every member's attribution lines.
Searching each line for each name costs lines x names, so a story copied n times cost n^2 an election;
`_Names` reads each line once with an Aho-Corasick automaton of all the names instead. Both are timed here on the
same synthetic clusters, alternately, best of --repeat:

  searched    every line searched for every name (`Searched` below, as copydesk did before)
  automaton   copydesk as it is

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

from ingest import canonical
from ingest.canonical import Candidate, Election, elect

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


class Searched(canonical._Names):
    """Every line searched for every name: the election before the automaton."""

    def __init__(self, members: list[Candidate]) -> None:
        super().__init__(members)
        self.names = [(name, name.replace(" ", ""), member) for member in members for name in canonical._names(member)]

    def credited(self, line: canonical._Line) -> dict[int, Candidate]:
        return {
            member.id: member
            for name, squashed, member in self.names
            if name in line.lowered or (squashed and squashed in line.squashed)
        }


def timed(members: list[Candidate], searched: bool, repeat: int) -> tuple[float, Election]:
    """(best seconds of one election, the election), with every line searched for every name or not."""
    kept = canonical._Names
    canonical._Names = Searched if searched else kept  # type: ignore[misc]
    try:
        rounds = max(1, 300 // len(members))
        best = float("inf")
        for _ in range(repeat):
            began = time.perf_counter()
            for _ in range(rounds):
                result = elect(members)
            best = min(best, (time.perf_counter() - began) / rounds)
        return best, result
    finally:
        canonical._Names = kept  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,30,100,300,1000,3000", help="cluster sizes (members)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings (default 3)")
    args = parser.parse_args()
    print("# One canonical election: every line searched for every name, against the automaton")
    print(f"# {machine()}")
    print(f"{'members':>8} {'searched ms':>12} {'automaton ms':>13} {'ratio':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        members = cluster(size, size)
        searched, before = timed(members, True, args.repeat)
        automaton, after = timed(members, False, args.repeat)
        if before != after:
            raise SystemExit(f"{size} members: the automaton elected {after}, the search {before}")
        print(f"{size:8d} {1000 * searched:12.2f} {1000 * automaton:13.2f} {searched / automaton:6.1f}")


if __name__ == "__main__":
    main()
