"""extract's recall guard, and the page traits it must come through: comments, bad bytes, Unicode form."""

from __future__ import annotations

import unicodedata
from typing import Any

import trafilatura

from ingest import extract as extract_module
from ingest import recall_signals
from ingest.extract import PageMetadata, extract, parse

NEWSLETTER = (
    "Sign up for the Morning Briefing newsletter and get the day's most important stories from our newsroom "
    "delivered to your inbox every weekday morning, free of charge, with no advertising and an easy way to "
    "unsubscribe at any time you like. We respect your privacy and never share your address with anyone."
)


def _newsletter_page(story: str, box_in_column: bool = False) -> str:
    """A newsletter-style template: the site's sign-up box is the page's <article>, its story a plain column;
    the box before the column, or inside it after the story."""
    paragraphs = "".join(f"<p>Paragraph {i}: {story}</p>" for i in range(18))
    box = f"<div class='newsletter'><article><p>{NEWSLETTER}</p></article></div>"
    if box_in_column:
        return f"<html><body><div class='wrap'><div class='col'>{paragraphs}{box}</div></div></body></html>"
    return f"<html><body>{box}<div class='wrap'><div class='col'>{paragraphs}</div></div></body></html>"


HARBOUR = (
    "the harbour authority said on Tuesday that the new container terminal would open in spring, after two "
    "years of delays caused by a dispute over dredging permits and the cost of the sea wall."
)
COUNCIL = (
    "the city council voted on Wednesday to close the old swimming baths for repairs, after an inspection found "
    "cracks in the roof beams and water damage in the changing rooms."
)


def test_the_fast_pass_alone_keeps_the_sites_sign_up_box() -> None:
    # What the guard is for: without it, both stories of this site would be the same 60 words.
    for story in (HARBOUR, COUNCIL):
        fast = extract_module._trafilatura_text(parse(_newsletter_page(story)), None, fast=True)
        assert fast.startswith("Sign up for the Morning Briefing") and "Paragraph" not in fast


def test_the_guard_keeps_the_story_not_the_sites_recurring_text() -> None:
    harbour, council = (extract(_newsletter_page(story)).text for story in (HARBOUR, COUNCIL))
    assert "container terminal would open in spring" in harbour and "Morning Briefing" not in harbour
    assert "swimming baths" in council and "Morning Briefing" not in council
    assert harbour != council


def test_the_guard_keeps_the_story_when_the_sign_up_box_follows_it() -> None:
    # The box inside the story's column, after it: the fast pass keeps the box, the thorough pass the story
    # and then the box. The story in front is far longer than the box: it is the article, not a notice.
    for story in (HARBOUR, COUNCIL):
        page = _newsletter_page(story, box_in_column=True)
        assert extract_module._trafilatura_text(parse(page), None, fast=True).startswith("Sign up for")
        thorough = extract_module._trafilatura_text(parse(page), None, fast=False)
        assert thorough.startswith("Paragraph 0") and thorough.endswith(NEWSLETTER)
        assert extract(page).text.startswith("Paragraph 0: " + story)


def test_the_guard_does_not_swap_a_post_for_the_teasers_around_it() -> None:
    # A blog's front page: one post in full in its <article>, then the other posts as cut-off excerpts in
    # paragraphs. The thorough pass takes the whole listing; the post is the article.
    post = "".join(f"<p>Post sentence {i} says what the author thinks about love and patience.</p>" for i in range(4))
    teaser = (
        "<div class='teaser'><h2><a href='/p/{i}'>Other post {i}</a></h2><p>The opening lines of another post "
        "about family, faith and optimism, cut off where the blog's template stops showing it to readers…</p></div>"
    )
    teasers = "".join(teaser.format(i=i) for i in range(30))
    page = f"<html><body><article><h1>Love</h1>{post}</article><section>{teasers}</section></body></html>"
    text = extract(page).text
    assert "Post sentence 3 says" in text and "Other post" not in text and "opening lines" not in text


def test_teasers_are_added_lines_that_mostly_end_cut_off() -> None:
    shorter = "The post itself, in one line of more than ten words, as the fast pass kept it."
    cut = "\n".join(f"Teaser {i} begins like a story and stops in the middle of its second line …" for i in range(3))
    whole = "\n".join(f"Paragraph {i} of the same story goes on, as an article's paragraphs do." for i in range(3))
    assert recall_signals.teasers(f"{shorter}\n{cut}", shorter)
    assert not recall_signals.teasers(f"{shorter}\n{whole}", shorter)


def _article_page(body: str, head: str = "") -> str:
    return (
        f"<html><head>{head}<title>Harbour</title></head><body><article><h1>Harbour</h1>{body}</article></body></html>"
    )


STORY = "".join(f"<p>Paragraph {i}: {HARBOUR}</p>" for i in range(5))


def test_comments_and_processing_instructions_stay_out_of_the_text() -> None:
    # A commented-out address block with its raw tags inside a paragraph, a template's leftover marker, and a
    # processing instruction: trafilatura's parser drops all three, and so must copydesk's.
    body = (
        "<p>Paragraph 0: the harbour authority said<!-- <div class='address'><b>Port office</b>, Quay 4</div> --> "
        "on Tuesday that the terminal would open in spring.</p><!--smart_paging_autop_filter-->"
        f"<?php echo 'x'; ?>{STORY}"
    )
    page = _article_page(body)
    text = extract(page).text
    assert "the harbour authority said on Tuesday that the terminal would open in spring." in text
    for leaked in ("Port office", "address", "smart_paging", "echo"):
        assert leaked not in text
    assert text == trafilatura.extract(page, include_comments=False)


def test_a_utf8_page_with_a_few_bad_bytes_stays_utf8() -> None:
    # Declared UTF-8, German text, and two stray windows-1252 bytes pasted in: read whole as windows-1252 it came
    # out "schÃ¶n"; trafilatura keeps the UTF-8 and replaces the two bytes. (Two slips among 36 characters read
    # right: the real pages had one per 25 to 500.)
    body = "".join(
        f"<p>Absatz {i}: So schön winterlich war es lange nicht, sagt die Försterin über den Wald.</p>"
        for i in range(12)
    )
    page = _article_page(body, '<meta charset="utf-8">').encode().replace(b"Absatz 2", b"Absatz \x932\x94")
    text = extract(page).text
    assert "So schön winterlich" in text and "Ã" not in text and "Absatz \ufffd2\ufffd" in text
    # (On the pages of its evaluation set trafilatura's charset guess reads them as UTF-8; on one this small it
    # guesses a Central European charset, so the comparison is with its text of the page read as UTF-8.)
    assert text == trafilatura.extract(page.decode("utf-8", "replace"), include_comments=False)


def test_a_page_in_its_declared_single_byte_charset_is_read_in_it() -> None:
    # ISO-8859-2 Polish: every byte decodes, so the declared charset is trusted (trafilatura guesses another).
    body = "".join(
        f"<p>Akapit {i}: Jak pomagać osobie niewidomej, żeby nie zaszkodzić, mówią eksperci.</p>" for i in range(6)
    )
    page = _article_page(body, '<meta charset="ISO-8859-2">').encode("iso-8859-2")
    assert "Jak pomagać osobie niewidomej, żeby nie zaszkodzić" in extract(page).text


def test_windows_1252_under_a_utf8_header_is_still_windows_1252() -> None:
    # The bad bytes are all the page's non-ASCII: no UTF-8 read right, so it is not a UTF-8 page with slips.
    body = "".join(
        f"<p>Absatz {i}: So schön winterlich war es lange nicht, sagt die Försterin „heute“.</p>" for i in range(6)
    )
    page = _article_page(body, '<meta charset="utf-8">').encode("windows-1252")
    assert "So schön winterlich war es lange nicht, sagt die Försterin „heute“." in extract(page).text


def test_the_text_is_nfc_as_trafilatura_returns_it() -> None:
    decomposed = unicodedata.normalize("NFD", "Die Försterin sagt, der Wald sei schön; আমি বাংলায় গান গাই।")
    body = "".join(f"<p>Absatz {i}: {decomposed} Mehr dazu morgen früh in der Zeitung.</p>" for i in range(6))
    page = _article_page(body)
    text = extract(page).text
    assert unicodedata.is_normalized("NFC", text) and "Försterin" in text and "বাংলায়" in text
    assert text == trafilatura.extract(page, include_comments=False)


def test_a_long_list_of_headlines_is_checked_like_a_short_one() -> None:
    # The template's article container holds 40 linked headlines (342 words); the story is in plain <div>s the
    # fast pass does not look in first. Only the headline check can see it: the story is not in <p> elements.
    headlines = "".join(
        f"<p><a href='/s/{i}'>Council story number {i} about the harbour budget vote</a></p>" for i in range(40)
    )
    story = "".join(
        f"<div>Line {i}: the harbour authority said on Tuesday that the new container terminal, which cost more "
        "than planned, would open in spring, after two years of delays, disputes over permits, and a long "
        "argument about the sea wall.</div>"
        for i in range(30)
    )
    page = (
        f"<html><body><div class='main'><div class='entry-content'>{headlines}</div></div>"
        f"<div id='x'><div>{story}</div></div></body></html>"
    )
    fast = extract_module._trafilatura_text(parse(page), None, fast=True)
    assert fast.startswith("Council story number 0") and len(fast.split()) >= 200
    text = extract(page).text
    assert text.startswith("Line 0: the harbour authority said") and "Council story" not in text


def test_the_guard_does_not_put_the_pages_other_prose_in_front_of_a_whole_story() -> None:
    # A short story in its <article>, a cookie notice before it and a dialog of community rules after it in
    # the same wrapper: the page's paragraphs dwarf the story, so the guard runs the thorough pass, which
    # opens with the notice. The story is what the page says; the notice and the rules are every page's.
    story = "".join(f"<p>Report {i}: {COUNCIL.capitalize()}</p>" for i in range(3))
    notice = (
        "We use cookies and similar tools on this website to improve your experience, to show you personalised "
        "content and to analyse our traffic. By continuing to browse you agree to this."
    )
    rules = "".join(
        f"<p>Rule {i}: comments must respect the other readers of this site and may be removed by the "
        "moderators without any notice if they break these rules of the community.</p>"
        for i in range(25)
    )
    page = (
        f"<html><body><div class='page'><p>{notice}</p><div class='main'><article><h1>Baths closed</h1>{story}"
        f"</article></div><div class='dialog'><h2>Community standards</h2>{rules}</div></div></body></html>"
    )
    thorough = extract_module._trafilatura_text(parse(page), None, fast=False)
    assert thorough.startswith("We use cookies") and "Rule 24" in thorough  # what the guard would have taken
    text = extract(page).text
    assert text.startswith("Baths closed") and "Report 2: The city council voted" in text
    assert "cookies" not in text and "Rule 0" not in text


def _excerpt_page(sources: int = 20) -> str:
    """A short story in its <article> under its headline, a link to the rest, and a long list of sources after it."""
    cited = "".join(
        f'<p>Port Gazette, "Dredging permits and the sea wall dispute, part {i}", a report of the regional planning '
        f"office on the shipping lanes, accessed Nov. {i}, 2019</p>"
        for i in range(sources)
    )
    headline = "Container terminal opening delayed to spring"
    return (
        f"<html><head><title>{headline}</title></head><body><div class='main'><article><h1>{headline}</h1>"
        f"<p>The terminal story: {HARBOUR}</p><p><a href='https://example.org/terminal'>Read the rest of this story "
        f"at the Port Gazette</a></p></article></div><section class='sources'><h3>Our sources</h3>{cited}</section>"
        "</body></html>"
    )


def test_the_guard_keeps_a_short_story_whose_headline_the_thorough_pass_lost() -> None:
    # An excerpt on a busy page: the page's paragraphs dwarf it, so the guard runs the thorough pass, which takes
    # the list of sources instead, longer and without a word of the headline. The excerpt is the article.
    page = _excerpt_page()
    assert extract_module._trafilatura_text(parse(page), None, fast=True).startswith("Container terminal opening")
    thorough = extract_module._trafilatura_text(parse(page), None, fast=False)
    assert thorough.startswith("Our sources") and "harbour authority" not in thorough  # what the guard would take
    text = extract(page).text
    assert "The terminal story: the harbour authority said" in text and "Port Gazette, " not in text


def test_one_word_of_a_short_headline_is_no_evidence_for_the_fast_text() -> None:
    metadata = PageMetadata()
    metadata.title = "Axios Future"
    # The newsletter's name, which its chrome repeats: the story the thorough pass found may lack a word of it.
    fast = "Welcome back to Axios Future."
    assert not extract_module._lost_headline("Axios found a new breed of video surveillance…", fast, metadata)
    metadata.title = "Future"
    assert not extract_module._lost_headline("A new breed of video surveillance…", fast, metadata)
    metadata.title = "Container terminal opening delayed to spring"
    assert extract_module._lost_headline("Our sources: a list", "Container terminal opening delayed", metadata)
    # Any of three or more: the thorough text holds two of the fast text's four.
    assert extract_module._lost_headline("Container terminal news", "Container terminal opening delayed", metadata)
    assert not extract_module._lost_headline("Container terminal opening delayed, more", "Container opening", metadata)


def _sectioned_page() -> str:
    sections = "".join(
        f"<h2>Section heading {i} of the harbour story</h2><p>Section {i} paragraph: {HARBOUR}</p>" for i in range(4)
    )
    return _article_page(sections)


def test_headed_paragraphs_pair_each_subheading_with_the_opening_of_its_paragraph() -> None:
    pairs = recall_signals.headed_paragraphs(parse(_sectioned_page()))
    assert pairs[0] == ("Section heading 0 of the harbour story", "Section 0 paragraph: the harbour authority said on")
    assert len(pairs) == 4
    # A heading followed by a list, or by a paragraph too short to recognise, pairs with nothing.
    page = _article_page("<h2>Contents</h2><ul><li>One</li></ul><h3>Note</h3><p>Short.</p>")
    assert recall_signals.headed_paragraphs(parse(page)) == []


def test_a_fast_text_that_lost_the_subheadings_is_checked_by_the_thorough_pass(monkeypatch: Any) -> None:
    # As on the templates the headings check is for: the fast pass keeps the paragraphs and drops every heading
    # between them; the thorough pass keeps both, and wins.
    real = extract_module._trafilatura_text
    runs: list[bool] = []

    def fast_drops_headings(tree: Any, url: str | None, fast: bool) -> str:
        runs.append(fast)
        text = real(tree, url, fast)
        return "\n".join(line for line in text.splitlines() if "heading" not in line) if fast else text

    monkeypatch.setattr(extract_module, "_trafilatura_text", fast_drops_headings)
    text = extract(_sectioned_page()).text
    assert runs == [True, False]
    assert "Section heading 3 of the harbour story" in text and "Section 3 paragraph" in text


def test_a_fast_text_with_its_subheadings_is_not_checked(monkeypatch: Any) -> None:
    real = extract_module._trafilatura_text
    runs: list[bool] = []

    def counting(tree: Any, url: str | None, fast: bool) -> str:
        runs.append(fast)
        return real(tree, url, fast)

    monkeypatch.setattr(extract_module, "_trafilatura_text", counting)
    assert "Section heading 3 of the harbour story" in extract(_sectioned_page()).text
    assert runs == [True]


def _divs_page(lines: int) -> str:
    """A story in <div>s, not <p>s, and two short paragraphs: the fast text is longer than the page's paragraphs."""
    story = "".join(f"<div>Line {i}: {HARBOUR}</div>" for i in range(lines))
    return _article_page(f"<p>A short standfirst of the story.</p><div class='body'>{story}</div><p>Photo: AP.</p>")


def _fast_keeps(lines: int, runs: list[bool], monkeypatch: Any) -> None:
    """Make the fast pass keep only the first `lines` lines, as on the templates the outside check is for."""
    real = extract_module._trafilatura_text

    def partial(tree: Any, url: str | None, fast: bool) -> str:
        runs.append(fast)
        text = real(tree, url, fast)
        return "\n".join(text.splitlines()[:lines]) if fast else text

    monkeypatch.setattr(extract_module, "_trafilatura_text", partial)


def test_a_fast_text_outside_the_paragraphs_that_lost_most_of_the_page_is_checked(monkeypatch: Any) -> None:
    runs: list[bool] = []
    _fast_keeps(4, runs, monkeypatch)
    text = extract(_divs_page(12)).text
    assert runs == [True, False] and "Line 11:" in text


def test_a_fast_text_outside_the_paragraphs_that_holds_the_page_is_not_checked(monkeypatch: Any) -> None:
    runs: list[bool] = []
    _fast_keeps(100, runs, monkeypatch)
    assert "Line 11:" in extract(_divs_page(12)).text
    assert runs == [True]
