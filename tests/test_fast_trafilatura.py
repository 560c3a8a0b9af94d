"""ingest/fast_trafilatura.py: every stand-in selects exactly what trafilatura's expression selects, and the
text is bare_extraction's."""

from __future__ import annotations

import contextlib
from collections import Counter
from copy import deepcopy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml.etree import XPath, tostring
from trafilatura import core as trafilatura_core
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Document as PageMetadata
from trafilatura.settings import Extractor

from ingest import extract as extract_module
from ingest import fast_trafilatura
from ingest.extract import ExtractionError, parse
from ingest.fast_trafilatura import STAND_INS, Slot, StandIn, in_place, usable
from tests.conftest import SEEDS
from tests.devsubset import hard_slice

# One page with something for each expression to find, and its near misses: attributes in both orders,
# matching siblings (BODY_XPATH keeps the first of each), case differences, empty and absent attributes.
PAGE = """<html><head><style>p {}</style><script>var a;</script></head><body>
<div class="infinite-scroll"><p>Next story</p></div><section id="infinitescroll"><h1>Kept</h1></section>
<aside class="mvp-post-add-box"><h1>Gone anyway</h1></aside><div class="elementor-share-buttons x">Share</div>
<div id="comments"><p>First!</p></div><div id="commentary">An essay</div><ol class="comment-list"><li>Hi</li></ol>
<ul id="disqus_thread"><li>Kept: a list</li></ul><details class="article-comments">More</details>
<main><div class="post">One</div><div class="entry">Two</div><div itemprop="articleBody">Three</div></main>
<article><div id="articleContent"><div class="article-body">Nested</div></div>
<div class="post-body">Sibling</div></article>
<section class="Post">Case</section><span role="Navigation">Menu</span><p data-component="MostPopularStories">Top</p>
<div class="x" id="cookie-notice">Consent</div><div id="x" class="cookie-bar">Consent</div>
<p data-lp-replacement-content="">Swap</p><span class="social-links">Follow</span><div id="ad-top">Ad</div>
<div class="comments-title">Comments</div><div id="reply-1">Re</div><div class="x" id="reply-2">Re</div>
<div style="display:none">Hidden</div><div style="color: red" id="hidden-box">Hidden</div>
<div id="y" style="hidden">Style second</div><div aria-hidden="true">Icon</div><div class="" id="">Empty</div>
<footer>Contact</footer><div class="page-footer">Footer</div><div id="site-footer" class="x">Footer</div>
<fencedframe>Frame</fencedframe><template>T</template><svg><text>S</text></svg><div id="Cookie-Banner">C</div>
<!-- a comment --><?pi x?></body></html>"""


@pytest.mark.parametrize(
    ("slot", "original", "stand_in"), STAND_INS, ids=[f"{slot.name}-{slot.index}" for slot, _, _ in STAND_INS]
)
def test_a_stand_in_selects_what_its_expression_selects(slot: Slot, original: XPath, stand_in: StandIn) -> None:
    tree = parse(PAGE)
    selected = original(tree)
    assert selected, "the page must give the expression something to find"
    assert stand_in(tree) == selected
    for element in tree.iter("body", "main", "article"):  # from inner context nodes too
        assert stand_in(element) == original(element)


def test_all_written_stand_ins_are_in_use() -> None:
    # The installed trafilatura is the one they were written for: a mismatch means a release changed them.
    assert len(STAND_INS) == len(fast_trafilatura._WRITTEN_FOR) == 7


def test_a_changed_expression_keeps_trafilaturas_own() -> None:
    slot, _, _ = STAND_INS[0]
    changed = Slot(slot.module, slot.name, slot.index, "0" * 16, slot.select)
    missing = Slot(slot.module, "NO_SUCH_XPATH", 0, slot.digest, slot.select)
    assert usable([changed, missing]) == []
    assert [entry[0] for entry in usable([slot])] == [slot]


def test_stand_ins_are_in_place_only_while_extraction_runs() -> None:
    before = [slot.get() for slot, _, _ in STAND_INS]
    assert before == [original for _, original, _ in STAND_INS]
    with pytest.raises(RuntimeError), in_place():
        with in_place():
            assert [slot.get() for slot, _, _ in STAND_INS] == [stand_in for _, _, stand_in in STAND_INS]
        assert [slot.get() for slot, _, _ in STAND_INS] == [stand_in for _, _, stand_in in STAND_INS]
        raise RuntimeError
    assert [slot.get() for slot, _, _ in STAND_INS] == before


def test_on_real_pages_every_call_gets_what_the_expression_gives() -> None:
    # Checked where trafilatura calls them, in the fast and the thorough pass, on the trees it builds.
    calls: Counter[str] = Counter()
    wrong: list[str] = []

    def checked(slot: Slot, original: XPath, stand_in: StandIn) -> Any:
        def call(tree: Any, **variables: Any) -> Any:
            expected = original(tree, **variables)
            calls[slot.name] += 1
            if stand_in(tree, **variables) != expected:
                wrong.append(slot.name)
            return expected

        return call

    pages = [*hard_slice().pages.values(), *(path.read_bytes() for path in sorted(SEEDS.glob("*.html")))]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_trafilatura, "STAND_INS", [(s, o, checked(s, o, i)) for s, o, i in STAND_INS])
        for html in pages:
            for fast in (True, False):
                with contextlib.suppress(ExtractionError):
                    extract_module._trafilatura_text(parse(html), None, fast=fast)
    assert wrong == []
    assert set(calls) == {slot.name for slot, _, _ in STAND_INS}


@pytest.mark.parametrize("fast", [True, False])
def test_the_direct_pass_gives_bare_extractions_text(fast: bool) -> None:
    assert fast_trafilatura.DIRECT, "bare_extraction changed: check `text` against it and pin the new digest"
    pages = [*hard_slice().pages.values(), *(path.read_bytes() for path in sorted(SEEDS.glob("*.html")))]
    pages += [b"<html><body><p>Too short.</p></body></html>", b"<html><body></body></html>"]
    texts = []
    for html in pages:
        direct = fast_trafilatura.text(parse(html), "https://example.org/a", fast)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fast_trafilatura, "DIRECT", False)
            assert fast_trafilatura.text(parse(html), "https://example.org/a", fast) == direct
        texts.append(direct)
    assert sum(bool(text) for text in texts) >= len(pages) - 3 and "" in texts


def assert_same_text(html: bytes, fast: bool, patched: tuple[str, Any], switched_off: str) -> None:
    """The text of a page with one of fast_trafilatura's functions replaced (`patched`: its name, the stand-in) is the
    text with the shortcut it checks turned off (`switched_off`: the flag's name)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_trafilatura, *patched)
        text = fast_trafilatura.text(parse(html), "https://example.org/a", fast)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_trafilatura, switched_off, False)
        assert fast_trafilatura.text(parse(html), "https://example.org/a", fast) == text


def test_the_fast_pass_without_the_backup_gives_the_same_text() -> None:
    assert fast_trafilatura.WITHOUT_BACKUP, "trafilatura changed where it reads its backup tree: check and re-pin"
    original, stand_in = fast_trafilatura._ORIGINAL_PREPARE_TREE, fast_trafilatura._prepare_tree
    assert trafilatura_core._prepare_tree is original
    calls: Counter[bool] = Counter()  # by options.fast: the first pass, and the recall retry, of each page

    def counted(tree: Any, options: Any, url: str | None) -> Any:
        calls[options.fast] += 1
        prepared = stand_in(tree, options, url)
        assert (prepared[1] is None) == options.fast  # the backup is skipped in the fast pass only
        return prepared

    pages = [*hard_slice().pages.values(), *(path.read_bytes() for path in sorted(SEEDS.glob("*.html")))]
    for html in pages:
        for fast in (True, False):
            assert_same_text(html, fast, ("_prepare_tree", counted), switched_off="WITHOUT_BACKUP")
    assert calls[True] > len(pages) and calls[False] >= len(pages)  # recall retries ran too
    assert trafilatura_core._prepare_tree is original  # back once extraction is over


def test_the_fast_sequence_gives_trafilaturas_text_and_measures_the_page_only_when_open() -> None:
    assert fast_trafilatura.FAST_SEQUENCE, "trafilatura_sequence or html2txt changed: check _fast_sequence and re-pin"
    bound, measure = fast_trafilatura._page_text_bound, trafilatura_core.html2txt
    counts: Counter[str] = Counter()

    def checked_bound(tree: Any) -> int:
        counts["bound"] += 1
        assert bound(tree) >= len(measure(tree))  # an upper bound, on every tree it is asked about
        return bound(tree)

    def counted_measure(tree: Any) -> str:
        counts["measure"] += 1
        return measure(tree)

    pages = [*hard_slice().pages.values(), *(path.read_bytes() for path in sorted(SEEDS.glob("*.html")))]
    # A short story on a page of long link lists: the fast result covers little of the page, trafilatura escalates.
    menu = "".join(f"<li><a href='/s{i}'>Section number {i} of the site</a></li>" for i in range(300))
    pages.append(f"<html><body><ul>{menu}</ul><p>{'The council met on Tuesday. ' * 12}</p></body></html>".encode())
    for html in pages:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fast_trafilatura, "_page_text_bound", checked_bound)
            patch.setattr(trafilatura_core, "html2txt", counted_measure)
            fast = fast_trafilatura.text(parse(html), "https://example.org/a", True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fast_trafilatura, "FAST_SEQUENCE", False)
            assert fast_trafilatura.text(parse(html), "https://example.org/a", True) == fast
    assert counts["bound"] > counts["measure"] > 0  # settled by the bound on some pages, measured on others


def test_the_fast_pass_remakes_its_backup_only_when_it_reads_it_and_gives_the_same_text() -> None:
    assert fast_trafilatura.LAZY_BACKUP, "trafilatura changed extract_content: check _extract_content and re-pin"
    made: list[int] = []
    lazy = fast_trafilatura._extract_content

    def counted(cleaned_tree: Any, options: Any, backup: Any) -> Any:
        kept = tostring(deepcopy(cleaned_tree))  # the backup trafilatura would have made

        def remade() -> Any:
            made.append(1)
            tree = backup()
            assert tostring(tree) == kept
            return tree

        return lazy(cleaned_tree, options, remade)

    pages = [*hard_slice().pages.values(), *(path.read_bytes() for path in sorted(SEEDS.glob("*.html")))]
    # Pages whose main pass finds too little, having taken some of the page or none: trafilatura recovers their wild
    # paragraphs from the backup.
    loose = b"<div>" + b"Loose text of the page. " * 30 + b"</div>"
    pages.append(b"<html><body><div><p>A short note.</p></div>" + loose + b"</body></html>")
    pages.append(b"<html><body><article><p>A short note of the day.</p></article>" + loose + b"</body></html>")
    for html in pages:
        assert_same_text(html, True, ("_extract_content", counted), switched_off="LAZY_BACKUP")
    assert 0 < len(made) < len(pages)  # made again on some pages only


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("url", [None, "https://example.org/a", "https://example.org/\udcff"])
def test_the_options_are_those_extractor_makes(fast: bool, url: str | None) -> None:
    made = Extractor(output_format="python", fast=fast, comments=False, tables=True, url=url)
    copied = fast_trafilatura._options(fast, url)
    assert copied is not fast_trafilatura._options(fast, url)  # a copy each call: trafilatura may change one
    for name in Extractor.__slots__:
        assert getattr(copied, name) == getattr(made, name), name


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(['"', "\\", " ", "\n", "\t", "\x1c", "\u00a0", "\u2003", "a", "{", ":"])))
def test_minify_json_is_trafilaturas_expression(text: str) -> None:
    assert fast_trafilatura.FAST_META_JSON, "extract_meta_json changed: check meta_json and re-pin"
    assert fast_trafilatura.minify_json(text) == trafilatura_metadata.JSON_MINIFY.sub(r"\1", text)


def test_meta_json_reads_what_trafilatura_reads() -> None:
    pages = [*hard_slice().pages.values(), *(path.read_bytes() for path in sorted(SEEDS.glob("*.html")))]
    ld = '{"@type": "NewsArticle", "headline": "A  headline", "author": {"name": "Ann Lee"}}'
    site = '{"@type": "Organization", "name": "The  Site"}'
    pages.append(
        f"""<html><head><script type="application/ld+json">{ld}</script><script>var x;</script>
        <script type="application/settings+json">{{"a": 1,}}</script></head><body>
        <script type="application/ld+json">{site}</script></body></html>""".encode()
    )
    fields = [name for name in PageMetadata.__slots__ if name not in ("body", "commentsbody")]  # new elements each
    found = 0
    for html in pages:
        tree = parse(html)
        expected = trafilatura_metadata.extract_meta_json(tree, PageMetadata())
        got = fast_trafilatura.meta_json(tree, PageMetadata())
        assert {name: getattr(got, name) for name in fields} == {name: getattr(expected, name) for name in fields}
        found += any(getattr(got, name) for name in fields)
    assert found >= len(pages) // 2
