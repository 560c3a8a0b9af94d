"""Which member of a cluster is the original: evidence first, dates next, arrival last.

Credits: a member's <link rel=canonical> naming another member's URL (syndication partners do
this), or its attribution line ("The original source of this article is X", "originally published
at X", "Via X:") naming another member's site, unless that member has the line too: then it is the
story's own sentence ("…, via USA Today, said"), not a copy's credit. A credit says "that one is
upstream of me", not "that one is the original": a copy of a copy credits its intermediate.

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
import sys
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

import ahocorasick

# The lookahead lets the search skip every word that cannot start a credit (each alternative starts with one
# of these letters) before trying the alternatives one by one: the same matches, ~30% faster on story text.
_ATTRIBUTION = re.compile(
    r"(?=[ofrsvcta])\b(original(ly)?\s+(source|published|appeared|posted|ran)|first\s+(published|appeared|posted)"
    r"|re-?published\s+(from|with|by)|reprinted\s+(from|with)|source\s*:|via\b|courtesy\s+of"
    r"|this\s+(article|story|post)\s+(was|is|first)|appeared\s+(first\s+)?(on|in|at))",
    re.I,
)
_MAX_ATTRIBUTION_LINE = 400  # attribution is a line, not a paragraph of prose
# A credit that names the author first ("Written by X for Y.", "Reporting by X; editing by Y"): only at a line's
# start, where a credit stands; inside a sentence the words are the story's own ("a song written by X for a film").
_CREDIT_OPENING = re.compile(r"\s*(written|reporting|additional\s+reporting)\s+by\b", re.I)
_WORD = re.compile(r"\w+")


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


@lru_cache(maxsize=2048)  # a cluster's URLs are read again at each election, when a copy joins it
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


# Query parameters that say where a reader came from, never which page it is.
_TRACKING = re.compile(r"utm_\w+|fbclid|gclid|yclid|mc_cid|mc_eid|_ga", re.I)


@lru_cache(maxsize=2048)
def url_form(url: str | None) -> str | None:
    """`url_key` with the query kept (its parameters sorted, tracking ones left out): a site's print or AMP
    version of a page (`?print=1`, `?amp=1`), or its articles told apart by a parameter (`?id=8576`), share
    the key of the address they add to, not its form."""
    key = url_key(url)
    if key is None or url is None:
        return key
    pairs = sorted(p for p in urlsplit(url.strip()).query.split("&") if p and not _TRACKING.fullmatch(p.split("=")[0]))
    return f"{key}?{'&'.join(pairs)}".lower() if pairs else key


def names_url(declared: str | None, url: str | None, own: str | None) -> bool:
    """Whether a page at `own` declaring `declared` as its rel=canonical names the page at `url`: the same
    address with the same query, or, when the query tells nothing apart, the same address once the query is
    left out. A page naming its own address (its own query variant too: an AMP page declaring itself) names no
    other page, however alike their addresses."""
    declared_form, form, own_form = url_form(declared), url_form(url), url_form(own)
    if declared_form is None or declared_form == own_form:
        return False
    if declared_form == form:
        return True
    key = url_key(declared)
    return key == url_key(url) != url_key(own)


def links_to(links: Collection[str], url: str | None, declared: str | None) -> bool:
    """Whether `links` (a text's links, `url_key` form: Article.links) name the page at `url`, whose rel=canonical is
    `declared`."""
    return bool(links) and any(url_key(address) in links for address in (url, declared) if address)


def is_attribution(line: str) -> bool:
    """Whether a line credits a source ("Via X:", "originally published at X", "Written by X for Y.")."""
    if len(line) > _MAX_ATTRIBUTION_LINE:
        return False
    return _ATTRIBUTION.search(line) is not None or _CREDIT_OPENING.match(line) is not None


def attribution_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if is_attribution(line)]


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

    lowered: str  # hosts are found here too, as names: "https://www.southfront.org/..."
    squashed: str  # letters, digits and dots only: "South Front" is found in "southfront.org"

    @classmethod
    def of(cls, line: str) -> _Line:
        lowered = line.lower()
        return cls(lowered, re.sub(r"[^a-z0-9.]", "", lowered))


class _Names:
    """Every member's names, to find which members a line names.

    Each line is read once, by an Aho-Corasick automaton of all the names, rather than searched once for
    every name: searching made the election quadratic in the cluster's size, and a cluster holds one
    whenever a copy joins it (a story copied 1,000 times cost 0.24 s an election, bench/election.py).
    """

    def __init__(self, members: list[Candidate]) -> None:
        named = [(name, member) for member in members for name in _names(member)]
        self.plain = _automaton(named)  # found in _Line.lowered
        self.squashed = _automaton([(name.replace(" ", ""), member) for name, member in named])  # in .squashed

    def credited(self, line: _Line) -> dict[int, Candidate]:
        """{id: member} of the members the line names."""
        found: dict[int, Candidate] = {}
        for automaton, text in ((self.plain, line.lowered), (self.squashed, line.squashed)):
            if automaton is not None:
                found.update((member.id, member) for _, named in automaton.iter(text) for member in named)
        return found


def _automaton(names: list[tuple[str, Candidate]]) -> ahocorasick.Automaton | None:
    """An automaton finding every occurrence of every name, with the members it names; None if no names."""
    members: dict[str, list[Candidate]] = {}
    for name, member in names:
        members.setdefault(name, []).append(member)
    members.pop("", None)  # an empty name would be found everywhere; it names nobody
    if not members:
        return None  # pyahocorasick cannot search with an automaton of no words
    automaton = ahocorasick.Automaton()
    for name, named in members.items():
        automaton.add_word(name, named)
    automaton.make_automaton()
    return automaton


def _named(member: Candidate, by_form: dict[str, Candidate], by_key: dict[str, list[Candidate]]) -> Candidate | None:
    """The other member `member`'s rel=canonical names (`names_url`), if any."""
    form = url_form(member.canonical_url)
    if form is None:
        return None
    target = by_form.get(form)
    if target is None:
        # No member at that very address: one at the same address once queries are left out, if only one is.
        others = [m for m in by_key.get(url_key(member.canonical_url) or "", []) if m.id != member.id]
        target = others[0] if len(others) == 1 else None
    if target is None or target.id == member.id or not names_url(member.canonical_url, target.url, member.url):
        return None
    return target


def _carries(member: Candidate, line: _Line) -> bool:
    """Whether `member`'s own text has the line, or an edited form of it (most of its words): then the line is
    the story's own ("Richardson, via USA Today, said …" in every copy), not a copy's credit to `member`."""
    words = set(_WORD.findall(line.lowered))
    for own in member.attributions:
        theirs = set(_WORD.findall(own.lower()))
        if len(words & theirs) * 2 > len(words | theirs):
            return True
    return False


def sources(members: list[Candidate]) -> dict[int, list[tuple[int, str]]]:
    """{member id: [(another member it names as its source, how: "rel=canonical" or "credit")]} for the members
    that name one: by their rel=canonical, or by an attribution line naming the other's site (one that member does
    not carry itself). A copy of a copy names the copy it was taken from."""
    by_form = {form: m for m in members if (form := url_form(m.url))}  # an unreadable URL names no member
    by_key: dict[str, list[Candidate]] = {}
    for m in members:
        if key := url_key(m.url):
            by_key.setdefault(key, []).append(m)
    # Most clusters hold no attribution line: no names to look for then.
    names = _Names(members) if any(m.attributions for m in members) else None
    found: dict[int, list[tuple[int, str]]] = {}
    for member in members:
        target = _named(member, by_form, by_key)
        if target is not None:
            found.setdefault(member.id, []).append((target.id, "rel=canonical"))
        if names is None:
            continue
        for line in map(_Line.of, member.attributions):
            for other in names.credited(line).values():
                if other.id != member.id and other.host != member.host and not _carries(other, line):
                    found.setdefault(member.id, []).append((other.id, "credit"))
    return found


# How `elect` orders members, best first: (credits another member, date kind, date, -credits, address length, arrival).
_Rank = tuple[bool, int, float, int, int, int]


def elect(members: list[Candidate]) -> Election:
    """Pick the original among a cluster's members and say why."""
    if len(members) == 1:
        return Election(members[0].id, "only member")
    votes: dict[int, list[str]] = {m.id: [] for m in members}
    named = sources(members)
    for member_id, named_sources in named.items():
        for source, how in named_sources:
            votes[source].append(
                f"rel=canonical of #{member_id}" if how == "rel=canonical" else f"credited by #{member_id}"
            )
    credits_other = set(named)

    def rank(m: Candidate) -> _Rank:
        date_rank = {"meta": 0, "heuristic": 1}.get(m.published_source or "", 2) if m.published else 2
        timestamp = m.published.timestamp() if m.published else 0.0
        # Among equals, the shortest address: a site's AMP, print and section mirrors of a page (same text, same
        # date, each its own rel=canonical) add to the address of the page they mirror.
        # A page with no address (pushed as text or a file) has none to be shortest.
        address = len(m.url) if m.url else sys.maxsize
        return (m.id in credits_other, date_rank, timestamp, -len(votes[m.id]), address, m.arrival)

    ordered = sorted(members, key=rank)
    winner = ordered[0]
    reasons = []
    if votes[winner.id]:
        reasons.append(", ".join(sorted(set(votes[winner.id]))))
    if winner.published:
        reasons.append(f"published {winner.published.date().isoformat()} ({winner.published_source or 'unknown'})")
    if len(ordered) > 1:
        runner_up = ordered[1].id
        its_sources = ", ".join(f"#{source}" for source in sorted({source for source, _ in named.get(runner_up, [])}))
        reasons.append(_decided(rank(winner), rank(ordered[1]), runner_up, its_sources))
    return Election(winner.id, "; ".join(reasons))


def _decided(winner: _Rank, runner_up: _Rank, other: int, its_sources: str) -> str:
    """What put the winner before the next member (`other`, which names `its_sources`), whose rank (as `elect` ranks)
    is `runner_up`: the first place where their ranks differ (the last, arrival, always does)."""
    step = next(i for i, (a, b) in enumerate(zip(winner, runner_up, strict=True)) if a != b)
    return [
        f"ahead of #{other}, which names {its_sources} as its source",
        f"ahead of #{other}, whose date is guessed or missing",
        f"ahead of #{other}, published later",
        f"ahead of #{other}, credited less",
        f"ahead of #{other}: shortest address among equals",
        f"ahead of #{other}: arrived first among equals",
    ][step]
