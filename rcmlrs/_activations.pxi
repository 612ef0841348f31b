# Activations, derivatives, softmax and normalization (issue 4): the module-level
# implementation behind the thin RamTensor methods. Included at the end of _tensor.pyx.
# Python decides what, these helpers check shapes and arguments, C does the arithmetic
# (csrc/act_body.h, one pass per call, GIL released for big inputs).

# THE activation name table (case-insensitive): tensor methods, rc.nn layers and autograd
# all map names to the one C enum rcml_act_t through it. softmax is a row-wise layer form.
_ACT_IDS = {
    "linear": RCML_ACT_LINEAR, "identity": RCML_ACT_LINEAR, "none": RCML_ACT_LINEAR,
    "relu": RCML_ACT_RELU, "leaky_relu": RCML_ACT_LEAKY_RELU, "lrelu": RCML_ACT_LEAKY_RELU,
    "sigmoid": RCML_ACT_SIGMOID, "tanh": RCML_ACT_TANH, "swish": RCML_ACT_SWISH,
    "silu": RCML_ACT_SWISH, "gelu": RCML_ACT_GELU, "gelu_tanh": RCML_ACT_GELU,
    "gelu_erf": RCML_ACT_GELU_ERF, "erf": RCML_ACT_ERF, "softmax": RCML_ACT_SOFTMAX,
}


def _act_id(name):
    """The C activation id for a name (None -> linear); ValueError for unknown names."""
    if name is None:
        return RCML_ACT_LINEAR
    if not isinstance(name, str):
        raise TypeError(f"activation name must be a str or None, got {type(name).__name__}")
    try:
        return _ACT_IDS[name.strip().lower().replace("-", "_")]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(_ACT_IDS)}") from None


cdef inline int _gelu_id(object approximate):
    return RCML_ACT_GELU if approximate else RCML_ACT_GELU_ERF


# Tape names of the activations (the rule for each calls the fused backward kernel).
_ACT_TAPE_NAMES = {RCML_ACT_RELU: "relu", RCML_ACT_LEAKY_RELU: "leaky_relu",
                   RCML_ACT_SIGMOID: "sigmoid", RCML_ACT_TANH: "tanh",
                   RCML_ACT_SWISH: "swish", RCML_ACT_GELU: "gelu",
                   RCML_ACT_GELU_ERF: "gelu_erf", RCML_ACT_ERF: "erf"}


cdef RamTensor _act_apply(RamTensor x, int act, float param, bint inplace):
    """f(x) elementwise into a new tensor, or into x itself."""
    cdef RamTensor out = x if inplace else _empty(x.L, x.R, x.C)
    if inplace:
        x._version += 1
    elif _tape is not None:
        _tape.record(_ACT_TAPE_NAMES[act], out, (x,), {"act": act, "param": param})
    if x.n >= NOGIL_MIN:
        with nogil:
            rcml_act_f32(act, x.data, param, out.data, x.n)
    else:
        rcml_act_f32(act, x.data, param, out.data, x.n)
    return out


cdef RamTensor _act_deriv(RamTensor x, int act, float param):
    """f'(x) elementwise at the pre-activation x."""
    cdef RamTensor out = _empty(x.L, x.R, x.C)
    if x.n >= NOGIL_MIN:
        with nogil:
            rcml_act_deriv_f32(act, x.data, param, out.data, x.n)
    else:
        rcml_act_deriv_f32(act, x.data, param, out.data, x.n)
    return out


cdef RamTensor _grad_like(RamTensor x, object grad, str what):
    """grad_output as a tensor of exactly x's shape (no broadcasting: a gradient has the
    shape of what it is the gradient of)."""
    cdef RamTensor g = _as_tensor(grad, what)
    if g.L != x.L or g.R != x.R or g.C != x.C:
        raise ShapeError(f"{what}: grad_output shape {g.shape} differs from the input "
                         f"shape {x.shape}")
    return g


cdef RamTensor _act_backward(RamTensor x, object grad, int act, float param, str what,
                             object output=None):
    """grad * f'(x) in one fused pass; with ``output`` (the saved y = f(x), where f' is a
    function of y) a memory-bound pass over y instead, skipping the transcendental."""
    cdef RamTensor g = _grad_like(x, grad, what)
    cdef RamTensor y = None
    cdef RamTensor out = _empty(x.L, x.R, x.C)
    cdef const float *src = x.data
    cdef bint from_y = False
    if output is not None and rcml_act_has_output_backward(act) and not (
            act == RCML_ACT_LEAKY_RELU and not param > 0):
        y = _as_tensor(output, what)
        if y.L != x.L or y.R != x.R or y.C != x.C:
            raise ShapeError(f"{what}: output shape {y.shape} differs from the input "
                             f"shape {x.shape}")
        src = y.data
        from_y = True
    with nogil:
        if from_y:
            rcml_act_backward_from_output_f32(act, src, g.data, param, out.data, x.n)
        else:
            rcml_act_backward_f32(act, src, g.data, param, out.data, x.n)
    return out


cdef enum:
    _SMX_SOFTMAX = 0
    _SMX_LOG = 1
    _SMX_BACKWARD = 2
    _SMX_LOG_BACKWARD = 3


cdef RamTensor _softmax(RamTensor x, object axis, int mode, object grad, str what):
    """softmax / log_softmax / softmax backward along one axis (max-shifted)."""
    cdef int a = _axis_index(axis, what)
    cdef size_t outer, ln, inner
    outer, ln, inner = _axis_view(x, a)
    cdef RamTensor g = None
    if mode == _SMX_BACKWARD or mode == _SMX_LOG_BACKWARD:
        g = _grad_like(x, grad, what)
    cdef RamTensor out = _empty(x.L, x.R, x.C)
    if _tape is not None and (mode == _SMX_SOFTMAX or mode == _SMX_LOG):
        _tape.record("softmax" if mode == _SMX_SOFTMAX else "log_softmax", out, (x,),
                     {"axis": a})
    if x.n == 0:
        return out
    cdef const float *gp = g.data if g is not None else NULL
    if x.n >= NOGIL_MIN:
        with nogil:
            _softmax_call(mode, x.data, gp, outer, ln, inner, out.data)
    else:
        _softmax_call(mode, x.data, gp, outer, ln, inner, out.data)
    return out


cdef inline void _softmax_call(int mode, const float *x, const float *g, size_t outer,
                               size_t ln, size_t inner, float *out) noexcept nogil:
    if mode == _SMX_SOFTMAX:
        rcml_softmax_axis_f32(x, outer, ln, inner, out)
    elif mode == _SMX_LOG:
        rcml_log_softmax_axis_f32(x, outer, ln, inner, out)
    elif mode == _SMX_BACKWARD:
        rcml_softmax_backward_axis_f32(x, g, outer, ln, inner, out)
    else:
        rcml_log_softmax_backward_axis_f32(x, g, outer, ln, inner, out)


cdef RamTensor _softmax_jacobian(RamTensor x):
    """(layers*rows, cols, cols): the Jacobian of the row softmax for every row."""
    cdef Py_ssize_t rows = x.L * x.R
    cdef RamTensor out = _empty(rows, x.C, x.C)
    if out.n == 0:
        return out
    with nogil:
        rcml_softmax_jacobian_f32(x.data, rows, x.C, out.data)
    return out


# Past this size a deviation or a std may overflow float32 in the float32 pass (FLT_MAX is
# 3.4e38; the margin covers the rounding of mean and std to float32).
cdef double _WIDE = 1e38


cdef RamTensor _normalize(RamTensor x, object axis, bint zscore, double ddof, bint inplace,
                          str what):
    """(x - min) / (max - min) or (x - mean) / std, over all elements or per slice along
    one axis; a constant slice gives zeros. Where float32 would overflow (a range or a
    deviation beyond 3.4e38, e.g. min_max_norm of [3.4e38, -3.4e38]) the whole tensor is
    normalized in double instead (_normalize_double)."""
    cdef RamTensor out = x if inplace else _empty(x.L, x.R, x.C)
    cdef RamTensor sub, div
    if inplace:
        x._version += 1
    elif _tape is not None:  # no rule: a gradient through it raises, never silently 0
        _tape.record(what, out, (x,), None)
    cdef float s0, d0, mx
    cdef double m, ss, dn
    cdef size_t outer, ln, inner, k
    cdef int a
    cdef bint wide = False
    if x.n == 0:
        return out
    if axis is None:
        with nogil:
            if zscore:
                m = rcml_sum_f32(x.data, x.n) / <double>x.n
                ss = rcml_sumsqdev_f32(x.data, x.n, m)
                dn = <double>x.n - ddof
                s0 = <float>m
                d0 = <float>sqrt(ss / dn) if dn > 0 else <float>NAN
                # |x - mean| <= sqrt(ss): past _WIDE, x - mean or std may overflow float32
                wide = sqrt(ss) > _WIDE or (dn > 0 and sqrt(ss / dn) > _WIDE)
            else:
                s0 = rcml_min_f32(x.data, x.n)
                mx = rcml_max_f32(x.data, x.n)
                d0 = mx - s0
                wide = isinf(d0) and isfinite(s0) and isfinite(mx)
            if wide:
                _normalize_double(x.data, 1, x.n, 1, zscore, ddof, out.data)
            else:
                rcml_norm_apply_f32(x.data, 1, x.n, 1, &s0, &d0, out.data)
        return out
    a = _axis_index(axis, what)
    outer, ln, inner = _axis_view(x, a)
    dims = [x.L, x.R, x.C]
    dims[a] = 1
    sub = _empty(dims[0], dims[1], dims[2])
    div = _empty(dims[0], dims[1], dims[2])
    with nogil:
        if zscore:
            rcml_reduce_axis_f32(RCML_RED_MEAN, x.data, outer, ln, inner, 0.0, sub.data)
            rcml_reduce_axis_f32(RCML_RED_STD, x.data, outer, ln, inner, ddof, div.data)
            dn = sqrt(<double>ln - ddof) if <double>ln - ddof > 0 else 0.0
            for k in range(<size_t>div.n):  # sqrt(ss) = std * sqrt(ln - ddof) per slice
                if isfinite(sub.data[k]) and (isinf(div.data[k])
                                              or <double>div.data[k] * dn > _WIDE):
                    wide = True
        else:
            rcml_reduce_axis_f32(RCML_RED_MIN, x.data, outer, ln, inner, 0.0, sub.data)
            rcml_reduce_axis_f32(RCML_RED_MAX, x.data, outer, ln, inner, 0.0, div.data)
            for k in range(<size_t>div.n):
                if (isfinite(sub.data[k]) and isfinite(div.data[k])
                        and isinf(div.data[k] - sub.data[k])):
                    wide = True
            rcml_binary_f32(RCML_SUB, div.data, sub.data, div.data, div.n)
        if wide:
            _normalize_double(x.data, outer, ln, inner, zscore, ddof, out.data)
        else:
            rcml_norm_apply_f32(x.data, outer, ln, inner, sub.data, div.data, out.data)
    return out


cdef void _normalize_double(const float *x, size_t outer, size_t ln, size_t inner,
                            bint zscore, double ddof, float *out) noexcept nogil:
    """The normalization of every slice computed in double (min, max, mean and std in
    double, one rounding to float32 at the end): the path for inputs whose range or
    deviations overflow float32. Same rules: a constant slice gives zeros, NaN in a slice
    makes it NaN. ``out`` may be ``x``."""
    cdef size_t o, i, j, p
    cdef double v, lo, hi, sub, div, dn
    cdef bint nan
    for o in range(outer):
        for i in range(inner):
            p = o * ln * inner + i  # element j of this slice is x[p + j * inner]
            if zscore:
                v = 0.0
                for j in range(ln):
                    v += x[p + j * inner]
                sub = v / <double>ln
                v = 0.0
                for j in range(ln):
                    v += (x[p + j * inner] - sub) * (x[p + j * inner] - sub)
                dn = <double>ln - ddof
                div = sqrt(v / dn) if dn > 0 else NAN
            else:
                lo = x[p]
                hi = x[p]
                nan = False
                for j in range(ln):
                    v = x[p + j * inner]
                    nan = nan or v != v
                    lo = v if v < lo else lo
                    hi = v if v > hi else hi
                sub = NAN if nan else lo
                div = NAN if nan else hi - lo
            for j in range(ln):
                out[p + j * inner] = 0.0 if div == 0.0 else <float>((x[p + j * inner] - sub) / div)
