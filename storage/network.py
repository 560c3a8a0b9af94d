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

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import boilerplate
from storage.boilerplate import to_signed, to_unsigned
from storage.db import insert_rows
from storage.models import Document, NetworkSentence, TemplateSentence

# The carriers of one sentence read to look for three different stories, besides the new ones: the first to
# arrive, one a cluster. A notice shows among the first few stories that carry it.
CARRIERS_READ = 40
NETWORK_CARRIERS = 3  # ingest.boilerplate.network looks for three different stories


def record(session: Session, templates: Mapping[int, Iterable[int]]) -> None:
    """Record which template keys each new document ({id: its keys, unsigned}) carries."""
    rows = [
        {"template": to_signed(key), "document_id": doc_id} for doc_id, keys in templates.items() for key in keys
    ]
    insert_rows(session, TemplateSentence, rows)


def known(session: Session, keys: Collection[int]) -> frozenset[int]:
    """Those of `keys` (unsigned) recorded as network boilerplate."""
    if not keys:
        return frozenset()
    signed = [to_signed(key) for key in keys]
    found: set[int] = set()
    for start in range(0, len(signed), _CHUNK):
        query = select(NetworkSentence.template).where(NetworkSentence.template.in_(signed[start : start + _CHUNK]))
        found.update(to_unsigned(key) for key in session.scalars(query))
    return frozenset(found)


def learn(
    session: Session,
    templates: Mapping[int, frozenset[int]],
    shingles: Callable[[Collection[int]], Mapping[int, frozenset[int]]],
) -> set[int]:
    """The template keys that the new documents ({id: its keys, unsigned}, recorded already) make network
    boilerplate, now recorded as such. `shingles`: the shingle sets of stored documents' texts, by id."""
    wanted = set().union(*templates.values()) - known(session, set().union(*templates.values()))
    if not wanted:
        return set()
    signed = sorted(to_signed(key) for key in wanted)
    enough: list[int] = []
    # Carried by three stories at least: a cluster counts once, a document not settled yet on its own.
    story = func.coalesce(Document.cluster_id * 2, Document.id * 2 + 1)
    for start in range(0, len(signed), _CHUNK):
        part = signed[start : start + _CHUNK]
        counts = (
            select(TemplateSentence.template)
            .join(Document, Document.id == TemplateSentence.document_id)
            .where(TemplateSentence.template.in_(part))
            .group_by(TemplateSentence.template)
            .having(func.count(story.distinct()) >= NETWORK_CARRIERS)
        )
        enough.extend(session.scalars(counts))
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
    signed = sorted(to_signed(key) for key in keys)
    found: set[int] = set()
    for start in range(0, len(signed), _CHUNK):
        part = signed[start : start + _CHUNK]
        found.update(session.scalars(select(TemplateSentence.document_id).where(TemplateSentence.template.in_(part))))
    return found


def _carriers(session: Session, keys: list[int], new: set[int]) -> dict[int, list[int]]:
    """{signed key: the new documents carrying it, and one of the others' of each cluster, CARRIERS_READ at most}.

    The documents of one cluster tell one story: one of them is enough to look for three different stories
    among. A story copied on a thousand sites costs the look one text, not a thousand."""
    found: dict[int, list[int]] = {}
    seen: set[tuple[int, int]] = set()  # (key, cluster) pairs already represented
    for start in range(0, len(keys), _CHUNK):
        query = (
            select(TemplateSentence.template, TemplateSentence.document_id, Document.cluster_id)
            .join(Document, Document.id == TemplateSentence.document_id)
            .where(TemplateSentence.template.in_(keys[start : start + _CHUNK]))
            .order_by(TemplateSentence.template, TemplateSentence.document_id)
        )
        for key, doc, cluster in session.execute(query):
            docs = found.setdefault(key, [])
            if doc in new:
                docs.append(doc)
            elif (cluster is None or (key, cluster) not in seen) and len(docs) < CARRIERS_READ:
                docs.append(doc)
                if cluster is not None:
                    seen.add((key, cluster))
    return {key: docs for key, docs in found.items() if len(docs) >= NETWORK_CARRIERS}


_CHUNK = 500

