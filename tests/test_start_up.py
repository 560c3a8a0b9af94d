"""What a command imports before its first page: modules it does not use cost every run (bench/README.md,
"Whole processes and start-up")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_batch_archive_imports_no_redis(tmp_path: Path) -> None:
    # `copydesk dedup` files pages in memory (MemoryIndex): the Redis client is for the worker only.
    code = (
        "from worker.cli import _archive\n"
        "import worker.batch, storage.archive, storage.index\n"
        f"_archive('sqlite:///{tmp_path / 'a.db'}')"
    )
    assert "redis" not in _modules_after(code)
