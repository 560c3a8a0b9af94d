"""extract keeps the story's lead (standfirst) that trafilatura drops, and nothing that only looks like one."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from ingest import extract as extract_module
from ingest.document import Article
from ingest.extract import extract, parse
from ingest.fingerprint import fingerprint
from ingest.grouping import group
from ingest.leads import with_lead
from ingest.relation import CONTAINED, relate
from tests.conftest import SEEDS

LEAD = (
    "The harbour authority will open the new container terminal in spring, two years late, after a long dispute "
    "over dredging permits."
)
BODY = [
    f"Paragraph {i}: the terminal's operators said on Tuesday that the cranes had been tested and that the first "
    "ships from Rotterdam and Hamburg were booked for the second week of April, weather permitting."
    for i in range(8)
]
TITLE = "Terminal opens in spring"
TEASER = "Council votes to close the old swimming baths for repairs after an inspection found cracks in the roof beams…"


def _page(lead_block: str, after_body: str = "", before: str = "") -> str:
    paragraphs = "".join(f"<p>{text}</p>" for text in BODY)
    return (
        "<html><body><nav><a href='/'>Home</a></nav>"
        f"{before}<div class='news'><div class='article'><h1>{TITLE}</h1>{lead_block}"
        f"<div class='news-text-wrap' itemprop='articleBody'>{paragraphs}</div>{after_body}</div></div></body></html>"
    )


def test_trafilatura_alone_drops_a_lead_named_teaser() -> None:
    # What the rule is for: TYPO3's news pages put the story's own lead in div.teaser-text, which trafilatura
    # prunes as another story's teaser.
    page = _page(f"<div class='teaser-text'><p>{LEAD}</p></div>")
    fast = extract_module._trafilatura_text(parse(page), None, fast=True)
    assert "Paragraph 0" in fast and "container terminal in spring" not in fast


def test_the_lead_is_put_back_before_the_first_paragraph() -> None:
    for block in (
        f"<div class='teaser-text'><p>{LEAD}</p></div>",
        f"<p class='article-lead'>{LEAD}</p>",
        f"<header class='entry-header'><div class='entry-excerpt'><p>{LEAD}</p></div></header>",
    ):
        lines = extract(_page(block)).text.splitlines()
        assert lines[0] == LEAD, block
        assert lines[1].startswith("Paragraph 0")
        assert sum(LEAD in line for line in lines) == 1


def test_a_lead_trafilatura_keeps_is_not_added_twice() -> None:
    page = _page(f"<p class='intro'>{LEAD}</p>")
    text = extract(page).text
    assert text.count("container terminal in spring") == 1


def test_other_stories_teasers_are_not_leads() -> None:
    # A card in a list, a link, a block after the story, a site's tagline above the headline, a byline block:
    # none is followed by the story's opening paragraph, or none is a lead.
    cards = f"<ul><li><div class='teaser'><p>{TEASER}</p></div></li></ul>"
    linked = f"<div class='teaser'><a href='/baths'>{TEASER}</a></div>"
    after = f"<div class='teaser-text'><p>{TEASER}</p></div><p>{TEASER} More on the council's budget plans.</p>"
    tagline = (
        "<header><p class='site-description'>News, views and weather for the harbour town and the villages "
        "around it</p></header>"
    )
    byline = "<div class='teaser_text_meta'>By Anna Berg, harbour correspondent, 12 March 2024, 08:15</div>"
    for page in (
        _page(cards),
        _page(linked),
        _page("", after_body=after),
        _page(byline),
        _page("", before=tagline),
    ):
        text = extract(page).text
        assert "swimming baths" not in text and "harbour correspondent" not in text and "villages" not in text
        assert text.startswith("Paragraph 0")


def test_a_long_block_or_one_with_a_headline_is_no_lead() -> None:
    # A CMS's body field named "text-with-summary" holds the body, not a lead; a block holding a headline is a header.
    text = "\n".join(BODY)
    body_field = "<div class='field text-with-summary'>" + " ".join(BODY[:5]).replace("Paragraph", "Part") + "</div>"
    header = f"<div class='story-intro'><h1>Another headline</h1><p>{LEAD}</p></div>"
    assert with_lead(text, parse(_page(body_field)))[0] == text
    assert with_lead(text, parse(_page(header)))[0] == text
    assert with_lead(text, parse(_page(f"<p class='lead'>{LEAD}</p>")), TITLE)[0] == f"{LEAD}\n{text}"


def test_the_lead_goes_before_the_texts_first_paragraph_only() -> None:
    tree = parse(_page(f"<p class='lead'>{LEAD}</p>"))
    # The lead's paragraph is not the text's first: prose comes before it, so the lead is not put in.
    later = "\n".join([BODY[5], *BODY])
    assert with_lead(later, tree)[0] == later
    # A short line before it (a dateline, a caption) is no prose: the lead goes after it.
    short = "HAMBURG, 12 March\n" + "\n".join(BODY)
    assert with_lead(short, tree, TITLE)[0].splitlines()[1] == LEAD


def test_a_templates_lead_about_another_story_is_not_put_in() -> None:
    # A page made from a template that kept the block of the story it was made for: in the lead's place, but
    # naming none of this story's people, places or subjects (its title, its opening).
    stale = (
        "<p class='lead'>What was this British royal and his aides thinking of when he granted an interview to the "
        "BBC, supposedly to clear his name?</p>"
    )
    text = "\n".join(BODY)
    assert with_lead(text, parse(_page(stale)), TITLE)[0] == text
    assert extract(_page(stale)).text.startswith("Paragraph 0")
    # The story's own lead shares the title's words, or the opening's.
    assert with_lead(text, parse(_page(f"<p class='lead'>{LEAD}</p>")), TITLE)[0].startswith(LEAD)
    assert with_lead(text, parse(_page(f"<p class='lead'>{LEAD} Cranes were tested.</p>")))[0].startswith(LEAD)


def test_a_summary_cut_off_is_a_teaser_not_a_lead() -> None:
    cut = "<p class='summary'>The harbour authority will open the new container terminal in spring, two years...</p>"
    text = "\n".join(BODY)
    assert with_lead(text, parse(_page(cut)))[0] == text


def test_an_excerpt_without_the_lead_put_back_is_still_the_stories_excerpt() -> None:
    # The original's standfirst, put back by extraction, is longer than an intro line; a site excerpting the
    # story takes its first paragraphs without it. Read as prose, the lead made the original "open with prose of
    # its own and go on with much more": a quotation, never the excerpt's source. It is read as a headline is.
    story = extract((SEEDS / "southfront-original.html").read_bytes()).paragraphs
    lead = (
        "Iraqi security forces, backed by the US-led coalition's warplanes and special forces, are closing in on "
        "the last ISIS strongholds in western Mosul, where the terrorists now rely on suicide bombers, snipers and "
        "the narrow streets of the Old City to slow the advance."
    )
    body = "".join(f"<p>{paragraph}</p>" for paragraph in story)
    page = (
        "<html><head><title>Mosul operation approaching its final phase</title></head><body><article>"
        f"<h1>Mosul operation approaching its final phase</h1><p class='article-lead'>{lead}</p>"
        f"<div class='article-content' itemprop='articleBody'>{body}</div></article></body></html>"
    )
    original = extract(page)
    assert original.lead == lead and original.text.startswith(lead)
    lead_units = fingerprint(Article(text=lead)).units
    units = fingerprint(original).units
    assert [u.prose for u in units[: len(lead_units)]] == [False] * len(lead_units)
    excerpt = Article(text="\n".join(story[:3]) + "\nRead more at South Front")
    relation = relate(fingerprint(excerpt), fingerprint(original))
    assert relation.kind == CONTAINED and relation.opening() != 3
    day = {"excerpt": datetime(2020, 1, 2, tzinfo=UTC), "original": datetime(2020, 1, 1, tzinfo=UTC)}
    contained = [("excerpt", "original", relation.score, relation.opening())]
    assert group(["excerpt", "original"], [], contained, {n: n for n in day}, day) == [{"excerpt", "original"}]
    # The same lead as prose (what a copy that keeps it in its text shows) is what made the quotation.
    as_prose = relate(fingerprint(excerpt), fingerprint(dataclasses.replace(original, lead=None)))
    assert as_prose.opening() == 3
