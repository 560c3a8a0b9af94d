"""Article -> Fingerprint: normalise, drop known chrome, shingle, MinHash, LSH bands, sentence anchors."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash

from ingest import text as textlib
from ingest.document import Article, Fingerprint, FingerprintParams, Unit

MIN_ANCHOR_WORDS = 6  # shorter sentences ("Read more.") are too common to identify a story
# A story's first sentences are anchors too, beside the bottom-k: an excerpt is a story's first part, and
# must find its original whichever of the two arrives first (the bottom-k of a long story may miss them).
OPENING_ANCHORS = 4


def _identity(value: int) -> int:
    # Shingles arrive already hashed to 32 bits; datasketch's default SHA-1 would hash them again.
    return value


def content_paragraphs(article: Article, chrome: Iterable[int] = ()) -> list[textlib.Paragraph]:
    """The paragraphs that carry the story: minus the known chrome of the page's host and the headline."""
    chrome = set(chrome)
    title = textlib.normalise(article.title or "").strip()
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
    article: Article, chrome: Iterable[int]
) -> tuple[list[str], list[int], list[tuple[int, bool]]]:
    """The story's words; the hashes of its sentences long enough to be anchors; and for each sentence
    (in order) how many words it has and whether it is prose."""
    words: list[str] = []
    sentence_hashes: dict[int, None] = {}  # in text order
    sentences: list[tuple[int, bool]] = []
    for paragraph in content_paragraphs(article, chrome):
        for sentence_words, prose in zip(paragraph.sentences, paragraph.prose, strict=True):
            if len(sentence_words) >= MIN_ANCHOR_WORDS:
                sentence_hashes[textlib.hash64(sentence_words)] = None
            words.extend(sentence_words)
            sentences.append((len(sentence_words), prose))
    return words, list(sentence_hashes), sentences


def unit_sentences(article: Article, chrome: Iterable[int] = ()) -> list[tuple[str, ...]]:
    """The tokens of each of the fingerprint's units, in the same order: to show a person which words they are."""
    return [sentence for paragraph in content_paragraphs(article, chrome) for sentence in paragraph.sentences]


def _units(shingles: list[int], sentences: list[tuple[int, bool]]) -> tuple[Unit, ...]:
    """Each sentence with the shingles that start in it: a shingle belongs to the sentence of its first word."""
    units = []
    start = 0
    for count, prose in sentences:
        units.append(Unit(count, frozenset(shingles[start : start + count]), prose))
        start += count
    return tuple(units)


@functools.cache
def _permutations(params: FingerprintParams) -> tuple[np.ndarray, np.ndarray]:
    # Drawing the permutations costs as much as hashing an article: draw them once per params.
    template = MinHash(num_perm=params.num_perm, seed=params.seed, scheme=params.scheme)
    a, b = template.permutations
    return a, b


def fingerprint(article: Article, params: FingerprintParams | None = None, chrome: Iterable[int] = ()) -> Fingerprint:
    params = params or FingerprintParams()
    if params.normalisation != textlib.NORMALISATION_VERSION:
        raise ValueError(
            f"params ask for normalisation v{params.normalisation}, this code does v{textlib.NORMALISATION_VERSION}"
        )
    chrome = frozenset(chrome)
    words, sentence_hashes, sentences = _words_and_sentences(article, chrome)
    sequence = textlib.shingle_sequence(words, params.shingle_size)
    shingles = set(sequence)
    minhash = MinHash(
        num_perm=params.num_perm,
        seed=params.seed,
        scheme=params.scheme,
        hashfunc=_identity,
        permutations=_permutations(params),
    )
    if shingles:
        minhash.update_batch(list(shingles))
    signature = minhash.hashvalues
    return Fingerprint(
        params=params,
        signature=tuple(int(v) for v in signature),
        shingles=frozenset(shingles),
        anchors=tuple(sorted({*sorted(sentence_hashes)[: params.anchors], *sentence_hashes[:OPENING_ANCHORS]})),
        sentences=frozenset(sentence_hashes),
        band_keys=band_keys(signature, params.bands) if shingles else (),
        chrome=chrome,
        units=_units(sequence, sentences),
    )
