# Indexing and the shape ops of issue 14: the key parser behind t[key] and t[key] = v,
# the plans that the one gather kernel (csrc/shape.c, rcml_gather3_f32) and its scatter run,
# and the module functions stack, split, arange, eye, one_hot, linspace. Included by
# _tensor.pyx; the methods (flip, repeat, tile, transpose(axes)) live in RamTensor's
# "indexing and shape ops" section and call the helpers here.
#
# Indexing semantics (the rank-3 rule, documented in RamTensor.__getitem__):
#   every axis is indexed on its own (outer indexing): an int i keeps its axis with size 1
#   (it means i:i+1), a slice or an integer/boolean array keeps the axis with the selected
#   length, so the result is always rank 3 and always a copy. With at most one array among
#   the components this is exactly NumPy's result with each int i written i:i+1; two or
#   three arrays select their outer product (NumPy's a[np.ix_(i, j, k)]) instead of being
#   zipped together. Kept from before: t[l, r, c] (three ints) is a Python float and t[l]
#   a (1, rows, cols) copy; a boolean mask of the tensor's whole shape (a bool array or a
#   0/1 RamTensor) selects the True elements into (1, 1, count), NumPy's flat result.

from libc.math cimport ceil

cdef object _np_mod = None


cdef object _numpy():
    global _np_mod
    if _np_mod is None:
        import numpy
        _np_mod = numpy
    return _np_mod


@cython.final
@cython.auto_pickle(False)
cdef class _Plan:
    """Where a selection's elements are in a source tensor of shape ``src``: element
    (a, b, c) at offset o0[a] + o1[b] + o2[c] (int64 NumPy arrays, in floats). ``mode``
    (an RCML_SCATTER_* value) says how a scatter through the plan may use threads."""

    cdef readonly object o0, o1, o2
    cdef readonly tuple src
    cdef readonly int mode

    @property
    def shape(self):
        """The selection's (layers, rows, cols)."""
        return (len(self.o0), len(self.o1), len(self.o2))

    def __repr__(self):
        return f"_Plan(src={self.src}, shape={self.shape}, mode={self.mode})"


cdef _Plan _plan_from_indices(tuple src, object i0, object i1, object i2, bint d0, bint d1,
                              bint d2, tuple axes=(0, 1, 2)):
    """The plan reading source axis axes[k] at the (in-range, non-negative) int64 indices
    i_k for output axis k; d_k: the indices i_k are distinct."""
    np = _numpy()
    strides = (src[1] * src[2], src[2], 1)
    cdef _Plan p = _Plan.__new__(_Plan)
    p.o0 = np.ascontiguousarray(np.asarray(i0, dtype=np.int64) * strides[axes[0]])
    p.o1 = np.ascontiguousarray(np.asarray(i1, dtype=np.int64) * strides[axes[1]])
    p.o2 = np.ascontiguousarray(np.asarray(i2, dtype=np.int64) * strides[axes[2]])
    p.src = src
    if d0 and d1 and d2:
        # distinct indices on distinct source axes: every destination is distinct
        p.mode = RCML_SCATTER_DISTINCT
    elif d0 and d1 and axes == (0, 1, 2):
        # rows (a, b) are distinct source rows; repeats stay inside one row
        p.mode = RCML_SCATTER_ROWS
    else:
        p.mode = RCML_SCATTER_SERIAL
    return p


cdef _Plan _flat_plan(tuple src, object flat, bint distinct):
    """The plan selecting the flat (C-order) offsets ``flat`` into (1, 1, len(flat))."""
    np = _numpy()
    cdef _Plan p = _Plan.__new__(_Plan)
    p.o0 = np.zeros(1, dtype=np.int64)
    p.o1 = np.zeros(1, dtype=np.int64)
    p.o2 = np.ascontiguousarray(flat, dtype=np.int64)
    p.src = src
    p.mode = RCML_SCATTER_DISTINCT if distinct else RCML_SCATTER_SERIAL
    return p


cdef RamTensor _gather(RamTensor x, _Plan p):
    """A new tensor of the plan's shape holding x's selected elements (rcml_gather3_f32)."""
    if p.src != x.shape:
        raise ShapeError(f"gather: plan for shape {p.src} applied to shape {x.shape}")
    cdef const int64_t[::1] v0 = p.o0
    cdef const int64_t[::1] v1 = p.o1
    cdef const int64_t[::1] v2 = p.o2
    cdef size_t n0 = v0.shape[0], n1 = v1.shape[0], n2 = v2.shape[0]
    cdef RamTensor out = _empty(n0, n1, n2)
    if out.n == 0:
        return out
    if out.n >= NOGIL_MIN:
        with nogil:
            rcml_gather3_f32(x.data, &v0[0], n0, &v1[0], n1, &v2[0], n2, out.data)
    else:
        rcml_gather3_f32(x.data, &v0[0], n0, &v1[0], n1, &v2[0], n2, out.data)
    return out


cdef RamTensor _gathered(str name, RamTensor x, _Plan p):
    """_gather, recorded on an active autograd tape as ``name`` (rule: scatter-add)."""
    cdef RamTensor out = _gather(x, p)
    if _tape is not None:
        _tape.record(name, out, (x,), {"plan": p})
    return out


cdef void _scatter(RamTensor target, _Plan p, const float *v, Py_ssize_t *vs, int accumulate):
    """target[plan] = (or +=) v, read with strides vs (0 on broadcast axes)."""
    cdef const int64_t[::1] v0 = p.o0
    cdef const int64_t[::1] v1 = p.o1
    cdef const int64_t[::1] v2 = p.o2
    cdef size_t n0 = v0.shape[0], n1 = v1.shape[0], n2 = v2.shape[0]
    cdef int mode = p.mode
    if n0 == 0 or n1 == 0 or n2 == 0:
        return
    with nogil:
        rcml_scatter3_f32(v, vs, &v0[0], n0, &v1[0], n1, &v2[0], n2, accumulate, mode,
                          target.data)


def _scatter_add(RamTensor g, _Plan plan):
    """zeros(plan.src) with g (the plan's shape) added at the plan's positions; repeated
    positions accumulate, in the same order at any thread count. The gradient of every
    gather (indexing, flip, repeat, tile, split, transpose(axes)); used by autograd."""
    if g.shape != plan.shape:
        raise ShapeError(f"_scatter_add: gradient of shape {g.shape} does not match the "
                         f"selection's shape {plan.shape}")
    cdef RamTensor out = _empty(plan.src[0], plan.src[1], plan.src[2])
    if out.n:
        memset(out.data, 0, out.n * 4)
    cdef Py_ssize_t vs[3]
    vs[0] = g.R * g.C
    vs[1] = g.C
    vs[2] = 1
    _scatter(out, plan, g.data, vs, 1)
    return out


# ----------------------------------------------------------------- key parsing

cdef inline bint _three_ints(object key) noexcept:
    """key is exactly a tuple of three Python ints (the fast element path)."""
    return (type(key) is tuple and len(<tuple>key) == 3 and type((<tuple>key)[0]) is int
            and type((<tuple>key)[1]) is int and type((<tuple>key)[2]) is int)


cdef object _ndarray_t = None  # numpy.ndarray, once NumPy is imported


cdef enum:
    _BASIC_STACK = 192  # offsets of a basic slice on the stack, up to this many in all


cdef RamTensor _basic_slice(RamTensor t, object key):
    """t[key] for a key of ints, slices and 1-D signed integer NumPy arrays (one, or a
    tuple of up to 3; not three ints), or None for any other key. The same selection and
    the same gather kernel as a plan's, with the offsets built in C instead of NumPy
    arrays: t[1:3, 2:6] on a small tensor took ~10 us through the plan and t[:, idx] ~20
    us, most of it NumPy calls. An index out of range also gives None, so the plan path
    raises its usual IndexError."""
    global _ndarray_t
    if _ndarray_t is None:
        _ndarray_t = _numpy().ndarray
    cdef tuple comps
    if type(key) is slice or type(key) is _ndarray_t:
        comps = (key,)
    elif type(key) is tuple and len(<tuple>key) <= 3:
        comps = <tuple>key
    else:
        return None
    cdef Py_ssize_t dims[3]
    cdef Py_ssize_t first[3]
    cdef Py_ssize_t step[3]
    cdef Py_ssize_t cnt[3]
    cdef Py_ssize_t b, e, st, a, i, v, total
    cdef int ints = 0
    cdef const int64_t *arrp[3]  # an index array's int64 values, or NULL
    cdef const int64_t[::1] mv
    keep = [None, None, None]  # owners of arrp's buffers
    dims[0], dims[1], dims[2] = t.L, t.R, t.C
    for a in range(3):
        arrp[a] = NULL
        if a >= len(comps):  # a missing component is the whole axis
            first[a], step[a], cnt[a] = 0, 1, dims[a]
            continue
        c = comps[a]
        if type(c) is slice:
            # slice.indices's values and length, from the C API (step 0: ValueError)
            PySlice_Unpack(c, &b, &e, &st)
            cnt[a] = PySlice_AdjustIndices(dims[a], &b, &e, st)
            first[a], step[a] = b, st
        elif type(c) is int:
            # compared as Python ints: one beyond Py_ssize_t must reach the plan's
            # IndexError, not an OverflowError here
            if c < -dims[a] or c >= dims[a]:
                return None
            v = c
            first[a], step[a], cnt[a] = (v + dims[a] if v < 0 else v), 1, 1
            ints += 1
        elif type(c) is _ndarray_t:
            # signed integers, or unsigned ones that int64 holds (uint64 goes to the plan)
            kind = c.dtype.kind
            if c.ndim != 1 or not (kind == "i" or (kind == "u" and c.dtype.itemsize < 8)):
                return None
            arr = _numpy().ascontiguousarray(c, dtype=_numpy().int64)
            keep[a] = arr
            cnt[a] = arr.shape[0]
            if cnt[a]:
                mv = arr
                arrp[a] = &mv[0]
                for i in range(cnt[a]):
                    if arrp[a][i] < -dims[a] or arrp[a][i] >= dims[a]:
                        return None
        else:
            return None
    if ints == 3:
        return None  # t[l, r, c] is a number
    cdef RamTensor out = _empty(cnt[0], cnt[1], cnt[2])
    if out.n == 0:
        return out
    total = cnt[0] + cnt[1] + cnt[2]
    cdef int64_t stack[_BASIC_STACK]
    cdef int64_t *o = stack
    if total > _BASIC_STACK:
        o = <int64_t *>PyMem_Malloc(total * sizeof(int64_t))
        if o == NULL:
            raise MemoryError()
    cdef int64_t *o1 = o + cnt[0]
    cdef int64_t *o2 = o1 + cnt[1]
    cdef int64_t *oa[3]
    cdef int64_t stride[3]
    oa[0], oa[1], oa[2] = o, o1, o2
    stride[0], stride[1], stride[2] = t.R * t.C, t.C, 1
    for a in range(3):
        if arrp[a] != NULL:
            for i in range(cnt[a]):
                v = arrp[a][i]
                oa[a][i] = (v + dims[a] if v < 0 else v) * stride[a]
        else:
            for i in range(cnt[a]):
                oa[a][i] = (first[a] + i * step[a]) * stride[a]
    try:
        if out.n >= NOGIL_MIN:
            with nogil:
                rcml_gather3_f32(t.data, o, cnt[0], o1, cnt[1], o2, cnt[2], out.data)
        else:
            rcml_gather3_f32(t.data, o, cnt[0], o1, cnt[1], o2, cnt[2], out.data)
    finally:
        if o != stack:
            PyMem_Free(o)
    return out


cdef str _KEY_KINDS = ("an int, a slice, '...', an integer array/list, a boolean mask, or "
                       "a tuple of up to 3 of them")


cdef object _index_array(object a, str what):
    """A NumPy array used as an index: a 0-d integer becomes an int; otherwise the array
    (bool or integer dtype; object arrays of ints become Python-int object arrays)."""
    np = _numpy()
    cdef str kind = a.dtype.kind
    if a.ndim == 0:
        if kind in "iu":
            return int(a)
        if kind == "O":
            return _int_arg(a.item(), f"{what}: a tensor index")
        raise IndexError(f"{what}: a tensor index must be {_KEY_KINDS}, got a 0-d array "
                         f"of {a.dtype}")
    if kind in "biu":
        return a
    if kind == "O":
        return np.array([_int_arg(k, f"{what}: an index array item") for k in a.ravel()],
                        dtype=object).reshape(a.shape)
    if a.size == 0:  # [] is float64 to NumPy
        return np.zeros(a.shape, dtype=np.int64)
    raise IndexError(f"{what}: index arrays must hold integers or booleans, got {a.dtype}")


cdef object _key_component(object k, str what):
    """One component of a key, converted exactly once: Ellipsis, a slice, an int, or a
    NumPy array (bool, integer or object-of-int); anything else is a TypeError."""
    if k is Ellipsis or isinstance(k, slice):
        return k
    if k is None:
        raise TypeError(f"{what}: None (np.newaxis) cannot add an axis: a RamTensor is "
                        f"always rank 3 (use reshape)")
    if isinstance(k, RamTensor):
        raise TypeError(f"{what}: a RamTensor index must be the whole key, a 0/1 mask of "
                        f"the tensor's shape; use an integer or boolean array for one axis")
    if isinstance(k, (float, complex)) or (isinstance(k, _numpy().generic)
                                           and not isinstance(k, (_numpy().integer,
                                                                  _numpy().bool_))):
        # as NumPy and torch: a number that is not an integer is an invalid index
        raise IndexError(f"{what}: a tensor index must be {_KEY_KINDS}, got "
                         f"{type(k).__name__} {k!r}")
    if isinstance(k, (bool, str, bytes, dict, set)):
        raise TypeError(f"{what}: a tensor index must be {_KEY_KINDS}, got "
                        f"{type(k).__name__}")
    np = _numpy()
    if isinstance(k, np.bool_):
        raise TypeError(f"{what}: a tensor index must be {_KEY_KINDS}, got a NumPy bool")
    if isinstance(k, np.ndarray):
        return _index_array(k, what)
    if isinstance(k, np.integer):
        return int(k)
    # array-likes first: some (a torch tensor) also have an __index__ that only works
    # for one element
    if isinstance(k, (list, tuple, range)) or hasattr(k, "__array__"):
        try:
            a = np.asarray(k)
        except OverflowError:  # ints beyond 64 bits
            a = np.asarray(k, dtype=object)
        except ValueError as e:
            raise IndexError(f"{what}: a ragged index list: {e}") from None
        return _index_array(a, what)
    if hasattr(k, "__index__"):
        return _int_arg(k, f"{what}: a tensor index")
    raise TypeError(f"{what}: a tensor index must be {_KEY_KINDS}, got {type(k).__name__}")


cdef tuple _axis_indices(object comp, Py_ssize_t d, int axis, tuple shape, str what,
                         bint check_distinct=True):
    """(int64 indices into an axis of size d, distinct?) for one converted component.
    check_distinct False: an index array reports False (not checked), which only makes
    a scatter through the plan serial; a gather does not use it."""
    np = _numpy()
    if isinstance(comp, slice):
        start, stop, step = comp.indices(d)
        return np.arange(start, stop, step, dtype=np.int64), True
    if isinstance(comp, int):
        if comp < -d or comp >= d:
            raise IndexError(f"{what}: index {comp} is out of range for axis {axis} of size "
                             f"{d} (shape {shape})")
        return np.array([comp + d if comp < 0 else comp], dtype=np.int64), True
    a = comp
    if a.ndim != 1:
        raise IndexError(f"{what}: an index array for one axis must be 1-D, got shape "
                         f"{a.shape} on axis {axis} (only a boolean mask of the whole shape "
                         f"{shape} may be 3-D)")
    if a.dtype.kind == "b":
        if a.shape[0] != d:
            raise IndexError(f"{what}: boolean index of length {a.shape[0]} does not match "
                             f"axis {axis} of size {d} (shape {shape})")
        return np.flatnonzero(a).astype(np.int64), True
    if a.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), True
    if a.dtype.kind == "O":
        for v in a:
            if v < -d or v >= d:
                raise IndexError(f"{what}: index {v} is out of range for axis {axis} of "
                                 f"size {d} (shape {shape})")
        idx = a.astype(np.int64)
    else:
        bad = (a >= d) if a.dtype.kind == "u" else ((a < -d) | (a >= d))
        if bad.any():
            v = int(a[np.flatnonzero(bad)[0]])
            raise IndexError(f"{what}: index {v} is out of range for axis {axis} of size "
                             f"{d} (shape {shape})")
        idx = a.astype(np.int64)
    idx = np.where(idx < 0, idx + d, idx)
    if not check_distinct:
        return idx, idx.shape[0] < 2
    distinct = idx.shape[0] < 2 or np.unique(idx).shape[0] == idx.shape[0]
    return idx, distinct


cdef object _mask_plan(RamTensor t, object mask, str what):
    """The plan of a boolean mask of t's whole shape: the True elements in C order."""
    np = _numpy()
    if mask.ndim != 3:
        raise IndexError(f"{what}: a boolean mask is 1-D (one axis) or covers the whole "
                         f"shape {t.shape}; got shape {mask.shape}")
    if mask.shape != t.shape:
        raise IndexError(f"{what}: boolean mask of shape {mask.shape} does not match the "
                         f"tensor's shape {t.shape}")
    return _flat_plan(t.shape, np.flatnonzero(mask), True)


cdef object _plan_key(RamTensor t, object key, str what, bint modes=True):
    """A key's plan, or for three ints the flat offset (a Python int). Every component
    is converted once, before the shape is read. modes False: index arrays are not
    checked for repeats (np.unique was most of a small t[:, idx]), so the plan is only
    fit for a gather: its scatter mode is serial."""
    if isinstance(key, RamTensor):
        m = (<RamTensor>key).numpy()
        np = _numpy()
        if m.shape != t.shape:
            raise IndexError(f"{what}: mask tensor of shape {m.shape} does not match the "
                             f"tensor's shape {t.shape}")
        ok = (m == 0) | (m == 1)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise IndexError(f"{what}: a mask tensor holds only 0 and 1, got "
                             f"{float(m.ravel()[i])!r} at flat position {i}")
        return _mask_plan(t, m != 0, what)
    comps = tuple(key) if isinstance(key, tuple) else (key,)
    conv = [_key_component(k, what) for k in comps]
    if len(conv) == 1 and not isinstance(conv[0], (int, slice)) and conv[0] is not Ellipsis:
        a = conv[0]
        if a.dtype.kind == "b" and a.ndim > 1:
            return _mask_plan(t, a, what)
    n_ell = sum([1 for c in conv if c is Ellipsis])
    if n_ell > 1:
        raise IndexError(f"{what}: an index can only have a single ellipsis ('...')")
    n_explicit = len(conv) - n_ell
    if n_explicit > 3:
        raise IndexError(f"{what}: too many indices for a rank-3 tensor: {n_explicit}")
    full = []
    for c in conv:
        if c is Ellipsis:
            full.extend([slice(None)] * (3 - n_explicit))
        else:
            full.append(c)
    while len(full) < 3:
        full.append(slice(None))
    shape = t.shape
    cdef Py_ssize_t dims[3]
    cdef int a_
    dims[0], dims[1], dims[2] = t.L, t.R, t.C
    if isinstance(full[0], int) and isinstance(full[1], int) and isinstance(full[2], int):
        idx = [0, 0, 0]
        for a_ in range(3):
            v = full[a_]
            if v < -dims[a_] or v >= dims[a_]:
                raise IndexError(f"{what}: index {v} is out of range for axis {a_} of size "
                                 f"{dims[a_]} (shape {shape})")
            idx[a_] = v + dims[a_] if v < 0 else v
        return (idx[0] * t.R + idx[1]) * t.C + idx[2]
    i0, d0 = _axis_indices(full[0], dims[0], 0, shape, what, modes)
    i1, d1 = _axis_indices(full[1], dims[1], 1, shape, what, modes)
    i2, d2 = _axis_indices(full[2], dims[2], 2, shape, what, modes)
    return _plan_from_indices(shape, i0, i1, i2, d0, d1, d2)


cdef int _setitem_plan(RamTensor t, _Plan p, object value) except -1:
    """t[plan] = value: a number fills the selection; a tensor or array broadcasts to it."""
    cdef float s
    cdef Py_ssize_t vs[3]
    cdef RamTensor v
    sel = p.shape
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        s = <float>value
        vs[0] = vs[1] = vs[2] = 0
        _scatter(t, p, &s, vs, 0)
        return 0
    v = _as_tensor(value, "t[key] = value")
    vshape = v.shape
    for a in range(3):
        if vshape[a] != sel[a] and vshape[a] != 1:
            raise ShapeError(f"t[key] = value: value of shape {vshape} cannot be broadcast to "
                             f"the selection of shape {sel}")
    if _overlaps(t, v):
        v = _clone(v)  # the value shares the target's buffer: read from a snapshot
    vs[0] = v.R * v.C if v.L != 1 else 0
    vs[1] = v.C if v.R != 1 else 0
    vs[2] = 1 if v.C != 1 else 0
    _scatter(t, p, v.data, vs, 0)
    return 0


# ------------------------------------------------------------ shape-op helpers

cdef tuple _axes_tuple(object axis, str what):
    """None -> (0, 1, 2); an int or a sequence of ints -> sorted distinct axes."""
    if axis is None:
        return (0, 1, 2)
    if isinstance(axis, (tuple, list)):
        axes = [_axis_index(a, what) for a in tuple(axis)]
    else:
        axes = [_axis_index(axis, what)]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{what}: repeated axis in {tuple(axis)}")
    return tuple(sorted(axes))


cdef tuple _permutation(object axes, tuple more, str what):
    """transpose's axes: a sequence of the three axes, or three ints as separate
    arguments; each may be negative."""
    if more:
        seq = (axes,) + more
    elif isinstance(axes, (tuple, list)):
        seq = tuple(axes)
    else:
        seq = (axes,)
    if len(seq) != 3:
        raise ValueError(f"{what}: axes must be a permutation of (0, 1, 2), got {seq}")
    perm = tuple([_axis_index(a, what) for a in seq])
    if sorted(perm) != [0, 1, 2]:
        raise ValueError(f"{what}: axes must be a permutation of (0, 1, 2), got {seq}")
    return perm


cdef Py_ssize_t _out_dim(object d, str what) except -1:
    """A result dimension computed from user counts: at most 2^40."""
    if d > MAX_ELEMENTS:
        raise ValueError(f"{what}: result dimension {d} is too large")
    return <Py_ssize_t>d


cdef RamTensor _layer_copy(RamTensor x, Py_ssize_t l):
    cdef RamTensor out = _empty(1, x.R, x.C)
    if out.n:
        memcpy(out.data, x.data + l * x.R * x.C, out.n * 4)
    return out


# ------------------------------------------------------------- module functions

def stack(matrices):
    """Stack (1, rows, cols) tensors or 2-D arrays (nested lists) as the layers of one
    (n, rows, cols) tensor, in order; their shapes must agree (``ShapeError``)."""
    ms = [_as_tensor(item, "stack") for item in list(matrices)]
    if not ms:
        raise ValueError("stack: need at least one matrix")
    cdef RamTensor first = ms[0], m
    cdef Py_ssize_t i
    for i in range(len(ms)):
        m = ms[i]
        if m.L != 1:
            raise ShapeError(f"stack: item {i} has shape {m.shape}; stack takes (1, rows, "
                             f"cols) tensors or 2-D arrays (use concat to join layers)")
        if m.R != first.R or m.C != first.C:
            raise ShapeError(f"stack: shapes {first.shape} and {m.shape} differ (item {i})")
    cdef RamTensor out = _empty(len(ms), first.R, first.C)
    cdef Py_ssize_t layer = first.n
    for i in range(len(ms)):
        m = ms[i]
        if layer:
            memcpy(out.data + i * layer, m.data, layer * 4)
    if _tape is not None:
        _tape.record("stack", out, tuple(ms), None)
    return out


def split(x, sections_or_indices, axis=0):
    """Split ``x`` along ``axis`` into a list of tensors (copies), as ``np.split``: an int
    N cuts the axis into N equal parts (it must divide the axis length, else
    ``ShapeError``); a sequence of indices gives the cut points, so [2, 5] gives
    x[:2], x[2:5], x[5:] along the axis (negative and out-of-range points as in slicing)."""
    cdef RamTensor t = _as_tensor(x, "split")
    cdef int a = _axis_index(axis, "split")
    s = sections_or_indices
    if isinstance(s, RamTensor) or isinstance(s, (str, bytes)):
        raise TypeError(f"split: sections_or_indices must be an int or a sequence of ints, "
                        f"got {type(s).__name__}")
    if hasattr(s, "__index__") and not hasattr(s, "__len__"):
        n = _int_arg(s, "split: sections")
        if n <= 0:
            raise ValueError(f"split: the number of sections must be positive, got {n}")
        d = t.shape[a]
        if d % n:
            raise ShapeError(f"split: axis {a} of shape {t.shape} (length {d}) does not "
                             f"divide into {n} equal sections")
        step = d // n
        points = [step * i for i in range(1, n)]
    else:
        points = [_int_arg(p, "split: a split index") for p in list(s)]
    d = t.shape[a]
    bounds = [0] + points + [d]
    out = []
    for i in range(len(bounds) - 1):
        key = [slice(None), slice(None), slice(None)]
        key[a] = slice(bounds[i], bounds[i + 1])
        i0, _ = _axis_indices(key[0], t.L, 0, t.shape, "split")
        i1, _ = _axis_indices(key[1], t.R, 1, t.shape, "split")
        i2, _ = _axis_indices(key[2], t.C, 2, t.shape, "split")
        plan = _plan_from_indices(t.shape, i0, i1, i2, True, True, True)
        out.append(_gathered("split", t, plan))
    return out


cdef double _real(object v, str what) except? -1:
    if isinstance(v, bool) or isinstance(v, (str, bytes)) or v is None:
        raise TypeError(f"{what}: expected a real number, got {type(v).__name__}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: expected a real number, got {type(v).__name__}") from None


def arange(start, stop=None, step=1):
    """Evenly spaced values in [start, stop) as a (1, 1, n) tensor, NumPy's float rule:
    n = ceil((stop - start) / step), value i = start + i * ((start + step) - start),
    computed in double and rounded to float32 once (``np.arange(...).astype(float32)``).
    ``arange(n)`` counts from 0; step 0 is a ValueError."""
    if stop is None:
        start, stop = 0, start
    cdef double a = _real(start, "arange: start")
    cdef double b = _real(stop, "arange: stop")
    cdef double st = _real(step, "arange: step")
    if st == 0:
        raise ValueError("arange: step must not be zero")
    if not (isfinite(a) and isfinite(b)) or st != st:
        raise ValueError(f"arange: start, stop and step must be finite, got "
                         f"{(start, stop, step)}")
    cdef double span = b - a
    cdef double q = span / st
    if q == 0.0 and span != 0.0:  # the quotient underflowed (or step is infinite)
        n = 0 if copysign(1.0, q) < 0 else 1
    else:
        if q != q or q > <double>MAX_ELEMENTS:
            raise ValueError(f"arange: {(start, stop, step)} gives too many values")
        n = 0 if q <= 0 else <Py_ssize_t>ceil(q)
    cdef RamTensor out = _empty(1, 1, n)
    cdef Py_ssize_t i, cnt = n
    cdef double delta = (a + st) - a
    with nogil:
        if cnt > 0:
            out.data[0] = <float>a
        if cnt > 1:
            out.data[1] = <float>(a + st)
        for i in range(2, cnt):
            out.data[i] = <float>(a + <double>i * delta)
    return out


def linspace(start, stop, num=50, endpoint=True):
    """``num`` evenly spaced values from start to stop (stop included when ``endpoint``)
    as a (1, 1, num) tensor: NumPy's formula (start + i * step in double, the last value
    exactly stop) rounded to float32 once."""
    cdef double a = _real(start, "linspace: start")
    cdef double b = _real(stop, "linspace: stop")
    cdef Py_ssize_t n = _check_dim(num, "linspace: num")
    cdef bint ep = bool(endpoint)
    cdef Py_ssize_t div = n - 1 if ep else n
    cdef double delta = b - a
    cdef double stp = delta / div if div > 0 else 0.0
    cdef RamTensor out = _empty(1, 1, n)
    cdef Py_ssize_t i
    cdef double y
    with nogil:
        for i in range(n):
            if div > 0:
                if stp == 0:  # denormal step: divide first (NumPy's gh-5437 rule)
                    y = (<double>i / <double>div) * delta
                else:
                    y = <double>i * stp
            else:
                y = <double>i * delta
            out.data[i] = <float>(y + a)
        if ep and n > 1:
            out.data[n - 1] = <float>b
    return out


def eye(n, m=None, k=0):
    """A (1, n, m) tensor with ones on diagonal ``k`` (0: the main one, > 0 above it)
    and zeros elsewhere; ``m`` defaults to ``n``."""
    cdef Py_ssize_t R = _check_dim(n, "eye: n")
    cdef Py_ssize_t C = R if m is None else _check_dim(m, "eye: m")
    off = _int_arg(k, "eye: k")
    cdef RamTensor out = _empty(1, R, C)
    if out.n:
        memset(out.data, 0, out.n * 4)
    cdef Py_ssize_t r, lo, hi
    if -R < off < C:
        lo = max(0, -off)
        hi = min(R, C - off)
        for r in range(lo, hi):
            out.data[r * C + r + <Py_ssize_t>off] = 1.0
    return out


def one_hot(labels, n):
    """A (1, len(labels), n) tensor with row i all zeros but a 1 in column labels[i].
    ``labels``: whole numbers (a list, an array or a tensor, read in C order); a label
    outside [0, n) or not a whole number is a ValueError naming it."""
    cdef Py_ssize_t ncls = _check_dim(n, "one_hot: n")
    np = _numpy()
    if isinstance(labels, (str, bytes, dict, set)) or labels is None:
        raise TypeError(f"one_hot: labels must be whole numbers, got {type(labels).__name__}")
    if isinstance(labels, RamTensor):
        arr = (<RamTensor>labels).numpy().ravel()
    else:
        try:
            arr = np.asarray(labels)
        except (OverflowError, ValueError):
            arr = np.asarray(labels, dtype=object)
        arr = arr.ravel()
    kind = arr.dtype.kind
    if kind == "b" or kind not in "iufO":
        raise TypeError(f"one_hot: labels must be whole numbers, got {arr.dtype}")
    lab = np.empty(arr.shape[0], dtype=np.int64)
    if kind == "O":  # Python ints beyond 64 bits, or mixed objects
        for i in range(arr.shape[0]):
            v = arr[i]
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"one_hot: labels must be whole numbers, got "
                                f"{type(v).__name__}")
            if v != v or v in (float("inf"), float("-inf")) or v != int(v):
                raise ValueError(f"one_hot: label {v!r} (position {i}) is not a whole number")
            if not 0 <= v < ncls:
                raise ValueError(f"one_hot: label {v!r} (position {i}) is out of range for "
                                 f"{ncls} classes")
            lab[i] = int(v)
    else:
        if kind == "f":
            whole = np.isfinite(arr) & (arr == np.floor(arr))
            if not whole.all():
                i = int(np.flatnonzero(~whole)[0])
                raise ValueError(f"one_hot: label {arr[i].item()!r} (position {i}) is not a "
                                 f"whole number")
        bad = (arr >= ncls) if kind == "u" else ((arr < 0) | (arr >= ncls))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"one_hot: label {arr[i].item()!r} (position {i}) is out of "
                             f"range for {ncls} classes")
        lab[:] = arr
    cdef Py_ssize_t rows = lab.shape[0]
    cdef RamTensor out = _empty(1, rows, ncls)
    if out.n:
        memset(out.data, 0, out.n * 4)
    cdef const int64_t[::1] lv = lab
    cdef Py_ssize_t r
    for r in range(rows if ncls else 0):
        out.data[r * ncls + lv[r]] = 1.0
    return out


def _index_plan(RamTensor t, key):
    """The plan t[key] gathers through (None for three ints, which name one element)."""
    plan = _plan_key(t, key, "t[key]")
    return plan if isinstance(plan, _Plan) else None
