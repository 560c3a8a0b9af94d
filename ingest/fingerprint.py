"""Article -> Fingerprint: normalise, drop known chrome, shingle, MinHash, LSH bands, sentence anchors."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from ingest import text as textlib
from ingest.document import Article, Fingerprint, FingerprintParams, Unit
from ingest.headlines import headline_keys

MIN_ANCHOR_WORDS = 6  # shorter sentences ("Read more.") are too common to identify a story
# A story's first sentences are anchors too, beside the bottom-k: an excerpt is a story's first part, and
# must find its original whichever of the two arrives first (the bottom-k of a long story may miss them).
OPENING_ANCHORS = 4


def content_paragraphs(article: Article, chrome: Iterable[int] = ()) -> list[textlib.Paragraph]:
    """The paragraphs that carry the story: minus the known chrome of the page's host and the headline."""
    chrome = set(chrome)
    title = textlib.headline(article.title)
    kept = []
    for paragraph in map(textlib.read_paragraph, article.paragraphs):
        if title and paragraph.normalised == title:
            continue  # headlines are rewritten by syndicators; the body is what identifies a story
        if paragraph.hash in chrome:
            continue
        kept.append(paragraph)
    return kept


def band_keys(signature: np.ndarray, bands: int) -> tuple[int, ...]:
    rows = len(signature) // bands
    return tuple(
        int.from_bytes(hashlib.blake2b(signature[i * rows : (i + 1) * rows].tobytes(), digest_size=8).digest(), "big")
        for i in range(bands)
    )


def _words_and_sentences(
    article: Article, chrome: Iterable[int], boilerplate: frozenset[int]
) -> tuple[list[str], list[int], list[tuple[int, bool, bool, bool, bool]]]:
    """The story's words; the hashes of its sentences long enough to be anchors; and for each sentence
    (in order) how many words it has, whether it is prose, whether it is network boilerplate, whether it is a
    notice (ingest.text.is_notice) and whether it speaks of the page (ingest.text.is_page_notice)."""
    words: list[str] = []
    sentence_hashes: dict[int, None] = {}  # in text order
    sentences: list[tuple[int, bool, bool, bool, bool]] = []
    # The lead extraction put back is read as a headline is: copies keep or drop a standfirst at will.
    lead = textlib.read_paragraph(article.lead).hash if article.lead else None
    for paragraph in content_paragraphs(article, chrome):
        for sentence_words, prose, template in zip(
            paragraph.sentences, paragraph.prose, paragraph.templates, strict=True
        ):
            if len(sentence_words) >= MIN_ANCHOR_WORDS:
                sentence_hashes[textlib.hash64(sentence_words)] = None
            words.extend(sentence_words)
            sentences.append(
                (
                    len(sentence_words),
                    prose and paragraph.hash != lead,
                    template in boilerplate,
                    textlib.is_notice(sentence_words),
                    textlib.is_page_notice(sentence_words),
                )
            )
    return words, list(sentence_hashes), sentences


def text_shingles(article: Article, params: FingerprintParams | None = None) -> frozenset[int]:
    """The shingles starting in the prose sentences of the article's whole text, its host's chrome included: what
    ingest.boilerplate.related compares to tell whether two documents tell one story. It never changes, whatever is
    learnt of chrome. Prose only: a page's menus, tables and teasers say nothing of its story, and would make an
    excerpt on a busy page look like another story than the one it is cut from."""
    params = params or FingerprintParams()
    words: list[str] = []
    prose: list[bool] = []  # for each word: whether its sentence is prose
    for paragraph in content_paragraphs(article):
        for sentence, is_prose in zip(paragraph.sentences, paragraph.prose, strict=True):
            words.extend(sentence)
            prose.extend([is_prose] * len(sentence))
    shingles = textlib.shingle_sequence(words, params.shingle_size)
    return frozenset(shingle for shingle, kept in zip(shingles, prose, strict=True) if kept)


def templates(paragraphs: Iterable[textlib.Paragraph]) -> frozenset[int]:
    """The template keys of a text's prose sentences (ingest.text.Paragraph.templates), chrome included: what the
    archive counts carriers of to learn network boilerplate."""
    return frozenset(key for paragraph in paragraphs for key in paragraph.templates if key)


def unit_sentences(article: Article, chrome: Iterable[int] = ()) -> list[tuple[str, ...]]:
    """The tokens of each of the fingerprint's units, in the same order: to show a person which words they are."""
    return [sentence for paragraph in content_paragraphs(article, chrome) for sentence in paragraph.sentences]


def _headlines(article: Article) -> tuple[int, ...]:
    keys = headline_keys([article.title], article.sitename, article.host)
    return tuple(sorted(textlib.hash64(key.split()) for key in keys))


def _units(shingles: list[int], sentences: list[tuple[int, bool, bool, bool, bool]]) -> tuple[Unit, ...]:
    """Each sentence with the shingles that start in it: a shingle belongs to the sentence of its first word."""
    units = []
    start = 0
    for count, prose, boilerplate, notice, page_notice in sentences:
        units.append(Unit(count, frozenset(shingles[start : start + count]), prose, boilerplate, notice, page_notice))
        start += count
    return tuple(units)


# datasketch's MinHash (2.0), computed here with numpy alone: importing datasketch imports its LSH classes and
# scipy, ~0.7 s of every copydesk process's start for two lines of arithmetic. The same draws from the same
# seeded generator and the same arithmetic, so the same signatures; tests/test_fingerprint_numpy.py checks them
# against datasketch itself for every scheme.
_MERSENNE_PRIME = (1 << 61) - 1  # the legacy scheme's modulus
_WIDTHS = {"affine32": 32, "affine64": 64}
_DTYPES: dict[str, Any] = {"legacy": np.uint64, "affine32": np.uint32, "affine64": np.uint64}
# MurmurHash3's finalizer (shift, multiplier, shift, multiplier, shift), mixed into hashes before the affine maps.
_FMIX = {32: (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16), 64: (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33)}


@functools.cache
def _permutations(params: FingerprintParams) -> tuple[np.ndarray, np.ndarray]:
    # Drawing the permutations costs as much as hashing an article: draw them once per params.
    generator = np.random.RandomState(params.seed)
    if params.scheme == "legacy":
        pairs = [
            (
                generator.randint(1, _MERSENNE_PRIME, dtype=np.uint64),
                generator.randint(0, _MERSENNE_PRIME, dtype=np.uint64),
            )
            for _ in range(params.num_perm)
        ]
        a, b = np.array(pairs, dtype=np.uint64).T
        return a, b
    width, dtype = _WIDTHS[params.scheme], _DTYPES[params.scheme]
    # An odd multiplier makes h -> a*h + b mod 2^width a bijection.
    a = generator.randint(0, 1 << (width - 1), params.num_perm, dtype=dtype) * dtype(2) + dtype(1)
    b = generator.randint(0, 1 << width, params.num_perm, dtype=dtype)
    return a, b


def _signature(shingles: Iterable[int], params: FingerprintParams) -> np.ndarray:
    """What `datasketch.MinHash(num_perm, seed, scheme, hashfunc=identity).update_batch(shingles)` holds."""
    a, b = _permutations(params)
    dtype = _DTYPES[params.scheme]
    values = list(shingles)
    if params.scheme == "legacy":
        empty = np.full(params.num_perm, (1 << 32) - 1, dtype=np.uint64)
        if not values:
            return empty
        hashed = np.array(values, dtype=np.uint64, ndmin=2).T
        permuted = ((hashed * a + b) % np.uint64(_MERSENNE_PRIME)) & np.uint64((1 << 32) - 1)
        return np.minimum(empty, permuted.min(axis=0))
    width = _WIDTHS[params.scheme]
    empty = np.full(params.num_perm, (1 << width) - 1, dtype=dtype)
    if not values:
        return empty
    hashed = np.array(values, dtype=dtype).reshape(-1, 1)
    s1, m1, s2, m2, s3 = (dtype(value) for value in _FMIX[width])
    hashed = hashed ^ (hashed >> s1)
    hashed = hashed * m1
    hashed = hashed ^ (hashed >> s2)
    hashed = hashed * m2
    hashed = hashed ^ (hashed >> s3)
    return np.minimum(empty, (hashed * a + b).min(axis=0))


def fingerprint(
    article: Article,
    params: FingerprintParams | None = None,
    chrome: Iterable[int] = (),
    boilerplate: Iterable[int] = (),
) -> Fingerprint:
    """`chrome`: paragraph hashes of its host's chrome, left out; `boilerplate`: template keys of network
    boilerplate, whose sentences stay in (their words are the page's) but are marked (Unit.boilerplate)."""
    params = params or FingerprintParams()
    if params.normalisation != textlib.NORMALISATION_VERSION:
        raise ValueError(
            f"params ask for normalisation v{params.normalisation}, this code does v{textlib.NORMALISATION_VERSION}"
        )
    chrome = frozenset(chrome)
    boilerplate = frozenset(boilerplate)
    words, sentence_hashes, sentences = _words_and_sentences(article, chrome, boilerplate)
    sequence = textlib.shingle_sequence(words, params.shingle_size)
    shingles = set(sequence)
    signature = _signature(shingles, params)
    return Fingerprint(
        params=params,
        signature=tuple(signature.tolist()),  # Python ints, as int(v) for each gave, ~7x faster
        shingles=frozenset(shingles),
        anchors=tuple(sorted({*sorted(sentence_hashes)[: params.anchors], *sentence_hashes[:OPENING_ANCHORS]})),
        sentences=frozenset(sentence_hashes),
        band_keys=band_keys(signature, params.bands) if shingles else (),
        chrome=chrome,
        boilerplate=boilerplate,
        units=_units(sequence, sentences),
        headlines=_headlines(article),
    )
