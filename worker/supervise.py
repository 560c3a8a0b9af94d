"""`copydesk run`'s supervisor: it owns its children and stops them, in order, whatever stops it.

SIGINT, SIGTERM and SIGHUP are handled explicitly, so a `copydesk run` started in the background by a
non-interactive shell (which starts it with SIGINT ignored), or under a process supervisor stops the
same way as one in a terminal; under nohup, which ignores SIGHUP on purpose, SIGHUP stays ignored.
Each child runs in its own process group: a Ctrl-C in the terminal reaches the supervisor alone, which
then stops the children one at a time, each after the one that depends on it (Flower, beat, worker,
and the Redis they all talk to last), so that nothing logs a lost connection on its way out and the
worker receives one shutdown request, not two. A child that exits by itself stops the others, and each
child is told by the kernel to stop (PR_SET_PDEATHSIG) if the supervisor itself is killed outright.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger("copydesk.run")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A second stop signal within this many seconds of the first is the same request: SIGTERM sent to `make run`'s process
# group reaches the supervisor twice, once from the kill and once forwarded by make, a few milliseconds apart.
REPEAT_WINDOW = 0.5
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child between fork and exec: the kernel sends it SIGTERM when its parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the supervisor's own handlers still stop the children
        pass


def spawn(command: Sequence[str], env: dict[str, str] | None = None, **kwargs: object) -> subprocess.Popen[bytes]:
    """A child in its own process group that dies with its parent."""
    return subprocess.Popen(  # type: ignore[call-overload]
        list(command), env=env, process_group=0, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL, **kwargs
    )


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    grace: float  # seconds it gets to stop after SIGTERM before its whole process group is killed


@dataclass
class Supervisor:
    """Children in start order; stop() stops them in reverse order."""

    say: Callable[[str], None]
    children: list[Child] = field(default_factory=list)
    stop_signal: int | None = None
    forced: bool = False
    _previous: dict[int, object] = field(default_factory=dict)
    _first_signal: float = 0.0

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            if signum == signal.SIGHUP and signal.getsignal(signum) == signal.SIG_IGN:
                # Started under nohup, which asks for exactly this: to outlive the terminal's hangup. (A
                # shell ignores SIGINT for its background jobs without being asked: that one is handled.)
                self.say("SIGHUP is ignored (nohup): stop with SIGTERM or SIGINT")
                continue
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        now = time.monotonic()
        if self.stop_signal is None:
            self.stop_signal, self._first_signal = signum, now
        elif now - self._first_signal >= REPEAT_WINDOW:  # asked twice: do not wait for running tasks
            self.forced = True

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None

    def add(self, name: str, process: subprocess.Popen[bytes], grace: float) -> None:
        self.children.append(Child(name, process, grace))

    def wait(self, poll: float = 0.2) -> Child | None:
        """Until a stop signal (None) or a child's exit (that child)."""
        while not self.stopping:
            for child in self.children:
                if child.process.poll() is not None:
                    return child
            time.sleep(poll)
        return None

    def stop(self, extra: Callable[[], None] | None = None) -> None:
        """Stop every child, last started first, each within its grace time; then `extra` (the embedded Redis)."""
        for child in reversed(self.children):
            self._stop(child)
        if extra is not None:
            extra()

    def _stop(self, child: Child) -> None:
        process = child.process
        if process.poll() is None:
            self.say(f"stopping {child.name} (pid {process.pid})")
            _signal_group(process, signal.SIGTERM)
            deadline = time.monotonic() + child.grace
            while process.poll() is None and time.monotonic() < deadline and not self.forced:
                time.sleep(0.1)
            if process.poll() is None:
                why = "asked twice" if self.forced else f"still running after {child.grace:.0f} s"
                self.say(f"killing {child.name} ({why})")
        # Whatever it left in its process group (a pool process, a task's subprocess) goes with it.
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        if signum == signal.SIGKILL:
            os.killpg(process.pid, signum)  # the group outlives its leader while a member lives
        elif process.poll() is None:
            os.kill(process.pid, signum)  # the leader decides how to stop its own processes
    except ProcessLookupError:
        pass
    except PermissionError:
        log.warning("no permission to signal process group %s", process.pid)


def exit_code(stop_signal: int | None, crashed: Child | None) -> int:
    """0 when stopped by a signal; when a child exited by itself, its exit status, or 128 + the signal that
    killed it (the shell's convention), or 1 if it exited with 0."""
    if crashed is None:
        return 0
    status = crashed.process.returncode
    return 128 - status if status < 0 else status or 1
