"""What the benchmark scripts share: the machine line of their headers, and their scratch directory."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path


def machine() -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{now}, {platform.platform()}, {os.cpu_count()} CPUs (os.cpu_count()), Python {platform.python_version()}"


def remove_unless_kept(tmp: Path, keep: bool) -> None:
    """Delete a run's scratch directory, or say where it is when --keep asked to keep it."""
    if keep:
        print(f"kept {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
