"""ingest.headlines and the relation rule that reads them (ingest.relation.named): pure functions, no server."""

from __future__ import annotations

import pytest

from ingest.document import Article
from ingest.extract import extract, page_headlines, parse
from ingest.fingerprint import fingerprint
from ingest.headlines import headline_keys, named_apart, same_headline, title_words
from ingest.relation import CONTAINED, CONTAINS, RelationPolicy, named, relate, titled
from tests.conftest import SEEDS

STANDINGS = [
    "NASCAR Cup Series standings",
    "Pos. Driver Points Wins Poles Top 5 Top 10",
    *(f"{n} Driver{n} {5100 - 13 * n} {n % 4} {n % 3} {17 - n // 2} {27 - n // 2}" for n in range(1, 9)),
]


def follow_up(story: list[str]) -> Article:
    """A later page whose own text is a table, quoting the story's first two paragraphs: by its prose, an excerpt."""
    return Article(
        text="\n".join([STANDINGS[0], "As previously reported by SouthFront,", *story[:2], *STANDINGS[1:]]),
        title="NASCAR Cup Series standings after the last race",
        headlines=("Classificação NASCAR 2019",),
    )


@pytest.fixture(scope="module")
def story() -> Article:
    return extract((SEEDS / "southfront-original.html").read_bytes())


def words(article: Article) -> frozenset[str]:
    return title_words([article.title, *article.headlines], article.sitename, article.host)


def test_a_page_names_its_story_in_its_title_social_titles_and_headings() -> None:
    """As Slate's page does: its og:title, its <title> and its visible headline differ, and a copy may take any."""
    tree = parse(
        "<html><head><title>John M. Ford's books are being republished | The Site</title>"
        '<meta property="og:title" content="The Resurrection of a Writer">'
        '<meta name="twitter:title" content="The Resurrection of a Writer"></head>'
        '<body><h1>The Site</h1><svg class="icon"><g><title>Share on Facebook</title></g></svg>'
        "<h1>The Disappearance of John M. Ford</h1><h1>Follow The Site on Twitter</h1>"
        "<p>Text.</p></body></html>"
    )
    # The template's other headings (its name, its share buttons) share no word with the page's titles; its icons'
    # <title>s are no title of the page.
    assert page_headlines(tree, "The Resurrection of a Writer", "The Site") == (
        "The Resurrection of a Writer",
        "John M. Ford's books are being republished | The Site",
        "The Disappearance of John M. Ford",
    )
    untitled = parse("<html><body><h1>Storm warning issued for Tokyo</h1><h1>More stories</h1></body></html>")
    assert page_headlines(untitled, None, None) == ("Storm warning issued for Tokyo",)


def test_headlines_name_one_story_when_any_of_their_words_is_shared() -> None:
    original = title_words(
        ["The Resurrection of the Greatest Sci-Fi Writer", "The Disappearance of John M. Ford"], "Slate", "slate.com"
    )
    # A copy takes the visible headline, which the original's og:title does not share.
    assert not named_apart(original, title_words(["The Disappearance of John M. Ford | Other Site"], "Other Site"))
    # Reworded, cut at a colon, prefixed: one word left in common is enough; word endings do not count.
    reworded = title_words(["Report: WeWork layoff begins"])
    assert not named_apart(reworded, title_words(["Major WeWork layoffs to begin today"]))
    assert named_apart(title_words(["NASCAR standings after the final round"]), original)
    # The site's own name is not the story's: two stories of one site are apart.
    assert named_apart(
        title_words(["Mosul battle enters its final phase - South Front"], "South Front", "southfront.org"),
        title_words(["Syrian army advances near Palmyra | South Front"], "South Front", "southfront.org"),
    )
    # Too few words to tell ("Home", a site's name alone): never apart.
    assert not named_apart(title_words(["Home"]), original)
    assert not named_apart(title_words(["South Front"], "South Front"), original)
    # Metadata that gives the headline as the site's name too: the host alone names the site.
    stadia = "Google Stadia Red Dead Redemption 2 doesn't run at a stable 60fps."
    assert not named_apart(
        title_words([stadia, f"{stadia} | BGR"], stadia, "bgr.com"), title_words([stadia], "MSPoweruser")
    )
    assert not named_apart(
        title_words([f"{stadia} - latest | The Jerusalem Post"], f"{stadia} - latest | The Jerusalem Post"),
        title_words([stadia], "MSPoweruser"),
    )
    # Scripts without spaces are read by pairs of characters: an edited headline still shares some.
    assert not named_apart(title_words(["東京で大雨の警報が出された"]), title_words(["速報：東京で大雨の警報"]))


def test_a_table_page_quoting_a_story_is_not_its_copy(story: Article) -> None:
    """A later page whose own text is a table quotes the story's first two paragraphs under its own headline: by
    its prose it is an excerpt of the story, by its headline another story. An excerpt under the story's headline
    stays one, as does a long copy that a syndicator retitled."""
    paragraphs = story.paragraphs
    quoting = follow_up(paragraphs)
    excerpt = Article(text="\n".join(paragraphs[:2]), title=story.title)
    retitled = Article(text="\n".join(paragraphs), title="Inside the last days of a long siege")
    by_text = relate(fingerprint(quoting), fingerprint(story))
    assert by_text.kind is not None  # the prose alone: the story's opening, a table, a credit
    assert named_apart(words(quoting), words(story))
    assert named(by_text, named_apart(words(quoting), words(story))).kind is None
    assert relate(fingerprint(quoting), fingerprint(excerpt)).kind is not None
    assert named_apart(words(quoting), words(excerpt))
    assert not named_apart(words(excerpt), words(story))
    long_copy = relate(fingerprint(retitled), fingerprint(story))
    assert min(long_copy.a.shared, long_copy.b.shared) > RelationPolicy().max_quoted_words
    assert named(long_copy, named_apart(words(retitled), words(story))).kind == long_copy.kind is not None


def test_two_pages_carry_one_headline_whatever_site_each_names_beside_it() -> None:
    mosul = headline_keys(["US-backed operation in Mosul approaches its final phase | South Front"], "South Front")
    repost = "US-backed Operation in Mosul Approaches its Final Phase - Global Research"
    assert mosul == headline_keys([repost], "Global Research", "globalresearch.ca")
    # A headline reworded, or cut, is another one: only the same words in the same order count.
    assert mosul.isdisjoint(headline_keys(["Report: US-backed operation in Mosul approaches its final phase"]))
    assert mosul.isdisjoint(headline_keys(["Mosul operation approaches its final phase"]))
    # A series' recurring title names no one story: two words besides the site's name are too few.
    assert headline_keys(["Daily Deals | The Site"], "The Site") == frozenset()
    assert headline_keys(["Opening bell 11.18.19"]) == frozenset()
    # Two pages of one site may both carry its template's title: only two sites' pages share a headline so.
    title = "US-backed operation in Mosul approaches its final phase"
    assert same_headline((title, None, "southfront.org"), (f"{title} - Global Research", None, "globalresearch.ca"))
    assert not same_headline((title, None, "southfront.org"), (title, None, "southfront.org"))


def test_a_brief_copied_under_notices_that_outweigh_it_keeps_its_headline(story: Article) -> None:
    """A brief (a story of a sentence or two, or a page whose extraction kept little of it) wrapped in a syndicator's
    notices: by their texts the two share too little to tell, by their headline they are one story."""
    sentence = story.paragraphs[0].split(". ")[0] + "."
    brief = Article(text="\n".join(["Share this story", sentence, "Photo: the site's own caption."]), title=story.title)
    notices = [
        "The publisher reserves the right to remove any content at its sole discretion.",
        "If you value this work, please consider a small monthly donation to keep it free for everyone.",
        "Comments are moderated and may take up to twenty-four hours to appear on this page.",
        "Corrections can be sent to our editors using the contact form at the bottom of every page.",
    ]
    copy = Article(text="\n".join(["Syndicated from South Front.", sentence, *notices]), title=story.title)
    by_text = relate(fingerprint(copy), fingerprint(brief))
    assert by_text.kind is None and max(by_text.a.shared, by_text.b.shared) >= RelationPolicy().min_titled_words
    assert titled(by_text, True, False, False).kind == CONTAINS  # the copy wraps the brief, most of whose prose it has
    assert titled(relate(fingerprint(brief), fingerprint(copy)), True, False, False).kind == CONTAINED
    assert titled(by_text, True, True, False).kind == CONTAINED  # the copy names the brief its source: taken from it
    assert titled(by_text, False, True, False).kind is None  # its own headline: another story quoting a sentence
    other = Article(text="\n".join(["Syndicated from South Front.", *notices]), title=story.title)
    assert titled(relate(fingerprint(other), fingerprint(brief)), True, True, False).kind is None  # no sentence


def test_a_page_is_found_by_its_headline() -> None:
    """The near-duplicate index files a page under its headline too: a copy that shares no band of its signature
    and no sentence with it still finds it."""
    title = "Mosul operation approaches its final phase, coalition says"
    brief = fingerprint(
        Article(text="Filed under World. By Ann Smith. Share this story.", title=title, host="a.example")
    )
    copy = fingerprint(
        Article(text="Syndicated from A Example. Comments are moderated.", title=title, host="b.example")
    )
    other = fingerprint(Article(text="Syndicated from A Example. Comments are moderated.", title="Another story today"))
    assert {key for key in brief.index_keys if key.startswith("h:")} == set(brief.index_keys) & set(copy.query_keys)
    assert brief.headlines and not set(brief.index_keys) & set(other.query_keys)


def test_a_copy_under_its_templates_block_keeps_the_story_it_carries_the_headline_of(story: Article) -> None:
    """A site's template puts another story's standfirst before every story, and the site has no other page to learn
    it from as chrome: a verbatim copy there opens with more prose of its own than an intro line, as a later story
    quoting this one does (`Relation.opening` 2). Under the story's own headline, that block is the page's, not a
    story's lede."""
    block = (
        "Night mode is an automatic setting which takes over in low light and brightens the picture, and the camera"
        " app now suggests it whenever the scene is dark enough for it to help, with a moon icon in the corner."
    )
    original = Article(text="\n".join(story.paragraphs[:4]), title=story.title)
    copy = Article(text="\n".join([block, *original.paragraphs]), title=story.title)
    by_text = relate(fingerprint(copy), fingerprint(original))
    assert by_text.kind == CONTAINS and by_text.opening() == 2
    assert titled(by_text, True, False, False).opening() == 1
    assert titled(by_text, False, False, False).opening() == 2  # its own headline: a story quoting this one
