# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Batch and layer normalization kernels (csrc/norm.c, norm_body.h): thin, checked
wrappers. Private: rc.batch_norm / rc.layer_norm (rcmlrs/normalization.py), their tape
rules and the rc.nn layers all call these, so the three give the same bits. Each helper
checks every size the C side reads; the meaning (momentum, epsilon ranges) is checked
in normalization.py. An engine batch x of shape (L, R, C) is the (L*R, C) matrix of its
rows; statistics are per column over all rows (batch norm) or per row (layer norm)."""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memcpy

from rcmlrs._kernels cimport *
from rcmlrs._tensor cimport NOGIL_MIN, RamTensor, _empty, _overlaps

from rcmlrs._tensor import ShapeError

# The kernels live once, in rcmlrs._tensor; this module reaches them through its C API
# capsule (csrc/rcmlrs_capi.h), so it shares their backend choice and thread pool.
rcml_capi_import()


cdef int _check(bint ok, str what) except -1:
    if not ok:
        raise ShapeError(what)
    return 0


cdef void *_work(size_t n, size_t c) except NULL:
    cdef void *w = PyMem_Malloc(rcml_norm_workspace_f32(n, c))
    if w == NULL:
        raise MemoryError("normalization: cannot allocate the statistics workspace")
    return w


cdef int _check_channels(RamTensor x, RamTensor v, str name, str what) except -1:
    _check(v.n == x.C, f"{what}: {name} has {v.n} values, the input {x.C} channels "
                       f"(its last axis; shape {x.shape})")
    return 0


def _bn_forward(RamTensor x not None, RamTensor gamma not None, RamTensor beta not None,
                RamTensor moving_mean, RamTensor moving_variance, bint training,
                double momentum, double epsilon):
    """Batch norm of x (L, R, C) over its L*R rows, per channel. Returns
    ``(y, mean, var, istd)``: y of x's shape; mean, var, istd (1, 1, C) (the batch
    statistics in training, else copies of the moving ones; istd = 1/sqrt(var + eps)).
    In training the moving tensors (may be None) are updated in place (Keras:
    moving * momentum + batch * (1 - momentum), the biased batch variance); otherwise
    they are required and used."""
    cdef str what = "batch_norm"
    cdef Py_ssize_t n = x.L * x.R, c = x.C
    _check(c >= 1, f"{what}: the input has no channels (shape {x.shape})")
    _check_channels(x, gamma, "gamma", what)
    _check_channels(x, beta, "beta", what)
    cdef bint has_mm = moving_mean is not None, has_mv = moving_variance is not None
    if has_mm:
        _check_channels(x, moving_mean, "moving_mean", what)
    if has_mv:
        _check_channels(x, moving_variance, "moving_variance", what)
    if not training and not (has_mm and has_mv):
        raise ValueError(f"{what}: inference (training=False) needs moving_mean and "
                         f"moving_variance")
    if training and n == 0:
        raise ValueError(f"{what}: training needs at least one row (input shape {x.shape})")
    if has_mm and has_mv and _overlaps(moving_mean, moving_variance):
        raise ValueError(f"{what}: moving_mean and moving_variance share memory")
    cdef RamTensor y = _empty(x.L, x.R, c)
    cdef RamTensor mean = _empty(1, 1, c), var = _empty(1, 1, c), istd = _empty(1, 1, c)
    cdef float *mm = moving_mean.data if has_mm and training else NULL
    cdef float *mv = moving_variance.data if has_mv and training else NULL
    if not training:
        memcpy(mean.data, moving_mean.data, c * sizeof(float))
        memcpy(var.data, moving_variance.data, c * sizeof(float))
    cdef void *work = _work(n, c)
    try:
        if n * c >= NOGIL_MIN:
            with nogil:
                rcml_batch_norm_forward_f32(x.data, n, c, gamma.data, beta.data, epsilon,
                                            training, momentum, mean.data, var.data, mm, mv,
                                            istd.data, y.data, work)
        else:
            rcml_batch_norm_forward_f32(x.data, n, c, gamma.data, beta.data, epsilon,
                                        training, momentum, mean.data, var.data, mm, mv,
                                        istd.data, y.data, work)
    finally:
        PyMem_Free(work)
    if mm != NULL:
        moving_mean._version += 1
    if mv != NULL:
        moving_variance._version += 1
    return y, mean, var, istd


def _bn_backward(RamTensor x not None, RamTensor g not None, RamTensor mean not None,
                 RamTensor istd not None, RamTensor gamma not None, bint training,
                 bint need_dx):
    """From g = dL/dy (x's shape) and the forward's mean and istd (C values each):
    ``(dx or None, dgamma, dbeta)``, dgamma and dbeta (1, 1, C). training: the batch
    statistics depend on x (the full batch-norm gradient); else y is affine in x."""
    cdef str what = "batch_norm backward"
    cdef Py_ssize_t n = x.L * x.R, c = x.C
    _check(c >= 1, f"{what}: the input has no channels (shape {x.shape})")
    _check(g.L == x.L and g.R == x.R and g.C == x.C,
           f"{what}: gradient of shape {g.shape} does not match the input {x.shape}")
    _check_channels(x, mean, "mean", what)
    _check_channels(x, istd, "istd", what)
    _check_channels(x, gamma, "gamma", what)
    cdef RamTensor dgamma = _empty(1, 1, c), dbeta = _empty(1, 1, c)
    cdef RamTensor dx = _empty(x.L, x.R, c) if need_dx else None
    cdef float *dxp = dx.data if need_dx else NULL
    cdef void *work = _work(n, c)
    try:
        if n * c >= NOGIL_MIN:
            with nogil:
                rcml_batch_norm_backward_f32(x.data, g.data, n, c, mean.data, istd.data,
                                             gamma.data, training, dgamma.data, dbeta.data,
                                             dxp, work)
        else:
            rcml_batch_norm_backward_f32(x.data, g.data, n, c, mean.data, istd.data,
                                         gamma.data, training, dgamma.data, dbeta.data, dxp,
                                         work)
    finally:
        PyMem_Free(work)
    return dx, dgamma, dbeta


def _ln_forward(RamTensor x not None, RamTensor gamma not None, RamTensor beta not None,
                double epsilon):
    """Layer norm of each of the L*R rows of x (L, R, C) over its C values. Returns
    ``(y, mean, istd)``: y of x's shape; mean and istd (L, R, 1) per row."""
    cdef str what = "layer_norm"
    cdef Py_ssize_t n = x.L * x.R, c = x.C
    _check(c >= 1, f"{what}: the input has no features (shape {x.shape})")
    _check_channels(x, gamma, "gamma", what)
    _check_channels(x, beta, "beta", what)
    cdef RamTensor y = _empty(x.L, x.R, c)
    cdef RamTensor mean = _empty(x.L, x.R, 1), istd = _empty(x.L, x.R, 1)
    if n * c >= NOGIL_MIN:
        with nogil:
            rcml_layer_norm_forward_f32(x.data, n, c, gamma.data, beta.data, epsilon,
                                        mean.data, istd.data, y.data)
    else:
        rcml_layer_norm_forward_f32(x.data, n, c, gamma.data, beta.data, epsilon, mean.data,
                                    istd.data, y.data)
    return y, mean, istd


def _ln_backward(RamTensor x not None, RamTensor g not None, RamTensor mean not None,
                 RamTensor istd not None, RamTensor gamma not None, bint need_dx):
    """From g = dL/dy (x's shape) and the forward's per-row mean and istd (L*R values
    each): ``(dx or None, dgamma, dbeta)``, dgamma and dbeta (1, 1, C)."""
    cdef str what = "layer_norm backward"
    cdef Py_ssize_t n = x.L * x.R, c = x.C
    _check(c >= 1, f"{what}: the input has no features (shape {x.shape})")
    _check(g.L == x.L and g.R == x.R and g.C == x.C,
           f"{what}: gradient of shape {g.shape} does not match the input {x.shape}")
    _check(mean.n == n and istd.n == n,
           f"{what}: mean and istd need one value per row ({n}), got {mean.n} and {istd.n}")
    _check_channels(x, gamma, "gamma", what)
    cdef RamTensor dgamma = _empty(1, 1, c), dbeta = _empty(1, 1, c)
    cdef RamTensor dx = _empty(x.L, x.R, c) if need_dx else None
    cdef float *dxp = dx.data if need_dx else NULL
    cdef void *work = _work(n, c)
    try:
        if n * c >= NOGIL_MIN:
            with nogil:
                rcml_layer_norm_backward_f32(x.data, g.data, n, c, mean.data, istd.data,
                                             gamma.data, dgamma.data, dbeta.data, dxp, work)
        else:
            rcml_layer_norm_backward_f32(x.data, g.data, n, c, mean.data, istd.data,
                                         gamma.data, dgamma.data, dbeta.data, dxp, work)
    finally:
        PyMem_Free(work)
    return dx, dgamma, dbeta
