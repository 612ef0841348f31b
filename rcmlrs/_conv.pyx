# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""Convolution kernels behind rc.conv1d / rc.conv2d and rc.nn's Conv1D / Conv2D (private).

Each helper checks every size the C side reads (csrc/conv.c, csrc/conv_body.h), allocates
the outputs and calls the one pair of kernels: an im2col block per chunk of output rows
times the kernel through the packed GEMM (or, for stride 1 without padding, few filters
and short patches, the direct form over contiguous input runs), act_body.h's layer forms
for the bias and the activation, and col2im for the input gradient. A Conv1D on a
time-major batch ``(T, B, C)`` is the same kernel on one image of height T and width B
with a ``(k, 1)`` kernel.
Activation ids are the one table's (rcmlrs._tensor._act_id)."""

from rcmlrs._kernels cimport *
from rcmlrs._tensor cimport RamTensor, _empty

from rcmlrs._tensor import ShapeError

rcml_capi_import()


cdef int _check(bint ok, str what) except -1:
    if not ok:
        raise ShapeError(what)
    return 0


def _conv_out(Py_ssize_t size, Py_ssize_t k, Py_ssize_t s, bint same, str axis="input"):
    """``(out, pad_before)`` of one spatial axis: "valid": out = (size - k) // s + 1, no
    padding; "same" (Keras/TF): out = ceil(size / s), total padding max((out - 1) s + k -
    size, 0), the smaller half before. ShapeError / ValueError for a size, kernel or stride
    below 1 and for a kernel larger than a "valid" input."""
    if k < 1:
        raise ValueError(f"conv: kernel size must be >= 1, got {k} along the {axis} axis")
    if s < 1:
        raise ValueError(f"conv: strides must be >= 1, got {s} along the {axis} axis")
    if size < 1:
        raise ShapeError(f"conv: the {axis} size must be >= 1, got {size}")
    cdef Py_ssize_t out, total
    if same:
        out = (size + s - 1) // s
        total = max((out - 1) * s + k - size, 0)
        return out, total // 2
    if k > size:
        raise ShapeError(
            f"conv: kernel size {k} is larger than the {axis} size {size} with "
            f"padding='valid'; use a smaller kernel, a larger input or padding='same'")
    return (size - k) // s + 1, 0


cdef int _geometry(rcml_conv2d_t *g, RamTensor x, RamTensor w, Py_ssize_t H, Py_ssize_t W,
                   Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, bint same,
                   bint time_major, str what) except -1:
    """Fill g for x: images (B, H*W, C), or time-major (T, B, C) (then H, W are ignored)."""
    if time_major:
        H, W = x.L, x.R
        g.B = 1
        if kw != 1 or sw != 1:
            raise ValueError(f"{what}: a time-major convolution has a (k, 1) kernel")
    else:
        _check(H >= 1 and W >= 1 and x.R == H * W,
               f"{what}: input of shape {x.shape} is not a batch of {H}x{W} images "
               f"(expected (batch, {H * W}, channels))")
        g.B = x.L
    cdef Py_ssize_t C = x.C
    _check(C >= 1, f"{what}: input of shape {x.shape} has no channels")
    ho, pt = _conv_out(H, kh, sh, same, "time" if time_major else "height")
    if time_major:
        wo, pl = W, 0
    else:
        wo, pl = _conv_out(W, kw, sw, same, "width")
    _check(w.L == 1 and w.R == kh * kw * C and w.C >= 1,
           f"{what}: kernel of shape {w.shape} does not fit a {kh}x{kw} window over {C} "
           f"input channels (expected (1, {kh * kw * C}, filters)); check the number of "
           f"channels of the input {x.shape}")
    g.H, g.W, g.C, g.F = H, W, C, w.C
    g.kh, g.kw, g.sh, g.sw = kh, kw, sh, sw
    g.pt, g.pl, g.Ho, g.Wo = pt, pl, ho, wo
    return 0


cdef RamTensor _out(const rcml_conv2d_t *g, bint time_major):
    if time_major:
        return _empty(g.Ho, g.Wo, g.F)
    return _empty(g.B, g.Ho * g.Wo, g.F)


cdef int _act_check(int act, str what) except -1:
    if not ((0 <= act < RCML_ACT_COUNT) or act == RCML_ACT_SOFTMAX):
        raise ValueError(f"{what}: unknown activation id {act}")
    return 0


def _conv_forward(RamTensor x, RamTensor w, RamTensor b, Py_ssize_t H, Py_ssize_t W,
                  Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, bint same,
                  bint time_major, int act, float param):
    """z = conv(x, w) + b, y = act(z); returns (z, y) (y is z when linear). x: images
    ``(B, H*W, C)`` -> ``(B, Ho*Wo, F)``, or time-major ``(T, B, C)`` -> ``(To, B, F)``;
    w ``(1, kh*kw*C, F)`` rows in (kh, kw, C) order; b ``F`` values or None."""
    _act_check(act, "conv")
    cdef rcml_conv2d_t g
    _geometry(&g, x, w, H, W, kh, kw, sh, sw, same, time_major, "conv")
    _check(b is None or b.n == <Py_ssize_t>g.F,
           f"conv: bias of shape {None if b is None else b.shape} does not fit "
           f"{g.F} filters")
    cdef const float *bias = NULL if b is None else b.data
    cdef RamTensor z = _out(&g, time_major)
    cdef RamTensor y = z if act == RCML_ACT_LINEAR else _out(&g, time_major)
    cdef int rc
    with nogil:
        rc = rcml_conv2d_forward_f32(&g, act, param, x.data, w.data, bias, z.data, y.data)
    if rc != RCML_OK:
        raise MemoryError("conv: out of memory for the im2col scratch")
    return z, y


def _conv_backward(RamTensor x, RamTensor w, RamTensor z, RamTensor y, RamTensor grad,
                   RamTensor dw, RamTensor db, Py_ssize_t H, Py_ssize_t W, Py_ssize_t kh,
                   Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, bint same, bint time_major,
                   int act, float param, bint need_dx):
    """From dL/dy ``grad`` (z's shape): writes dw (w's size) and db (F values; None: no
    bias) and returns dL/dx of x's shape (None unless need_dx). z, y: the forward's."""
    _act_check(act, "conv.backward")
    cdef rcml_conv2d_t g
    _geometry(&g, x, w, H, W, kh, kw, sh, sw, same, time_major, "conv.backward")
    cdef Py_ssize_t m = g.B * g.Ho * g.Wo * g.F
    _check(z.n == m and y.n == m and grad.n == m and dw.n == w.n
           and (db is None or db.n == <Py_ssize_t>g.F),
           f"conv.backward: gradient of shape {grad.shape} does not fit input {x.shape} "
           f"and kernel {w.shape}")
    cdef RamTensor dz = _empty(1, 1, m)
    cdef RamTensor dx = _empty(x.L, x.R, x.C) if need_dx else None
    cdef float *dbp = NULL if db is None else db.data
    cdef float *dxp = NULL if dx is None else dx.data
    cdef int rc
    with nogil:
        rc = rcml_conv2d_backward_f32(&g, act, param, x.data, w.data, z.data, y.data,
                                      grad.data, dz.data, dw.data, dbp, dxp)
    if rc != RCML_OK:
        raise MemoryError("conv.backward: out of memory for the im2col scratch")
    return dx
