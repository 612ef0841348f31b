# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Embedding kernels behind ``rc.embedding`` and ``rc.nn.Embedding``: the forward pass is
the one gather kernel (csrc/shape.c, rcml_gather3_f32) reading whole table rows, the
gradient its scatter-add split over column blocks (csrc/embed.c), so a repeated id adds
its gradients in the same order at any thread count. Ids arrive as float32 tensors in the
rows layout ``(1, batch, T)`` (every integer below 2^24 is exact there); the output is
time-major ``(T, batch, d)``. Names start with _embed_; they are not public API."""

from libc.math cimport floor
from libc.stdint cimport int64_t
from libc.string cimport memset

from rcmlrs._kernels cimport *
from rcmlrs._tensor cimport NOGIL_MIN, RamTensor, _empty

import numpy as np

from rcmlrs._tensor import ShapeError

# The kernels live once, in rcmlrs._tensor; this module reaches them through its C API
# capsule (csrc/rcmlrs_capi.h), so it shares their backend choice and thread pool.
rcml_capi_import()

# every integer id below this is exact in float32
MAX_INPUT_DIM = 1 << 24


def _embed_rows(RamTensor ids, Py_ssize_t input_dim, Py_ssize_t output_dim):
    """The row offsets (int64, in floats: id * output_dim) of the ids ``(1, batch, T)`` in
    time-major order (entry t * batch + b is sample b's step t). ValueError naming the
    first id that is not an integer in [0, input_dim) and its sample and step."""
    if ids.L != 1:
        raise ShapeError(f"embedding: ids must be a (1, batch, timesteps) tensor (rows "
                         f"layout), got shape {ids.shape}")
    if not 1 <= input_dim <= MAX_INPUT_DIM or output_dim < 1:
        raise ValueError(f"embedding: input_dim must be in [1, 2^24] and output_dim >= 1, "
                         f"got {input_dim} and {output_dim}")
    cdef Py_ssize_t B = ids.R, T = ids.C, b, t
    rows = np.empty(B * T, dtype=np.int64)
    cdef int64_t[::1] r = rows
    cdef const float *v = ids.data
    cdef float x
    for b in range(B):
        for t in range(T):
            x = v[b * T + t]
            if not (x >= 0 and x < input_dim and floor(x) == x):
                raise ValueError(
                    f"embedding: id {x!r} at sample {b}, step {t} is not an integer in "
                    f"[0, {input_dim}) (input_dim)")
            r[t * B + b] = <int64_t>x * output_dim
    return rows


def _embed_forward(RamTensor table, const int64_t[::1] rows, Py_ssize_t T, Py_ssize_t B):
    """(T, B, d): table (1, V, d) rows at the offsets ``rows`` (from _embed_rows, T * B of
    them, time-major), one gather of whole rows."""
    cdef Py_ssize_t d = table.C, n = rows.shape[0]
    _embed_check(table, rows, T, B, "embedding")
    cols = np.arange(d, dtype=np.int64)
    cdef const int64_t[::1] c = cols
    cdef int64_t zero = 0
    cdef RamTensor out = _empty(T, B, d)
    if out.n == 0:
        return out
    if out.n >= NOGIL_MIN:
        with nogil:
            rcml_gather3_f32(table.data, &zero, 1, &rows[0], n, &c[0], d, out.data)
    else:
        rcml_gather3_f32(table.data, &zero, 1, &rows[0], n, &c[0], d, out.data)
    return out


def _embed_backward(RamTensor g, const int64_t[::1] rows, Py_ssize_t input_dim):
    """dL/dtable (1, input_dim, d) from dL/dout g (T, B, d): g's rows added into zeros at
    the offsets ``rows`` (repeated ids accumulate in (t, b) order, at any thread count)."""
    cdef Py_ssize_t d = g.C, n = rows.shape[0]
    _embed_check_grad(g, rows, input_dim)
    cols = np.arange(d, dtype=np.int64)
    cdef const int64_t[::1] c = cols
    cdef RamTensor out = _empty(1, input_dim, d)
    if out.n:
        memset(out.data, 0, out.n * 4)
    if n == 0 or d == 0:
        return out
    with nogil:
        rcml_embedding_backward_f32(g.data, &rows[0], n, &c[0], d, out.data)
    return out


cdef int _embed_check(RamTensor table, const int64_t[::1] rows, Py_ssize_t T, Py_ssize_t B,
                      str what) except -1:
    cdef Py_ssize_t n = rows.shape[0]
    if table.L != 1 or T < 0 or B < 0 or T * B != n:
        raise ShapeError(f"{what}: table of shape {table.shape} must be (1, input_dim, "
                         f"output_dim) and {n} row offsets must be {T} x {B}")
    _embed_check_rows(rows, table.n, table.C, what)
    return 0


cdef int _embed_check_grad(RamTensor g, const int64_t[::1] rows, Py_ssize_t input_dim,
                           ) except -1:
    cdef Py_ssize_t n = rows.shape[0]
    if g.L * g.R != n:
        raise ShapeError(f"embedding backward: gradient of shape {g.shape} does not fit "
                         f"{n} ids")
    _embed_check_rows(rows, input_dim * g.C, g.C, "embedding backward")
    return 0


cdef int _embed_check_rows(const int64_t[::1] rows, Py_ssize_t size, Py_ssize_t d,
                           str what) except -1:
    """Every offset a whole row inside a buffer of ``size`` floats (rows of d)."""
    cdef Py_ssize_t i
    for i in range(rows.shape[0]):
        if rows[i] < 0 or rows[i] + d > size or (d and rows[i] % d):
            raise ValueError(f"{what}: row offset {rows[i]} at {i} is outside the table")
    return 0
