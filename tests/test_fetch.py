"""ingest.fetch against a real HTTP(S) server on 127.0.0.1; nothing else is ever contacted."""

import gzip
import ipaddress
import pickle
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.fetch import FetchedPage, FetchError, FetchPolicy, _is_blocked, check_url, fetch

LOCAL = FetchPolicy(allowed_networks=("127.0.0.1/32",))
HTML = "<html><body>héllo wörld</body></html>".encode()
BOMB = gzip.compress(bytes(20_000_000), compresslevel=9)  # ~20 KB on the wire, 20 MB decoded
BIG = 50_000_000


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", ctype: str | None = "text/html", **headers: str) -> None:
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        for name, value in {"Content_Length": str(len(body)), **headers}.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def stream(self, how: str) -> None:
        block = b"a" * 65536
        if how == "chunked":
            self.protocol_version = "HTTP/1.1"
            self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        if how == "length":
            self.send_header("Content-Length", str(BIG))
        if how == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(BIG // len(block)):
            self.wfile.write(b"10000\r\n" + block + b"\r\n" if how == "chunked" else block)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        match parts:
            case ["ok"]:
                self.reply(200, HTML, "text/html; charset=UTF-8")
            case ["headers"]:
                seen = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
                self.reply(200, seen.encode(), "text/plain")
            case ["no-type"]:
                self.reply(200, HTML, None)
            case ["gzip"]:
                self.reply(200, gzip.compress(HTML), Content_Encoding="gzip")
            case ["chain", n]:
                target = "/ok" if n == "0" else f"/chain/{int(n) - 1}"
                self.reply(302, ctype=None, Location=target)
            case ["loop", "a" | "b" as side]:
                self.reply(301, ctype=None, Location=f"/loop/{'b' if side == 'a' else 'a'}")
            case ["to"]:
                self.reply(307, ctype=None, Location=unquote(query))
            case ["utf8-redirect"]:  # raw bytes: send_header would encode the Location as latin-1
                self.wfile.write("HTTP/1.0 302 Found\r\nLocation: /ok?q=é\r\n\r\n".encode())
            case ["status", code]:
                extra = {"Retry-After": "7"} if code == "503" else {}
                if code == "429":
                    extra = {"Retry-After": formatdate(time.time() + 60, usegmt=True)}
                self.reply(int(code), b"<html>nope</html>", **extra)
            case ["type", *ctype]:
                self.reply(200, b"x" * 1000, "/".join(ctype))
            case ["empty"]:
                self.reply(200)
            case ["big", how]:
                self.stream(how)
            case ["bomb"]:
                self.reply(200, BOMB, Content_Encoding="gzip")
            case ["trickle"]:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                for _ in range(20):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.3)
            case ["trickle-headers"]:
                self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
                for _ in range(20):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            case ["silent"]:
                time.sleep(3)
            case _:
                self.reply(404)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The fetcher hangs up on purpose (too_large, timeouts); that is not a server bug.
        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


def serve(context: ssl.SSLContext | None = None) -> Iterator[int]:
    server = Server(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    yield from serve()


@pytest.fixture(scope="module")
def base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def reason_of(url: str, policy: FetchPolicy = LOCAL) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, policy)
    assert str(info.value) == f"{info.value.reason}: {info.value.message}"
    return info.value


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("touched the network")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)


# --- pages that work --------------------------------------------------------------------------


def test_ok_page(base: str) -> None:
    page = fetch(f"{base}/ok", LOCAL)
    assert isinstance(page, FetchedPage)
    assert (page.url, page.final_url, page.status) == (f"{base}/ok", f"{base}/ok", 200)
    assert (page.content_type, page.charset, page.body) == ("text/html", "utf-8", HTML)
    assert page.fetched_at.utcoffset() == timedelta(0)


def test_sends_identity_headers_and_original_host(base: str, port: int) -> None:
    sent = fetch(f"  {base}/headers  ", LOCAL).body.decode()
    assert f"Host: 127.0.0.1:{port}" in sent
    assert f"User-Agent: {LOCAL.user_agent}" in sent
    assert "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.1" in sent
    assert "Accept-Encoding: gzip, deflate" in sent


def test_gzip_is_decoded(base: str) -> None:
    assert fetch(f"{base}/gzip", LOCAL).body == HTML


def test_missing_content_type_is_left_to_the_parser(base: str) -> None:
    page = fetch(f"{base}/no-type", LOCAL)
    assert (page.content_type, page.charset, page.body) == ("", None, HTML)


def test_redirect_chain(base: str) -> None:
    page = fetch(f"{base}/chain/3#frag", LOCAL)
    assert page.url == f"{base}/chain/3#frag"
    assert page.final_url == f"{base}/ok"
    assert page.body == HTML


def test_connects_to_the_checked_address_and_keeps_the_host_name(port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def resolve_once(host: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        if len(calls) > 1:  # a second lookup is where DNS rebinding would slip in
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve_once)
    sent = fetch(f"http://news.example:{port}/headers", LOCAL).body.decode()
    assert calls == ["news.example"]
    assert f"Host: news.example:{port}" in sent


# --- redirects --------------------------------------------------------------------------------


def test_utf8_location(base: str) -> None:
    assert fetch(f"{base}/utf8-redirect", LOCAL).final_url == f"{base}/ok?q=é"


def test_redirect_loop(base: str) -> None:
    assert reason_of(f"{base}/loop/a").reason == "redirect_loop"


def test_too_many_redirects(base: str) -> None:
    assert fetch(f"{base}/chain/4", LOCAL).final_url == f"{base}/ok"  # exactly 5 redirects
    assert reason_of(f"{base}/chain/5").reason == "too_many_redirects"
    policy = FetchPolicy(allowed_networks=LOCAL.allowed_networks, max_redirects=0)
    assert reason_of(f"{base}/chain/1", policy).reason == "too_many_redirects"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.2:{port}/ok", "blocked_address"),  # loopback, but not the allowed /32
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
        ("http://0x7f.0.0.2:{port}/ok", "blocked_address"),
        ("http://[fd00:ec2::254]/", "blocked_address"),
        ("ftp://127.0.0.1/", "bad_scheme"),
        ("file:///etc/passwd", "bad_scheme"),
    ],
)
def test_redirect_targets_are_checked_again(base: str, port: int, target: str, reason: str) -> None:
    start = time.monotonic()
    assert reason_of(f"{base}/to?{target.format(port=port)}").reason == reason
    assert time.monotonic() - start < 1


# --- HTTP errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [404, 410, 403])
def test_client_errors_are_final(base: str, code: int) -> None:
    err = reason_of(f"{base}/status/{code}")
    assert (err.reason, err.status, err.retryable, err.retry_after) == ("http_error", code, False, None)


def test_503_retry_after_seconds(base: str) -> None:
    err = reason_of(f"{base}/status/503")
    assert (err.reason, err.status, err.retryable, err.retry_after) == ("http_error", 503, True, 7)


def test_429_retry_after_http_date(base: str) -> None:
    err = reason_of(f"{base}/status/429")
    assert (err.reason, err.status, err.retryable) == ("http_error", 429, True)
    assert err.retry_after is not None and 55 <= err.retry_after <= 61


def test_500_without_retry_after(base: str) -> None:
    err = reason_of(f"{base}/status/500")
    assert (err.reason, err.retryable, err.retry_after) == ("http_error", True, None)


# --- size, type, time -------------------------------------------------------------------------


SMALL = FetchPolicy(allowed_networks=("127.0.0.1/32",), max_bytes=1_000_000)


@pytest.mark.parametrize("how", ["length", "close", "chunked"])
def test_big_page_is_cut(base: str, how: str) -> None:
    start = time.monotonic()
    err = reason_of(f"{base}/big/{how}", SMALL)
    assert err.reason == "too_large"
    assert ("Content-Length" in err.message) == (how == "length")
    assert time.monotonic() - start < 2


def test_gzip_bomb(base: str) -> None:
    assert len(BOMB) < 100_000
    assert reason_of(f"{base}/bomb", SMALL).reason == "too_large"


def test_trickling_body_hits_total_timeout(base: str) -> None:
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), total_timeout=1.5)
    start = time.monotonic()
    err = reason_of(f"{base}/trickle", policy)
    assert (err.reason, err.retryable) == ("timeout", True)
    assert 1.3 < time.monotonic() - start < 2.5


def test_trickling_headers_hit_total_timeout(base: str) -> None:
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), total_timeout=1.0)
    start = time.monotonic()
    assert reason_of(f"{base}/trickle-headers", policy).reason == "timeout"
    assert time.monotonic() - start < 2


def test_silent_server_hits_read_timeout(base: str) -> None:
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), read_timeout=0.3)
    start = time.monotonic()
    err = reason_of(f"{base}/silent", policy)
    assert (err.reason, err.retryable) == ("timeout", True)
    assert time.monotonic() - start < 1.5


@pytest.mark.parametrize("ctype", ["application/pdf", "image/png", "application/json"])
def test_not_html(base: str, ctype: str) -> None:
    err = reason_of(f"{base}/type/{ctype}")
    assert err.reason == "not_html"
    assert ctype in err.message


def test_empty_body(base: str) -> None:
    assert reason_of(f"{base}/empty").reason == "empty_body"


def test_refused_connection_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    err = reason_of(f"http://127.0.0.1:{free}/")
    assert (err.reason, err.retryable) == ("connection_failed", True)


@pytest.mark.parametrize(("errno", "retryable"), [(socket.EAI_NONAME, False), (socket.EAI_AGAIN, True)])
def test_dns_failure(monkeypatch: pytest.MonkeyPatch, errno: int, retryable: bool) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(errno, "nope")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    err = reason_of("http://news.example/")
    assert (err.reason, err.retryable) == ("dns_failed", retryable)


# --- URL syntax -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "bad_scheme"),
        ("file:///etc/passwd", "bad_scheme"),
        ("javascript:alert(1)", "bad_scheme"),
        ("data:text/html,<b>x</b>", "bad_scheme"),
        ("not a url", "invalid_url"),
        ("", "invalid_url"),
        ("   ", "invalid_url"),
        ("http://", "invalid_url"),
        ("http:///path", "invalid_url"),
        ("http://exa mple.com/", "invalid_url"),
        ("http://example.com:99999/", "invalid_url"),
        ("http://%31%32%37.0.0.1/", "invalid_url"),
        ("http://[fe80::1%25eth0]/", "invalid_url"),
        ("http://exa\nmple.com/", "invalid_url"),
    ],
)
def test_bad_urls(url: str, reason: str, no_network: None) -> None:
    with pytest.raises(FetchError) as info:
        check_url(url)
    assert info.value.reason == reason
    assert reason_of(url).reason == reason


def test_check_url_strips() -> None:
    assert check_url("  https://Example.com/a?b=1\n") == "https://Example.com/a?b=1"
    assert check_url("http://bücher.example/") == "http://bücher.example/"


# --- SSRF -------------------------------------------------------------------------------------


def test_local_server_is_blocked_without_allowed_networks(port: int) -> None:
    for host in ("127.0.0.1", "localhost"):
        err = reason_of(f"http://{host}:{port}/ok", FetchPolicy())
        assert (err.reason, err.retryable) == ("blocked_address", False)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://0/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a00:1]/",  # NAT64 for 10.0.0.1
        "http://[2002:a00:1::]/",  # 6to4 for 10.0.0.1
        "http://0x7f.0.0.1/",
        "http://0x7f.1/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://2130706433/",
        "http://127.0.0.1./",
        "https://127.0.0.1:8443/",
    ],
)
def test_blocked_literals_fail_fast_without_a_packet(url: str, no_network: None) -> None:
    start = time.monotonic()
    assert reason_of(url, FetchPolicy()).reason == "blocked_address"
    assert time.monotonic() - start < 0.5


def test_any_blocked_dns_answer_blocks_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def rebinding(*args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:10.1.2.3", 80, 0, 0)),
        ]

    def forbidden(*args: Any) -> None:
        raise AssertionError("connected")

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    err = reason_of("http://news.example/", FetchPolicy())
    assert err.reason == "blocked_address"
    assert "::ffff:a01:203" in err.message  # i.e. 10.1.2.3


@given(st.ip_addresses(v=4))
@settings(max_examples=200, deadline=None)
def test_ipv4_mapped_addresses_are_judged_like_ipv4(ip: ipaddress.IPv4Address) -> None:
    assert _is_blocked(ipaddress.IPv6Address(f"::ffff:{ip}")) == _is_blocked(ip)


def test_allowed_networks_must_be_valid() -> None:
    with pytest.raises(ValueError):
        FetchPolicy(allowed_networks=("127.0.0.1/33",))


# --- the error type ---------------------------------------------------------------------------


def test_fetch_error_survives_pickling() -> None:
    err = FetchError("http_error", "HTTP 503", retryable=True, retry_after=7.0, status=503)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.reason, copy.message, copy.retryable, copy.retry_after, copy.status) == (
        "http_error",
        "HTTP 503",
        True,
        7.0,
        503,
    )
    assert str(copy) == "http_error: HTTP 503"


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_random_text_only_raises_fetch_error(text: str) -> None:
    with pytest.raises(FetchError):
        fetch(text, FetchPolicy(total_timeout=1.0))


@given(st.text())
@settings(max_examples=200, deadline=None)
def test_check_url_on_random_hosts(text: str) -> None:
    try:
        assert check_url("http://" + text) == ("http://" + text).strip()
    except FetchError as err:
        assert err.reason == "invalid_url"


# --- HTTPS: SNI and certificate checks use the URL's host name, not the pinned IP ---------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    for tls_port in serve(context):
        yield tls_port, cert


def test_https_verifies_the_host_name(tls: tuple[int, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    tls_port, cert = tls
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    page = fetch(f"https://localhost:{tls_port}/ok", LOCAL)
    assert (page.status, page.body) == (200, HTML)
    # Same server and certificate, but the URL names the IP, which the certificate does not cover.
    err = reason_of(f"https://127.0.0.1:{tls_port}/ok")
    assert (err.reason, err.retryable) == ("connection_failed", False)


def test_https_rejects_untrusted_certificates(tls: tuple[int, Path]) -> None:
    err = reason_of(f"https://localhost:{tls[0]}/ok")
    assert (err.reason, err.retryable) == ("connection_failed", False)


def test_https_trickle_hits_total_timeout(tls: tuple[int, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls[1]))
    policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), total_timeout=1.0)
    start = time.monotonic()
    assert reason_of(f"https://localhost:{tls[0]}/trickle-headers", policy).reason == "timeout"
    assert time.monotonic() - start < 2
