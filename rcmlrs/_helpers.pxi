# The module-level helpers behind RamTensor's methods: allocation, argument conversion,
# broadcasting, the elementwise/reduction/product dispatch. Included by _tensor.pyx (the
# same module: they see RamTensor's fields); _tensor.pxd exports the ones other modules
# cimport.

cdef RamTensor _empty(Py_ssize_t L, Py_ssize_t R, Py_ssize_t C):
    """A new owned tensor with uninitialised contents."""
    cdef Py_ssize_t n = _checked_size(L, R, C, "tensor")
    cdef RamTensor t = RamTensor.__new__(RamTensor)
    t.data = <float *>rcml_alloc_aligned(<size_t>n * 4)
    if t.data == NULL:
        raise MemoryError(f"cannot allocate a tensor of shape {(L, R, C)} ({n * 4} bytes)")
    t.owns = True
    t.L = L
    t.R = R
    t.C = C
    t.n = n
    t._set_meta()
    return t


cdef RamTensor _clone(RamTensor x):
    """An owned copy of x that no tape records (constructors, snapshots)."""
    cdef RamTensor out = _empty(x.L, x.R, x.C)
    if x.n:
        memcpy(out.data, x.data, x.n * 4)
    return out


def _rebuild(L, R, C, bytes payload):
    cdef RamTensor t = _empty(L, R, C)
    if len(payload) != t.n * 4:
        raise FormatError("pickled RamTensor payload has the wrong length")
    if t.n:
        memcpy(t.data, PyBytes_AS_STRING(payload), t.n * 4)
    return t


cdef float _to_float(object v, str what) except? -1:
    if isinstance(v, RamTensor):
        return (<RamTensor>v).to_scalar()
    try:
        return <float>float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: expected a number, got {type(v).__name__}") from None


cdef double _to_ddof(object ddof) except? -1:
    if isinstance(ddof, bool) or not isinstance(ddof, (int, float)):
        raise TypeError(f"ddof must be a number, got {type(ddof).__name__}")
    return <double>ddof


cdef RamTensor _as_tensor(object x, str what):
    if isinstance(x, RamTensor):
        return <RamTensor>x
    if isinstance(x, (str, bytes, dict, set)) or x is None:
        raise TypeError(f"{what}: expected a tensor, array or number, got {type(x).__name__}")
    return tensor(x)


cdef tuple _broadcast_shape(RamTensor a, RamTensor b, str what, Py_ssize_t *as_,
                            Py_ssize_t *bs):
    """Output shape of a op b under NumPy rules; fills strides in floats (0 = broadcast)."""
    cdef Py_ssize_t da[3]
    cdef Py_ssize_t db[3]
    cdef Py_ssize_t out[3]
    cdef int i
    da[0] = a.L
    da[1] = a.R
    da[2] = a.C
    db[0] = b.L
    db[1] = b.R
    db[2] = b.C
    for i in range(3):
        if da[i] == db[i] or db[i] == 1:
            out[i] = da[i]
        elif da[i] == 1:
            out[i] = db[i]
        else:
            raise ShapeError(f"{what}: shapes {a.shape} and {b.shape} cannot be broadcast together")
    as_[0] = a.R * a.C if a.L != 1 else 0
    as_[1] = a.C if a.R != 1 else 0
    as_[2] = 1 if a.C != 1 else 0
    bs[0] = b.R * b.C if b.L != 1 else 0
    bs[1] = b.C if b.R != 1 else 0
    bs[2] = 1 if b.C != 1 else 0
    return (out[0], out[1], out[2])


# Tape names of the elementwise ops that have a gradient (rcmlrs/autograd/rules.py); an op
# missing here (a comparison, say) records nothing: its result is a constant.
_BINARY_NAMES = {RCML_ADD: "add", RCML_SUB: "sub", RCML_RSUB: "rsub", RCML_MUL: "mul",
                 RCML_DIV: "div", RCML_RDIV: "rdiv", RCML_MAXIMUM: "maximum",
                 RCML_MINIMUM: "minimum", RCML_MOD: "mod", RCML_RMOD: "rmod", RCML_POW: "pow",
                 RCML_RPOW: "rpow"}
_UNARY_NAMES = {RCML_NEG: "neg", RCML_ABS: "abs", RCML_SQRT: "sqrt", RCML_EXP: "exp",
                RCML_LOG: "log", RCML_POWI: "powi", RCML_POWF: "powf", RCML_CLIP: "clip"}


cdef inline object _record_binary(int op, RamTensor out, RamTensor a, object b):
    name = _BINARY_NAMES.get(op)
    if name is not None:
        _tape.record(name, out, (a, b), None)
    return out


cdef object _binary_op(RamTensor a, object other, int op, str what, bint operator=False):
    """a op other. An operand of an unsupported type is a TypeError for the method forms;
    the operators return NotImplemented instead, so Python can try the other operand
    (and then raises its own TypeError). A ragged list is a ShapeError for both."""
    cdef RamTensor b, out
    cdef float s
    cdef Py_ssize_t as_[3]
    cdef Py_ssize_t bs[3]
    cdef size_t shp[3]
    if isinstance(other, RamTensor):
        b = <RamTensor>other
    elif isinstance(other, float) or (isinstance(other, int) and not isinstance(other, bool)):
        s = <float>other
        out = _empty(a.L, a.R, a.C)
        if a.n >= NOGIL_MIN:
            with nogil:
                rcml_binary_scalar_f32(op, a.data, s, out.data, a.n)
        else:
            rcml_binary_scalar_f32(op, a.data, s, out.data, a.n)
        if _tape is not None:
            _record_binary(op, out, a, s)
        return out
    else:
        try:
            b = _as_tensor(other, what)
        except TypeError:
            if operator:
                return NotImplemented
            raise
    if a.L == b.L and a.R == b.R and a.C == b.C:
        out = _empty(a.L, a.R, a.C)
        if a.n >= NOGIL_MIN:
            with nogil:
                rcml_binary_f32(op, a.data, b.data, out.data, a.n)
        else:
            rcml_binary_f32(op, a.data, b.data, out.data, a.n)
        if _tape is not None:
            _record_binary(op, out, a, b)
        return out
    L, R, C = _broadcast_shape(a, b, what, as_, bs)
    out = _empty(L, R, C)
    shp[0] = L
    shp[1] = R
    shp[2] = C
    with nogil:
        rcml_binary_bcast_f32(op, a.data, as_, b.data, bs, out.data, shp)
    if _tape is not None:
        _record_binary(op, out, a, b)
    return out


cdef bint _overlaps(RamTensor a, RamTensor b) noexcept:
    return (a.data < b.data + b.n) and (b.data < a.data + a.n)


cdef object _inplace_op(RamTensor a, object other, int op, str what):
    cdef RamTensor b
    cdef Py_ssize_t as_[3]
    cdef Py_ssize_t bs[3]
    cdef size_t shp[3]
    cdef float s
    a._version += 1
    if isinstance(other, float) or (isinstance(other, int) and not isinstance(other, bool)):
        s = <float>other
        with nogil:
            rcml_binary_scalar_f32(op, a.data, s, a.data, a.n)
        return a
    try:
        b = _as_tensor(other, what)
    except TypeError:
        return NotImplemented  # only the augmented operators come here
    L, R, C = _broadcast_shape(a, b, what, as_, bs)
    if (L, R, C) != a.shape:
        raise ShapeError(f"{what} (in place): result shape {(L, R, C)} differs from the "
                         f"target's shape {a.shape}")
    if b is not a and _overlaps(a, b):
        b = _clone(b)  # two views of one buffer: read from a snapshot
    if a.shape == b.shape:
        with nogil:
            rcml_binary_f32(op, a.data, b.data, a.data, a.n)
        return a
    shp[0] = L
    shp[1] = R
    shp[2] = C
    with nogil:
        rcml_binary_bcast_f32(op, a.data, as_, b.data, bs, a.data, shp)
    return a


cdef RamTensor _unary(RamTensor x, int op, float p0, float p1):
    cdef RamTensor out = _empty(x.L, x.R, x.C)
    if x.n >= NOGIL_MIN:
        with nogil:
            rcml_unary_f32(op, x.data, p0, p1, out.data, x.n)
    else:
        rcml_unary_f32(op, x.data, p0, p1, out.data, x.n)
    if _tape is not None:
        name = _UNARY_NAMES.get(op)
        if name is not None:
            _tape.record(name, out, (x,), {"p0": p0, "p1": p1})
    return out


cdef int _axis_index(object axis, str what) except -1:
    if isinstance(axis, bool) or not hasattr(axis, "__index__"):
        raise TypeError(f"{what}: an axis must be an int, got {type(axis).__name__}")
    a = axis.__index__()
    if a < -3 or a > 2:
        raise ValueError(f"{what}: axis {a} is out of range for a rank-3 tensor")
    return a + 3 if a < 0 else a


cdef tuple _axis_view(RamTensor t, int a):
    """(outer, len, inner) so that reducing axis a is reducing the middle of the view."""
    if a == 0:
        return (1, t.L, t.R * t.C)
    if a == 1:
        return (t.L, t.R, t.C)
    return (t.L * t.R, t.C, 1)


_REDUCE_NAMES = {RCML_RED_SUM: "sum", RCML_RED_MEAN: "mean", RCML_RED_MIN: "min",
                 RCML_RED_MAX: "max", RCML_RED_VAR: "var", RCML_RED_STD: "std",
                 RCML_RED_PROD: "prod", RCML_RED_LOGSUMEXP: "logsumexp"}


cdef object _record_reduce(int op, RamTensor out, RamTensor t, tuple axes, double ddof):
    """Record a reduction with axes (any and all have no gradient: not recorded)."""
    name = _REDUCE_NAMES.get(op)
    if name is not None:
        _tape.record(name, out, (t,), {"axis": axes, "ddof": ddof})
    return out


cdef object _reduce_all(RamTensor t, int op, double ddof, str what):
    """The reduction of every element: a Python float (a bool for any/all)."""
    cdef double s, m
    cdef float f
    if t.n == 0:
        if op == RCML_RED_SUM:
            return 0.0
        if op == RCML_RED_PROD:
            return 1.0
        if op == RCML_RED_ANY:
            return False
        if op == RCML_RED_ALL:
            return True
        if op == RCML_RED_LOGSUMEXP:
            return -INFINITY
        if op == RCML_RED_MIN or op == RCML_RED_MAX:
            raise ValueError(f"{what}: tensor of shape {t.shape} is empty")
        return NAN
    with nogil:
        if op == RCML_RED_SUM or op == RCML_RED_MEAN:
            s = rcml_sum_f32(t.data, t.n)
            if op == RCML_RED_MEAN:
                s = s / <double>t.n
        elif op == RCML_RED_MIN:
            s = rcml_min_f32(t.data, t.n)
        elif op == RCML_RED_MAX:
            s = rcml_max_f32(t.data, t.n)
        elif op == RCML_RED_VAR or op == RCML_RED_STD:
            m = rcml_sum_f32(t.data, t.n) / <double>t.n
            s = rcml_sumsqdev_f32(t.data, t.n, m)
            if <double>t.n - ddof <= 0:  # as NumPy and torch: ss / max(N - ddof, 0)
                s = INFINITY if s > 0 else NAN
            else:
                s = s / (<double>t.n - ddof)
            if op == RCML_RED_STD:
                s = sqrt(s)
        else:  # prod, any, all, logsumexp: the axis kernel over one row of every element
            rcml_reduce_axis_f32(op, t.data, 1, t.n, 1, 0.0, &f)
            s = f
    if op == RCML_RED_ANY or op == RCML_RED_ALL:
        return s != 0.0
    # results are float32 quantities: round once so sum() == float(sum(axis=...))
    f = <float>s
    return <double>f


cdef tuple _axes(object axis, str what):
    """The distinct axes (sorted, in 0..2) of an int or a tuple/list of ints."""
    if not isinstance(axis, (tuple, list)):
        return (_axis_index(axis, what),)
    given = tuple(axis)
    axes = [_axis_index(a, what) for a in given]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{what}: repeated axis in {given}")
    return tuple(sorted(axes))


cdef object _reduce(RamTensor t, int op, object axis, double ddof, str what):
    """A reduction over all elements (axis None: a Python number) or over one or more
    axes (an int or a tuple of them), which become size 1 in the resulting tensor. Axes
    that are adjacent in memory are reduced as one axis of a (outer, len, inner) view, so
    every axis set is one pass of rcml_reduce_axis_f32 ((0, 2): of the transpose, except
    sum and mean, which rcml_sum02_f32 reduces in place)."""
    cdef size_t outer, ln, inner
    cdef RamTensor out, src = t
    cdef bint sum02 = False
    if axis is None:
        return _reduce_all(t, op, ddof, what)
    cdef tuple axes = _axes(axis, what)
    if len(axes) == 3:
        out = _empty(1, 1, 1)
        out.data[0] = <float>_reduce_all(t, op, ddof, what)
        if _tape is not None:
            _record_reduce(op, out, t, axes, ddof)
        return out
    dims = [t.L, t.R, t.C]
    for a in axes:
        dims[a] = 1
    if len(axes) == 0:
        outer, ln, inner = t.n, 1, 1
    elif len(axes) == 1:
        outer, ln, inner = _axis_view(t, axes[0])
    elif axes == (0, 1):
        outer, ln, inner = 1, t.L * t.R, t.C
    elif axes == (1, 2):
        outer, ln, inner = t.L, t.R * t.C, 1
    else:  # (0, 2): reduce (L, C, R)'s first two axes
        outer, ln, inner = 1, t.L * t.C, t.R
        # sum and mean without the transpose (16x256x256: ~4x faster, see rcml_sum02_f32)
        sum02 = op == RCML_RED_SUM or op == RCML_RED_MEAN
        if not sum02:
            src = _empty(t.L, t.C, t.R)
            if t.n:
                with nogil:
                    rcml_transpose_f32(t.data, t.L, t.R, t.C, src.data)
    out = _empty(dims[0], dims[1], dims[2])
    if ln == 0:
        if op == RCML_RED_SUM or op == RCML_RED_ANY:
            rcml_fill_f32(0.0, out.data, out.n)
        elif op == RCML_RED_PROD or op == RCML_RED_ALL:
            rcml_fill_f32(1.0, out.data, out.n)
        elif op == RCML_RED_LOGSUMEXP:
            rcml_fill_f32(-INFINITY, out.data, out.n)
        elif op == RCML_RED_MIN or op == RCML_RED_MAX:
            if out.n:
                which = f"an empty axis {axes[0]}" if len(axes) == 1 else f"the axes {axes}"
                raise ValueError(f"{what}: cannot reduce {which} of shape {t.shape} (no "
                                 f"elements)")
        else:
            rcml_fill_f32(NAN, out.data, out.n)
        if _tape is not None:
            _record_reduce(op, out, t, axes, ddof)
        return out
    with nogil:
        if sum02:
            rcml_sum02_f32(op, t.data, t.L, t.R, t.C, out.data)
        else:
            rcml_reduce_axis_f32(op, src.data, outer, ln, inner, ddof, out.data)
    if _tape is not None:
        _record_reduce(op, out, t, axes, ddof)
    return out


cdef RamTensor _matmul(RamTensor a, RamTensor b, bint ta, bint tb):
    cdef size_t m = a.C if ta else a.R
    cdef size_t k = a.R if ta else a.C
    cdef size_t kb = b.C if tb else b.R
    cdef size_t n = b.R if tb else b.C
    if k != kb:
        ops = ("A^T" if ta else "A") + " @ " + ("B^T" if tb else "B")
        raise ShapeError(f"matmul: inner dims differ: {a.shape} @ {b.shape} ({ops}: "
                         f"{k} vs {kb})")
    if not (a.L == b.L or a.L == 1 or b.L == 1):
        raise ShapeError(f"matmul: layer counts differ: {a.shape} @ {b.shape} "
                         f"(need equal counts or 1 on one side)")
    cdef size_t L = a.L if a.L != 1 else b.L
    cdef RamTensor out = _empty(L, m, n)
    cdef size_t sa = 0 if a.L == 1 else a.R * a.C
    cdef size_t sb = 0 if b.L == 1 else b.R * b.C
    if out.n == 0:
        if _tape is not None:
            _tape.record("matmul", out, (a, b), {"transpose_a": ta, "transpose_b": tb})
        return out
    with nogil:
        rcml_gemm_batched_f32(L, ta, tb, m, n, k, 1.0, a.data, sa, b.data, sb, 0.0, out.data)
    if _tape is not None:
        _tape.record("matmul", out, (a, b), {"transpose_a": ta, "transpose_b": tb})
    return out
