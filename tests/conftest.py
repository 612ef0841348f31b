"""Shared fixtures: a seeded NumPy RNG, and a fixture that runs a test on every backend."""

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=_runtime.capabilities())
def backend(request):
    """Pin each available SIMD backend in turn (serial, baseline, avx2, ...)."""
    old = _runtime.get_backend()
    _runtime.set_backend(request.param)
    yield request.param
    _runtime.set_backend(old)


@pytest.fixture
def threads():
    """Restore the thread count after a test changes it."""
    old = rc.get_num_threads()
    yield
    rc.set_num_threads(old)
