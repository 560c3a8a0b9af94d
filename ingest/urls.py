"""One spelling per URL, so that a story reached through a feed, a sitemap and a shared link is fetched once.

courlan does the normalisation (scheme and host case, default ports, sorted query, tracking parameters);
fragments are dropped on top of that because they never change what the server sends.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url

from ingest.fetch import FetchError, check_url


def normalise(url: str) -> str:
    """The key a URL is queued, stored and looked up under. Raises FetchError for what cannot be fetched."""
    url = check_url(url)
    try:
        cleaned = normalize_url(url)
    except ValueError as err:  # courlan rejects some queries outright (e.g. a language filter)
        raise FetchError("invalid_url", f"{url!r}: {err}") from None
    parts = urlsplit(cleaned)
    # "http://host" and "http://host/" are the same resource.
    return check_url(urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, "")))


def origin(url: str) -> str:
    """scheme://host[:port]: the scope of a robots.txt file."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def host(url: str) -> str:
    """The server a request goes to, whatever the port or scheme: the unit of politeness."""
    return (urlsplit(url).hostname or "").lower()
