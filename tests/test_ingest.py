"""ingest/ alone: pure functions on the seed pages, no server."""

from __future__ import annotations

import dataclasses
import gzip
import json
import unicodedata
from collections.abc import Hashable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from datasketch import MinHash
from hypothesis import example, given
from hypothesis import strategies as st
from lxml.html import HtmlElement, tostring

from ingest import boilerplate, canonical, fast_trafilatura
from ingest import extract as extract_module
from ingest.canonical import Candidate, attribution_lines, elect, names_url
from ingest.document import Article, FingerprintParams
from ingest.extract import ExtractionError, _drop_discarded, declared_date, decode_html, extract, parse
from ingest.fingerprint import fingerprint, unit_sentences
from ingest.grouping import group
from ingest.relation import CONTAINED, CONTAINS, DUPLICATE, declared, explain, linked, relate, unrelated
from ingest.text import _FOLD, hash64, normalise, paragraph_hash, read_paragraph, tokens
from tests.conftest import CORPUS, SEEDS
from tests.devsubset import hard_slice

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


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (b"", "empty_page"),
        (b"\x00 \x01\n\x1f", "empty_page"),
        ("\u00a0\u3000 \u2003", "empty_page"),
        (' \x00{"a": [1, "é"]}\n', "not_html"),
        ("\u00a0{}", "no_article"),  # JSON allows no such space before it: HTML text, too short
    ],
)
def test_empty_pages_and_json_bodies_are_told_apart(html: bytes | str, reason: str) -> None:
    with pytest.raises(ExtractionError) as raised:
        extract(html)
    assert raised.value.reason == reason


def test_the_first_declared_canonical_and_og_url_are_taken() -> None:
    head = (
        '<link rel="alternate" href="/amp"><link rel="Canonical"><link rel="CANONICAL" href="/story">'
        '<link rel="canonical" href="/other"><meta property="og:url"><meta property="og:url" content="/og">'
    )
    tree = parse(f"<html><head>{head}</head><body><p>x</p></body></html>")
    assert extract_module._link(tree, "https://news.example/a/b") == (
        "https://news.example/story",
        "https://news.example/og",
    )


@pytest.mark.parametrize(
    ("metas", "expected"),
    [
        ('<meta property="article:published_time" content="2020-05-06T07:08:09Z">', "2020-05-06T07:08:09+00:00"),
        ('<meta name="date" content="2020-05-06"><meta name="pubdate" content="never">', "2020-05-06T00:00:00+00:00"),
        ('<meta name="pubdate" content="never">', "2019-01-02T00:00:00+00:00"),  # then JSON-LD's
        ("", "2019-01-02T00:00:00+00:00"),
    ],
)
def test_the_declared_date_is_the_first_that_reads_as_one(metas: str, expected: str) -> None:
    ld = [{"@type": "WebPage"}, {"@graph": [{"datePublished": "someday"}, {"datePublished": "2019-01-02"}]}]
    scripts = "".join(f'<script type="application/ld+json">{body}</script>' for body in ("{broken", json.dumps(ld)))
    published = declared_date(parse(f"<html><head>{metas}{scripts}</head><body><p>x</p></body></html>"))
    assert published is not None and published.isoformat() == expected


def test_decode_trusts_a_charset_only_when_the_bytes_agree() -> None:
    text = "café “quoted”"
    assert decode_html(text.encode("windows-1252"), "utf-8") == text  # wrong header: falls back
    assert decode_html(b'<meta charset="windows-1252">' + "é".encode("cp1252")).endswith("é")
    assert decode_html("é".encode()) == "é"


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        ("<p>café “quoted” \x07bell</p>".encode(), None),  # read as UTF-8 as it stands: parsed without re-encoding
        ("<p>café “quoted”</p>".encode(), "UTF8"),  # the same, declared by another name
        (b"\xef\xbb\xbf<p>caf\xc3\xa9</p>", None),  # a BOM
        ("<p>café</p>".encode("cp1252"), None),  # not UTF-8
        ("<p>café</p>".encode() + b"\xff", "utf-8"),  # mostly UTF-8: read with a replacement character
    ],
)
def test_bytes_parse_as_their_decoded_text(body: bytes, declared: str | None) -> None:
    text = decode_html(body, declared)
    assert tostring(parse(body, declared), encoding="unicode") == tostring(parse(text), encoding="unicode")


def test_fingerprint_ignores_quotes_case_and_headline(seeds: dict[str, Article]) -> None:
    article = seeds["southfront-original.html"]
    edited = Article(text=article.text.replace("“", '"').replace("”", '"').upper(), title="A rewritten headline")
    a, b = fingerprint(article), fingerprint(edited)
    assert relate(a, b).jaccard > 0.95
    assert a.params == FingerprintParams() and len(a.signature) == a.params.num_perm
    assert len(a.band_keys) == a.params.bands and 0 < len(a.anchors) <= a.params.anchors


@given(st.text(alphabet=st.sampled_from([*map(chr, _FOLD), "a", "B", " ", "é", "ﬁ", "Ａ", "\u0301", "."])) | st.text())
def test_normalise_folds_as_the_version_1_table(text: str) -> None:
    """normalise's quick path must give what NORMALISATION_VERSION 1 defines: NFKC, the fold table, casefold."""
    assert normalise(text) == unicodedata.normalize("NFKC", text).translate(_FOLD).casefold()


@given(st.text(alphabet=st.sampled_from([*"ab é'’\".!?。！？)]-漢あ", "\n", "\t", "\u00a0", "\u200b"])) | st.text())
@example("Il a dit « non. » Puis : 'fin.' Ok。次の文！終わり")
def test_a_paragraphs_hash_is_of_its_words_whatever_its_sentences(paragraph: str) -> None:
    """read_paragraph hashes its sentences' tokens end to end; a paragraph's hash must stay that of the
    normalised paragraph's tokens, as stored host chrome was hashed."""
    assert paragraph_hash(paragraph) == hash64(tokens(normalise(paragraph)))


def test_fingerprints_with_other_params_are_never_compared(seeds: dict[str, Article]) -> None:
    article = seeds["southfront-original.html"]
    with pytest.raises(ValueError, match="different parameters"):
        relate(fingerprint(article), fingerprint(article, FingerprintParams(num_perm=64, bands=16)))


def test_copies_match_and_different_stories_do_not(seeds: dict[str, Article]) -> None:
    fps = {name: fingerprint(article) for name, article in seeds.items()}
    assert relate(fps["southfront-original.html"], fps["blog-repost.html"]).kind == DUPLICATE
    # Before the host's disclaimer is known, the original is inside the wrapped copy, which starts with it.
    assert relate(fps["southfront-original.html"], fps["globalresearch-repost.html"]).kind is not None
    assert relate(fps["southfront-original.html"], fps["blog-original-003.html"]).kind is None
    assert relate(fps["southfront-original.html"], fps["globalresearch-other.html"]).kind is None
    # The brief and the wrapped copy share ~300 words of disclaimer: each starts with its own story.
    assert relate(fps["globalresearch-repost.html"], fps["globalresearch-other.html"]).kind is None


def test_excerpt_is_contained(seeds: dict[str, Article]) -> None:
    article = seeds["southfront-original.html"]
    excerpt = Article(text="\n".join(article.paragraphs[:3]) + "\nRead more at South Front")
    relation = relate(fingerprint(article), fingerprint(excerpt))
    assert relation.jaccard < 0.5 < relation.containment
    assert relation.kind == CONTAINS


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
        attributions=tuple(attribution_lines(text)),
        arrival=id,
    )


def test_a_sites_mirror_of_its_own_page_is_not_elected_over_it() -> None:
    # The same story under a second address of its site (AMP, a section path), same date, each its own
    # rel=canonical: the plain address is the original, whichever came first.
    plain, amp, section = (
        dataclasses.replace(_candidate(i, "news.example", 3), url=url)
        for i, url in enumerate(
            [
                "https://news.example/2020/story",
                "https://news.example/2020/story/amp/",
                "https://news.example/top-stories/2020/story",
            ],
            start=1,
        )
    )
    for order in ([plain, amp, section], [section, amp, plain]):
        arrived = [dataclasses.replace(m, arrival=i) for i, m in enumerate(order)]
        election = elect(arrived)
        assert election.winner == plain.id and "shortest address among equals" in election.reason


def test_a_page_without_an_address_is_not_the_shortest_one() -> None:
    """A page pushed as a file or as text has no address: among equals, one with an address is the canonical."""
    fetched = Candidate(1, "http://127.0.0.54:8004/standings.html", "127.0.0.54", None, None, None, None, (), 1)
    pushed = Candidate(2, None, None, None, None, None, None, (), 0)
    election = elect([pushed, fetched])
    assert election.winner == fetched.id and election.reason == "ahead of #2: shortest address among equals"


def test_a_print_or_amp_version_naming_itself_credits_no_other_member() -> None:
    # A site's print or AMP version adds a query to the page's address, and each version's rel=canonical names
    # itself. Without the query the addresses are one: that must not read as one version crediting the other.
    plain = dataclasses.replace(_candidate(1, "news.example", 3), url="https://news.example/2020/story/")
    for variant in ("https://news.example/2020/story/?amp=1", "https://news.example/2020/story?view=print"):
        mirror = dataclasses.replace(plain, id=2, url=variant)
        for order in ([plain, mirror], [mirror, plain]):
            members = [dataclasses.replace(m, arrival=i, canonical_url=m.url) for i, m in enumerate(order)]
            election = elect(members)
            assert election.winner == plain.id and "rel=canonical" not in election.reason
    # A print version naming the plain page credits it, whatever came first.
    printed = dataclasses.replace(plain, id=2, url="https://news.example/2020/story?print=1", canonical_url=plain.url)
    assert elect([printed, dataclasses.replace(plain, arrival=3)]).reason.startswith("rel=canonical of #2")
    # Articles that a parameter tells apart are different pages: naming one does not name the other.
    one, two = (
        dataclasses.replace(_candidate(i, "site.example", 3), url=f"http://site.example/view.html?idx={i}&page=1")
        for i in (1, 2)
    )
    copy = dataclasses.replace(
        _candidate(3, "copy.example", 2), canonical_url="http://site.example/view.html?page=1&idx=2"
    )
    assert elect([one, two, copy]).winner == elect([two, one, copy]).winner == two.id
    assert names_url("https://site.example/a?utm_source=rss", "https://www.site.example/a/", "https://copy.example/a")


def test_canonical_prefers_attribution_over_dates() -> None:
    members = [
        _candidate(1, "copy.example", 1, "Story.\nThe original source of this article is Origin News"),
        _candidate(2, "originnews.org", 3),
        _candidate(3, "other.example", 2, "Story.\nOriginally published at https://originnews.org/story"),
    ]
    election = elect(members)
    assert election.winner == 2
    # Why, down to what set it before the next member: #1 is older, but credits another.
    assert election.reason == (
        "credited by #1, credited by #3; published 2020-01-03 (meta); ahead of #1, which names #2 as its source"
    )


def test_a_sourcing_sentence_every_copy_carries_credits_nobody() -> None:
    # The story itself says where a quote came from, and one copy happens to be on that site: the sentence is
    # in every copy, the copy on that site too, so it is the story's, not a credit to that site.
    sentence = "Richardson, via USA Today, said that Rudolph {} a fight."
    original = _candidate(1, "cbssports.com", 3, "Story.\n" + sentence.format("can't antagonize"))
    edited = _candidate(2, "thesun.co.uk", 5, "Story.\n" + sentence.format("cannot start"))
    undated = _candidate(3, "usatoday.com", None, "Story.\n" + sentence.format("can’t antagonize"))
    election = elect([undated, edited, original])
    assert election.winner == original.id and "credited" not in election.reason
    # A copy's own credit line to that site still counts.
    credited = _candidate(4, "other.example", 4, "Story.\nThis article originally appeared on USA Today.")
    assert elect([undated, credited]).winner == undated.id


def test_a_credit_means_upstream_not_original() -> None:
    # b is a copy of the copy c and names it in rel=canonical; a is the original, older than both.
    original, intermediate = _candidate(1, "a.example", 5), _candidate(3, "c.example", None)
    copy_of_copy = _candidate(2, "b.example", 9, canonical="https://c.example/story")
    assert elect([original, copy_of_copy, intermediate]).winner == 1
    # Without the original, the credited intermediate is the best the cluster has.
    assert elect([copy_of_copy, intermediate]).winner == 3
    # When no page declares a date, the credit decides.
    assert elect([_candidate(1, "a.example", None), copy_of_copy, intermediate]).winner == 3


def test_a_member_without_rel_canonical_credits_nobody() -> None:
    """A member whose URL cannot be read (url_key None) is not what every member without rel=canonical names."""
    unreadable = Candidate(**{**_candidate(1, "a.example", 5).__dict__, "url": "http://[bad/"})
    election = elect([unreadable, _candidate(2, "b.example", 1)])
    assert election.winner == 2  # the older: b did not credit a, whatever a's URL
    assert "rel=canonical" not in election.reason


# Names and lines from a small alphabet, so that names overlap, share prefixes and are shared by members.
_NAME = st.sampled_from(["the ab.be", "the ab", "tttt.ee", "tt t", "a.be", "    "]) | st.text("abt e.-", max_size=9)


@given(
    members=st.lists(st.tuples(_NAME, st.none() | _NAME), min_size=1, max_size=40),
    lines=st.lists(
        st.lists(st.tuples(st.text(alphabet="abt e.-:/", max_size=6), st.integers(0, 39), st.integers(0, 3))),
        max_size=6,
    ),
)
@example(members=[("    ", None)], lines=[[("", 0, 0)]])  # names that are only spaces: none squashed
def test_a_line_names_exactly_the_members_whose_names_it_holds(
    members: list[tuple[str, str | None]], lines: list[list[tuple[str, int, int]]]
) -> None:
    """The automaton that reads each line once names the same members as searching the line for each name."""
    cluster = [
        replace(_candidate(number, host, None), sitename=sitename) for number, (host, sitename) in enumerate(members)
    ]

    def quoted(pick: int, form: int) -> str:  # one of a member's names, as a line may give it
        host, sitename = members[pick % len(members)]
        return [host, host.split(".")[0], sitename or "", (sitename or "").replace(" ", "")][form]

    names = canonical._Names(cluster)
    for parts in lines:
        line = canonical._Line.of("via " + "".join(filler + quoted(pick, form) for filler, pick, form in parts))
        searched = {
            member.id
            for member in cluster
            if any(
                name in line.lowered or (squashed and squashed in line.squashed)
                for name in canonical._names(member)
                for squashed in [name.replace(" ", "")]
            )
        }
        assert set(names.credited(line)) == searched


def test_canonical_falls_back_to_earliest_date_then_arrival() -> None:
    older = elect([_candidate(1, "a.example", 5), _candidate(2, "b.example", 2)])
    assert older.winner == 2 and older.reason.endswith("; ahead of #1, published later"), older.reason
    tie = elect([_candidate(1, "a.example", None), _candidate(2, "b.example", None)])
    assert tie.winner == 1 and "arrived first" in tie.reason


def test_an_excerpt_among_teasers_is_a_copy_but_quoted_paragraphs_are_not(seeds: dict[str, Article]) -> None:
    story = seeds["southfront-original.html"]
    other = seeds["blog-original-003.html"]
    # An excerpt page that also carries teasers of other stories: headlines, not prose.
    teasers = [f"Iraqi forces advance on front number {i} in the old city of Mosul" for i in range(12)]
    excerpt_page = Article(text="\n".join(story.paragraphs[:3] + teasers))
    relation = relate(fingerprint(story), fingerprint(excerpt_page))
    assert relation.containment < 0.8 and relation.kind == CONTAINS
    # A different article that quotes two paragraphs of the story, or all of a short one, after its own.
    follow_up = Article(text="\n".join(other.paragraphs + story.paragraphs[1:3]))
    assert relate(fingerprint(story), fingerprint(follow_up)).kind is None
    # All of a short story after the follow-up's own prose: inside it, but opening with prose of its own,
    # which only dates can tell from a copy that dropped the original's first paragraphs.
    short = Article(text="\n".join(story.paragraphs[1:3]))
    quoted = relate(fingerprint(short), fingerprint(follow_up))
    assert quoted.kind == CONTAINED and quoted.opening() == 2
    day = {name: datetime(2020, 1, d, tzinfo=UTC) for name, d in (("short", 1), ("follow-up", 3))}
    apart = group(["short", "follow-up"], [], [("short", "follow-up", quoted.score, 2)], {n: n for n in day}, day)
    assert sorted(map(sorted, apart)) == [["follow-up"], ["short"]]
    # The same texts, the longer one older: a copy that dropped its source's opening joins it.
    day = {"short": day["follow-up"], "follow-up": day["short"]}
    together = group(["short", "follow-up"], [], [("short", "follow-up", quoted.score, 2)], {n: n for n in day}, day)
    assert sorted(map(sorted, together)) == [["follow-up", "short"]]
    # Either date unknown: the same story (a source whose copy dropped its opening, or a copy with a longer
    # introduction); only a text known to be later, or going on with much prose of its own (3), quotes it.
    for undated in ("short", "follow-up"):
        day = {"short": datetime(2020, 1, 1, tzinfo=UTC), "follow-up": datetime(2020, 1, 3, tzinfo=UTC)}
        del day[undated]
        joined = group(
            ["short", "follow-up"], [], [("short", "follow-up", quoted.score, 2)], {"short": "a", "follow-up": "b"}, day
        )
        assert sorted(map(sorted, joined)) == [["follow-up", "short"]]
        apart = group(
            ["short", "follow-up"], [], [("short", "follow-up", quoted.score, 3)], {"short": "a", "follow-up": "b"}, day
        )
        assert sorted(map(sorted, apart)) == [["follow-up"], ["short"]]


def test_later_texts_opening_with_all_of_a_short_original_join_it_and_a_headed_quote_does_not(
    seeds: dict[str, Article],
) -> None:
    story = seeds["southfront-original.html"]
    other = seeds["blog-original-003.html"]
    original = Article(text="\n".join(story.paragraphs[:2]))
    # Two later copies that open with all of it and go on with text of their own site (an author box, a
    # notice): each holds the original, and the original can join only one of them as its inner text.
    author_box = Article(text="\n".join([*story.paragraphs[:2], *other.paragraphs[:1]]))
    notice = Article(text="\n".join([*story.paragraphs[:2], *other.paragraphs[-1:]]))
    # A later story whose headings and "As reported:" line come before the quote, its own prose after it.
    headed = Article(
        text="\n".join(
            ["Festival opens", "The programme", "As SouthFront reported:", *story.paragraphs[:2], *other.paragraphs[1:]]
        )
    )
    names = {"original": original, "author box": author_box, "notice": notice, "headed": headed}
    day = {name: datetime(2020, 1, 1 + i, tzinfo=UTC) for i, name in enumerate(names)}
    contained = []
    for name in ("author box", "notice", "headed"):
        relation = relate(fingerprint(original), fingerprint(names[name]))
        assert relation.kind == CONTAINED
        contained.append(("original", name, relation.score, relation.opening()))
    assert [opening for *_, opening in contained] == [0, 0, 4]
    clusters = group(list(names), [], contained, {n: n for n in names}, day)
    assert sorted(map(sorted, clusters)) == [["author box", "notice", "original"], ["headed"]]


def test_a_credit_naming_the_author_opens_a_copy_not_a_story_of_its_own(seeds: dict[str, Article]) -> None:
    """Two sites copy a story under "Written by <author> for <site>." and their own notices; the story has a copy of
    its own too. A credit line is no lede: both copies are the story's, not a later story quoting it (grouping rule
    3), and the credit names the original's site to the canonical election. The same words inside a sentence are
    the story's own."""
    story = seeds["southfront-original.html"].paragraphs[:3]
    # More than a quarter of each copy: not the same story by text alone, the story inside them.
    notice = [
        "The views expressed here are the author's own and do not reflect the editorial position of this site.",
        "Images are used for illustrative purposes only and may not depict the people or places in the article.",
        "If you value independent reporting like this, please consider a small monthly donation to our newsroom.",
        "Corrections: if you believe this article contains a factual error, please write to our editors at once.",
    ]
    credited = ["Written by Ivan Petrov for SouthFront.", *story, *notice]
    texts = {
        "original": Article(text="\n".join(story)),
        "mirror": Article(text="\n".join(story)),
        "copy": Article(text="\n".join(credited)),
        "copy of copy": Article(text="\n".join(credited)),
    }
    assert read_paragraph(credited[0].casefold()).prose == (False,)
    assert attribution_lines(credited[0]) == [credited[0]]
    assert any(read_paragraph("The song, written by Mary Steenburgen for the film, became a hit across Europe.").prose)
    day = {name: datetime(2020, 1, 1 + i, tzinfo=UTC) for i, name in enumerate(texts)}
    duplicates, contained = [], []
    names = list(texts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            relation = relate(fingerprint(texts[a]), fingerprint(texts[b]))
            if relation.kind == DUPLICATE:
                duplicates.append((a, b))
            elif relation.kind == CONTAINED:
                contained.append((a, b, relation.score, relation.opening()))
            elif relation.kind == CONTAINS:
                contained.append((b, a, relation.score, relation.opening()))
    assert ("original", "copy", 0) in [(a, b, opening) for a, b, _, opening in contained]
    clusters = group(names, duplicates, contained, {n: n for n in names}, day)
    assert sorted(map(sorted, clusters)) == [sorted(names)]


def test_a_text_inside_two_joins_the_one_holding_all_of_it(seeds: dict[str, Article]) -> None:
    """An excerpt of a story is inside the story and inside an older report of the same event, which opens with the
    same three paragraphs (the agency's copy both used) and goes on with its own. The older report holds all but the
    excerpt's fourth paragraph: the excerpt belongs with the story holding all of it (grouping rule 2), not with the
    oldest text it is inside, as it would by age alone."""
    story_paragraphs = seeds["southfront-original.html"].paragraphs
    other = seeds["blog-original-003.html"]
    texts = {
        "report": Article(text="\n".join([*story_paragraphs[:3], *other.paragraphs[1:4]])),
        "story": Article(text="\n".join(story_paragraphs[:7])),
        "excerpt": Article(text="\n".join(story_paragraphs[:4])),
    }
    day = {name: datetime(2020, 1, 1 + i, tzinfo=UTC) for i, name in enumerate(texts)}
    assert relate(fingerprint(texts["report"]), fingerprint(texts["story"])).kind is None  # two stories
    contained, whole = [], set()
    for outer in ("story", "report"):
        relation = relate(fingerprint(texts["excerpt"]), fingerprint(texts[outer]))
        assert relation.kind == CONTAINED and relation.opening() == 0
        contained.append(("excerpt", outer, relation.score, relation.opening()))
        if relation.whole:
            whole.add(("excerpt", outer))
    assert whole == {("excerpt", "story")}
    clusters = group(list(texts), [], contained, {n: n for n in texts}, day, whole=whole)
    assert sorted(map(sorted, clusters)) == [["excerpt", "story"], ["report"]]
    by_age = group(list(texts), [], contained, {n: n for n in texts}, day)
    assert sorted(map(sorted, by_age)) == [["excerpt", "report"], ["story"]]


def test_a_brief_of_short_lines_is_found_inside_a_copy_under_a_longer_notice() -> None:
    # A results brief: short lines, next to no prose. Its copy adds a credit line and a syndicator's notice
    # longer than the brief. Read against the brief, the copy's lines that are the brief's count too.
    brief = [
        "GIRLS BASKETBALL",
        "Palm Bay d. Rockledge 70-44",
        "Rockledge 14 11 6 15 - 44",
        "Palm Bay 18 22 13 17 - 70",
        "Palm Bay (1-0): Tolivert 25 points. Davis 17 points. Burgher 10 points. Bozeman 10 points.",
        "Rockledge (0-1): Blakely 15 points. Devoe 2 points. Baker 6 points. Brown 4 points. Upshaw 3.",
    ]
    notice = [
        "This notice applies to every article syndicated on this site, whatever its source or its subject.",
        "Readers are encouraged to verify information with primary sources before relying on any of it.",
        "Articles are selected by volunteer editors and posted as received, with only minor formatting changes.",
        "Our republishing policy is available on the About page, with the names of all our partner papers.",
    ]
    copy = Article(text="\n".join(["Editor's note: shared under an agreement with Florida Today.", *brief, *notice]))
    relation = relate(fingerprint(Article(text="\n".join(brief))), fingerprint(copy))
    assert relation.kind == CONTAINED
    assert relate(fingerprint(Article(text="\n".join(brief[:2]))), fingerprint(copy)).kind is None  # too little


def test_a_text_with_prose_of_its_own_before_and_after_another_only_quotes_it(seeds: dict[str, Article]) -> None:
    story = seeds["southfront-original.html"]
    other = seeds["blog-original-003.html"]
    short = Article(text="\n".join(story.paragraphs[1:3]))
    # Its own story, then the quote, then more of its own: whatever the dates, the quote's source is elsewhere.
    quoting = Article(text="\n".join([*other.paragraphs[:3], *story.paragraphs[1:3], *other.paragraphs[3:]]))
    relation = relate(fingerprint(short), fingerprint(quoting))
    assert relation.kind == CONTAINED and relation.opening() == 3
    day = {"short": datetime(2020, 1, 3, tzinfo=UTC), "quoting": datetime(2020, 1, 1, tzinfo=UTC)}
    apart = group(list(day), [], [("short", "quoting", relation.score, 3)], {n: n for n in day}, day)
    assert sorted(map(sorted, apart)) == [["quoting"], ["short"]]
    # Its own prose before the text only (the copy that dropped the original's opening): 2, dates decide.
    dropped = Article(text="\n".join([*other.paragraphs[:3], *story.paragraphs[1:3]]))
    assert relate(fingerprint(short), fingerprint(dropped)).opening() == 2


def test_a_lede_then_all_of_a_short_story_then_more_prose_of_its_own_is_a_story_quoting_it(
    seeds: dict[str, Article],
) -> None:
    story = seeds["southfront-original.html"]
    other = seeds["blog-original-003.html"]
    short = Article(text="\n".join(story.paragraphs[1:3]))
    lede = "Markets in Asia were mixed on Tuesday as investors weighed the latest news on trade talks."
    # A follow-up: its own lede, an intro line, all of the short story, then more of its own story than it quotes.
    follow_up = Article(
        text="\n".join([lede, "Recall what was reported at the time:", *short.paragraphs, *other.paragraphs])
    )
    # A wrapped copy: an intro line, the story, a short closing line of its own.
    wrapped = Article(text="\n".join([lede, *short.paragraphs, "The ministry did not answer our questions on Monday."]))
    quoted, copied = (
        relate(fingerprint(short), fingerprint(follow_up)),
        relate(fingerprint(short), fingerprint(wrapped)),
    )
    assert quoted.kind == CONTAINED and quoted.b.new - quoted.b.lead > quoted.b.shared and quoted.opening() == 2
    assert copied.kind in (CONTAINED, DUPLICATE) and copied.opening() in (0, 1)
    day = {"short": datetime(2020, 1, 1, tzinfo=UTC), "follow-up": datetime(2020, 1, 9, tzinfo=UTC)}
    apart = group(list(day), [], [("short", "follow-up", quoted.score, quoted.opening())], {n: n for n in day}, day)
    assert sorted(map(sorted, apart)) == [["follow-up"], ["short"]]
    # The same texts, the longer one older: it is the source the shorter one was cut from.
    day = {"short": day["follow-up"], "follow-up": day["short"]}
    together = group(list(day), [], [("short", "follow-up", quoted.score, quoted.opening())], {n: n for n in day}, day)
    assert sorted(map(sorted, together)) == [["follow-up", "short"]]


def test_an_excerpt_under_its_sites_notices_is_inside_its_original(seeds: dict[str, Article]) -> None:
    story = seeds["southfront-original.html"]
    # The first two paragraphs on a site with one page in the archive, under its affiliate disclosure and newsletter
    # footer: more prose than a copy may add, none of it the story's, all of it speaking to the reader or of the page.
    notices = [
        "This site has affiliate partnerships and may earn a commission on products bought through our links.",
        "These partnerships do not influence our editorial content, and you can read our full policy online.",
        "Was this newsletter forwarded to you? Sign up here to get it in your inbox every morning.",
    ]
    excerpt = Article(text="\n".join([*story.paragraphs[:2], *notices]))
    relation = relate(fingerprint(excerpt), fingerprint(story))
    assert relation.a.adds > 0.25 and relation.a.notices and relation.kind == CONTAINED
    # The same words of its own, told as a story and not to the reader: another text, which shares two paragraphs.
    told = [
        "The company has partnerships with several retailers and earns a commission on products sold that way.",
        "These partnerships shape the editorial line of its magazines, former editors told the court on Monday.",
        "The newsletter was forwarded to thousands of readers who had never signed up for it, the complaint says.",
    ]
    assert relate(fingerprint(Article(text="\n".join([*story.paragraphs[:2], *told]))), fingerprint(story)).kind is None


def test_an_excerpt_under_a_consent_banner_is_inside_its_original(seeds: dict[str, Article]) -> None:
    story = seeds["southfront-original.html"]
    # A site with one page in the archive: its consent banner opens the page, longer than an intro line, and with its
    # newsletter's footer it makes most of the page's words (the story's shingles are under 0.4 of the page's).
    banner = [
        "We use cookies and other tracking technologies to improve your browsing experience on our site.",
        "To find out more or to opt out, please read our cookie policy and our privacy policy.",
        "By choosing I Accept, you consent to our use of cookies and other tracking technologies.",
    ]
    footer = [
        "Our newsletter brings you the day's most important stories from the region every morning, free of charge.",
        "We send it with an outside service, which means that we store your email address on their servers.",
        "You can unsubscribe at any time by clicking the link at the bottom of every email we send you.",
        "For more information on how we handle your data, please see our privacy policy and our terms of use.",
    ]
    page = Article(text="\n".join([*banner, *story.paragraphs[:2], *footer]))
    excerpt, original = fingerprint(page), fingerprint(story)
    relation = relate(excerpt, original)
    assert relation.a.lead > 30 and relation.a.lead_notices == relation.a.lead and relation.containment < 0.4
    assert relation.kind == CONTAINED and not unrelated(excerpt, original)
    # `copydesk show` names them as notices, not as prose of its own.
    added = explain(excerpt, unit_sentences(page), original).added
    assert added.startswith("no prose of its own; ") and "words of notices" in added and "we use cookies" in added
    # A lede of its own before the same banner and paragraphs: a text that quotes them, as it stands.
    lede = "The regional governor resigned on Friday after a week of protests over the handling of the operation."
    quoting = fingerprint(Article(text="\n".join([lede, *banner, *story.paragraphs[:2], *footer])))
    assert relate(quoting, original).kind is None


def test_a_text_in_the_second_person_quoting_paragraphs_is_not_cut_from_them(seeds: dict[str, Article]) -> None:
    story = seeds["southfront-original.html"]
    # An advertisement that quotes the story's first paragraphs: its own prose speaks to the reader, as notices do,
    # but not of the page. Read without it, any text quoting two paragraphs would be an excerpt of them.
    ad = [
        "You are a couple who have been together for a long time and want to try something new this weekend.",
        "You recently moved to the city and want to meet people who share your passion for the outdoors.",
        "This game will help you plan trips, find partners and keep track of the places you have been to.",
        "Download it today and your first month is free, whichever of the three plans you choose.",
        "You can play it alone, as a couple or with your friends, on your phone or on your tablet.",
        "Your progress is saved as you go, so you can pick up where you left off on any of your devices.",
    ]
    quoting = fingerprint(Article(text="\n".join(["As previously reported:", *story.paragraphs[:2], *ad])))
    relation = relate(quoting, fingerprint(story))
    assert relation.a.adds_besides_notices <= 0.25 and relation.containment < 0.4 and relation.kind is None


def test_a_follow_up_in_the_first_person_holds_the_story_it_quotes_not_the_reverse(seeds: dict[str, Article]) -> None:
    story = seeds["southfront-original.html"]
    short = Article(text="\n".join(story.paragraphs[1:3]))
    # A fact check: a claim, the story it checks, then its verdict in its own voice ("we"), longer than the story.
    verdict = [
        "We have found no evidence to support this claim, and those making it have offered a wide range of figures.",
        "We also found that the claim did not originate with a credible outlet, whatever its wide circulation.",
        "We reached out to the two sites that spread it and will update this article if they answer our questions.",
        "In sum, we rate the claim unproven: the figures it gives cannot be checked against any public record.",
        "Our readers asked us about it after the video was shared thousands of times on the weekend.",
    ]
    fact_check = Article(text="\n".join(["Claim: the operation is in its final phase.", *short.paragraphs, *verdict]))
    for first, second in ((short, fact_check), (fact_check, short)):
        relation = relate(fingerprint(first), fingerprint(second))
        inner = relation.a if relation.kind == CONTAINED else relation.b
        assert relation.kind in (CONTAINED, CONTAINS) and inner.prose == inner.shared  # the story is the inner text


def _dev_page(name: str) -> bytes:
    return gzip.decompress((CORPUS / "dev" / "pages" / name).read_bytes())


def test_a_headline_list_caught_by_the_fast_pass_is_replaced_by_the_article() -> None:
    # A billboard.com page where trafilatura's fast rules pick the "more stories" list.
    text = extract(_dev_page("fde32ba91448.html.gz")).text
    assert "Digistat Patient Watch" in text and "American Music Awards" not in text


def test_a_short_excerpt_is_not_padded_with_the_page_teasers() -> None:
    # An excerpt ending in "Continue reading at TechCrunch", followed on its page by other stories' teasers.
    text = extract(_dev_page("f82bf2d25e3a.html.gz")).text
    assert "Continue reading at TechCrunch" in text and "Carlos Ghosn" not in text


def test_text_after_a_script_or_drawing_in_a_paragraph_is_kept() -> None:
    # Scripts and SVG are dropped before trafilatura runs: the words after them must stay.
    paragraphs = "".join(
        f"<p>Paragraph {i} opens here<script>track({i})</script> and goes on<svg><text>icon</text></svg> "
        "after the drawing, as wire copy does.</p>"
        for i in range(6)
    )
    text = extract(f"<html><body><article><h1>Vote</h1>{paragraphs}</article></body></html>").text
    assert "Paragraph 5 opens here and goes on after the drawing, as wire copy does." in text
    assert "track" not in text and "icon" not in text


def test_an_article_only_in_json_ld_is_still_found() -> None:
    # An app shell whose article is only in its JSON-LD: trafilatura's baseline reads it from the script.
    body = " ".join(f"Sentence {i} of the wire report says what the council decided on Tuesday." for i in range(12))
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "articleBody": body})
    page = (
        f'<html><head><script type="application/ld+json">{ld}</script><script>var app = 1;</script></head>'
        '<body><div id="app">Loading</div></body></html>'
    )
    assert extract(page).text.startswith("Sentence 0 of the wire report says what the council decided")


def _fast_text(html: bytes | str, drop_discarded: bool) -> tuple[str, int]:
    """copydesk's fast pass, with or without `_drop_discarded`; and how many elements the tree it handed
    to trafilatura held."""
    handed: list[int] = []
    trafilatura_text = fast_trafilatura.text

    def counted(tree: HtmlElement, url: str | None, fast: bool) -> str:
        handed.append(sum(1 for _ in tree.iter()))
        return trafilatura_text(tree, url, fast)

    with pytest.MonkeyPatch.context() as patch:
        if not drop_discarded:
            patch.setattr(extract_module, "_drop_discarded", lambda tree: None)
        patch.setattr(fast_trafilatura, "text", counted)
        text = extract_module._trafilatura_text(parse(html), None, fast=True)
    return text, handed[0]


_LINK_WORDS = st.lists(st.sampled_from(["the", "vote", "city", "3", "news"]), min_size=1, max_size=6)


@given(st.sets(_LINK_WORDS.map(" ".join), max_size=8), st.lists(_LINK_WORDS.map(" ".join), max_size=12))
def test_link_share_is_the_share_of_words_in_lines_mostly_one_link(links: set[str], lines: list[str]) -> None:
    # The plain definition, which _link_share reaches without joining every run of words.
    linked = total = 0
    for words in (line.split() for line in lines):
        total += len(words)
        runs = [words[:k] for k in range(1, len(words) + 1)] + [words[-k:] for k in range(1, len(words) + 1)]
        if len(words) <= 40 and any(len(run) >= 0.5 * len(words) and " ".join(run) in links for run in runs):
            linked += len(words)
    assert extract_module._link_share("\n".join(lines), links) == (linked / total if total and links else 0.0)


def test_dropping_what_the_fast_pass_discards_keeps_its_text() -> None:
    # The head, asides and footers are removed before the fast pass only because it deletes them
    # itself: the text must be the same, on real pages, and the trees smaller.
    pages = [*hard_slice().pages.values(), *(path.read_bytes() for path in sorted(SEEDS.glob("*.html")))]
    shrunk = 0
    for html in pages:
        (kept, whole), (dropped, smaller) = _fast_text(html, False), _fast_text(html, True)
        assert dropped == kept
        shrunk += smaller < whole
    assert len(pages) > 20 and shrunk > 0.8 * len(pages)


def test_asides_holding_the_headline_or_json_ld_are_kept() -> None:
    ld = '<script type="application/ld+json">{"@type": "NewsArticle"}</script>'
    page = (
        f"<html><head><title>T</title>{ld}</head><body><p>The story.</p>"
        f"<aside id='a'><h1>Headline</h1></aside><aside id='b'>{ld}</aside><aside id='c'>More</aside>"
        "<footer id='d'>Contact</footer></body></html>"
    )
    tree = parse(page)
    _drop_discarded(tree)
    assert [a.get("id") for a in tree.iter("aside", "footer")] == ["a", "b"]
    assert tree.find("head/title") is None and tree.find("head/script") is not None


@pytest.mark.parametrize("elsewhere", ["", "<div class='comment-list'><p>First!</p></div>"])
def test_a_page_whose_paragraphs_all_sit_in_asides_is_left_whole(elsewhere: str) -> None:
    # trafilatura's recall retry restores the whole tree when its cleaning leaves no paragraph, and
    # its comment prune runs before that check.
    words = " ".join(["Council report words here."] * 20)
    body = f"<aside><p>{words}</p></aside><footer><p>{words}</p></footer>{elsewhere}"
    page = f"<html><head><title>T</title></head><body>{body}</body></html>"
    tree = parse(page)
    before = sum(1 for _ in tree.iter())
    _drop_discarded(tree)
    assert sum(1 for _ in tree.iter()) == before
    assert _fast_text(page, True) == _fast_text(page, False)


def test_signature_is_datasketchs_own(seeds: dict[str, Article]) -> None:
    # The permutations are drawn once and reused: the signature must still be what datasketch gives.
    params = FingerprintParams()
    fp = fingerprint(seeds["southfront-original.html"], params)
    fresh = MinHash(num_perm=params.num_perm, seed=params.seed, scheme=params.scheme, hashfunc=lambda v: v)
    fresh.update_batch(list(fp.shingles))
    assert fp.signature == tuple(int(v) for v in fresh.hashvalues)


def test_a_declared_original_is_a_duplicate_when_they_share_prose(seeds: dict[str, Article]) -> None:
    """One sentence of a story beside a longer blurb of the site's own: the text alone says no relation,
    the page's rel=canonical naming the story says duplicate; never without shared prose."""
    story = seeds["southfront-original.html"]
    blurb = "The shop sells outdoor gear made in small workshops across the region, shipped within three days. " * 3
    excerpt = Article(text=story.paragraphs[1] + "\n" + blurb)
    relation = relate(fingerprint(excerpt), fingerprint(story))
    assert relation.kind is None
    assert declared(relation, declares=True).kind == DUPLICATE
    assert declared(relation, declares=False).kind is None
    other = relate(fingerprint(seeds["blog-original-003.html"]), fingerprint(story))
    assert declared(other, declares=True).kind is None


def test_an_excerpt_linking_its_original_is_inside_it_whatever_its_page_adds(seeds: dict[str, Article]) -> None:
    """The story's first two paragraphs on a site with one page, under its author box and its courses' blurbs: more
    prose than a copy adds, none of it notices. The text alone says no relation; the page's link to the story says
    excerpt. Not for a text opening with prose of its own, nor for a passage from inside the story."""
    story = seeds["southfront-original.html"]
    chrome = [
        "Pamela Wilson is an online educator, author and keynote speaker, and the founder of a design studio.",
        "Her courses have taught thousands of small business owners how to build a brand that stands out.",
        "Click to watch free on-demand training about running an online business and visual marketing.",
    ]
    excerpt = fingerprint(Article(text="\n".join([*story.paragraphs[:2], *chrome])))
    relation = relate(excerpt, fingerprint(story))
    assert relation.kind is None and relation.a.adds > 0.25 and not relation.a.notices
    assert linked(relation, a_links_b=True, b_links_a=False).kind == CONTAINED
    assert linked(relation, a_links_b=False, b_links_a=False).kind is None
    # A later story quoting the same paragraphs after a lede of its own, and linking the story: it quotes it.
    lede = (
        "The regional governor resigned on Friday after a week of protests over the handling of the operation, "
        "and his deputy will serve until new elections are held in the spring. Opposition parties said the operation "
        "had been planned for months."
    )
    quoting = relate(fingerprint(Article(text="\n".join([lede, *story.paragraphs[:2], *chrome]))), fingerprint(story))
    assert quoting.kind is None and linked(quoting, a_links_b=True, b_links_a=False).kind is None
    # Paragraphs from the middle of the story, then the page's chrome: not its first part, no excerpt by the link.
    middle = relate(fingerprint(Article(text="\n".join([*story.paragraphs[5:7], *chrome]))), fingerprint(story))
    assert middle.kind is None and middle.b.lead > 30
    assert linked(middle, a_links_b=True, b_links_a=False).kind is None


def test_an_excerpt_linking_its_original_under_its_templates_block_is_inside_it(seeds: dict[str, Article]) -> None:
    """A site's template puts another story's standfirst above every page and its notices below it: the excerpt comes
    after more prose than an intro line, none of it its own, and adds nothing after the story but notices. Linking the
    story, it is inside it; a text going on with prose of its own after the quotation is not (a later story linking
    what it quotes, between its lede and the rest of it)."""
    story = seeds["southfront-original.html"]
    standfirst = (
        "The government has unveiled a plan to help households install rooftop panels and batteries, with grants of up "
        "to a third of the cost for families on low incomes and cheap loans for everyone else from next year."
    )
    notices = [
        "We also offer comprehensive global coverage of the most important markets on our website every day.",
        "Subscribe to our newsletter to receive the latest news in your inbox every morning, free of charge.",
        "Please be mindful of our community standards when you comment, or your comment may be removed.",
    ]
    page = Article(text="\n".join([standfirst, *story.paragraphs[:2], *notices]))
    excerpt = relate(fingerprint(page), fingerprint(story))
    assert excerpt.kind is None and excerpt.a.lead > 30
    assert linked(excerpt, a_links_b=True, b_links_a=False).kind == CONTAINED
    assert linked(excerpt, a_links_b=False, b_links_a=False).kind is None
    rest = [
        "The governor's deputy said on Monday that the investigation into the operation would report by the summer.",
        "Local officials have since asked for the files to be released, and families of the victims have joined them.",
        "Critics of the plan said the inquiry had no power to compel witnesses and would change nothing on the ground.",
    ]
    follow_up = relate(
        fingerprint(Article(text="\n".join([standfirst, *story.paragraphs[:2], *rest, *notices]))), fingerprint(story)
    )
    assert follow_up.kind is None and linked(follow_up, a_links_b=True, b_links_a=False).kind is None


@pytest.mark.parametrize(
    ("line", "prose"),
    [
        ("Nov 18, 2019 @17:19 PM·Updated:", False),
        ("Published 18 November 2019 14:26:03 GMT.", False),
        ("Sales rose 15% to $2.3 billion in 2019, the company said.", True),
        ("The score was 3-2 after 90 minutes of play.", True),
    ],
)
def test_a_line_half_numbers_is_no_running_text(line: str, prose: bool) -> None:
    assert read_paragraph(line).prose == (prose,)


def test_a_copy_under_its_sites_time_stamp_opens_with_the_story(seeds: dict[str, Article]) -> None:
    """A site that opens every page with its time stamp and closes it with its author box and newsletter appeal: its
    copy of a story holds all of it, nothing but the stamp before it, so it opens with it (grouping rule 5: a copy
    with additions after it), not after a lede of its own (a later story quoting it)."""
    story = Article(text="\n".join(seeds["southfront-original.html"].paragraphs[:3]))  # a short story
    after = [
        "Dallas Robinson is a freelance writer living in Minneapolis who covers science, travel and the outdoors.",
        "Want more stories like this? Every day we send an email with the top stories from our editors.",
        *[
            f"She has written for many magazines and newspapers over the past {n} years, and teaches writing."
            for n in ("ten", "twelve", "fifteen", "twenty")
        ],
    ]
    copy = Article(text="\n".join(["Nov 18, 2019 @17:19 PM·Updated:", *story.paragraphs, *after]))
    relation = relate(fingerprint(copy), fingerprint(story))
    assert relation.kind == CONTAINS and relation.a.lead == 0 and relation.opening() == 0


def test_a_pages_text_links_are_its_paragraphs_links_elsewhere() -> None:
    """The absolute addresses in running text, as url_key has them, each once, the page's own, relative ones (the
    page's own site) and other schemes left out; not the menus' and lists' links."""
    html = """<html><head><title>Feather duvet lung</title></head><body>
    <nav><a href="https://example.org/section/health">Health</a></nav>
    <article><h1>Feather duvet lung</h1>
    <p>A man's new bedding left him breathless, doctors wrote in a case report published in a medical journal.</p>
    <p>He was treated with steroids and his lungs recovered within a few months of changing his bedding.</p>
    <p>See <a href="/other/story">our earlier story</a> and <a href="mailto:desk@example.org">write to us</a>, or
    <a href="https://example.org/health/duvet-lung">this page</a> itself.</p>
    <p><em><a href="https://example.com/quoted/report">A report</a></em> said so first.</p>
    <p>Continue reading at <a href="https://www.Forbes.com/sites/lee/2019/11/18/duvet-lung/?utm_source=x">Forbes</a>
    (<a href="https://www.forbes.com/sites/lee/2019/11/18/duvet-lung">again</a>, <a href="https://forbes.com/">home</a>)
    </p></article>
    <ul><li><a href="https://elsewhere.com/a/b">More stories</a></li></ul></body></html>"""
    article = extract(html, "https://example.org/health/duvet-lung")
    assert article.links == ("example.com/quoted/report", "forbes.com/sites/lee/2019/11/18/duvet-lung")


def test_a_newsletter_edition_of_a_story_on_its_own_site_is_its_copy(seeds: dict[str, Article]) -> None:
    """The story on a site, with a caption of its own, and the site's newsletter carrying it under notices that
    speak of the newsletter: two copies of one story, so what they share is not the site's chrome."""
    story = seeds["southfront-original.html"].paragraphs
    page = boilerplate.page([*story, "The photograph above shows the old city of Mosul after a week of fighting."])
    newsletter = boilerplate.page(
        [
            "You are receiving this email because you subscribed to updates from News Example.",
            *story,
            "To stop receiving these emails, unsubscribe or manage your newsletter preferences here.",
        ]
    )
    assert boilerplate.chrome({"page": page, "newsletter": newsletter}) == set()


def test_pages_of_one_host_saying_they_are_one_story_share_no_chrome(seeds: dict[str, Article]) -> None:
    """The story's page adds a standfirst, another page of the site adds a greeting and a sign-off: each has prose of
    its own, so by their text they are two stories whose shared paragraphs are the site's chrome. They say otherwise
    themselves: one names the other as its rel=canonical, or both carry the story's headline. A recurring headline
    too short to name one story ("Daily Deals") says nothing."""
    story = seeds["southfront-original.html"].paragraphs[:5]
    pages: dict[Hashable, boilerplate.Page] = {
        "story": boilerplate.page(["How a months-long battle for the city came down to its last streets.", *story]),
        "edition": boilerplate.page(
            ["Good morning, and welcome to the briefing: one story that mattered this week.", *story]
        ),
    }
    url, edition_url = "https://news.example/2017/05/mosul", "https://news.example/briefing/2017-05-09"
    headline = "US-backed operation in Mosul approaches its final phase"
    shared = {paragraph_hash(p) for p in story}
    assert boilerplate.chrome(pages) == shared
    declared: dict[Hashable, boilerplate.Claim] = {
        "story": boilerplate.Claim(url, url, "Mosul: the last streets", "news.example"),
        "edition": boilerplate.Claim(edition_url, url, "The briefing, 9 May", "news.example"),
    }
    assert boilerplate.chrome(pages, claims=declared) == set()
    titled: dict[Hashable, boilerplate.Claim] = {
        "story": boilerplate.Claim(url, url, headline, "news.example"),
        "edition": boilerplate.Claim(edition_url, edition_url, f" {headline.upper()} ", "news.example"),
    }
    assert boilerplate.chrome(pages, claims=titled) == set()
    recurring: dict[Hashable, boilerplate.Claim] = {
        name: boilerplate.Claim(address, address, "Daily Deals | News Example", "news.example")
        for name, address in (("story", url), ("edition", edition_url))
    }
    assert boilerplate.chrome(pages, claims=recurring) == shared


def test_two_stories_told_in_the_first_person_under_one_disclaimer_make_it_chrome() -> None:
    """Sentences that speak to the reader ("we", "our") are no notice of the page: a story told so is a story."""
    disclaimer = "This site is supported by its readers and may earn a commission on purchases made through its links."
    grant = [
        "In July we recommended a grant of five million dollars to a water programme in western Kenya.",
        "We expect the programme to reach forty thousand families within two years of its start.",
    ]
    trip = [
        "Our team spent three weeks visiting the clinics we fund in the north of Malawi last spring.",
        "We found the new vaccine fridges working, and our partners asked us for two more of them.",
    ]
    pages = {"grant": boilerplate.page([*grant, disclaimer]), "trip": boilerplate.page([*trip, disclaimer])}
    assert boilerplate.chrome({name: page for name, page in pages.items()}) == {paragraph_hash(disclaimer)}
