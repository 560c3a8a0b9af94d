"""What one text is to another: the same story, one inside the other, or two stories sharing a passage.

Set overlap alone cannot tell a copy from two stories that share boilerplate or a quotation: two briefs
on one network share a disclaimer longer than either, a follow-up quotes most of a short story. What
tells them apart holds on any site, so the decision reads the passages, sentence by sentence:

* a sentence of one text is *shared* when most of its shingles are in the other, *edited* when some
  are (a reworded sentence), *new* when none are;
* only prose counts: a sentence of running text (`Unit.prose`), not a heading, a teaser, a link line or
  an attribution line, which syndicators add and extraction keeps at will; nor a sentence of a network's
  boilerplate (`Unit.boilerplate`) once shared or once the shared text has begun: it is the page's, not the text's;
* a copy adds little new prose of its own: what a syndicator adds (an intro line, a credit, its fixed
  disclaimer once learned as chrome) is short, attribution or boilerplate; a different story adds its
  own prose, and a story that quotes another starts with its own prose before the quotation. A site with
  one page has nothing to learn its notices from: when nothing else makes one text part of the other, the
  sentences after the shared text that speak to the reader or of the page (`Unit.notice`: an affiliate
  disclosure, a newsletter's footer) are left out of what the smaller one adds, and a lead of sentences that
  speak of the page (`Unit.page_notice`: a cookie banner) is no lede of its own (`_besides_notices`).

Relations:
* `duplicate`: neither text adds much new prose, and neither opens with more than an intro line before
  what they share: the same story (verbatim, edited, wrapped). Duplicates merge clusters.
* `contained`: all of the smaller text is in the larger, which goes on with more: an excerpt in its
  original, an original in a copy whose wrapper is not known yet, or a story quoted by a later one. How
  the larger one opens (`Relation.opening`: with the smaller text, after a lede, after more prose of its
  own) and the texts' dates decide which (`ingest.grouping`); a contained text joins one cluster at most,
  so it never bridges two stories.
* anything else (shared boilerplate, a passage both quote, the same topic) is no relation, unless one
  page names the other as its original (`declared`).
* whatever their prose says, two pages whose headlines share no word (ingest.headlines) and whose texts share no
  more than a quotation are two stories (`named`): a later story quoting two paragraphs inside a page whose own
  text is a table reads, by its prose, as an excerpt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ingest.document import Fingerprint, Unit

DUPLICATE = "duplicate"
CONTAINED = "contained"  # the first text is inside the second
CONTAINS = "contains"  # the second text is inside the first


@dataclass(frozen=True)
class RelationPolicy:
    """The thresholds, all relative to the texts' own lengths but the floor on shared words."""

    shared_sentence: float = 0.5  # share of a sentence's shingles found in the other text: shared
    edited_sentence: float = 0.2  # ... at least this, below shared: an edited sentence (neither new nor shared)
    min_shared_words: int = 20  # less shared prose than this proves nothing
    max_new: float = 0.25  # new prose a copy may add, as a share of its prose
    # New prose allowed before the shared text starts (an intro line or two; a dropped or rewritten first
    # sentence of a long story): this many words, or this share of the shared words if more.
    max_lead_words: int = 30
    max_lead: float = 0.1
    # Whatever the prose says, a copy holds most of the smaller text's shingles (prose or not): a few
    # sentences shared by two pages made mostly of headlines and links prove nothing.
    min_containment: float = 0.4
    # The most prose two pages whose headlines name different stories (ingest.headlines) may share and still be two
    # stories: a quotation of a few paragraphs. More is a copy whatever its headline says.
    max_quoted_words: int = 400
    # The least prose two pages carrying one headline must share to be one story (`titled`): a short sentence.
    min_titled_words: int = 10


@dataclass(frozen=True)
class Side:
    """One text's prose, as read against the other's."""

    prose: int  # words of prose
    shared: int  # of those, in shared sentences
    edited: int  # in edited sentences
    new: int  # in new sentences
    lead: int  # new prose words before the first shared sentence
    first: int  # index of the first shared sentence, -1 if none
    last: int  # index of the last shared sentence, -1 if none
    notices: int = 0  # of the new prose words after the shared text starts, those of notices (Unit.notice)
    lead_notices: int = 0  # of the lead's words, those that speak of the page (Unit.page_notice: a cookie banner)
    shared_notices: int = 0  # of the shared words, those of notices (Unit.notice)

    @property
    def adds(self) -> float:
        """New prose after the shared text starts, as a share of the prose from there: what comes before
        it (an intro line) is bounded on its own (`RelationPolicy.max_lead_words`)."""
        rest = self.prose - self.lead
        return (self.new - self.lead) / rest if rest else 0.0

    @property
    def adds_besides_notices(self) -> float:
        """`adds`, its notices left out (`Unit.notice`: a sentence speaking to the reader or of the page)."""
        rest = self.prose - self.lead - self.notices
        return (self.new - self.lead - self.notices) / rest if rest > 0 else 1.0


@dataclass(frozen=True)
class Relation:
    kind: str | None  # DUPLICATE, CONTAINED, CONTAINS, or None
    a: Side
    b: Side
    jaccard: float  # shingle-set resemblance, reported with the relation
    containment: float  # shingle-set containment of the smaller set
    # Both pages carry one headline (`titled`): what the containing text has before the other is its page's, not a
    # story of its own.
    titled: bool = False

    def opening(self, policy: RelationPolicy | None = None) -> int:
        """How the containing text starts before the contained one: 0 with it, 1 with a lede or an intro
        line of its own, 2 with more prose of its own than that (or with a lede, and more prose of its own after
        the other than it holds of it), 3 with more than a lede and much prose of its own after it, 4 after lines
        that are not prose but more than a title (ingest.grouping reads it with dates)."""
        if self.kind not in (CONTAINED, CONTAINS):
            return 0
        policy = policy or RelationPolicy()
        outer = self.b if self.kind == CONTAINED else self.a
        if outer.lead and self.titled:
            # Its lead is not another story's lede: another story has a headline of its own. A template's block before
            # every story (another story's standfirst) on a site with no other page to learn it from as chrome.
            return 1
        if outer.lead > _allowed_lead(self.a, self.b, policy):
            # 3: and it goes on with much prose of its own after it: a story quoting the other, never its source.
            return 3 if outer.new - outer.lead > policy.max_new * outer.prose else 2
        if outer.lead and outer.new - outer.lead > outer.shared:
            # A lede of its own, then more prose of its own after the other text than it holds of it: most of it is
            # another story ("Recall what was reported at the time:" and all of a short story, inside a follow-up).
            # Read as more than a lede: a later text quotes the other, an older one is its source. A wrapper's
            # additions after a story are short, or chrome and boilerplate once learnt.
            return 2
        if outer.lead:
            return 1
        # 4: lines that are not prose before it (headings, a byline, an "As X reported:"), more than a title: not
        # a text that opens with the other (grouping rule 5), nor one with prose of its own before it (rule 3).
        return 4 if outer.first > 1 else 0

    @property
    def whole(self) -> bool:
        """Whether the contained text's prose is all in the containing one, shared or edited: none of it new. A text
        may be inside two (an excerpt, in its story and in an older report of the same event sharing some of its
        sentences): it belongs in the one holding all of it (ingest.grouping)."""
        if self.kind == CONTAINED:
            return self.a.new == 0
        return self.kind == CONTAINS and self.b.new == 0

    @property
    def score(self) -> float:
        """How much of both texts is shared: ranks the clusters a contained text could join."""
        return (self.a.shared + self.b.shared) / max(1, self.a.prose + self.b.prose)


def read_side(
    units: tuple[Unit, ...], other: frozenset[int], policy: RelationPolicy, whole: bool, other_whole: bool
) -> Side:
    """`units` read against the `other` text's shingles. A text with next to no prose (`_whole`: a brief made of
    short lines, a listing) is read whole: its lines are all it has to say. Read against such a text, the lines
    it has are read too (a brief's results table inside a syndicator's long notice): not the lines it lacks,
    which are this text's headings and links."""
    prose = shared = edited = new = lead = notices = lead_notices = shared_notices = 0
    first = last = -1
    for i, unit in enumerate(units):
        if not (unit.prose or whole or other_whole):
            continue
        found = len(unit.shingles & other) / len(unit.shingles) if unit.shingles else 0.0
        if not (unit.prose or whole or found >= policy.shared_sentence):
            continue
        if unit.boilerplate and (first >= 0 or found >= policy.shared_sentence):
            # A network's notice is the page's, not the text's: shared, it proves nothing (two stories of one
            # network share it); after the shared text, it adds no prose. Before the shared text it still
            # counts as new: "Quoting an earlier report from X:" recurs across the stories that quote.
            continue
        prose += unit.words
        if found >= policy.shared_sentence:
            shared += unit.words
            shared_notices += unit.words if unit.notice else 0
            first = i if first < 0 else first
            last = i
        elif found >= policy.edited_sentence:
            edited += unit.words
        else:
            new += unit.words
            if first < 0:
                lead += unit.words
                lead_notices += unit.words if unit.page_notice else 0
            elif unit.notice:
                notices += unit.words
    return Side(prose, shared, edited, new, lead, first, last, notices, lead_notices, shared_notices)


def _whole(units: tuple[Unit, ...], policy: RelationPolicy) -> bool:
    return sum(unit.words for unit in units if unit.prose) < policy.min_shared_words


def relate(a: Fingerprint, b: Fingerprint, policy: RelationPolicy | None = None) -> Relation:
    if a.params != b.params:
        raise ValueError("fingerprints made with different parameters cannot be compared")
    policy = policy or RelationPolicy()
    both, jaccard, containment = _overlap(a, b)
    if not both:
        empty = Side(0, 0, 0, 0, 0, -1, -1)
        return Relation(None, empty, empty, jaccard, containment)
    whole_a, whole_b = _whole(a.units, policy), _whole(b.units, policy)
    side_a = read_side(a.units, b.shingles, policy, whole_a, whole_b)
    side_b = read_side(b.units, a.shingles, policy, whole_b, whole_a)
    held = containment >= policy.min_containment
    kind = _kind(side_a, side_b, policy) if held else None
    if kind is None:
        kind = _besides_notices(a, b, side_a, side_b, policy, held)
    return Relation(kind, side_a, side_b, jaccard, containment)


def unrelated(a: Fingerprint, b: Fingerprint, policy: RelationPolicy | None = None) -> bool:
    """Whether relate(a, b) finds no relation (kind None) whatever their sentences say, from their shingle
    sets alone: reading the sentences is most of relate's cost, and most candidates fail this first.
    declared() may still make a duplicate of such a pair: it reads their sentences."""
    policy = policy or RelationPolicy()
    if a.params != b.params or _overlap(a, b)[2] >= policy.min_containment:
        return False
    # _besides_notices reads a text without its notices, which may leave most of the rest shared.
    return not any(
        inner.shingles_besides_page_notices is not inner.shingles and _held(inner, other, policy)
        for inner, other in ((a, b), (b, a))
    )


def _overlap(a: Fingerprint, b: Fingerprint) -> tuple[int, float, float]:
    """(shared shingles, Jaccard resemblance, containment of the smaller set)."""
    both = len(a.shingles & b.shingles)
    union = len(a.shingles) + len(b.shingles) - both
    smaller = min(len(a.shingles), len(b.shingles))
    return both, both / union if union else 0.0, both / smaller if smaller else 0.0


def declared(relation: Relation, declares: bool, policy: RelationPolicy | None = None) -> Relation:
    """The relation, or a duplicate when one page names the other as its original (its rel=canonical, as
    syndication partners declare) and they share prose: the publisher's own word, which text alone may miss
    (an excerpt of one sentence beside the site's affiliate notice)."""
    policy = policy or RelationPolicy()
    if relation.kind is None and declares and min(relation.a.shared, relation.b.shared) >= policy.min_shared_words:
        return dataclasses.replace(relation, kind=DUPLICATE)
    return relation


def named(relation: Relation, apart: bool, policy: RelationPolicy | None = None) -> Relation:
    """The relation, or none when the pages' headlines name different stories (`apart`: ingest.headlines.named_apart)
    and the texts share no more than a quotation.

    A later story that quotes a few paragraphs of another reads, by its prose, as an excerpt or a copy when its own
    text is a table or a list (standings, a calendar, a box score), which is no prose. Its headline is its own; a copy
    keeps its story's headline, reworded or cut at most. More shared text than a quotation is a copy whatever its
    headline says (a syndicator that retitled the story), and a page's own word on its source (`declared`, `linked`)
    is read after this."""
    policy = policy or RelationPolicy()
    if apart and relation.kind is not None and min(relation.a.shared, relation.b.shared) <= policy.max_quoted_words:
        return dataclasses.replace(relation, kind=None)
    return relation


def linked(relation: Relation, a_links_b: bool, b_links_a: bool, policy: RelationPolicy | None = None) -> Relation:
    """The relation, or one text inside the other when its paragraphs link the other's address and what they share
    opens the other: an excerpt, "the first part of the story" and "Continue reading at <a>". The linking text opens
    with what they share (an intro line at most), whatever its page adds after it; or it adds nothing after it but
    notices, whatever its page puts before it.

    The page of an excerpt goes on with its own chrome (an author box, teasers, a sign-up form), or its template puts
    a block before every story (another story's standfirst); on a site with one page there is nothing to learn it
    from as chrome, and it outweighs a short excerpt. The link is the publisher's word on where the text comes from,
    as a rel=canonical is (`declared`). But a later story links what it quotes too: the link alone makes no relation,
    nor does a quotation between prose of the linking text's own (its lede before, its story going on after), or a
    passage from inside the other text."""
    if relation.kind is not None or not (a_links_b or b_links_a):
        return relation
    policy = policy or RelationPolicy()
    a, b = relation.a, relation.b
    if min(a.shared, b.shared) < policy.min_shared_words:
        return relation
    allowed = _allowed_lead(a, b, policy)
    for inner, outer, links, kind in ((a, b, a_links_b, CONTAINED), (b, a, b_links_a, CONTAINS)):
        # After a block of prose of its own, only when nothing of its own follows: a later story's lede goes on.
        no_story_around = inner.lead <= allowed or inner.adds_besides_notices <= policy.max_new
        if links and no_story_around and outer.lead <= allowed:
            return dataclasses.replace(relation, kind=kind)
    return relation


def titled(
    relation: Relation, same_headline: bool, a_names_b: bool, b_names_a: bool, policy: RelationPolicy | None = None
) -> Relation:
    """The relation, or one text inside the other when both pages carry the same headline (ingest.headlines
    .headline_keys) and share a sentence of prose: a brief, or a page whose extraction kept a sentence or two of its
    story, copied under notices that outweigh it, as no share of either text can tell. Two different stories
    seldom carry one headline of three words or more, and do not share a sentence besides.

    The one inside is the page that names the other as its source (`a_names_b`: its rel=canonical, or a link in its
    paragraphs), as an excerpt under its site's teasers does; else the one that adds less prose to what they share:
    the brief, which a copy wraps in its notices.

    A relation the texts found already is marked `titled`: whatever the containing page has before the other text is
    read as an intro of its own (`Relation.opening` 1), not another story's lede."""
    if not same_headline:
        return relation
    if relation.kind is not None:
        return dataclasses.replace(relation, titled=True)
    policy = policy or RelationPolicy()
    a, b = relation.a, relation.b
    if max(a.shared, b.shared) < policy.min_titled_words:
        return relation
    if a_names_b != b_names_a:
        return dataclasses.replace(relation, kind=CONTAINED if a_names_b else CONTAINS, titled=True)
    a_inside = a.prose - a.shared <= b.prose - b.shared
    return dataclasses.replace(relation, kind=CONTAINED if a_inside else CONTAINS, titled=True)


def _allowed_lead(a: Side, b: Side, policy: RelationPolicy) -> float:
    return max(policy.max_lead_words, policy.max_lead * min(a.shared, b.shared))


def _kind(a: Side, b: Side, policy: RelationPolicy) -> str | None:
    if min(a.shared, b.shared) < policy.min_shared_words:
        return None
    allowed = _allowed_lead(a, b, policy)
    a_long, b_long = a.lead > allowed, b.lead > allowed
    if a_long and b_long:
        return None  # each starts with prose of its own: they share boilerplate or a quotation
    a_copy, b_copy = a.adds <= policy.max_new, b.adds <= policy.max_new
    # The same story: neither adds much, and neither opens with more than an intro line of its own.
    if a_copy and b_copy and max(a.lead, b.lead) <= policy.max_lead_words:
        return DUPLICATE
    # One inside the other, which may open with prose of its own: a quotation in a later text, or a copy
    # that dropped the original's first paragraph. Dates tell which (ingest.grouping).
    if a_copy and not a_long:
        return CONTAINED
    if b_copy and not b_long:
        return CONTAINS
    return None


def _besides_notices(
    a: Fingerprint, b: Fingerprint, side_a: Side, side_b: Side, policy: RelationPolicy, held: bool
) -> str | None:
    """Neither text is inside the other as it stands: one may be, once its notices are left out, on a site with no
    other page to learn them from as chrome. `held`: the shingle containment holds as it stands.

    - After the shared text, the notices (Unit.notice) add no prose: an excerpt under its site's affiliate disclosure
      or newsletter footer.
    - Before it, a lead of sentences that speak of the page (Unit.page_notice) is no lede of its own: an excerpt under
      a cookie banner. A lead with prose of its own among them ("Some context from our earlier coverage:") still is.
      The containment may then be read without the sentences that speak of the page too.
    - Read so, what they share must be more than notices: newsletter footers ("Was this newsletter forwarded to
      you?") that a network has not taught as boilerplate yet prove nothing.

    Only when nothing else relates the texts: a follow-up written in the first person is not made a copy of the
    story it holds."""
    allowed = _allowed_lead(side_a, side_b, policy)
    shared = min(side_a.shared, side_b.shared)
    beyond_notices = min(side_a.shared - side_a.shared_notices, side_b.shared - side_b.shared_notices)
    for inner, side, other, kind in ((a, side_a, b, CONTAINED), (b, side_b, a, CONTAINS)):
        own_lead = side.lead if side.lead > side.lead_notices else 0
        if own_lead > allowed or side.adds_besides_notices > policy.max_new:
            continue
        as_it_stands = held and side.lead <= allowed  # only the notices after the shared text are left out
        if as_it_stands and shared >= policy.min_shared_words:
            return kind
        if beyond_notices >= policy.min_shared_words and (held or _held(inner, other, policy)):
            return kind
    return None


def _held(inner: Fingerprint, other: Fingerprint, policy: RelationPolicy) -> bool:
    """Whether `other` holds enough of `inner`'s shingles besides those of its sentences that speak of the page."""
    kept = inner.shingles_besides_page_notices
    return bool(kept) and len(kept & other.shingles) >= policy.min_containment * len(kept)


# ---- explaining a relation to a person (`copydesk show`) ---------------------------------------------


@dataclass(frozen=True)
class Passage:
    """A run of consecutive shared sentences of the copy."""

    words: int
    opening: str  # its first words
    in_copy: float  # where it starts, as a share of the copy's words before it
    in_original: float  # where its first sentence is in the original, likewise


@dataclass(frozen=True)
class Explanation:
    relation: str  # "near-duplicate", "excerpt", "wrapped", or "none"
    passages: tuple[Passage, ...]
    added: str  # what the copy has that the original lacks, in one line
    linked: bool = False  # the relation rests on the copy's link to the original (`linked`), not on its text alone
    titled: bool = False  # ... on the headline the two carry (`titled`)


NAMES = {DUPLICATE: "near-duplicate", CONTAINED: "excerpt", CONTAINS: "wrapped", None: "none"}


def explain(
    copy: Fingerprint,
    copy_sentences: list[tuple[str, ...]],
    original: Fingerprint,
    links_original: bool = False,
    same_headline: bool = False,
) -> Explanation:
    """Why `copy` is a copy of `original`: the relation, the shared passages, and what the copy added.
    `copy_sentences`: the tokens of each of the copy's units (ingest.fingerprint.unit_sentences); `links_original`:
    whether the copy's paragraphs link the original's address (Article.links); `same_headline`: whether the two
    carry one headline (ingest.headlines.headline_keys)."""
    policy = RelationPolicy()
    by_text = relate(copy, original, policy)
    by_link = linked(by_text, links_original, False, policy)
    relation = titled(by_link, same_headline, links_original, False, policy)
    found = [_found(unit, original.shingles) for unit in copy.units]
    runs: list[tuple[int, int]] = []
    for i, share in enumerate(found):
        if share >= policy.shared_sentence:
            if runs and runs[-1][1] == i:
                runs[-1] = (runs[-1][0], i + 1)
            else:
                runs.append((i, i + 1))
    passages = tuple(
        Passage(
            words=sum(copy.units[i].words for i in range(start, end)),
            opening=" ".join(copy_sentences[start][:8]),
            in_copy=_position(copy.units, start),
            in_original=_position(original.units, _best(copy.units[start], original.units)),
        )
        for start, end in runs
    )
    own = [i for i, share in enumerate(found) if share < policy.edited_sentence]
    network = [i for i in own if copy.units[i].prose and copy.units[i].boilerplate]
    prose = [i for i in own if copy.units[i].prose and not copy.units[i].boilerplate]
    notices = [i for i in prose if copy.units[i].notice]  # told apart: relations leave them out where a copy is read
    own_prose = [i for i in prose if not copy.units[i].notice]
    other = len(own) - len(prose) - len(network)

    def opening(units: list[int]) -> str:
        return f"“{' '.join(copy_sentences[units[0]][:8])}…”"

    if own_prose:
        added = f"{sum(copy.units[i].words for i in own_prose)} words of its own prose, from {opening(own_prose)}"
    else:
        added = "no prose of its own"
    if notices:
        words = sum(copy.units[i].words for i in notices)
        added += f"; {words} words of notices to the reader or of the page, from {opening(notices)}"
    if network:
        added += f"; {len(network)} sentence(s) of a network's boilerplate, from {opening(network)}"
    if other:
        added += f"; {other} other line(s) (headings, links, credits)"
    return Explanation(
        NAMES[relation.kind],
        passages,
        added,
        linked=by_link.kind != by_text.kind,
        titled=relation.kind != by_link.kind,
    )


def _found(unit: Unit, other: frozenset[int]) -> float:
    return len(unit.shingles & other) / len(unit.shingles) if unit.shingles else 0.0


def _position(units: tuple[Unit, ...], index: int) -> float:
    total = sum(unit.words for unit in units)
    return sum(unit.words for unit in units[:index]) / total if total else 0.0


def _best(unit: Unit, units: tuple[Unit, ...]) -> int:
    """The unit of `units` sharing most shingles with `unit`."""
    return max(range(len(units)), key=lambda i: len(unit.shingles & units[i].shingles), default=0)
