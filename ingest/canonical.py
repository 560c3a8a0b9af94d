"""Which member of a cluster is the original: evidence first, dates next, arrival last.

Credits: a member's <link rel=canonical> naming another member's URL (syndication partners do
this), or its attribution line ("The original source of this article is X", "originally published
at X", "Via X:") naming another member's site. A credit says "that one is upstream of me", not
"that one is the original": a copy of a copy credits its intermediate.

So, in order:
1. a member that credits another is a copy;
2. among the rest, the earliest publication date the page itself declares wins (a guessed date
   counts for less than a declared one): an intermediate credited by a copy of a copy is not older
   than the original it was taken from;
3. then the most credited;
4. then the earliest arrival.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

_ATTRIBUTION = re.compile(
    r"\b(original(ly)?\s+(source|published|appeared|posted|ran)|first\s+(published|appeared|posted)"
    r"|re-?published\s+(from|with|by)|reprinted\s+(from|with)|source\s*:|via\b|courtesy\s+of"
    r"|this\s+(article|story|post)\s+(was|is|first)|appeared\s+(first\s+)?(on|in|at))",
    re.I,
)
_URL_HOST = re.compile(r"(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})", re.I)
_MAX_ATTRIBUTION_LINE = 400  # attribution is a line, not a paragraph of prose


@dataclass(frozen=True)
class Candidate:
    id: int
    url: str | None
    host: str | None
    sitename: str | None
    canonical_url: str | None
    published: datetime | None
    published_source: str | None  # "meta" | "heuristic" | None
    attributions: tuple[str, ...]  # its text's attribution lines (`attribution_lines`)
    arrival: int  # smaller arrived earlier


@dataclass(frozen=True)
class Election:
    winner: int
    reason: str


def url_key(url: str | None) -> str | None:
    """Compare URLs without scheme, www., trailing slash, query or fragment."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # as a page declared it, e.g. "http://[bad/": it names no member
        return None
    host = (parts.hostname or "").removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}".lower() or None


def attribution_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if len(line) <= _MAX_ATTRIBUTION_LINE and _ATTRIBUTION.search(line)]


def _names(candidate: Candidate) -> set[str]:
    names = set()
    if candidate.host:
        names.add(candidate.host.lower())
        names.add(candidate.host.lower().split(".")[0])  # "southfront" in "southfront.org"
    if candidate.sitename and len(candidate.sitename) >= 4:
        names.add(candidate.sitename.lower())
    return {name for name in names if len(name) >= 4}


@dataclass(frozen=True)
class _Line:
    """An attribution line in the forms a name is looked for in."""

    lowered: str
    squashed: str  # letters, digits and dots only: "South Front" is found in "southfront.org"
    hosts: frozenset[str]

    @classmethod
    def of(cls, line: str) -> _Line:
        lowered = line.lower()
        return cls(lowered, re.sub(r"[^a-z0-9.]", "", lowered), frozenset(h.lower() for h in _URL_HOST.findall(line)))


class _Names:
    """Every member's names, to find which members a line names.

    A large cluster's lines are read once, position by position, rather than searched once for every
    name: searching made the election quadratic in the cluster's size, and a cluster holds one whenever
    a copy joins it. A story copied 1,000 times cost 0.24 s an election, 3,000 times 2.1 s; with the
    index 0.06 s and 0.19 s (bench/election.py).
    """

    def __init__(self, members: list[Candidate]) -> None:
        self.by_host: dict[str, list[Candidate]] = {}
        for member in members:
            if member.host:
                self.by_host.setdefault(member.host.lower(), []).append(member)
        self.names = [(name, name.replace(" ", ""), member) for member in members for name in _names(member)]
        self.indexed: tuple[_Patterns, _Patterns] | None = None
        if len(self.names) >= _INDEXED_FROM:
            self.indexed = (
                _Patterns([(name, member) for name, _, member in self.names]),  # found in line.lowered
                _Patterns([(squashed, member) for _, squashed, member in self.names]),  # in line.squashed
            )

    def credited(self, line: _Line) -> dict[int, Candidate]:
        """{id: member} of the members the line names, by host or by name."""
        found = {member.id: member for host in line.hosts for member in self.by_host.get(host, ())}
        if self.indexed is None:
            found.update(
                (member.id, member)
                for name, squashed, member in self.names
                if name in line.lowered or squashed in line.squashed
            )
        else:
            plain, squashed = self.indexed
            found.update((member.id, member) for member in plain.found_in(line.lowered))
            found.update((member.id, member) for member in squashed.found_in(line.squashed))
        return found


# Below this many names (~130 members), searching a line for each costs less than indexing them.
_INDEXED_FROM = 400
_GRAM = 4  # names are at least this long (`_names`); without their spaces they may be shorter


class _Patterns:
    """Strings to look for, each standing for a member: which of them occur in a text.

    Each string is filed under its rarest run of _GRAM characters among all the strings' runs, so
    that a run a text holds points at few strings to check, even when many share a prefix ("the ").
    """

    def __init__(self, patterns: list[tuple[str, Candidate]]) -> None:
        self.short = [(pattern, member) for pattern, member in patterns if len(pattern) < _GRAM]
        long = [(pattern, member) for pattern, member in patterns if len(pattern) >= _GRAM]
        runs = Counter(pattern[i : i + _GRAM] for pattern, _ in long for i in range(len(pattern) - _GRAM + 1))
        self.by_run: dict[str, list[tuple[str, int, Candidate]]] = {}
        for pattern, member in long:
            at = min(range(len(pattern) - _GRAM + 1), key=lambda i: runs[pattern[i : i + _GRAM]])
            self.by_run.setdefault(pattern[at : at + _GRAM], []).append((pattern, at, member))

    def found_in(self, text: str) -> list[Candidate]:
        found = [member for pattern, member in self.short if pattern in text]
        for start in range(len(text) - _GRAM + 1):
            for pattern, at, member in self.by_run.get(text[start : start + _GRAM], ()):
                if start >= at and text.startswith(pattern, start - at):
                    found.append(member)
        return found


def elect(members: list[Candidate]) -> Election:
    """Pick the original among a cluster's members and say why."""
    if len(members) == 1:
        return Election(members[0].id, "only member")
    by_url = {key: m for m in members if (key := url_key(m.url))}  # an unreadable URL names no member
    names = _Names(members)
    votes: dict[int, list[str]] = {m.id: [] for m in members}
    credits_other: set[int] = set()
    for member in members:
        target = by_url.get(key) if (key := url_key(member.canonical_url)) else None
        if target is not None and target.id != member.id:
            votes[target.id].append(f"rel=canonical of #{member.id}")
            credits_other.add(member.id)
        for line in map(_Line.of, member.attributions):
            for other in names.credited(line).values():
                if other.id != member.id and other.host != member.host:
                    votes[other.id].append(f"credited by #{member.id}")
                    credits_other.add(member.id)

    def rank(m: Candidate) -> tuple[bool, int, float, int, int]:
        date_rank = {"meta": 0, "heuristic": 1}.get(m.published_source or "", 2) if m.published else 2
        timestamp = m.published.timestamp() if m.published else 0.0
        return (m.id in credits_other, date_rank, timestamp, -len(votes[m.id]), m.arrival)

    ordered = sorted(members, key=rank)
    winner = ordered[0]
    reasons = []
    if votes[winner.id]:
        reasons.append(", ".join(sorted(set(votes[winner.id]))))
    if winner.published:
        reasons.append(f"published {winner.published.date().isoformat()} ({winner.published_source or 'unknown'})")
    tied = len(ordered) > 1 and rank(ordered[1])[:4] == rank(winner)[:4]
    reasons.append("arrived first among equals" if tied else "best evidence")
    return Election(winner.id, "; ".join(reasons))
