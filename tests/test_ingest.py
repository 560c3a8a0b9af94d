"""ingest/ alone: pure functions on the seed pages, no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.canonical import Candidate, elect
from ingest.document import Article, FingerprintParams
from ingest.extract import ExtractionError, decode_html, extract
from ingest.fingerprint import fingerprint
from ingest.similarity import compare, is_copy
from tests.conftest import SEEDS

CHROME = ["Disclaimer: The contents of this article", "Leave a Reply", "Region:", "Theme:"]


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    return {path.name: extract(path.read_bytes()) for path in sorted(SEEDS.glob("*.html"))}


def test_extract_keeps_article_and_metadata(seeds: dict[str, Article]) -> None:
    original = seeds["southfront-original.html"]
    assert "approaching its final phase" in original.text
    assert original.title and "Mosul" in original.title
    assert original.host == "southfront.org"
    assert original.published == datetime(2017, 5, 8, 17, 40, 12, tzinfo=UTC)
    assert original.published_source == "meta"
    for chrome in CHROME:
        assert chrome not in original.text


def test_extract_drops_comment_form(seeds: dict[str, Article]) -> None:
    assert "Leave a Reply" not in seeds["blog-repost.html"].text
    assert "Leave a Reply" not in seeds["blog-original-003.html"].text


@pytest.mark.parametrize("html", [b"", b"   ", "<html><body></body></html>", b"\x00\x01\x02"])
def test_extract_rejects_pages_without_article(html: bytes | str) -> None:
    with pytest.raises(ExtractionError):
        extract(html)


def test_decode_trusts_a_charset_only_when_the_bytes_agree() -> None:
    text = "café “quoted”"
    assert decode_html(text.encode("windows-1252"), "utf-8") == text  # wrong header: falls back
    assert decode_html(b'<meta charset="windows-1252">' + "é".encode("cp1252")).endswith("é")
    assert decode_html("é".encode()) == "é"


def test_fingerprint_ignores_quotes_case_and_headline(seeds: dict[str, Article]) -> None:
    article = seeds["southfront-original.html"]
    edited = Article(text=article.text.replace("“", '"').replace("”", '"').upper(), title="A rewritten headline")
    a, b = fingerprint(article), fingerprint(edited)
    assert compare(a, b).jaccard > 0.95
    assert a.params == FingerprintParams() and len(a.signature) == a.params.num_perm
    assert len(a.band_keys) == a.params.bands and 0 < len(a.anchors) <= a.params.anchors


def test_fingerprints_with_other_params_are_never_compared(seeds: dict[str, Article]) -> None:
    article = seeds["southfront-original.html"]
    with pytest.raises(ValueError, match="different parameters"):
        compare(fingerprint(article), fingerprint(article, FingerprintParams(num_perm=64, bands=16)))


def test_copies_match_and_different_stories_do_not(seeds: dict[str, Article]) -> None:
    fps = {name: fingerprint(article) for name, article in seeds.items()}
    assert is_copy(compare(fps["southfront-original.html"], fps["blog-repost.html"]))
    assert is_copy(compare(fps["southfront-original.html"], fps["globalresearch-repost.html"]))
    assert not is_copy(compare(fps["southfront-original.html"], fps["blog-original-003.html"]))
    assert not is_copy(compare(fps["southfront-original.html"], fps["globalresearch-other.html"]))


def test_excerpt_is_contained(seeds: dict[str, Article]) -> None:
    article = seeds["southfront-original.html"]
    excerpt = Article(text="\n".join(article.paragraphs[:3]) + "\nRead more at South Front")
    sim = compare(fingerprint(article), fingerprint(excerpt))
    assert sim.jaccard < 0.5 < sim.containment
    assert is_copy(sim)


def _candidate(id: int, host: str, day: int | None, text: str = "", canonical: str | None = None) -> Candidate:
    published = datetime(2020, 1, day, tzinfo=UTC) if day else None
    return Candidate(
        id=id,
        url=f"https://{host}/story",
        host=host,
        sitename=None,
        canonical_url=canonical,
        published=published,
        published_source="meta" if day else None,
        text=text,
        arrival=id,
    )


def test_canonical_prefers_attribution_over_dates() -> None:
    members = [
        _candidate(1, "copy.example", 1, "Story.\nThe original source of this article is Origin News"),
        _candidate(2, "originnews.org", 3),
        _candidate(3, "other.example", 2, "Story.\nOriginally published at https://originnews.org/story"),
    ]
    assert elect(members).winner == 2


def test_canonical_follows_rel_canonical_then_earliest_date() -> None:
    members = [
        _candidate(1, "a.example", 5),
        _candidate(2, "b.example", 9, canonical="https://c.example/story"),
        _candidate(3, "c.example", 7),
    ]
    assert elect(members).winner == 3
    assert elect([_candidate(1, "a.example", 5), _candidate(2, "b.example", 2)]).winner == 2
    assert elect([_candidate(1, "a.example", None), _candidate(2, "b.example", None)]).winner == 1


def test_long_passage_among_other_text_is_a_copy_but_two_quoted_paragraphs_are_not(
    seeds: dict[str, Article],
) -> None:
    story = seeds["southfront-original.html"]
    other = seeds["blog-original-003.html"]
    # An excerpt page that also carries teasers of other stories (here: a whole other post).
    excerpt_page = Article(text="\n".join(story.paragraphs[:5] + other.paragraphs))
    sim = compare(fingerprint(story), fingerprint(excerpt_page))
    assert sim.containment < 0.8 and is_copy(sim)
    # A different article that quotes two short paragraphs of the story.
    follow_up = Article(text="\n".join(other.paragraphs + story.paragraphs[1:3]))
    assert not is_copy(compare(fingerprint(story), fingerprint(follow_up)))
