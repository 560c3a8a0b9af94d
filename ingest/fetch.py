"""Fetch one web page safely: SSRF-proof, size-capped, time-capped, html-only.

Every hop resolves the host here, rejects the whole hop if any resolved address is
non-public, and then connects to exactly the addresses that were checked, so a
DNS answer cannot change between the check and the connect.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from urllib3 import BaseHTTPResponse, HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CONDITIONAL = frozenset({"if-none-match", "if-modified-since"})
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
_CTRL = re.compile(r"[\x00-\x1f\x7f]")
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")  # inet_aton forms: 2130706433, 0x7f.1, 0177.0.0.1
_FAMILIES = (socket.AF_INET, socket.AF_INET6)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Spelled out (on top of ipaddress's is_global) so the policy does not depend on the
# Python patch level, whose is_private/is_global tables have changed over time.
_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10",
        "fec0::/10", "ff00::/8", "fd00:ec2::254/128",
    )
)  # fmt: skip


@functools.cache
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str = "copydesk/0.1 (+https://example.invalid/copydesk)"
    max_bytes: int = 10_000_000  # of the decoded body, so compression bombs stop here too
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # per socket read
    total_timeout: float = 30.0  # whole fetch incl. redirects; also cuts servers that trickle
    max_redirects: int = 5
    allowed_networks: tuple[str, ...] = ()  # CIDRs opened despite the block list (tests, intranets)
    accept_content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain")

    def __post_init__(self) -> None:
        _networks(self.allowed_networks)  # a typo in a CIDR should fail at startup, not per fetch


@dataclass(frozen=True)
class FetchedPage:
    url: str
    final_url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    fetched_at: datetime
    # Validators for a later conditional request; status 304 (with an empty body) only answers one.
    etag: str | None = None
    last_modified: str | None = None


class FetchError(Exception):
    def __init__(
        self,
        reason: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:
        # Celery pickles task exceptions; the default reduce would lose the keyword arguments.
        return (type(self), (self.reason, self.message), self.__dict__)


# Refusals by copydesk's own policy, not outages: final at once, never retried; the message names the
# setting that would allow the fetch, or says that none does.
POLICY_REASONS = frozenset({"blocked_address", "bad_scheme", "invalid_url", "robots_disallowed"})
ALLOW_HINT = "not fetched unless COPYDESK_ALLOW_NETWORKS lists it (a CIDR, e.g. {net})"


def _blocked(what: str, ip: IPAddress) -> FetchError:
    net = f"{ip}/32" if ip.version == 4 else f"{ip}/128"
    return FetchError("blocked_address", f"{what} non-public address {ip}: {ALLOW_HINT.format(net=net)}")


def check_url(url: str) -> str:
    url = url.strip()
    if not url or _CTRL.search(url):
        raise FetchError("invalid_url", f"not a URL: {url!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # parsed lazily; a bad port only raises here
    except ValueError as exc:
        raise FetchError("invalid_url", f"{url!r}: {exc}") from None
    if not parts.scheme:
        raise FetchError("invalid_url", f"no scheme: {url!r}")
    if parts.scheme not in ("http", "https"):
        why = "no setting changes that (push a saved page instead)"
        raise FetchError("bad_scheme", f"only http and https are fetched, {why}: {url!r}")
    _ascii_host(url, parts.hostname)
    return url


def _ascii_host(url: str, host: str | None) -> str:
    if not host:
        raise FetchError("invalid_url", f"no host: {url!r}")
    if ":" in host:  # urlsplit has already validated the bracketed IPv6 literal
        if "%" in host:
            raise FetchError("invalid_url", f"IPv6 zone identifiers are not fetched: {url!r}")
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise FetchError("invalid_url", f"bad host name: {url!r}") from None
    if not _HOSTNAME.fullmatch(ascii_host):
        raise FetchError("invalid_url", f"bad host name: {url!r}")
    return ascii_host


def _ip_literal(host: str) -> IPAddress | None:
    with suppress(ValueError):
        return ipaddress.ip_address(host)
    # The resolver accepts legacy forms like 2130706433 or 0x7f.1; decode them the same way.
    if _NUMERIC_HOST.fullmatch(host.rstrip(".")):
        with suppress(OSError):
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    return None


def _is_blocked(ip: IPAddress, allowed: tuple[IPNetwork, ...] = ()) -> bool:
    if any(ip.version == net.version and ip in net for net in allowed):
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        nat64 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        embedded = ip.ipv4_mapped or ip.sixtofour or nat64
        if embedded is not None:  # these reach the embedded IPv4 host, so judge that one
            return _is_blocked(embedded, allowed)
        if ip.is_site_local:
            return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or any(ip.version == net.version and ip in net for net in _BLOCKED)
    )


def _resolve(host: str, port: int, allowed: tuple[IPNetwork, ...]) -> tuple[IPAddress, ...]:
    literal = _ip_literal(host)
    if literal is not None:
        addrs: tuple[IPAddress, ...] = (literal,)
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            again = isinstance(exc, socket.gaierror) and exc.errno == socket.EAI_AGAIN
            raise FetchError("dns_failed", f"{host}: {exc}", retryable=again) from None
        ips = [str(info[4][0]).partition("%")[0] for info in infos if info[0] in _FAMILIES]
        addrs = tuple(ipaddress.ip_address(ip) for ip in dict.fromkeys(ips))
        if not addrs:
            raise FetchError("dns_failed", f"{host}: no IPv4/IPv6 address")
    for ip in addrs:
        if _is_blocked(ip, allowed):
            raise _blocked(f"{host}:", ip)
    return addrs


class _Clock:
    """The total_timeout budget of one fetch, enforced even inside a blocking read.

    Socket timeouts apply per recv(), so a server sending one byte per second (headers
    included) would never trip them; a timer shuts the sockets down at the deadline.
    """

    def __init__(self, budget: float) -> None:
        self._end = time.monotonic() + budget
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []  # dups: still valid after TLS detaches the original
        self._timer: threading.Timer | None = None
        self.fired = False

    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self._end

    def remaining(self) -> float:
        if self.expired():
            raise FetchError("timeout", "total time budget exhausted", retryable=True)
        return self._end - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock.dup())
            if self.fired:  # connected just after the deadline: nothing else would cut it short
                _shutdown(self._socks[-1])
            elif self._timer is None:
                self._timer = threading.Timer(max(0.0, self._end - time.monotonic()), self._fire)
                self._timer.daemon = True
                self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._socks:
                _shutdown(sock)

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            for sock in self._socks:
                sock.close()
            self._socks.clear()


def _shutdown(sock: socket.socket) -> None:
    with suppress(OSError):  # already closed by the peer
        sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class _Pin:
    addrs: tuple[IPAddress, ...]
    allowed: tuple[IPNetwork, ...]
    clock: _Clock


def _connect_pinned(conn: HTTPConnection, pin: _Pin) -> socket.socket:
    error: OSError | None = None
    for ip in pin.addrs:
        sock = socket.socket(socket.AF_INET6 if ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(conn.timeout)
            sock.connect((str(ip), conn.port))
            peer = ipaddress.ip_address(sock.getpeername()[0].partition("%")[0])
        except OSError as exc:
            sock.close()
            error = exc
            continue
        if _is_blocked(peer, pin.allowed):  # belt and braces: judge what we actually reached
            sock.close()
            raise _blocked("connected to", peer)
        pin.clock.watch(sock)
        return sock
    if isinstance(error, TimeoutError):
        raise ConnectTimeoutError(conn, f"connect to {conn.host} timed out")
    raise NewConnectionError(conn, f"cannot connect to {conn.host}: {error}")


class _PinnedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, pin: _Pin, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pin = pin

    def _new_conn(self) -> socket.socket:
        return _connect_pinned(self, self._pin)


class _PinnedHTTPSConnection(_PinnedHTTPConnection, HTTPSConnection):
    """TLS over the pinned socket; self.host stays the URL's name, so SNI and the certificate check use it."""


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


@contextmanager
def _exchange(
    url: str, policy: FetchPolicy, clock: _Clock, extra: Mapping[str, str] | None = None
) -> Iterator[BaseHTTPResponse]:
    parts = urlsplit(url)
    host = _ascii_host(url, parts.hostname)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allowed = _networks(policy.allowed_networks)
    pin = _Pin(_resolve(host, port, allowed), allowed, clock)
    left = clock.remaining()
    timeout = Timeout(connect=min(policy.connect_timeout, left), read=min(policy.read_timeout, left))
    pool_cls = _PinnedHTTPSPool if parts.scheme == "https" else _PinnedHTTPPool
    pool = pool_cls(host, port, timeout=timeout, maxsize=1, retries=False, pin=pin)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"User-Agent": policy.user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate", **(extra or {})}
    try:
        resp = pool.urlopen(
            "GET", target, headers=headers, redirect=False, retries=False,
            preload_content=False, decode_content=True,
        )  # fmt: skip
        try:
            yield resp
        finally:
            resp.close()
    except (HTTPError, OSError, HTTPException) as exc:
        raise _translate(exc, url, clock) from exc
    finally:
        pool.close()


def _translate(exc: Exception, url: str, clock: _Clock) -> FetchError:
    # After the deadline the watchdog's shutdown surfaces as any kind of I/O error.
    if clock.expired():
        return FetchError("timeout", f"{url}: total time budget exhausted", retryable=True)
    # NewConnectionError subclasses ConnectTimeoutError for backwards compatibility only.
    if isinstance(exc, Urllib3Timeout | TimeoutError) and not isinstance(exc, NewConnectionError):
        return FetchError("timeout", f"{url}: {exc}", retryable=True)
    # A certificate or handshake failure will fail the same way next time.
    return FetchError("connection_failed", f"{url}: {exc}", retryable=not isinstance(exc, SSLError))


def fetch(
    url: str,
    policy: FetchPolicy = FetchPolicy(),
    headers: Mapping[str, str] | None = None,
    before_redirect: Callable[[str, str], None] | None = None,
) -> FetchedPage:
    """GET url. `headers` are added to every hop; with If-None-Match / If-Modified-Since among them a
    304 answer is returned as a page with status 304 and no body instead of raising.
    `before_redirect(from_url, to_url)` is called before each redirect is followed, and may raise to stop it."""
    current = check_url(url)
    conditional = any(name.lower() in _CONDITIONAL for name in headers or {})
    seen = {urldefrag(current).url}
    redirects = 0
    clock = _Clock(policy.total_timeout)
    try:
        while True:
            with _exchange(current, policy, clock, headers) as resp:
                location = resp.headers.get("Location") if resp.status in _REDIRECTS else None
                if resp.status == 304 and conditional:
                    return _not_modified(url, current, resp)
                if location is None:
                    return _page(url, current, resp, policy, clock)
            if redirects >= policy.max_redirects:
                raise FetchError("too_many_redirects", f"{url}: more than {policy.max_redirects} redirects")
            redirects += 1
            target = check_url(urljoin(current, _latin1_to_utf8(location)))
            if urldefrag(target).url in seen:
                raise FetchError("redirect_loop", f"{url}: redirected back to {target}")
            seen.add(urldefrag(target).url)
            if before_redirect is not None:
                before_redirect(current, target)
            current = target
    finally:
        clock.close()


def _not_modified(url: str, final_url: str, resp: BaseHTTPResponse) -> FetchedPage:
    return FetchedPage(
        url, final_url, 304, "", None, b"", datetime.now(UTC),
        etag=resp.headers.get("ETag"), last_modified=resp.headers.get("Last-Modified"),
    )  # fmt: skip


def _latin1_to_utf8(value: str) -> str:
    # http.client decodes headers as latin-1, but servers send UTF-8 in Location.
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _page(url: str, final_url: str, resp: BaseHTTPResponse, policy: FetchPolicy, clock: _Clock) -> FetchedPage:
    status = resp.status
    if status >= 400:
        retryable = status == 429 or status >= 500
        retry_after = _retry_after(resp.headers.get("Retry-After")) if retryable else None
        raise FetchError(
            "http_error", f"{final_url}: HTTP {status}", retryable=retryable, retry_after=retry_after,
            status=status,
        )  # fmt: skip
    if not 200 <= status < 300:
        raise FetchError("http_error", f"{final_url}: unexpected HTTP {status}", status=status)
    content_type, charset = _parse_content_type(resp.headers.get("Content-Type", ""))
    # No header at all is left to the parser to sniff; a declared non-html type is not.
    if content_type and content_type not in policy.accept_content_types:
        raise FetchError("not_html", f"{final_url}: content type {content_type!r}", status=status)
    # Content-Length counts encoded bytes, so it only bounds the decoded size when unencoded.
    if resp.headers.get("Content-Encoding", "identity").strip().lower() == "identity":
        length = resp.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > policy.max_bytes:
            raise FetchError("too_large", f"{final_url}: Content-Length {int(length)}", status=status)
    body = bytearray()
    while chunk := resp.read1(CHUNK):
        if len(body) + len(chunk) > policy.max_bytes:
            raise FetchError("too_large", f"{final_url}: body over {policy.max_bytes} bytes", status=status)
        body += chunk
        clock.remaining()
    clock.remaining()  # the watchdog's shutdown looks like a clean end of a close-delimited body
    if not body:
        raise FetchError("empty_body", f"{final_url}: empty body", status=status)
    return FetchedPage(
        url, final_url, status, content_type, charset, bytes(body), datetime.now(UTC),
        etag=resp.headers.get("ETag"), last_modified=resp.headers.get("Last-Modified"),
    )  # fmt: skip


def _parse_content_type(header: str) -> tuple[str, str | None]:
    media_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower() or None
    return media_type.strip().lower(), charset


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
