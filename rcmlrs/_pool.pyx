# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Pooling kernels behind rc.max_pool2d / rc.avg_pool2d / rc.global_avg_pool2d and the
rc.nn pooling layers (csrc/pool.c). Images travel as ``(B, H*W, C)``: image b is a
contiguous (H*W, C) matrix, pixel (i, j) at row i*W + j. Each helper checks every size the
C side reads and allocates its output; the layers and the functions (and their autograd
rules) call these same helpers, so their bits agree. Names start with _; not public API."""

from rcmlrs._kernels cimport *
from rcmlrs._tensor cimport NOGIL_MIN, RamTensor, _empty

from rcmlrs._tensor import ShapeError

# The kernels live once, in rcmlrs._tensor; reached through its C API capsule.
rcml_capi_import()

POOL_MAX = RCML_POOL_MAX
POOL_AVG = RCML_POOL_AVG

cdef enum:
    MAX_SIDE = 1 << 30  # H*W must fit the kernel's int32 pixel index


def _pool2d_geometry(Py_ssize_t H, Py_ssize_t W, Py_ssize_t ph, Py_ssize_t pw,
                     Py_ssize_t sh, Py_ssize_t sw, bint same, str what="pooling"):
    """``(Ho, Wo, pad_top, pad_left)`` of a (ph, pw) window with strides (sh, sw) over an
    H x W image. "valid": Ho = (H - ph) // sh + 1; "same" (Keras/TF): Ho = ceil(H / sh),
    total padding max((Ho - 1)*sh + ph - H, 0) with the smaller half before. ValueError for
    a size below 1, ShapeError for a window larger than a "valid" image."""
    if ph < 1 or pw < 1:
        raise ValueError(f"{what}: pool_size must be positive, got ({ph}, {pw})")
    if sh < 1 or sw < 1:
        raise ValueError(f"{what}: strides must be positive, got ({sh}, {sw})")
    if H < 1 or W < 1 or H * W >= MAX_SIDE or H >= MAX_SIDE or W >= MAX_SIDE:
        raise ShapeError(f"{what}: image size must be positive and below 2^30 pixels, "
                         f"got {H}x{W}")
    cdef Py_ssize_t Ho, Wo, pt = 0, pl = 0
    if same:
        Ho = (H + sh - 1) // sh
        Wo = (W + sw - 1) // sw
        pt = max((Ho - 1) * sh + ph - H, 0) // 2
        pl = max((Wo - 1) * sw + pw - W, 0) // 2
    else:
        if ph > H or pw > W:
            raise ShapeError(
                f"{what}: pool_size ({ph}, {pw}) is larger than the {H}x{W} image; use a "
                f"smaller pool_size or padding='same'")
        Ho = (H - ph) // sh + 1
        Wo = (W - pw) // sw + 1
    return Ho, Wo, pt, pl


cdef int _fill(rcml_pool2d_t *p, RamTensor x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t ph,
               Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, bint same, str what) except -1:
    Ho, Wo, pt, pl = _pool2d_geometry(H, W, ph, pw, sh, sw, same, what)
    if x.R != H * W:
        raise ShapeError(f"{what}: input of shape {x.shape} is not a batch of {H}x{W} "
                         f"images (expected (batch, {H * W}, channels))")
    p.B, p.H, p.W, p.C = x.L, H, W, x.C
    p.ph, p.pw, p.sh, p.sw = ph, pw, sh, sw
    p.pt, p.pl, p.Ho, p.Wo = pt, pl, Ho, Wo
    return 0


cdef int _check_mode(int mode, str what) except -1:
    if mode != RCML_POOL_MAX and mode != RCML_POOL_AVG:
        raise ValueError(f"{what}: unknown pooling mode {mode}")
    return 0


def _pool2d_forward(RamTensor x, int mode, Py_ssize_t H, Py_ssize_t W, Py_ssize_t ph,
                    Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, bint same,
                    str what="pooling"):
    """Max (mode POOL_MAX) or average (POOL_AVG) pooling of x ``(B, H*W, C)``: returns
    ``(B, Ho*Wo, C)`` (sizes from ``_pool2d_geometry``)."""
    cdef rcml_pool2d_t p
    _check_mode(mode, what)
    _fill(&p, x, H, W, ph, pw, sh, sw, same, what)
    cdef RamTensor y = _empty(x.L, p.Ho * p.Wo, x.C)
    if y.n + x.n > NOGIL_MIN:
        with nogil:
            rcml_pool2d_forward_f32(mode, &p, x.data, y.data)
    else:
        rcml_pool2d_forward_f32(mode, &p, x.data, y.data)
    return y


def _pool2d_backward(RamTensor x, RamTensor g, int mode, Py_ssize_t H, Py_ssize_t W,
                     Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t sh, Py_ssize_t sw, bint same,
                     str what="pooling"):
    """dL/dx ``(B, H*W, C)`` from g = dL/dy ``(B, Ho*Wo, C)`` (any shape of that size) of
    the same pooling of x: max sends each output's gradient to the first maximum of its
    window, average spreads it evenly over the window's valid elements."""
    cdef rcml_pool2d_t p
    _check_mode(mode, what)
    _fill(&p, x, H, W, ph, pw, sh, sw, same, what)
    if g.n != x.L * p.Ho * p.Wo * x.C:
        raise ShapeError(f"{what}: gradient of shape {g.shape} does not fit the output "
                         f"({x.L}, {p.Ho * p.Wo}, {x.C}) of input {x.shape}")
    cdef RamTensor dx = _empty(x.L, x.R, x.C)
    if dx.n + g.n > NOGIL_MIN:
        with nogil:
            rcml_pool2d_backward_f32(mode, &p, x.data, g.data, dx.data)
    else:
        rcml_pool2d_backward_f32(mode, &p, x.data, g.data, dx.data)
    return dx
