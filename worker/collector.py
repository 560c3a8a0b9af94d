"""The garbage collector as copydesk's own processes run it: `copydesk dedup` and the worker's pool processes."""

from __future__ import annotations

import gc

# CPython collects its youngest generation every 700 net allocations of container objects, and every ten of those
# the next, and so on: the archive allocates enough (ORM states, fingerprints' sentence sets, rows) that full
# collections ran every few batches, each walking every object the process holds (trafilatura's, SQLAlchemy's,
# the archive's caches). In bench/pipeline.py collections were 3.6-5.4% of the pipeline's time (full ones 2.5-4.2%;
# gc.callbacks, dev pages x4), bare trafilatura's 0.6-0.9%. With the first threshold at 10,000: 1.3%, and no full
# collection in either; cycles live a little longer, which costs memory only until the next collection.
FIRST_THRESHOLD = 10_000


def tune_collector() -> None:
    """Raise the collector's first threshold to FIRST_THRESHOLD (never lower it). Process-wide: call it only where
    copydesk owns the process (its command line, its worker processes), never on import."""
    first, second, third = gc.get_threshold()
    gc.set_threshold(max(first, FIRST_THRESHOLD), second, third)
