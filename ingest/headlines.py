"""A page's headlines: the names it gives its story, which a copy keeps and a different story does not.

A syndicated copy carries the story's headline, reworded or cut at most ("Report: X", "X: what we know", the part
before a colon). A different story has its own headline, even one that quotes a few paragraphs of the first. A page
names its story in several places that need not agree (its <title> and og:title, written for search and social
sites, and its visible <h1>), and a copy may take any of them: all of them count, so two pages are named apart only
when none of their names shares a word.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

# Names of fewer content words than this say too little to tell two stories apart ("Home", "News | Site").
MIN_WORDS = 2
MAX_SITE_WORDS = 6  # "The Spokesman-Review Newspaper", "Business Insider Deutschland"; more is a headline
# The fewest content words of a headline that two pages carrying it are taken to name one story by (headline_keys).
SAME_HEADLINE_WORDS = 3
# A word is matched by its first letters: "announce" and "announced", "layoff" and "layoffs" are one word.
_STEM = 5
_WORD = re.compile(r"[^\W_]+")
# What sites put between a story's headline and their own name: "Story | Site", "Story - Site", "Site: Story".
_SEPARATOR = re.compile(r"\s+[-|–—·:]\s+|\s*[|·]\s*|:\s+")
# Scripts written without spaces: a headline is one "word" there, so it is read by pairs of characters.
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# Words that name no story, in the corpus's main languages. Missing one only makes two names look alike, which
# leaves the texts to decide alone, as before headlines were read.
_STOP = frozenset(
    """the and for with from that this these those are was were been has have had its into over after before about
    how why what who when where which new not but you your our out all can will just more than der die das und mit
    von den dem des ein eine für auf ist les des une pour avec dans sur par qui que los las del por con una para
    como sus nas dos das uma com não""".split()  # noqa: SIM905
)


def title_words(names: Iterable[str | None], sitename: str | None = None, host: str | None = None) -> frozenset[str]:
    """The content words of a page's names for its story (`_title_words`)."""
    return _title_words(tuple(names), sitename, host)


@functools.lru_cache(maxsize=4096)  # a cluster's members are compared again with each new copy of their story
def _title_words(names: tuple[str | None, ...], sitename: str | None, host: str | None) -> frozenset[str]:
    """The content words of a page's names for its story (its title, social titles, <h1>s). A name, or a part of
    one, that is the site's own name or host ("Story | Site", "Site - Story", "Site") is left out: it names the
    site, not the story. No words: the page does not name its story, and is never apart from another."""
    words: set[str] = set()
    for name in names:
        for part in _story_parts(name, sitename, host):
            words |= _words(part)
    return frozenset(words)


def headline_keys(names: Iterable[str | None], sitename: str | None = None, host: str | None = None) -> frozenset[str]:
    """Each of a page's names for its story as it reads without the parts naming the site, its words casefolded:
    two pages that give a story the same headline share a key, whatever site each names beside it. Names of
    fewer than SAME_HEADLINE_WORDS content words are left out: a series' recurring title ("Daily Deals",
    "Opening bell 11.18.19") names no one story."""
    return _headline_keys(tuple(names), sitename, host)


def same_headline(
    first: tuple[str | None, str | None, str | None], second: tuple[str | None, str | None, str | None]
) -> bool:
    """Whether two pages of two sites, each given as (its title, its site's name, its host), carry the same headline
    (`headline_keys` of their titles). The pages of one site may all carry its template's title when extraction finds
    no headline of their own; two sites share a headline by copying a story. A page's other names are left out: one
    of its <h1>s may be a template's, another story's headline."""
    if first[2] is not None and first[2] == second[2]:
        return False
    return not headline_keys(first[:1], *first[1:]).isdisjoint(headline_keys(second[:1], *second[1:]))


@functools.lru_cache(maxsize=4096)
def _headline_keys(names: tuple[str | None, ...], sitename: str | None, host: str | None) -> frozenset[str]:
    keys = set()
    for name in names:
        parts = _story_parts(name, sitename, host)
        if len(set().union(*map(_words, parts))) >= SAME_HEADLINE_WORDS:
            keys.add(" ".join(word for part in parts for word in _WORD.findall(part.casefold())))
    return frozenset(keys)


def _story_parts(name: str | None, sitename: str | None, host: str | None) -> list[str]:
    """The parts of a name that do not name the site (`_names_site`). A site name longer than a site's name is,
    is the headline given as the site's name by the page's metadata: the host alone names the site then."""
    site, site_words = _site(sitename if sitename and len(sitename.split()) <= MAX_SITE_WORDS else None, host)
    return [part for part in _SEPARATOR.split(name or "") if not _names_site(part, site, site_words)]


@functools.lru_cache(maxsize=1024)
def _site(sitename: str | None, host: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """The squashed forms that name the site (its name, its host's labels), and its names' words."""
    site = {_squashed(sitename or "")} | {_squashed(label) for label in (host or "").split(".")[:-1]}
    return frozenset(site), frozenset(_words(f"{sitename or ''} {(host or '').replace('.', ' ')}"))


def _words(text: str) -> set[str]:
    folded = text.casefold()
    if _UNSPACED.search(folded) is None:
        return {word[:_STEM] for word in _WORD.findall(folded) if len(word) > 2 and word not in _STOP}
    words: set[str] = set()
    for word in _WORD.findall(folded):
        if _UNSPACED.search(word):
            words.update(word[i : i + 2] for i in range(max(1, len(word) - 1)))
        elif len(word) > 2 and word not in _STOP:
            words.add(word[:_STEM])
    return words


def _squashed(text: str) -> str:
    return "".join(_WORD.findall(text.casefold()))


def _names_site(part: str, site: frozenset[str], site_words: frozenset[str]) -> bool:
    """Whether a part of a title names the site: its name or host, or words of these alone ("U.S." and other parts
    of no content word included)."""
    return _squashed(part) in site or _words(part) <= site_words


def named_apart(first: frozenset[str], second: frozenset[str]) -> bool:
    """Whether two pages' headline words (`title_words`) name different stories: each says enough, and they
    share no word."""
    return len(first) >= MIN_WORDS and len(second) >= MIN_WORDS and first.isdisjoint(second)
