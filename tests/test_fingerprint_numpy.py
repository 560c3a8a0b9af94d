"""fingerprint's MinHash, computed with numpy, against datasketch's own: bit for bit, every scheme."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.document import FingerprintParams
from ingest.fingerprint import _permutations, _signature

WIDTH = {"legacy": 32, "affine32": 32, "affine64": 64}


def _datasketch(values: list[int], params: FingerprintParams) -> np.ndarray:
    minhash = MinHash(num_perm=params.num_perm, seed=params.seed, scheme=params.scheme, hashfunc=lambda v: v)
    if values:
        minhash.update_batch(values)
    return minhash.hashvalues


@pytest.mark.parametrize("scheme", ["affine32", "affine64", "legacy"])
@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 12345), (1, 0)])
def test_permutations_are_datasketchs(scheme: str, num_perm: int, seed: int) -> None:
    params = FingerprintParams(num_perm=num_perm, seed=seed, scheme=scheme)
    mine = _permutations(params)
    theirs = MinHash(num_perm=num_perm, seed=seed, scheme=scheme).permutations
    for own, reference in zip(mine, theirs, strict=True):
        assert own.dtype == reference.dtype and np.array_equal(own, reference)


@settings(max_examples=150, deadline=None)
@given(
    scheme=st.sampled_from(["affine32", "affine64", "legacy"]),
    num_perm=st.sampled_from([1, 16, 128]),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_signatures_are_datasketchs(scheme: str, num_perm: int, seed: int, data: st.DataObject) -> None:
    params = FingerprintParams(num_perm=num_perm, seed=seed, scheme=scheme)
    values = data.draw(st.lists(st.integers(0, 2 ** WIDTH[scheme] - 1), max_size=300, unique=True))
    mine, theirs = _signature(values, params), _datasketch(values, params)
    assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)


def test_extremes_and_the_empty_document_are_datasketchs() -> None:
    for scheme in ("affine32", "affine64", "legacy"):
        params = FingerprintParams(scheme=scheme)
        top = 2 ** WIDTH[scheme] - 1
        for values in ([], [0], [top], [0, 1, top - 1, top]):
            assert np.array_equal(_signature(values, params), _datasketch(values, params))


def test_fingerprinting_does_not_import_datasketch() -> None:
    # The point of the numpy port: scipy and datasketch's LSH stay out of every copydesk process.
    code = (
        "import sys; from ingest.fingerprint import fingerprint; from ingest.document import Article;"
        "fingerprint(Article(text='one two three four five six seven eight nine ten'));"
        "print('datasketch' in sys.modules, 'scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
