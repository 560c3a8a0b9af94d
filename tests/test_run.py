"""`copydesk run --flower` as an operator runs it: in the background, watched through Flower, stopped by
a signal sent to its PID. Real processes throughout: redis-server, the Celery worker and beat, Flower,
and an HTTP server on 127.0.0.x."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import termios
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest

from tests.conftest import SEEDS
from tests.servers import ROOT, Site, wait_for
from worker.embedded import free_port

PASSWORD = "s3cret-for-the-test"
# How often Flower, left to its default, asks the workers to send events (flower.events.Events.events_enable_interval).
FLOWER_EVENTS_INTERVAL = 5


def run_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a `copydesk run` on the embedded default (SQLite, embedded Redis) in tmp_path."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("COPYDESK_REDIS_URL", "COPYDESK_DATABASE_URL")}
    return {**inherited, "COPYDESK_DATA_DIR": str(tmp_path / "data"), **extra}


def copydesk(*args: str, env: dict[str, str], check: bool = False) -> subprocess.CompletedProcess[str]:
    """A copydesk command from another shell, beside a running `copydesk run`."""
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def launch_in_background(script: str, log: Path, env: dict[str, str]) -> int:
    """Run `script` (a shell line that starts `"$0" -m worker.cli run ... > "$1" &` and echoes its PID) as
    a non-interactive shell would: the job ignores SIGINT, as one started with `&` in CI or a script does."""
    launched = subprocess.run(
        ["sh", "-c", script, sys.executable, str(log)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
    )
    return int(launched.stdout)


def start_run(tmp_path: Path, log: Path, concurrency: int) -> subprocess.Popen[bytes]:
    """`copydesk run` in a session of its own, on the embedded default, its output in `log`."""
    env = run_env(tmp_path)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "run", "--concurrency", str(concurrency)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def session_processes(sid: int) -> list[psutil.Process]:
    """Every live process of session `sid` (zombies waiting for init to reap them are gone already)."""
    found = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getsid(process.pid) == sid and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


def flower(port: int, path: str, auth: bool = True) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"me:{PASSWORD}".encode()).decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read().decode()
    return json.loads(body) if body.startswith(("{", "[")) else body


def flower_up(port: int) -> bool:
    try:
        return bool(flower(port, "/healthcheck", auth=False) == "OK")
    except (OSError, urllib.error.URLError):
        return False


def assert_redis_is_private(data: Path, sid: int) -> None:
    """The embedded Redis listens on a unix socket only this user can open, and on no TCP port; copydesk
    commands find it through the data directory's redis.url."""
    url = (data / "redis.url").read_text()
    assert url.startswith("unix://"), url
    sock = Path(urlsplit(url).path)
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o700 and stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "redis.url").stat().st_mode) == 0o600
    (server,) = [p for p in session_processes(sid) if p.name().startswith("redis-server")]
    assert not [c for c in server.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    system_python = "/usr/bin/python3"  # the venv's may sit where another user cannot run it
    if os.geteuid() == 0 and shutil.which("runuser") and os.path.exists(system_python):
        probe = f"import socket; socket.socket(socket.AF_UNIX).connect({str(sock)!r})"
        other = subprocess.run(  # another local user is refused by the kernel
            ["runuser", "-u", "nobody", "--", system_python, "-I", "-c", probe],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert other.returncode != 0 and "PermissionError" in other.stderr, other.stderr


@pytest.fixture
def site() -> Iterator[Site]:
    story = (SEEDS / "southfront-original.html").read_bytes()
    server = Site({"/story.html": (200, "text/html; charset=utf-8", story)}, "127.0.0.61").start()
    yield server
    server.stop()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_copydesk_run_in_the_background_shows_failures_in_flower_and_stops_on(
    signum: signal.Signals, tmp_path: Path, site: Site
) -> None:
    """Started from a non-interactive shell with `&` (so SIGINT arrives ignored), in a session of its own:
    a page that stores ends SUCCESS in Flower's API with its document and cluster, a 404 ends FAILURE
    with its recorded reason; the password is in no process's arguments; `signum` sent to its PID stops
    Flower, beat, worker and Redis, leaving no process of the session and a clean log."""
    port = free_port()
    env = run_env(tmp_path, COPYDESK_ALLOW_NETWORKS="127.0.0.0/8", COPYDESK_FLOWER_BASIC_AUTH=f"me:{PASSWORD}")
    log = tmp_path / "run.log"
    script = f'"$0" -m worker.cli run --flower --flower-port {port} --concurrency 1 > "$1" 2>&1 & echo $!'
    pid = launch_in_background(script, log, env)
    sid = os.getsid(pid)
    try:
        ignored = int(re.search(r"SigIgn:\s*([0-9a-f]+)", Path(f"/proc/{pid}/status").read_text())[1], 16)  # type: ignore[index]
        assert ignored & (1 << (signal.SIGINT - 1)), "the background job does not ignore SIGINT: not the case tested"
        wait_for(lambda: flower_up(port) and (tmp_path / "data" / "redis.url").exists(), 90, "Flower and Redis up")
        wait_for(lambda: bool(flower(port, "/api/workers?refresh=1")), 60, "the worker seen by Flower")
        assert_redis_is_private(tmp_path / "data", sid)
        for process in session_processes(sid):
            assert PASSWORD not in " ".join(process.cmdline()), process.cmdline()
        ping = copydesk("ping", env=env)  # as a health check would: it finds the embedded Redis
        assert ping.returncode == 0 and "1 worker(s) answered" in ping.stdout, ping.stdout + ping.stderr
        stored, missing = site.base + "/story.html", site.base + "/missing.html"
        enqueue = copydesk("enqueue", stored, missing, env=env)
        assert enqueue.returncode == 0 and "queued 2" in enqueue.stdout, enqueue.stdout + enqueue.stderr

        def ended() -> dict[str, dict[str, Any]]:
            tasks = flower(port, "/api/tasks?taskname=copydesk.ingest_url")
            return {t["args"]: t for t in tasks.values() if t["state"] in ("SUCCESS", "FAILURE")}

        wait_for(lambda: len(ended()) == 2, 90, "both pages' tasks ended in Flower")
        tasks = ended()
        good, bad = tasks[repr([stored])], tasks[repr([missing])]
        assert good["state"] == "SUCCESS", good
        result = re.fullmatch(r"\{'status': 'stored', 'document': (\d+), 'cluster': (\d+)\}", good["result"])
        assert result, good["result"]
        assert bad["state"] == "FAILURE", bad
        assert "http_error" in bad["exception"] and "HTTP 404" in bad["exception"], bad["exception"]
        failures = copydesk("failures", "--json", env=env, check=True)
        assert [(f["url"], f["reason"], f["attempts"]) for f in json.loads(failures.stdout)] == [
            (missing, "http_error", 1)
        ]
        listed = copydesk("failures", env=env, check=True).stdout  # the address once, then why
        assert listed.count(missing) == 1 and "HTTP 404" in listed, listed
        shown = copydesk("show", result[2], "--json", env=env, check=True)
        assert json.loads(shown.stdout)["canonical"]["id"] == int(result[1])
    finally:
        os.kill(pid, signum)
        try:
            wait_for(lambda: not session_processes(sid), 60, f"every process of the session gone after {signum.name}")
        finally:
            for process in session_processes(sid):  # leave nothing behind, whatever happened
                process.kill()
    text = log.read_text()
    assert f"copydesk run: {signum.name}: stopping" in text, text[-3000:]
    order = [m[1] for m in re.finditer(r"copydesk run: stopping (flower|beat|worker|the embedded Redis)", text)]
    assert order == ["flower", "beat", "worker", "the embedded Redis"], order
    assert text.count("Warm shutdown") == 1
    assert "not released" not in text and "Connection refused" not in text and "Traceback" not in text
    assert not (tmp_path / "data" / "redis.url").exists()


@pytest.mark.timeout(180)
def test_copydesk_flower_from_another_shell_watches_the_running_job(tmp_path: Path) -> None:
    """`copydesk flower` started beside a running `copydesk run` (another terminal, no COPYDESK_REDIS_URL) finds
    its embedded Redis as `enqueue` does and sees its worker; with neither, it says there is no broker."""
    no_broker = copydesk("flower", env=run_env(tmp_path / "none"))
    assert no_broker.returncode != 0 and "no broker: start `copydesk run`" in no_broker.stderr, no_broker.stderr
    log = tmp_path / "run.log"
    run = start_run(tmp_path, log, concurrency=1)
    port = free_port()
    env = run_env(tmp_path, COPYDESK_FLOWER_BASIC_AUTH=f"me:{PASSWORD}")
    watcher = None
    try:
        wait_for(lambda: "ready." in log.read_text(errors="replace"), 90, "the worker ready")
        watcher = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "flower", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: flower_up(port), 60, "Flower up")
        wait_for(lambda: bool(flower(port, "/api/workers?refresh=1")), 60, "the running job's worker seen by Flower")
        # The job stops first, its broker with it: Flower still stops on one SIGTERM, with nothing left retrying the
        # broker forever in a thread it waits for at exit.
        run.terminate()
        run.wait(60)
        time.sleep(FLOWER_EVENTS_INTERVAL + 3)  # Flower's periodic look at the workers has met the broker gone
        watcher.terminate()
        try:
            watcher.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail("Flower did not stop on SIGTERM after its broker was gone")
    finally:
        for process in (watcher, run):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(30)


@pytest.mark.timeout(120)
def test_a_child_that_dies_stops_the_others(tmp_path: Path) -> None:
    """The worker's main process is SIGKILLed (a crash, the OOM killer): `copydesk run` stops beat and the
    embedded Redis, kills what the worker left in its process group (its pool processes), and exits with
    a non-zero status; no process of its session is left."""
    log = tmp_path / "run.log"
    run = start_run(tmp_path, log, concurrency=2)
    sid = run.pid
    try:

        def worker() -> psutil.Process | None:
            for process in session_processes(sid):
                words = process.cmdline()
                if "worker" in words and "celery" in words and process.ppid() == run.pid:
                    return process
            return None

        wait_for(lambda: "ready." in log.read_text(errors="replace"), 90, "the worker ready")
        main = worker()
        assert main is not None and len(main.children()) == 2, "no worker with its 2 pool processes"
        pool = main.children()
        main.kill()
        assert run.wait(60) == 128 + signal.SIGKILL
        assert not [p for p in pool if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], "pool processes left"
        wait_for(lambda: not session_processes(sid), 10, "every process of the session gone")
    finally:
        for process in session_processes(sid):
            process.kill()
        if run.poll() is None:
            run.kill()
            run.wait()
    text = log.read_text(errors="replace")
    assert "copydesk run: worker exited with status -9: stopping the others" in text, text[-3000:]
    order = [m[1] for m in re.finditer(r"copydesk run: stopping (flower|beat|worker|the embedded Redis)", text)]
    assert order == ["beat", "the embedded Redis"], order


@pytest.mark.timeout(120)
def test_ctrl_c_in_a_terminal_stops_everything_once(tmp_path: Path) -> None:
    """`copydesk run` in the foreground of a terminal (a pty) and a Ctrl-C typed in it: the terminal sends
    SIGINT to the foreground process group, which holds the supervisor alone, so the worker gets one
    request to stop (one "Warm shutdown", not two) and Redis outlives beat (its lock is released)."""
    env = run_env(tmp_path)
    master, slave = os.openpty()
    run = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "run", "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # the pty becomes its controlling terminal
    )
    os.close(slave)
    output = bytearray()

    def read() -> None:
        with contextlib.suppress(OSError):  # EIO once every process holding the terminal is gone
            while chunk := os.read(master, 65536):
                output.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sid = run.pid
    try:
        wait_for(lambda: b"ready." in output and b"holds the scheduler lock" in output, 90, "worker and beat ready")
        os.write(master, b"\x03")  # Ctrl-C
        assert run.wait(60) == 0
        wait_for(lambda: not session_processes(sid), 10, "every process of the session gone")
    finally:
        for process in session_processes(sid):
            process.kill()
        if run.poll() is None:
            run.kill()
            run.wait()
        reader.join(10)
        os.close(master)
    text = output.decode(errors="replace")
    assert "copydesk run: SIGINT: stopping" in text, text[-3000:]
    assert text.count("Warm shutdown") == 1, text[-3000:]
    assert "not released" not in text and "Connection refused" not in text and "Traceback" not in text
    order = [m[1] for m in re.finditer(r"copydesk run: stopping (flower|beat|worker|the embedded Redis)", text)]
    assert order == ["beat", "worker", "the embedded Redis"], order


@pytest.mark.timeout(120)
def test_one_sigterm_delivered_twice_is_one_request_to_stop(tmp_path: Path) -> None:
    """SIGTERM sent to `make run`'s process group reaches `copydesk run` twice, a few milliseconds apart: from the
    kill, and forwarded by make. That is one request: the worker gets its warm shutdown, not a kill as when asked
    twice."""
    env = run_env(tmp_path)
    log = tmp_path / "run.log"
    pid = launch_in_background('"$0" -m worker.cli run --concurrency 1 > "$1" 2>&1 & echo $!', log, env)
    sid = os.getsid(pid)
    try:
        wait_for(lambda: "ready." in log.read_text() and "holds the scheduler lock" in log.read_text(), 90, "ready")
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.1)  # handled apart, as make's forward is: two signals sent at once are delivered as one
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not session_processes(sid), 60, "every process of the session gone")
    finally:
        for process in session_processes(sid):
            process.kill()
    text = log.read_text()
    assert "copydesk run: SIGTERM: stopping" in text, text[-3000:]
    assert "asked twice" not in text and text.count("Warm shutdown") == 1, text[-3000:]


@pytest.mark.timeout(120)
def test_under_nohup_a_hangup_is_ignored_and_sigterm_stops_it(tmp_path: Path) -> None:
    """nohup asks for exactly this: `copydesk run` outlives a SIGHUP (and says so), and SIGTERM still
    stops everything."""
    env = run_env(tmp_path)
    log = tmp_path / "run.log"
    script = """nohup "$0" -m worker.cli run --concurrency 1 > "$1" 2>&1 & echo $!"""
    pid = launch_in_background(script, log, env)
    sid = os.getsid(pid)
    try:
        wait_for(lambda: "ready." in log.read_text(errors="replace"), 90, "the worker ready")
        os.kill(pid, signal.SIGHUP)
        time.sleep(2)
        assert psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE, "stopped by SIGHUP"
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not session_processes(sid), 60, "every process of the session gone after SIGTERM")
    finally:
        for process in session_processes(sid):
            process.kill()
    text = log.read_text(errors="replace")
    assert "SIGHUP is ignored (nohup)" in text and "copydesk run: SIGTERM: stopping" in text, text[-3000:]


@pytest.mark.timeout(120)
def test_children_stop_when_copydesk_run_is_killed_outright(tmp_path: Path) -> None:
    """SIGKILL cannot be handled: the kernel tells each child to stop (PR_SET_PDEATHSIG) instead, and no
    process of the session is left."""
    log = tmp_path / "run.log"
    run = start_run(tmp_path, log, concurrency=1)
    sid = run.pid
    try:
        wait_for(lambda: "ready." in log.read_text(errors="replace"), 90, "the worker ready")
        assert len(session_processes(sid)) >= 4  # run, Redis, worker (+ its pool process), beat
        run.kill()
        run.wait(10)
        wait_for(lambda: not session_processes(sid), 60, "every child gone after copydesk run was SIGKILLed")
    finally:
        for process in session_processes(sid):
            process.kill()
