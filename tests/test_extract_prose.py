"""extract's prose check: a page whose story trafilatura loses to a block of teasers and footer lines."""

from __future__ import annotations

import re

from ingest import extract as extract_module
from ingest import prose
from ingest.extract import extract, parse

FERRY = [
    "The island's ferry company said on Monday that it would add a second boat to the morning crossing from "
    "April, after commuters complained for months about queues that stretched back along the harbour road.",
    "The new boat, bought second-hand from an operator in the north, carries two hundred passengers and forty "
    "cars, and will need a week of trials in the bay before the maritime inspectors let it take fares.",
    "Councillors welcomed the plan but asked the company to publish its timetable before the schools break "
    "up, so that families booking holidays on the mainland know which sailings they can count on.",
    "The company's manager said fares would not rise this year, although the price of fuel had gone up by a "
    "fifth since the autumn and the old boat's engines were due for an overhaul in the summer.",
]
LIBRARY = [
    "The town library will open on Sundays from next month, the first time in its ninety years, after a "
    "volunteer group offered to staff the reading room and the children's corner between noon and five.",
    "Librarians said the Sunday hours were the most requested change in last year's survey, ahead of longer "
    "loans and a quiet room for students revising for their exams in the weeks before the summer.",
    "The volunteers will be trained by the staff over three weekends, and the council has agreed to pay for "
    "the heating and the extra cleaning out of the budget it set aside for the building's repairs.",
    "If the trial goes well, the library hopes to keep the Sunday hours through the winter, when the reading "
    "room is busiest and the bus service that brings readers from the villages runs less often.",
]
TEASER_OPENINGS = [
    "A bakery on the high street has won a regional prize for its rye bread, beating forty other entries from "
    "across the county in a blind tasting held at the agricultural show",
    "Roadworks on the bridge will close one lane for three weeks from Tuesday while engineers replace the "
    "expansion joints that failed during the cold spell in January",
    "The football club's new stand is ready for the first home game of the season, the chairman said, after "
    "builders worked through the night to finish the roof",
    "A retired teacher has written a history of the village school, drawing on registers and photographs "
    "that former pupils lent her over the last two years",
    "The hospital's car park will charge by the hour from June, replacing the flat daily fee that staff and "
    "visitors have paid since it opened",
    "Birdwatchers counted more than sixty species on the marsh during the weekend survey, including a pair of "
    "avocets that have not nested there for a decade",
]
FOOTER = [
    "You are receiving this email because you signed up for the Harbour Gazette morning edition.",
    "Unsubscribe | Update your preferences | Forward to a friend",
    "Was this newsletter forwarded to you? Sign up to get it in your inbox every morning.",
    "The Harbour Gazette, 4 Quay Street, Portside.",
]


def _newsletter(story: list[str]) -> str:
    """An email-style page: the story one <span> per table row, then teasers and footer lines as <p>s."""
    rows = "".join(f"<tr><td style='padding:10px'><span style='font-size:15px'>{p}</span></td></tr>" for p in story)
    links = "".join(
        f"<tr><td><a href='/section/{i}'>Section link number {i} of the site</a></td></tr>" for i in range(6)
    )
    teasers = "".join(
        f"<p><a href='/story/{i}'><b>Headline of other story {i}</b></a><br>{opening}… "
        f"<a href='/story/{i}'>Continue reading on the Gazette</a></p>"
        for i, opening in enumerate(TEASER_OPENINGS)
    )
    footer = "".join(f"<p>{line}</p>" for line in FOOTER)
    return (
        "<html><head><title>Morning edition</title></head><body>"
        f"<table width='100%'><tr><td><table width='600'>{links}<tr><td><h2>Today's story</h2></td></tr>{rows}"
        f"</table></td></tr></table><div class='content'>{teasers}{footer}</div></body></html>"
    )


def test_trafilatura_alone_keeps_the_teasers_and_loses_the_story() -> None:
    # The trait the check is for: both passes keep the <p> block, not the story in the table's spans.
    for fast in (True, False):
        text = extract_module._trafilatura_text(parse(_newsletter(FERRY)), None, fast=fast)
        assert "Continue reading" in text and "second boat" not in text


def test_the_story_is_kept_not_the_teasers_and_footer() -> None:
    ferry, library = (extract(_newsletter(story)).text for story in (FERRY, LIBRARY))
    assert all(paragraph in ferry for paragraph in FERRY)
    assert all(paragraph in library for paragraph in LIBRARY)
    for text in (ferry, library):
        assert "Continue reading" not in text and "bakery on the high street" not in text
        assert "Unsubscribe" not in text


def test_an_article_followed_by_teasers_keeps_the_article() -> None:
    # The article's own paragraphs are prose: the check does not look further (the teasers are trafilatura's
    # business, and it leaves them out here).
    story = "".join(f"<p>{p}</p>" for p in FERRY)
    teasers = "".join(f"<p>{opening}… <a href='/s/{i}'>Read more</a></p>" for i, opening in enumerate(TEASER_OPENINGS))
    page = f"<html><body><article><h1>Ferry</h1>{story}</article><div class='more'>{teasers}</div></body></html>"
    text = extract(page).text
    assert all(paragraph in text for paragraph in FERRY)


def test_a_page_of_teasers_is_not_swapped_for_a_short_blurb() -> None:
    # A front page: the teasers are what it has; the site's one paragraph about itself is no story.
    blurb = " ".join(FOOTER[:1] * 2)
    teasers = "".join(
        f"<div><h3><a href='/s/{i}'>Headline of story {i} on the front page</a></h3><p>{opening}…</p></div>"
        for i, opening in enumerate(TEASER_OPENINGS * 2)
    )
    page = f"<html><body><main>{teasers}</main><div class='about'><span>{blurb}</span></div></body></html>"
    tree = parse(page)
    text = extract_module._trafilatura_text(tree, None, fast=True)
    assert extract_module._prose_instead(text, page, None, extract_module._link_texts(parse(page))[0]) is None


def test_teasers_are_lines_cut_off_with_at_most_a_read_more_after() -> None:
    assert prose.teaser("The opening words of a story, cut off… Continue reading on the Gazette")
    assert prose.teaser("The opening words of a story, cut off...")
    assert not prose.teaser(FERRY[0])
    # An ellipsis inside a paragraph, with the paragraph going on after it, is no cut.
    assert not prose.teaser(f"He paused... and then went on. {FERRY[1]}")
    assert not prose.teaser("Rated supply voltage: 220...240 V AC")


def test_the_main_prose_is_the_deepest_container_of_most_of_it() -> None:
    lines, words = prose.main_prose(parse(_newsletter(FERRY)))
    assert lines == FERRY
    assert words == sum(len(re.findall(r"\w+", paragraph)) for paragraph in FERRY)  # words as \w+ runs


def test_prose_words_leave_out_teasers_short_lines_and_headline_links() -> None:
    headline = "A headline long enough to count as prose if it were not one of the page's own links"
    text = "\n".join([FERRY[0], f"{TEASER_OPENINGS[0]}… Read more", "Unsubscribe | Forward", headline])
    links = {" ".join(headline.lower().replace("'", " ").split())}
    assert prose.prose_words(text, links) == len(re.findall(r"\w+", FERRY[0]))
