"""bench/syndicate.py: a tiny generated corpus is valid for the corpus scorer and deterministic per seed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT / "bench"))

import syndicate  # noqa: E402

pytestmark = pytest.mark.skipif(not (syndicate.ZYTE / "ground-truth.json").exists(), reason="no Zyte raw pages")


def scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_score", CORPUS / "score.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_tiny_corpus_is_valid_and_deterministic(tmp_path: Path) -> None:
    truth: dict[str, Any] = syndicate.generate(5, tmp_path / "a", stories=14, quiet=True)
    pages = truth["pages"]
    on_disk = {p.name for p in (tmp_path / "a" / "pages").iterdir()}
    assert on_disk == set(pages)
    assert all(len(n) == len("0123456789ab.html.gz") for n in on_disk)

    # one original per story, and it is the story's page named in `stories`
    originals: dict[str, list[str]] = {}
    for name, meta in pages.items():
        if meta["role"] == "original" or (
            meta["role"] == "negative" and truth["stories"][meta["story"]]["original"] == name
        ):
            originals.setdefault(meta["story"], []).append(name)
    assert set(truth["stories"]) == {m["story"] for m in pages.values()}
    for story, rec in truth["stories"].items():
        assert originals[story] == [rec["original"]]
    # follow-ups quote another story of the corpus; copies of a copy name a page of their story
    follow = [m for m in pages.values() if m["transform"] == "follow-up"]
    assert follow
    for m in follow:
        assert m["role"] == "negative" and m["hard_negative"] == "follow-up"
        assert m["quotes_story"] in truth["stories"] and m["quotes_story"] != m["story"]
    for m in pages.values():
        if "via" in m:
            assert pages[m["via"]]["story"] == m["story"]
    assert any(m.get("hard_negative") == "brief" for m in pages.values())

    # the answer key itself scores perfectly and validly
    perfect = {
        "clusters": [
            {"canonical": rec["original"], "members": sorted(n for n, m in pages.items() if m["story"] == s)}
            for s, rec in truth["stories"].items()
        ],
        "failed": [],
    }
    result = scorer().score(truth, perfect)
    assert result["valid"] and result["pairwise"]["f1"] == 1.0 and result["canonical_accuracy_joined"] == 1.0

    # same seed, same bytes; another seed, another corpus
    syndicate.generate(5, tmp_path / "b", stories=14, quiet=True)
    assert files(tmp_path / "a") == files(tmp_path / "b")
    other = syndicate.generate(6, tmp_path / "c", stories=14, quiet=True)
    assert {m["source"] for m in other["pages"].values()} != {m["source"] for m in pages.values()}
    assert json.dumps(other, sort_keys=True) != json.dumps(truth, sort_keys=True)
