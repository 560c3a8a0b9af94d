"""Real servers for the tests: PostgreSQL, a Celery worker, and an HTTP server playing news sites."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

from worker.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise RuntimeError(f"PostgreSQL's {name} not found: run scripts/ensure-postgres.sh")
    return path


class Postgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (run as the postgres user when we are root)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.as_user: list[str] = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            shutil.chown(self.directory, "postgres", "postgres")
        data = self.directory / "data"
        subprocess.run(
            [*self.as_user, postgres_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *self.as_user,
                postgres_bin("pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(self.directory / "log"),
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return self.url

    def restart(self) -> None:
        """Stop (fast: every connection cut, open transactions rolled back) and start again, same port and data."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        data, log = str(self.directory / "data"), str(self.directory / "log")
        pg_ctl = [*self.as_user, postgres_bin("pg_ctl"), "-D", data, "-o", options, "-w", "-l", log]
        subprocess.run([*pg_ctl, "-m", "fast", "restart"], check=True, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, postgres_bin("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
        )


def worker_env(database: str, redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a worker on `database` and `redis_url` that may fetch from 127.0.0.0/8 (the test sites)."""
    return {
        "COPYDESK_DATABASE_URL": database,
        "COPYDESK_REDIS_URL": redis_url,
        "COPYDESK_ALLOW_NETWORKS": "127.0.0.0/8",
        "COPYDESK_DATA_DIR": str(data_dir),
        **extra,
    }


def start_worker(env: dict[str, str], concurrency: int = 2, log: Path | None = None) -> subprocess.Popen[bytes]:
    """A real Celery worker (prefork) in its own process."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker.app",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    return process


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(0.1)


Reply = tuple[int, dict[str, str], bytes]  # status, headers, body


class HTTPSite:
    """An HTTP server on a loopback address, one thread a request, logging (time, path, status) of each.

    Subclasses say what to answer (`reply`, or `respond` to see the headers) and may take a request over
    first (`intercept`).
    """

    def __init__(self, address: str = "127.0.0.1", delay: float = 0.0) -> None:
        self.log: list[tuple[float, str, int]] = []
        self.hits: Counter[str] = Counter()
        self.delay = delay
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] += 1
                if site.intercept(self):
                    return
                time.sleep(site.delay)
                status, headers, body = site.respond(self)
                site.log.append((time.monotonic(), self.path, status))
                self.send_response(status)
                for name, value in {"Content-Type": "text/html; charset=utf-8", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def respond(self, request: BaseHTTPRequestHandler) -> Reply:
        """What to answer `request`: `reply(path)`, unless a subclass reads the request's headers too."""
        return self.reply(request.path)

    def reply(self, path: str) -> Reply:
        raise NotImplementedError

    def intercept(self, request: BaseHTTPRequestHandler) -> bool:
        """True: the request was handled (or deliberately left unanswered) and gets no reply."""
        return False

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def times(self, path: str) -> list[float]:
        """When each request for `path` was answered (time.monotonic())."""
        return [at for at, logged, _ in self.log if logged == path]

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Site(HTTPSite):
    """Serves {path: (status, content type, body)}; the dict may change while it runs."""

    def __init__(self, pages: dict[str, tuple[int, str, bytes]], address: str = "127.0.0.1") -> None:
        super().__init__(address)
        self.pages = pages

    def reply(self, path: str) -> Reply:
        status, ctype, body = self.pages.get(path, (404, "text/plain", b"not found"))
        return status, {"Content-Type": ctype}, body


class ScriptedSite(HTTPSite):
    """Answers each path from a script: its replies in turn, the last one from then on."""

    def __init__(self, address: str, script: dict[str, list[Reply]] | None = None, delay: float = 0.0) -> None:
        super().__init__(address, delay)
        self.replies = {path: list(replies) for path, replies in (script or {}).items()}

    def reply(self, path: str) -> Reply:
        replies = self.replies.get(path) or [(404, {}, b"not found")]
        return replies.pop(0) if len(replies) > 1 else replies[0]

    def serve(self, path: str, *replies: Reply) -> str:
        """Script `path` and return its URL."""
        self.replies[path] = list(replies)
        return self.base + path


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
