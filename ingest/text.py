"""Text normalisation, tokens, sentences and stable hashes.

Changing anything here changes every fingerprint: bump NORMALISATION_VERSION
(and FingerprintParams.normalisation) so old and new signatures are never compared.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.canonical import is_attribution

NORMALISATION_VERSION = 1

# Syndicators swap curly and straight quotes, dashes and spaces freely.
_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u00a0": " ",
        "\u200b": "",
        "\u00ad": "",
    }
)
# str.translate looks every character up in the table: a regex finds the few to fold 5x faster.
_TO_FOLD = re.compile("[" + "".join(map(chr, _FOLD)) + "]")
# Scripts written without spaces between words: every character is a token.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+(?:'[^\W_{_CJK}]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"')\]]*\s+|(?<=[。！？])")


def normalise(text: str) -> str:
    return _folded(text).casefold()


def _folded(text: str) -> str:
    """normalise() but for the letters' case, which says what is a name."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = _TO_FOLD.sub(lambda found: _FOLD[ord(found.group())], text)
    return text


def tokens(text: str) -> list[str]:
    """Words of already normalised text; punctuation and spacing do not count."""
    return _TOKEN.findall(text)


def sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph) if s.strip()]


def hash64(words: Sequence[str]) -> int:
    """A stable 64-bit hash of a token sequence (Python's hash() differs per process)."""
    return int.from_bytes(hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest(), "big")


def shingle_sequence(words: list[str], size: int) -> list[int]:
    """32-bit hashes of every run of `size` words (the whole text if it is shorter), in text order, one a
    word: the runs that would start past the end repeat the last, so a sentence's words own its shingles."""
    if len(words) < size:
        return [zlib.crc32(" ".join(words).encode())] * len(words)
    # Runs zipped from shifted copies of the list (the shorter ones end it) rather than sliced one by one:
    # the same strings, 28% faster; each word encoded once, not once a run it is in: the same bytes, 15% faster.
    encoded = [word.encode() for word in words]
    join, crc32 = b" ".join, zlib.crc32
    hashes = [crc32(join(run)) for run in zip(*(encoded[i:] for i in range(size)), strict=False)]
    return hashes + hashes[-1:] * (size - 1)


def headline(title: str | None) -> str:
    """A page's title as `Paragraph.normalised` reads a line: a paragraph equal to it repeats the headline, which
    syndicators rewrite at will and which neither fingerprints nor the host-chrome rule read as the page's text."""
    return normalise(title or "").strip()


def paragraph_hash(paragraph: str) -> int:
    """Identity of a paragraph for boilerplate learning: same words, same hash."""
    return read_paragraph(paragraph).hash


@dataclass(frozen=True)
class Paragraph:
    """A paragraph as fingerprinting reads it."""

    normalised: str  # normalise()d, stripped
    sentences: tuple[tuple[str, ...], ...]  # the tokens of each sentence
    hash: int  # paragraph_hash(): of all its tokens, which are its sentences' tokens end to end
    prose: tuple[bool, ...]  # for each sentence: running text, not a heading, teaser, link or credit line
    templates: tuple[int, ...] = ()  # for each sentence: its template key (_templates), 0 for none

    @property
    def prose_words(self) -> int:
        return sum(len(words) for words, prose in zip(self.sentences, self.prose, strict=True) if prose)


# A sentence of running text has this many words at least ("Read more." is a link, not prose).
MIN_PROSE_WORDS = 6
# Running text ends its paragraph as a sentence does; headings, teasers and link lines do not.
_ENDS = tuple(".!?:;\"')…。！？")


# A teaser: text cut off with an ellipsis, at most a "read more" link after it (newsletters, related stories).
_ELLIPSIS = ("…", "...")
_LINK_WORDS = 12


def _cut_off(normalised: str) -> bool:
    end = max(normalised.rfind(mark) for mark in _ELLIPSIS)
    return end >= 0 and len(tokens(normalised[end:])) <= _LINK_WORDS


def _prose(normalised: str, words: tuple[tuple[str, ...], ...]) -> tuple[bool, ...]:
    if is_attribution(normalised) or _cut_off(normalised):
        return (False,) * len(words)
    # Table cells come out of extraction as "| cell |": the cell's own text says whether it is prose.
    ends = normalised.rstrip(" |").endswith(_ENDS)
    last = len(words) - 1
    # A sentence followed by another in its paragraph ended as one; the last one must end so too. Half of it numbers:
    # a dateline or a time stamp ("Nov 18, 2019 @17:19 PM · Updated:"), a score or a table's row, not running text.
    return tuple(
        len(sentence) >= MIN_PROSE_WORDS and (i < last or ends) and 2 * sum(map(str.isdigit, sentence)) < len(sentence)
        for i, sentence in enumerate(words)
    )


@functools.lru_cache(maxsize=4096)
def read_paragraph(paragraph: str) -> Paragraph:
    """Normalised, split and hashed once: a document's paragraphs are hashed to learn its host's chrome,
    then fingerprinted, often again when the chrome changes. Cached: the same few thousand recur."""
    folded = _folded(paragraph).strip()
    normalised = folded.casefold()
    words = tuple(tuple(tokens(sentence)) for sentence in sentences(normalised))
    hashed = hash64([word for sentence in words for word in sentence])
    prose = _prose(normalised, words)
    return Paragraph(normalised, words, hashed, prose, _templates(folded, words, prose))


# Words with which a page speaks of itself rather than of the story: its cookie banner, a newsletter's sign-up or
# footer, an affiliate disclosure, a syndicator's notice, a donation appeal. English only.
_PAGE_WORDS = frozenset(
    """website websites site newsletter newsletters subscribe subscribed subscribers subscription unsubscribe inbox
    email copyright reproduced reproduction republish republished permission reader readers donate donation donations
    advertise advertising advertisement sponsored publisher affiliate cookie cookies privacy disclaimer""".split()  # noqa: SIM905
)
# ... and with which it speaks to its reader. Notices do, but so do quoted speech ("we will", the minister said) and
# stories told in the first or second person (a blog post, a how-to, an advertisement).
_READER_WORDS = frozenset("you your you're yours we our we're ours".split())  # noqa: SIM905


def is_notice(words: tuple[str, ...]) -> bool:
    """Whether a sentence (its tokens) speaks to the reader or of the page, as a notice or an appeal does."""
    return not (_PAGE_WORDS.isdisjoint(words) and _READER_WORDS.isdisjoint(words))


def is_page_notice(words: tuple[str, ...]) -> bool:
    """Whether a sentence (its tokens) speaks of the page or the site itself, as a cookie banner does."""
    return not _PAGE_WORDS.isdisjoint(words)


# A word that starts with a capital (A-Z) or a digit: a name, a date, a number.
_NAME = re.compile(r"\b[A-Z0-9][^\W_]*(?:'[^\W_]+)*")


def _templates(folded: str, words: tuple[tuple[str, ...], ...], prose: tuple[bool, ...]) -> tuple[int, ...]:
    """Each prose sentence's template key: the hash of its words without names and numbers (words that start with a
    capital A-Z or a digit), 0 when fewer than MIN_PROSE_WORDS words are left or the sentence is not prose. A
    network's notices name the site they stand on or the source they credit ("Copyright X; reproduced here for
    non-commercial purposes."): without the names, the notice is one sentence wherever it stands
    (ingest.boilerplate.network). The case is read from the text before casefold()."""
    if not any(prose):
        return (0,) * len(words)
    cased = sentences(folded)
    if len(cased) != len(words):  # casefold() moved where a sentence ends: keep all their words
        return tuple(hash64(s) if p and len(s) >= MIN_PROSE_WORDS else 0 for s, p in zip(words, prose, strict=True))
    keys = []
    for sentence, is_prose in zip(cased, prose, strict=True):
        kept = tokens(_NAME.sub(" ", sentence).casefold()) if is_prose else []
        keys.append(hash64(kept) if len(kept) >= MIN_PROSE_WORDS else 0)
    return tuple(keys)
