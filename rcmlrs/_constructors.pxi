# Tensor constructors and conversions (tensor, from_numpy, zeros, ones, full, concat) and
# the private in-place GEMM hook. Included by _tensor.pyx. The random constructors live in
# rcmlrs._random.

def tensor(data):
    """A new tensor (a copy) from nested lists (1-3 levels), a NumPy array, a number or
    a RamTensor. Scalars become (1,1,1), 1-D (1,1,n), 2-D (1,r,c)."""
    cdef RamTensor out
    if isinstance(data, RamTensor):
        return _clone(<RamTensor>data)  # a new leaf: not recorded
    if isinstance(data, (str, bytes, dict, set)) or data is None:
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}")
    if isinstance(data, float) or (isinstance(data, int) and not isinstance(data, bool)):
        out = _empty(1, 1, 1)
        out.data[0] = <float>data
        return out
    import numpy as np
    try:
        arr = np.asarray(data, dtype=np.float32)
    except ValueError as e:
        if "inhomogeneous" in str(e) or "sequence" in str(e):
            raise ShapeError(f"tensor: ragged nested sequence: {e}") from None
        raise TypeError(f"tensor: cannot convert {type(data).__name__} to float32: {e}") from None
    except TypeError as e:
        raise TypeError(f"tensor: cannot convert {type(data).__name__} to float32: {e}") from None
    return _from_array(arr, True)


cdef char _NATIVE_ORDER = ord("<") if _sys.byteorder == "little" else ord(">")


cdef bint _is_float32(const Py_buffer *v) noexcept:
    """The buffer holds native float32 items: format "f", "@f", "=f", or "<f" (">f") on a
    little- (big-) endian host."""
    if v.itemsize != 4 or v.format == NULL:  # no format means unsigned bytes
        return False
    cdef const char *f = v.format
    if f[0] == b"@" or f[0] == b"=" or f[0] == _NATIVE_ORDER:
        f += 1
    return f[0] == b"f" and f[1] == 0


cdef tuple _buffer_dims(const Py_buffer *v, str what):
    """(layers, rows, cols) of a 0-3 dim buffer, right-aligned as in ``rc.tensor``."""
    cdef int nd = v.ndim
    if nd > 3:
        shp = tuple([v.shape[i] for i in range(nd)])
        raise ShapeError(f"{what}: {nd}-D input of shape {shp}; at most 3 dims")
    dims = [1, 1, 1]
    for i in range(nd):
        dims[3 - nd + i] = v.shape[i]
    return tuple(dims)


cdef RamTensor _from_array(object arr, bint copy):
    """A copy of a NumPy array. Shape and bytes come from the buffer of the float32,
    C-contiguous array NumPy makes of it, never from Python attributes."""
    import numpy as np
    src = np.ascontiguousarray(arr, dtype=np.float32)
    cdef Py_buffer v
    PyObject_GetBuffer(src, &v, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS)
    cdef RamTensor out
    try:
        if not _is_float32(&v):
            raise TypeError("tensor: internal error, the float32 copy is not float32")
        L, R, C = _buffer_dims(&v, "tensor")
        out = _empty(L, R, C)
        if out.n * 4 != v.len:
            raise ShapeError(f"tensor: buffer of {v.len} bytes does not hold shape {out.shape}")
        if out.n:
            memcpy(out.data, v.buf, out.n * 4)
    finally:
        PyBuffer_Release(&v)
    return out


def from_numpy(arr):
    """A tensor sharing ``arr``'s memory when it is a writable, native float32,
    C-contiguous array of 1-3 dims whose address is a multiple of 4 bytes (changes show
    on both sides); otherwise a float32 copy. An array at an odd address (for example
    ``np.frombuffer(b, np.float32, offset=1)``) is copied, because the kernels read
    aligned floats.

    Shape, strides, dtype and contiguity are read from the array's buffer (the buffer
    protocol), never from its Python attributes, which an ndarray subclass can override.
    """
    import numpy as np
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(arr).__name__}")
    cdef RamTensor t = RamTensor.__new__(RamTensor)
    try:
        PyObject_GetBuffer(arr, &t.view, PyBUF_RECORDS_RO)
    except (BufferError, TypeError, ValueError):
        # a dtype with no buffer format (datetime64, ...): NumPy's own C-level view of it
        return tensor(np.asarray(arr).view(np.ndarray))
    t.has_view = True  # released by __dealloc__, also when this function raises
    L, R, C = _buffer_dims(&t.view, "from_numpy")
    cdef Py_ssize_t n = _checked_size(L, R, C, "from_numpy")
    if (t.view.ndim == 0 or n == 0 or t.view.readonly or not _is_float32(&t.view)
            or not PyBuffer_IsContiguous(&t.view, b"C")
            or (<uintptr_t>t.view.buf) % sizeof(float) != 0):
        # copy, reading the same buffer through a memoryview (not arr's attributes)
        return tensor(np.asarray(memoryview(arr)))
    t.base = arr
    t.L, t.R, t.C, t.n = L, R, C, n
    t.data = <float *>t.view.buf
    t.owns = False
    t._set_meta()
    return t


def zeros(shape):
    """A tensor of zeros; ``shape`` is an int or a 1-3 tuple (right-aligned).
    An int n gives (1, 1, n), (r, c) gives (1, r, c) and (l, r, c) gives (l, r, c)."""
    return full(shape, 0.0)


def ones(shape):
    """A tensor of ones.
    ``shape`` as for ``zeros``: an int n gives (1, 1, n), (r, c) gives (1, r, c)."""
    return full(shape, 1.0)


def full(shape, value):
    """A tensor filled with ``value``.
    ``shape`` as for ``zeros``: an int n gives (1, 1, n), (r, c) gives (1, r, c)."""
    L, R, C = _shape3(shape, "full")
    cdef float v = _to_float(value, "full")
    cdef RamTensor out = _empty(L, R, C)
    if v == 0.0 and copysign(1.0, v) > 0:  # +0.0 only: -0.0 must keep its sign bit
        memset(out.data, 0, out.n * 4)
    else:
        with nogil:
            rcml_fill_f32(v, out.data, out.n)
    return out


def concat(tensors, axis=0):
    """Join tensors along ``axis`` (0, 1 or 2; negatives allowed); the other axes must match.
    E.g. (L, R, C1) and (L, R, C2) along axis 2 give (L, R, C1 + C2)."""
    ts = [_as_tensor(t, "concat") for t in tensors]
    if not ts:
        raise ValueError("concat: need at least one tensor")
    cdef int a = _axis_index(axis, "concat")
    first = (<RamTensor>ts[0]).shape
    total = 0
    for t in ts:
        shp = (<RamTensor>t).shape
        for i in range(3):
            if i != a and shp[i] != first[i]:
                raise ShapeError(f"concat: shapes {first} and {shp} differ off axis {a}")
        total += shp[a]
    dims = list(first)
    dims[a] = total
    cdef RamTensor out = _empty(dims[0], dims[1], dims[2])
    cdef RamTensor t2
    cdef Py_ssize_t outer, chunk_out, pos = 0, o, chunk
    # view every tensor as (outer, chunk): axis a and everything after it is one chunk
    outer = 1 if a == 0 else (dims[0] if a == 1 else dims[0] * dims[1])
    chunk_out = out.n // outer if outer else 0
    for t in ts:
        t2 = <RamTensor>t
        chunk = t2.n // outer if outer else 0
        for o in range(outer):
            if chunk:
                memcpy(out.data + o * chunk_out + pos, t2.data + o * chunk, chunk * 4)
        pos += chunk
    if _tape is not None:
        _tape.record("concat", out, tuple(ts), {"axis": a})
    return out


cdef _gemm_out_apart(str name, RamTensor out, RamTensor a, RamTensor b):
    """The product hooks write out while reading a and b: they must not overlap."""
    cdef RamTensor src
    for src in (a, b):
        if out.n and src.n and out.data < src.data + src.n and src.data < out.data + out.n:
            raise ValueError(f"{name}: out must not share memory with a or b")


cdef extern from "internal.h" nogil:
    ctypedef struct rcml_gemm_bpack_t:
        pass
    int rcml_gemm_bpack_init(rcml_gemm_bpack_t *bp, size_t m, int trans_b, size_t n, size_t k,
                             const float *B)
    void rcml_gemm_bpack_free(rcml_gemm_bpack_t *bp)
    void rcml_gemm_f32_bpacked(int trans_a, size_t m, size_t n, size_t k, float alpha,
                               const float *A, const rcml_gemm_bpack_t *bp, int trans_b,
                               const float *B, float beta, float *C)


def _gemm_prepacked_into(RamTensor out, RamTensor a, RamTensor b, alpha=1.0, beta=0.0,
                         transpose_a=False, transpose_b=False, pack_rows=None):
    """Private test hook: ``_gemm_into`` for 2-D operands through the pre-packed B path
    (``rcml_gemm_bpack_init`` + ``rcml_gemm_f32_bpacked``, what the recurrent layers' time
    loops use). Returns True when B was packed (False: the shape or backend never reads
    a packed B, and the plain product was used); ``out`` gets the same bits either way.
    ``pack_rows``: the row count B is packed for (default: op(a)'s rows), to check that a
    product of other rows still gets the plain product's bits.
    """
    cdef bint ta = bool(transpose_a), tb = bool(transpose_b)
    cdef float fa = _to_float(alpha, "_gemm_prepacked_into")
    cdef float fb = _to_float(beta, "_gemm_prepacked_into")
    if a.L != 1 or b.L != 1 or out.L != 1:
        raise ShapeError("_gemm_prepacked_into: 2-D operands only")
    cdef size_t m = a.C if ta else a.R
    cdef size_t k = a.R if ta else a.C
    cdef size_t n = b.R if tb else b.C
    if (b.C if tb else b.R) != <Py_ssize_t>k:
        raise ShapeError(f"_gemm_prepacked_into: inner dims differ: {a.shape} @ {b.shape}")
    if out.R != <Py_ssize_t>m or out.C != <Py_ssize_t>n:
        raise ShapeError(f"_gemm_prepacked_into: out has shape {out.shape}, not {(m, n)}")
    _gemm_out_apart("_gemm_prepacked_into", out, a, b)
    cdef rcml_gemm_bpack_t bp
    cdef int packed = 0
    cdef size_t pm = m if pack_rows is None else <size_t>_check_dim(pack_rows, "pack_rows")
    if out.n == 0:
        return False
    with nogil:
        packed = rcml_gemm_bpack_init(&bp, pm, tb, n, k, b.data) == 0
        rcml_gemm_f32_bpacked(ta, m, n, k, fa, a.data, &bp, tb, b.data, fb, out.data)
        rcml_gemm_bpack_free(&bp)
    return bool(packed)


def _gemm_into(RamTensor out, RamTensor a, RamTensor b, alpha=1.0, beta=0.0,
               transpose_a=False, transpose_b=False):
    """Private hook on the C entry point rcml_gemm_batched_f32, in place:
    out = alpha * op(a) @ op(b) + beta * out (layers broadcast as in ``matmul``).

    ``out`` must already have the product's shape and must not share memory with ``a``
    or ``b``. With beta == 0 the old contents of ``out`` are never read.
    """
    cdef bint ta = bool(transpose_a), tb = bool(transpose_b)
    cdef float fa = _to_float(alpha, "_gemm_into"), fb = _to_float(beta, "_gemm_into")
    cdef size_t m = a.C if ta else a.R
    cdef size_t k = a.R if ta else a.C
    cdef size_t kb = b.C if tb else b.R
    cdef size_t n = b.R if tb else b.C
    if k != kb:
        raise ShapeError(f"_gemm_into: inner dims differ: {a.shape} @ {b.shape}")
    if not (a.L == b.L or a.L == 1 or b.L == 1):
        raise ShapeError(f"_gemm_into: layer counts differ: {a.shape} @ {b.shape}")
    cdef size_t L = a.L if a.L != 1 else b.L
    if out.L != <Py_ssize_t>L or out.R != <Py_ssize_t>m or out.C != <Py_ssize_t>n:
        raise ShapeError(f"_gemm_into: out has shape {out.shape}, the product of {a.shape} "
                         f"@ {b.shape} has shape {(L, m, n)}")
    _gemm_out_apart("_gemm_into", out, a, b)
    cdef size_t sa = 0 if a.L == 1 else a.R * a.C
    cdef size_t sb = 0 if b.L == 1 else b.R * b.C
    if out.n == 0:
        return out
    with nogil:
        rcml_gemm_batched_f32(L, ta, tb, m, n, k, fa, a.data, sa, b.data, sb, fb, out.data)
    return out
