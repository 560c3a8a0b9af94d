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
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

_ATTRIBUTION = re.compile(
    r"\b(original(ly)?\s+(source|published|appeared|posted|ran)|first\s+(published|appeared|posted)"
    r"|re-?published\s+(from|with|by)|reprinted\s+(from|with)|source\s*:|via\b|courtesy\s+of"
    r"|this\s+(article|story|post)\s+(was|is|first)|appeared\s+(first\s+)?(on|in|at))",
    re.I,
)
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

    @classmethod
    def of(cls, line: str) -> _Line:
        lowered = line.lower()
        return cls(lowered, re.sub(r"[^a-z0-9.]", "", lowered))


class Electorate:
    """A cluster's members and who credits whom among them: `elect` of its members, kept up to date as
    members join (`add`), so that a join costs what the joining members bring, not the whole cluster again.

    Re-electing from scratch reads every member's lines for every member's names at every join: a
    story copied 2,000 times cost 0.26 s a copy (bench/big_cluster.py). A join here reads the newcomers'
    lines for everyone's names, and looks for the newcomers' names in everyone else's lines
    with one search of their concatenation. Members leave only by building a new Electorate.
    """

    def __init__(self, members: Iterable[Candidate] = ()) -> None:
        self.members: dict[int, Candidate] = {}
        self.by_url: dict[str, Candidate] = {}  # url_key -> member
        self.referrers: dict[str, list[Candidate]] = {}  # url_key -> the members whose rel=canonical names it
        self.plain, self.squashed = _Patterns(), _Patterns()  # names, found in _Line.lowered / .squashed
        self.lines: list[tuple[Candidate, _Line]] = []
        # Every line's .lowered, and its .squashed, each ended by _END, to be joined for a search; and
        # where each line starts in them.
        self.pieces: tuple[list[str], list[str]] = ([], [])
        self.starts: list[tuple[int, int]] = []
        self.ends = (0, 0)
        self._texts: tuple[str, str] | None = None
        self.votes: dict[int, list[str]] = {}
        self.credits_other: set[int] = set()
        members = list(members)
        by_url: dict[str, Candidate] = {}
        for member in members:  # of members sharing a URL, the last one is the one credited
            if key := url_key(member.url):
                by_url[key] = member
        self._join(members, by_url)

    def add(self, members: list[Candidate]) -> bool:
        """Let members join; False (and nothing changed) if one shares a URL with another member, where who
        is credited depends on the members' order: build a new Electorate then."""
        keys = [key for member in members if (key := url_key(member.url))]
        if len(set(keys)) < len(keys) or any(key in self.by_url for key in keys):
            return False
        self._join(members, {key: member for member in members if (key := url_key(member.url))})
        return True

    def _join(self, members: list[Candidate], by_url: dict[str, Candidate]) -> None:
        for member in members:
            self.members[member.id] = member
            self.votes[member.id] = []
            for name in _names(member):
                self.plain.add(name, member)
                self.squashed.add(name.replace(" ", ""), member)
        self.by_url.update(by_url)
        # Earlier members' rel=canonical naming a newcomer's URL.
        for key, member in by_url.items():
            for referrer in self.referrers.get(key, ()):
                self._credit(referrer, member, f"rel=canonical of #{referrer.id}")
        # Earlier members' lines naming a newcomer (the newcomers' own lines are not added yet).
        named: set[tuple[int, int]] = set()
        for member in members:
            for name in _names(member):
                for column, pattern in enumerate((name, name.replace(" ", ""))):
                    named.update((number, member.id) for number in self._lines_holding(column, pattern))
        for number, member_id in sorted(named):
            owner = self.lines[number][0]
            self._credit_line(owner, self.members[member_id])
        # The newcomers' own rel=canonical and lines, against every member.
        for member in members:
            if referred := url_key(member.canonical_url):
                self.referrers.setdefault(referred, []).append(member)
                if (target := self.by_url.get(referred)) is not None:
                    self._credit(member, target, f"rel=canonical of #{member.id}")
            for line in map(_Line.of, member.attributions):
                for other in self._credited(line).values():
                    self._credit_line(member, other)
                self._add_line(member, line)

    def _credited(self, line: _Line) -> dict[int, Candidate]:
        """{id: member} of the members the line names. A host it names in a URL is one of those names."""
        found = {member.id: member for member in self.plain.found_in(line.lowered)}
        found.update((member.id, member) for member in self.squashed.found_in(line.squashed))
        return found

    def _lines_holding(self, column: int, pattern: str) -> set[int]:
        """The numbers of the lines whose form `column` (0: lowered, 1: squashed) holds `pattern`: one search
        of them all."""
        if not pattern:
            return set(range(len(self.lines)))
        if self._texts is None:
            self._texts = ("".join(self.pieces[0]), "".join(self.pieces[1]))
        text = self._texts[column]
        found: set[int] = set()
        position = text.find(pattern)
        while position != -1:
            found.add(bisect_right(self.starts, position, key=lambda start: start[column]) - 1)
            position = text.find(pattern, position + 1)
        return found

    def _add_line(self, owner: Candidate, line: _Line) -> None:
        self.lines.append((owner, line))
        self.starts.append(self.ends)
        for pieces, text in zip(self.pieces, (line.lowered, line.squashed), strict=True):
            pieces.append(text + _END)
        self.ends = (self.ends[0] + len(line.lowered) + len(_END), self.ends[1] + len(line.squashed) + len(_END))
        self._texts = None

    def _credit_line(self, owner: Candidate, other: Candidate) -> None:
        if other.id != owner.id and other.host != owner.host:
            self._credit(owner, other, f"credited by #{owner.id}")

    def _credit(self, owner: Candidate, target: Candidate, reason: str) -> None:
        if target.id != owner.id:
            self.votes[target.id].append(reason)
            self.credits_other.add(owner.id)

    def election(self) -> Election:
        """Pick the original among the members and say why."""
        if len(self.members) == 1:
            return Election(next(iter(self.members)), "only member")

        def rank(m: Candidate) -> tuple[bool, int, float, int, int]:
            date_rank = {"meta": 0, "heuristic": 1}.get(m.published_source or "", 2) if m.published else 2
            timestamp = m.published.timestamp() if m.published else 0.0
            return (m.id in self.credits_other, date_rank, timestamp, -len(self.votes[m.id]), m.arrival)

        ordered = sorted(self.members.values(), key=rank)
        winner = ordered[0]
        reasons = []
        if self.votes[winner.id]:
            reasons.append(", ".join(sorted(set(self.votes[winner.id]))))
        if winner.published:
            reasons.append(f"published {winner.published.date().isoformat()} ({winner.published_source or 'unknown'})")
        tied = len(ordered) > 1 and rank(ordered[1])[:4] == rank(winner)[:4]
        reasons.append("arrived first among equals" if tied else "best evidence")
        return Election(winner.id, "; ".join(reasons))


_END = "\x00"  # ends each line in Electorate.pieces: no name holds it, so none is found across two lines
_GRAM = 4  # names are at least this long (`_names`); without their spaces they may be shorter
_INDEXED_FROM = 200  # strings: fewer are quicker looked for one by one than indexed (~65 members' names)


class _Patterns:
    """Strings to look for, each standing for a member: which of them occur in a text.

    Once there are many, each string is filed under its rarest run of _GRAM characters among the
    strings filed so far, so that a run a text holds points at few strings to check, even when many
    share a prefix ("the "). Any run would find the same strings; the rarest only makes it quicker.
    """

    def __init__(self, patterns: Iterable[tuple[str, Candidate]] = ()) -> None:
        self.unfiled: list[tuple[str, Candidate]] = []  # looked for one by one
        self.indexed = False
        self.runs: Counter[str] = Counter()
        self.by_run: dict[str, list[tuple[str, int, Candidate]]] = {}
        for pattern, member in patterns:
            self.add(pattern, member)

    def add(self, pattern: str, member: Candidate) -> None:
        if not self.indexed and len(self.unfiled) + 1 < _INDEXED_FROM:
            self.unfiled.append((pattern, member))
            return
        if not self.indexed:
            self.indexed = True
            waiting, self.unfiled = self.unfiled, []
            for earlier in waiting:
                self._file(*earlier)
        self._file(pattern, member)

    def _file(self, pattern: str, member: Candidate) -> None:
        if len(pattern) < _GRAM:
            self.unfiled.append((pattern, member))
            return
        runs = [pattern[i : i + _GRAM] for i in range(len(pattern) - _GRAM + 1)]
        self.runs.update(runs)
        at = min(range(len(runs)), key=lambda i: self.runs[runs[i]])
        self.by_run.setdefault(runs[at], []).append((pattern, at, member))

    def found_in(self, text: str) -> list[Candidate]:
        found = [member for pattern, member in self.unfiled if pattern in text]
        if self.indexed:
            for start in range(len(text) - _GRAM + 1):
                for pattern, at, member in self.by_run.get(text[start : start + _GRAM], ()):
                    if start >= at and text.startswith(pattern, start - at):
                        found.append(member)
        return found


def elect(members: list[Candidate]) -> Election:
    """Pick the original among a cluster's members and say why."""
    return Electorate(members).election()
