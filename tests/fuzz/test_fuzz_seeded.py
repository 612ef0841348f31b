"""A short, seeded run of the fuzz harness (no atheris needed): valid seed files and
random mutations of them (byte changes, truncation, insertion, deletion, splicing) must
load or raise FormatError, never anything else."""

from __future__ import annotations

import base64
import os
import random
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import fuzz_load  # noqa: E402

SEEDS = fuzz_load.seed_files()


# interesting numbers in ASCII, where JSON digits are
_INTERESTING = [
    b"-1",
    b"0",
    b"4294967296",
    b"18446744073709551616",
    b"1e309",
    b"[",
    b"{",
    b'"',
    b"\\u0000",
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    return fuzz_load.mutate(rng, data, SEEDS, _INTERESTING)


# inputs the fuzzer once crashed on (fixed): empty tensors with huge dimensions
REGRESSIONS = [
    "PkgCAyAAANcyMjIyMgF7ImYyMjRMTExMTHt7e3t7e3s=",
    "AnKUMyMzMzMzMzMzMzSuyQAzMzMzMy0pMzMzM/////8zMzMzADEgyQAA",
]


@pytest.mark.parametrize("b64", REGRESSIONS)
def test_regressions(b64):
    fuzz_load.one_input(base64.b64decode(b64))


def test_seeds_load():
    for s in SEEDS:
        fuzz_load.one_input(s)


@pytest.mark.parametrize("seed", range(4))
def test_seeded_mutations(seed):
    rng = random.Random(seed)
    for _ in range(1500):
        fuzz_load.one_input(mutate(rng, rng.choice(SEEDS)))
