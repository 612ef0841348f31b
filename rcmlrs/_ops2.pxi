# Issue 14's elementwise selection and running-sum helpers behind RamTensor's methods
# (where, clip with tensor bounds, cumsum) and the module functions rc.where,
# rc.maximum, rc.minimum. Included by _tensor.pyx; the kernels are csrc/ew_body.h's
# ternary and binary ops and csrc/reduce.c's axis machinery.


cdef tuple _broadcast_shape3(RamTensor a, RamTensor b, RamTensor c, str what,
                             Py_ssize_t *as_, Py_ssize_t *bs, Py_ssize_t *cs):
    """The NumPy broadcast shape of three operands; fills their strides (0 = broadcast)."""
    cdef RamTensor t
    out = [1, 1, 1]
    for t in (a, b, c):
        for i, d in enumerate(t.shape):
            if d != 1:
                if out[i] == 1:
                    out[i] = d
                elif out[i] != d:
                    raise ShapeError(f"{what}: shapes {a.shape}, {b.shape} and {c.shape} "
                                     f"cannot be broadcast together")
    _bcast_strides(a, as_)
    _bcast_strides(b, bs)
    _bcast_strides(c, cs)
    return tuple(out)


cdef inline void _bcast_strides(RamTensor t, Py_ssize_t *s) noexcept:
    s[0] = t.R * t.C if t.L != 1 else 0
    s[1] = t.C if t.R != 1 else 0
    s[2] = 1 if t.C != 1 else 0


cdef RamTensor _ternary(int op, RamTensor a, RamTensor b, RamTensor c, str what):
    cdef Py_ssize_t as_[3]
    cdef Py_ssize_t bs[3]
    cdef Py_ssize_t cs[3]
    cdef size_t shp[3]
    L, R, C = _broadcast_shape3(a, b, c, what, as_, bs, cs)
    cdef RamTensor out = _empty(L, R, C)
    shp[0] = L
    shp[1] = R
    shp[2] = C
    with nogil:
        rcml_ternary_bcast_f32(op, a.data, as_, b.data, bs, c.data, cs, out.data, shp)
    return out


cdef bint _is_number(object v):
    return isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool))


cdef RamTensor _bound(object v, float none_value, str what):
    """A clip bound as a tensor: None is no bound (+-inf), a number a (1, 1, 1) tensor."""
    cdef RamTensor t
    if v is None or _is_number(v):
        t = _empty(1, 1, 1)
        t.data[0] = none_value if v is None else <float>v
        return t
    return _as_tensor(v, what)


cdef RamTensor _clip(RamTensor x, object lo, object hi):
    if lo is None and hi is None:
        raise ValueError("clip: lo and hi are both None; give at least one bound")
    if (lo is None or _is_number(lo)) and (hi is None or _is_number(hi)):
        return _unary(x, RCML_CLIP, -INFINITY if lo is None else <float>lo,
                      INFINITY if hi is None else <float>hi)
    cdef RamTensor lo_t = _bound(lo, -INFINITY, "clip"), hi_t = _bound(hi, INFINITY, "clip")
    cdef RamTensor out = _ternary(RCML_CLAMP, x, lo_t, hi_t, "clip")
    if _tape is not None:
        _tape.record("clamp", out, (x, lo_t, hi_t), None)
    return out


def where(cond, a, b):
    """Elementwise ``a`` where ``cond`` is nonzero, else ``b`` (as ``np.where``): the three
    broadcast together; each may be a tensor, an array or a number. A NaN condition is
    nonzero, so it selects ``a``; the selected values are copied bit for bit."""
    cdef RamTensor c = _as_tensor(cond, "where")
    cdef RamTensor x = _as_tensor(a, "where")
    cdef RamTensor y = _as_tensor(b, "where")
    cdef RamTensor out = _ternary(RCML_WHERE, c, x, y, "where")
    if _tape is not None:
        _tape.record("where", out, (c, x, y), None)
    return out


def maximum(a, b):
    """Elementwise maximum of ``a`` and ``b`` (broadcasting; either may be a number), as
    ``np.maximum``: a NaN on either side gives NaN; maximum(-0.0, 0.0) is 0.0."""
    if not isinstance(a, RamTensor) and isinstance(b, RamTensor):
        a, b = b, a  # symmetric bit for bit: keep a number on the scalar path
    return _binary_op(_as_tensor(a, "maximum"), b, RCML_MAXIMUM, "maximum")


def minimum(a, b):
    """Elementwise minimum of ``a`` and ``b`` (broadcasting; either may be a number), as
    ``np.minimum``: a NaN on either side gives NaN; minimum(-0.0, 0.0) is -0.0."""
    if not isinstance(a, RamTensor) and isinstance(b, RamTensor):
        a, b = b, a
    return _binary_op(_as_tensor(a, "minimum"), b, RCML_MINIMUM, "minimum")


def _cumsum(RamTensor t, axis, bint reverse=False):
    """Running sums along ``axis`` (same shape), from the end when ``reverse`` (the
    gradient of cumsum)."""
    cdef size_t outer, ln, inner
    cdef int a = _axis_index(axis, "cumsum")
    outer, ln, inner = _axis_view(t, a)
    cdef RamTensor out = _empty(t.L, t.R, t.C)
    with nogil:
        rcml_cumsum_axis_f32(t.data, outer, ln, inner, reverse, out.data)
    if _tape is not None:
        _tape.record("cumsum", out, (t,), {"axis": a, "reverse": reverse})
    return out


cdef object _argext(RamTensor t, object axis, bint is_min, str what):
    """argmax / argmin: the flat index (int), or an int64 array with the axis of size 1."""
    cdef size_t outer, ln, inner, i
    if t.n == 0:
        raise ValueError(f"{what}: tensor of shape {t.shape} is empty")
    if axis is None:
        with nogil:
            i = rcml_argmin_f32(t.data, t.n) if is_min else rcml_argmax_f32(t.data, t.n)
        return <Py_ssize_t>i
    import numpy as np
    a = _axis_index(axis, what)
    outer, ln, inner = _axis_view(t, a)
    dims = list(t.shape)
    dims[a] = 1
    out = np.empty(dims, dtype=np.int64)
    cdef int64_t[:, :, ::1] mv = out
    with nogil:
        if is_min:
            rcml_argmin_axis_f32(t.data, outer, ln, inner, &mv[0, 0, 0])
        else:
            rcml_argmax_axis_f32(t.data, outer, ln, inner, &mv[0, 0, 0])
    return out
