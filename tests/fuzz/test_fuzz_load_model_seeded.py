"""A short, seeded run of the load_model fuzz harness (no atheris needed): a few thousand
mutations of valid model files (edits of the description's JSON values and of the
tensors, raw bytes of the description text and of the whole file) must load or raise
FormatError, never anything else."""

from __future__ import annotations

import os
import random
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import fuzz_load_model  # noqa: E402

SEEDS = fuzz_load_model.seed_files()

_INTERESTING = [
    b"-1",
    b"0",
    b"2",
    b"4294967296",
    b"18446744073709551616",
    b"1e309",
    b"null",
    b"true",
    b"[",
    b"{",
    b'"',
    b"[[[[[[[[",
    b'"Dense"',
    b'{"tensor": 3}',
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    # keep the target byte; interesting JSON where numbers and values are
    return fuzz_load_model.fuzz_load.mutate(rng, data, SEEDS, _INTERESTING, keep=1)


def test_seeds_load():
    for s in SEEDS:
        fuzz_load_model.one_input(s)


def test_structured_edits():
    """Target 2: each input edits 1-3 values of a valid description and 0-2 tensors
    (this reaches every field and shape check)."""
    rng = random.Random(0)
    t = time.perf_counter()
    for _ in range(2500):
        fuzz_load_model.one_input(b"\x02" + bytes(rng.randrange(256) for _ in range(24)))
    assert time.perf_counter() - t < 10.0


@pytest.mark.parametrize("target", [0, 1])
def test_seeded_mutations(target):
    """Byte-level mutations of the description text (1) and of whole files (0)."""
    rng = random.Random(target)
    seeds = [s for s in SEEDS if s[0] == target]
    t = time.perf_counter()
    for _ in range(1200):
        fuzz_load_model.one_input(mutate(rng, rng.choice(seeds)))
    assert time.perf_counter() - t < 10.0
