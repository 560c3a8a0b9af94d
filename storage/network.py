"""Learning a network's boilerplate in storage: which documents carry a sentence, and which sentences are
carried by documents of three different stories (the rule is ingest.boilerplate.network's).

Each document's prose sentences are recorded by template key when it is stored (template_sentences). Once it is
settled, a key it gives a third story (a cluster counts once) is looked at: one carrier of each story is read and
compared (a few dozen at most), and a key found to be boilerplate is recorded for good (network_sentences). The
documents carrying it are then settled again, as with new chrome, so that no arrival order changes the clusters.
A crash between a document's settle and this look leaves the key to the next document that carries it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.orm import Session

from ingest import boilerplate
from storage.boilerplate import to_signed, to_unsigned
from storage.db import insert_rows, sqlite_rows
from storage.models import Document, NetworkSentence, TemplateSentence

# The carriers of one sentence read to look for three different stories, besides the new ones: the first to
# arrive, one a cluster. A notice shows among the first few stories that carry it.
CARRIERS_READ = 40
NETWORK_CARRIERS = 3  # ingest.boilerplate.network looks for three different stories


def record(session: Session, templates: Mapping[int, Iterable[int]]) -> None:
    """Record which template keys each new document ({id: its keys, unsigned}) carries."""
    rows = [{"template": to_signed(key), "document_id": doc_id} for doc_id, keys in templates.items() for key in keys]
    insert_rows(session, TemplateSentence, rows)


def known(session: Session, keys: Collection[int]) -> frozenset[int]:
    """Those of `keys` (unsigned) recorded as network boilerplate."""
    return frozenset(to_unsigned(key) for key in _rows(session, _KNOWN, [to_signed(key) for key in keys]))


def learn(
    session: Session,
    templates: Mapping[int, frozenset[int]],
    shingles: Callable[[Collection[int]], Mapping[int, frozenset[int]]],
) -> set[int]:
    """The template keys that the new documents ({id: its keys, unsigned}, recorded already) make network
    boilerplate, now recorded as such. `shingles`: the shingle sets of stored documents' texts, by id."""
    keys = set().union(*templates.values())
    signed = sorted({to_signed(key) for key in keys} - {to_signed(key) for key in known(session, keys)})
    # Carried by three stories at least: a cluster counts once, a document not settled yet on its own. Most keys
    # have one carrier: the documents are counted first (from the key's index alone), their stories then.
    enough = _rows(session, _STORIES, _rows(session, _CARRIED, signed))
    if not enough:
        return set()
    carriers = _carriers(session, enough, set(templates))
    texts = shingles(sorted({doc for docs in carriers.values() for doc in docs}))
    verdicts: dict[frozenset[int], bool] = {}
    newly = set()
    for key, docs in carriers.items():
        readable = {doc: texts[doc] for doc in docs if doc in texts}
        if boilerplate.network(readable, [doc for doc in docs if doc in templates], verdicts):
            newly.add(key)
    insert_rows(session, NetworkSentence, [{"template": key} for key in sorted(newly)])
    return {to_unsigned(key) for key in newly}


def carriers_of(session: Session, keys: Collection[int]) -> set[int]:
    """The documents carrying any of the template keys (unsigned)."""
    return set(_rows(session, _CARRIERS_OF, sorted(to_signed(key) for key in keys)))


def _carriers(session: Session, keys: list[int], new: set[int]) -> dict[int, list[int]]:
    """{signed key: the new documents carrying it, and one of the others' of each cluster, CARRIERS_READ at most}.

    The documents of one cluster tell one story: one of them is enough to look for three different stories
    among. A story copied on a thousand sites costs the look one text, not a thousand."""
    found: dict[int, list[int]] = {}
    seen: set[tuple[int, int]] = set()  # (key, cluster) pairs already represented
    for key, doc, cluster in sorted(_rows(session, _CARRIERS, keys, whole=True)):
        docs = found.setdefault(key, [])
        if doc in new:
            docs.append(doc)
        elif (cluster is None or (key, cluster) not in seen) and len(docs) < CARRIERS_READ:
            docs.append(doc)
            if cluster is not None:
                seen.add((key, cluster))
    return {key: docs for key, docs in found.items() if len(docs) >= NETWORK_CARRIERS}


def _rows(session: Session, statement: tuple[str, Any], values: list[int], whole: bool = False) -> list[Any]:
    """`statement` (its SQLite text, its SQLAlchemy form with an expanding "values" parameter) for `values`,
    _CHUNK at a time: the first column of each row, or the whole rows. On SQLite straight on the driver's
    cursor: these run several times a page, and SQLAlchemy's building of them cost more than SQLite's answer."""
    text, query = statement
    found: list[Any] = []
    for start in range(0, len(values), _CHUNK):
        part = values[start : start + _CHUNK]
        rows = sqlite_rows(session, text, part, part)
        if rows is None:
            rows = list(session.execute(query, {"values": part}))
        found.extend(tuple(row) if whole else row[0] for row in rows)
    return found


_VALUES: BindParameter[list[int]] = bindparam("values", expanding=True)
_STORY = func.coalesce(Document.cluster_id * 2, Document.id * 2 + 1)
_KNOWN = (
    "SELECT template FROM network_sentences WHERE template IN ({})",
    select(NetworkSentence.template).where(NetworkSentence.template.in_(_VALUES)),
)
_CARRIED = (
    f"SELECT template FROM template_sentences WHERE template IN ({{}}) GROUP BY template "
    f"HAVING count(*) >= {NETWORK_CARRIERS}",
    select(TemplateSentence.template)
    .where(TemplateSentence.template.in_(_VALUES))
    .group_by(TemplateSentence.template)
    .having(func.count() >= NETWORK_CARRIERS),
)
_STORIES = (
    "SELECT t.template FROM template_sentences t JOIN documents d ON d.id = t.document_id WHERE t.template IN ({}) "
    f"GROUP BY t.template HAVING count(DISTINCT coalesce(d.cluster_id * 2, d.id * 2 + 1)) >= {NETWORK_CARRIERS}",
    select(TemplateSentence.template)
    .join(Document, Document.id == TemplateSentence.document_id)
    .where(TemplateSentence.template.in_(_VALUES))
    .group_by(TemplateSentence.template)
    .having(func.count(_STORY.distinct()) >= NETWORK_CARRIERS),
)
_CARRIERS = (
    "SELECT t.template, t.document_id, d.cluster_id FROM template_sentences t JOIN documents d ON d.id = t.document_id "
    "WHERE t.template IN ({})",
    select(TemplateSentence.template, TemplateSentence.document_id, Document.cluster_id)
    .join(Document, Document.id == TemplateSentence.document_id)
    .where(TemplateSentence.template.in_(_VALUES)),
)
_CARRIERS_OF = (
    "SELECT DISTINCT document_id FROM template_sentences WHERE template IN ({})",
    select(TemplateSentence.document_id).distinct().where(TemplateSentence.template.in_(_VALUES)),
)
_CHUNK = 500
