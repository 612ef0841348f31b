"""Shared fixtures: a seeded NumPy RNG, and a fixture that runs a test on every backend."""

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _tensor


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(params=_tensor.capabilities())
def backend(request):
    """Pin each available SIMD backend in turn (serial, baseline, avx2, ...)."""
    old = _tensor.get_backend()
    _tensor.set_backend(request.param)
    yield request.param
    _tensor.set_backend(old)


@pytest.fixture
def threads():
    """Restore the thread count after a test changes it."""
    old = rc.get_num_threads()
    yield
    rc.set_num_threads(old)
