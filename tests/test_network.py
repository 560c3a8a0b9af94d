"""Network boilerplate: a sentence three documents of different stories carry, on any sites
(ingest.boilerplate.network, storage.network), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Collection

from pytest import MonkeyPatch
from sqlalchemy import select

from ingest.boilerplate import network, related
from ingest.document import Article
from ingest.fingerprint import fingerprint, templates, text_shingles
from ingest.relation import DUPLICATE, relate
from ingest.text import read_paragraph
from storage.archive import Archive
from storage.boilerplate import stored_hashes
from storage.models import Document, NetworkSentence
from tests.test_archive import ARCHIVE_TABLES

# Three stories of different words, and the notice a syndication network puts under every page it republishes,
# naming the site it stands on: long enough that a copy carrying it adds more new prose than a copy may.
STORIES = {
    "harbour": [
        "The harbour authority opened a second container terminal on Tuesday after four years of dredging.",
        "Officials said the berths would let ships twice as long as before unload within a single tide.",
        "Fishermen who had protested the works said the new breakwater already calmed the inner basin.",
        "The terminal cost more than the port had planned, and the treasury covered the overrun last spring.",
        "Shipping lines have booked weekly calls from March, the authority's director told reporters on the quay.",
        "Crane drivers trained abroad for six months, and a further forty will be hired before the summer.",
        "Residents of the old quarter still worry about trucks queuing along the seafront road at night.",
        "The council promised a bypass, though no route has been chosen and no money has been set aside.",
    ],
    "orchard": [
        "A late frost destroyed most of the apricot blossom in the valley orchards over the weekend.",
        "Growers lit smudge pots and ran sprinklers through the night but temperatures fell too far.",
        "The cooperative expects to pick less than a third of last season's crop this summer.",
        "Insurers sent assessors on Monday, walking the rows with growers to count the damaged buds.",
        "Several families said they would sell their land if the ministry did not extend emergency credit.",
        "Cherries flower later and seem to have escaped, according to the regional agronomy office.",
        "Jam makers in the town fear prices will double before the autumn markets open their stalls.",
        "Meteorologists blamed clear skies and still air, which let the cold settle in the valley floor.",
    ],
    "library": [
        "The city library will stay open until midnight during the exam weeks, the council decided.",
        "Students had collected two thousand signatures asking for quiet rooms after the cafes closed.",
        "Extra security guards will be paid from the reading programme budget until the end of June.",
        "Librarians welcomed the change but asked for more staff on the evening shifts from next year.",
        "The reading rooms on the third floor will be heated again, after a winter of broken radiators.",
        "A pilot last autumn drew over three hundred visitors a night, most of them preparing for finals.",
        "Bus services will run a late loop past the building so that nobody walks home across the park.",
        "The opposition called the plan a stunt and asked why the suburbs' branches close at five.",
    ],
    "stadium": [
        "The football club unveiled plans for a stadium roof that would cover every seat by next season.",
        "Supporters have sat in the rain for decades, and the chairman said the wait was finally over.",
        "Engineers will lift the steel trusses in sections during the summer break between fixtures.",
        "The club borrowed from a regional bank, and will repay the loan from higher ticket prices.",
        "Neighbours asked for floodlights to be dimmed after ten, which the club agreed to consider.",
        "A supporters' trust warned that season tickets were already beyond many young fans.",
        "The architect said the roof would collect rainwater for the pitch and the training ground.",
        "Work starts in May if the planning committee approves the design at its April meeting.",
    ],
}
NOTICE = [
    "Copyright {site}; this report is reproduced here for non-commercial purposes of education and debate.",
    "If you wish to use copyrighted material from this site for purposes of your own, you must ask {site} first.",
]


def page(story: str, site: str, notice: bool, sentences: int = 8) -> Article:
    lines = STORIES[story][:sentences] + [line.format(site=site) for line in NOTICE if notice]
    return Article(text="\n".join(lines), title=f"{story.title()} news", host=f"{site.lower()}.example")


def test_a_notice_naming_other_sites_has_one_template_key() -> None:
    morebikes = read_paragraph(NOTICE[0].format(site="MoreBikes"))
    givewell = read_paragraph(NOTICE[0].format(site="The GiveWell Blog"))
    assert morebikes.hash != givewell.hash
    assert morebikes.templates == givewell.templates != (0,)
    assert read_paragraph(STORIES["harbour"][0]).templates != read_paragraph(STORIES["orchard"][0]).templates
    assert read_paragraph("Read more at MoreBikes.").templates == (0,)  # not prose: no key


def test_three_different_stories_carrying_a_sentence_make_it_boilerplate() -> None:
    texts = {story: fingerprint(page(story, story, True)).shingles for story in ("harbour", "orchard", "library")}
    assert network(texts, ["harbour"])
    # Copies of one story carry all its sentences, on as many sites as copied it: never boilerplate.
    copies = {site: fingerprint(page("harbour", site, True)).shingles for site in ("Alpha", "Beta", "Gamma")}
    assert not network(copies, ["Alpha"])
    # Two stories are not enough, and only triangles through the new carrier are looked for.
    assert not network({**copies, "orchard": texts["orchard"]}, ["orchard"])
    assert not network(texts, ["somebody else"])


def test_an_excerpt_on_a_busy_page_tells_the_story_it_is_cut_from() -> None:
    """A long story, a later one quoting its first two sentences, and an excerpt of those two sentences on a page
    of price tables: the excerpt's prose is the story's, so the three are not three different stories, and the
    two sentences are not boilerplate. (Read whole, the tables made the excerpt look like a story of its own.)"""
    original = Article(text="\n".join(STORIES["harbour"] + STORIES["library"]))
    follow_up = Article(text="\n".join(STORIES["orchard"] + STORIES["harbour"][:2] + STORIES["stadium"]))
    tables = [f"| 2019 model {i} | 3.{i}GHz/8GB/512GB | ${1000 + 50 * i}.00 | ${20 + i} |" for i in range(40)]
    excerpt = Article(text="\n".join(STORIES["harbour"][:2] + tables))
    texts = {
        name: text_shingles(a) for name, a in (("original", original), ("follow-up", follow_up), ("excerpt", excerpt))
    }
    assert not network(texts, ["excerpt"])
    # The follow-up and the original are two stories all the same; the excerpt is the original's.
    assert not related(texts["original"], texts["follow-up"]) and related(texts["excerpt"], texts["original"])


def test_a_copy_under_a_network_notice_is_the_stories_duplicate_once_the_notice_is_known() -> None:
    original = fingerprint(page("harbour", "Harbour", False, sentences=3))
    article = page("harbour", "Copier", True, sentences=3)
    before = relate(fingerprint(article), original)
    assert before.kind != DUPLICATE  # a short story: the notice is as much new prose as the story
    notice = templates(map(read_paragraph, (line.format(site="Anyone") for line in NOTICE)))
    after = relate(fingerprint(article, boilerplate=notice), original)
    assert after.kind == DUPLICATE


def test_network_boilerplate_is_learnt_from_any_order_and_relates_the_copy(archive: Archive) -> None:
    """A short harbour story on its own site, its copy under the network's notice on another, and three other
    stories under the notice on three more sites: in any order the notice is learnt, the copy joins its
    original, and the other stories stay alone."""
    arrivals = {
        "harbour": page("harbour", "Harbour", False, sentences=3),
        "copy": page("harbour", "Copier", True, sentences=3),
        "orchard": page("orchard", "Valley", True),
        "library": page("library", "Council", True),
        "stadium": page("stadium", "Club", True),
    }
    expected = {frozenset({"harbour", "copy"}), *(frozenset({name}) for name in ("orchard", "library", "stadium"))}
    rng = random.Random(3)
    for _ in range(4):
        order = list(arrivals)
        rng.shuffle(order)
        with archive.sessions() as session, session.begin():
            for table in ARCHIVE_TABLES:
                session.execute(Document.metadata.tables[table].delete())
        archive.index.clear()
        for name in order:
            archive.add(arrivals[name], key=name)
        groups: dict[int | None, set[str]] = {}
        with archive.sessions() as session:
            for url, cluster_id in session.execute(select(Document.url, Document.cluster_id)):
                groups.setdefault(cluster_id, set()).add(url)
            learnt = set(session.scalars(select(NetworkSentence.template)))
        assert {frozenset(g) for g in groups.values()} == expected, order
        assert len(learnt) == len(NOTICE), order


def test_a_sentence_learnt_where_a_host_has_it_as_chrome_leaves_that_hosts_pages_settled(
    archive: Archive, monkeypatch: MonkeyPatch
) -> None:
    """Two stories on one site under its notice make the notice that site's chrome, left out of their fingerprints;
    when a third story elsewhere makes it a network's boilerplate, only that page is settled again."""
    settled_again: list[int] = []
    refingerprint = archive.refingerprint

    def recording(doc_ids: Collection[int]) -> None:
        settled_again.extend(doc_ids)
        refingerprint(doc_ids)

    monkeypatch.setattr(archive, "refingerprint", recording)
    first = archive.add(page("orchard", "Daily", True), key="orchard").document_id
    second = archive.add(page("library", "Daily", True), key="library").document_id
    settled_again.clear()  # the first, once the notice turned out to be its host's chrome
    third = archive.add(page("stadium", "Club", True), key="stadium").document_id
    fourth = archive.add(page("harbour", "Harbour", True), key="harbour").document_id
    with archive.sessions() as session:
        learnt = set(session.scalars(select(NetworkSentence.template)))
        rows = {doc.id: doc for doc in session.scalars(select(Document))}
        assert len(learnt) == len(NOTICE)
        assert all(doc.clustered for doc in rows.values())
        notice_keys = templates(map(read_paragraph, (line.format(site="Daily") for line in NOTICE)))
        assert notice_keys <= stored_hashes(rows[first].boilerplate)  # recorded, as a settle would
    assert {third, fourth} <= set(settled_again)
    assert first not in settled_again and second not in settled_again
    assert len({rows[doc].cluster_id for doc in (first, second, third, fourth)}) == 4
