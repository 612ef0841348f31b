# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""The global random state and the random constructors: a counter-based generator
(csrc/random.c), so a seed gives the same tensor on every platform, backend and thread
count. The kernels are rcmlrs._tensor's, reached through its C API capsule."""

from libc.math cimport isfinite
from libc.stdint cimport uint64_t

from rcmlrs._kernels cimport *
from rcmlrs._tensor cimport RamTensor, _empty, _shape3, _to_float

import os as _os
from operator import index as _index

rcml_capi_import()


# the global generator: (seed, counter); every unseeded draw takes the next counters
cdef uint64_t _g_seed = <uint64_t>int.from_bytes(_os.urandom(8), "little")
cdef uint64_t _g_counter = 0


def seed(n):
    """Seed the global generator. The same seed gives the same numbers on every
    platform and thread count."""
    global _g_seed, _g_counter
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"seed: expected an int, got {type(n).__name__}")
    _g_seed = <uint64_t>(n.__index__() & 0xFFFFFFFFFFFFFFFF)
    _g_counter = 0


cdef tuple _take_stream(object seed_, Py_ssize_t n):
    """(seed, first counter) of a draw that consumes ``n`` counters: the global generator
    advances by exactly what the draw uses, so successive unseeded draws never share a
    counter (a normal number takes two)."""
    global _g_counter
    if seed_ is None:
        off = _g_counter
        _g_counter += <uint64_t>n
        return (_g_seed, off)
    if isinstance(seed_, bool) or not hasattr(seed_, "__index__"):
        raise TypeError(f"seed must be an int or None, got {type(seed_).__name__}")
    return (_index(seed_) & 0xFFFFFFFFFFFFFFFF, 0)


def random(shape, low=0.0, high=1.0, seed=None):
    """Uniform numbers in [low, high) from the counter-based generator (computed in
    double, so any finite float32 range works, even one wider than the largest float)."""
    L, R, C = _shape3(shape, "random")
    cdef float lo = _to_float(low, "random"), hi = _to_float(high, "random")
    if not (isfinite(lo) and isfinite(hi)):
        raise ValueError(f"random: low {low} and high {high} must be finite float32 values")
    if not (lo <= hi):
        raise ValueError(f"random: low {low} must not exceed high {high}")
    cdef RamTensor out = _empty(L, R, C)
    cdef uint64_t s, off
    s, off = _take_stream(seed, out.n)
    with nogil:
        rcml_random_uniform_f32(s, off, lo, hi, out.data, out.n)
    return out


def randn(shape, mean=0.0, std=1.0, seed=None):
    """Normal numbers N(mean, std^2) from the counter-based generator (Box-Muller)."""
    L, R, C = _shape3(shape, "randn")
    cdef float mu = _to_float(mean, "randn"), sd = _to_float(std, "randn")
    if not (sd >= 0):
        raise ValueError(f"randn: std must be >= 0, got {std}")
    cdef RamTensor out = _empty(L, R, C)
    cdef uint64_t s, off
    s, off = _take_stream(seed, 2 * out.n)  # Box-Muller: two counters per number
    with nogil:
        rcml_random_normal_f32(s, off, mu, sd, out.data, out.n)
    return out
