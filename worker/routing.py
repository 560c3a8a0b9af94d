"""Which queue an ingest task goes to: one of HOST_QUEUES, by its URL's host.

Politeness lets each host have one request per interval. A poll queues a site's entries all together,
so with one FIFO queue every worker process would pick up the same site's tasks and wait for that
site's turns while the other sites' tasks sat behind them: the whole pool going as fast as one site
allows. Workers consume from every queue, and kombu's Redis transport takes from them in turn, so with
the entries spread over queues by host, the workers move from site to site.
"""

from __future__ import annotations

import zlib

from ingest.urls import host

QUEUE = "copydesk"  # the default queue: everything but the routed ingest tasks
HOST_QUEUES = 16


def queue_for(url: str) -> str:
    """The host queue of url (crc32: the same on every machine and every run, unlike hash())."""
    return f"{QUEUE}.host{zlib.crc32(host(url).encode('utf-8')) % HOST_QUEUES}"


def all_queues() -> list[str]:
    return [QUEUE, *(f"{QUEUE}.host{i}" for i in range(HOST_QUEUES))]
