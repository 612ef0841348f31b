# DLPack: zero-copy exchange with PyTorch, NumPy, JAX, CuPy. Included by _tensor.pyx:
# RamTensor.__dlpack__ / __dlpack_device__ call _dlpack_export; rc.from_dlpack imports.
#
# Ownership, both ways, in the RamTensor's one model (`owns`, `base`):
# * Export: a capsule holds one malloc'ed block (the managed tensor, its shape and its
#   strides) whose manager_ctx is a strong reference to the RamTensor. The deleter drops
#   that reference and frees the block. A consumer renames the capsule ("used_...") and
#   calls the deleter once it is done; a capsule never consumed calls it when collected.
# * Import: the capsule is renamed at once and the managed tensor moves into a
#   _DLPackOwner, whose __dealloc__ calls the producer's deleter exactly once. A RamTensor
#   sharing the memory has owns = False and base = that owner (as a tensor borrowing a
#   NumPy buffer holds the array); a copy lets the owner go at once.

from cpython.pycapsule cimport (PyCapsule_CheckExact, PyCapsule_Destructor, PyCapsule_GetName,
                                PyCapsule_GetPointer, PyCapsule_IsValid, PyCapsule_New,
                                PyCapsule_SetName)
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.stdint cimport int8_t, int16_t, int32_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

# ------------------------------------------------- dlpack.h (v1.0), from the specification

cdef enum:
    DLPACK_MAJOR_VERSION = 1
    DLPACK_MINOR_VERSION = 0
    # DLDeviceType
    kDLCPU = 1
    # DLDataTypeCode
    kDLInt = 0
    kDLUInt = 1
    kDLFloat = 2
    kDLOpaqueHandle = 3
    kDLBfloat = 4
    kDLComplex = 5
    kDLBool = 6
    # DLManagedTensorVersioned.flags
    DLPACK_FLAG_BITMASK_READ_ONLY = 1
    DLPACK_FLAG_BITMASK_IS_COPIED = 2

cdef struct DLPackVersion:
    uint32_t major
    uint32_t minor

cdef struct DLDevice:
    int device_type           # a C enum (DLDeviceType): int-sized
    int32_t device_id

cdef struct DLDataType:
    uint8_t code              # DLDataTypeCode
    uint8_t bits
    uint16_t lanes

cdef struct DLTensor:
    void *data
    DLDevice device
    int32_t ndim
    DLDataType dtype
    int64_t *shape
    int64_t *strides          # in elements; NULL means compact row-major
    uint64_t byte_offset

cdef struct DLManagedTensor:  # capsule name "dltensor" (consumed: "used_dltensor")
    DLTensor dl_tensor
    void *manager_ctx
    void (*deleter)(DLManagedTensor *) noexcept nogil

cdef struct DLManagedTensorVersioned:  # "dltensor_versioned" / "used_dltensor_versioned"
    DLPackVersion version
    void *manager_ctx
    void (*deleter)(DLManagedTensorVersioned *) noexcept nogil
    uint64_t flags
    DLTensor dl_tensor

cdef const char *_DL_LEGACY = b"dltensor"
cdef const char *_DL_LEGACY_USED = b"used_dltensor"
cdef const char *_DL_VERSIONED = b"dltensor_versioned"
cdef const char *_DL_VERSIONED_USED = b"used_dltensor_versioned"

cdef extern from "Python.h":
    # PyObject * spellings for the capsule destructor: it runs while the capsule is being
    # deallocated (refcount 0), so it must never take a reference to it
    bint _capsule_is_valid "PyCapsule_IsValid"(PyObject *capsule, const char *name)
    void *_capsule_pointer "PyCapsule_GetPointer"(PyObject *capsule, const char *name)
    void _err_fetch "PyErr_Fetch"(PyObject **t, PyObject **v, PyObject **tb)
    void _err_restore "PyErr_Restore"(PyObject *t, PyObject *v, PyObject *tb)
    bint _py_initialized "Py_IsInitialized"() nogil

# ------------------------------------------------------------------------------ export


cdef struct _DLExportLegacy:      # one allocation per capsule; the deleter frees it
    DLManagedTensor m             # first member: &m is the block's address
    int64_t shape[3]
    int64_t strides[3]

cdef struct _DLExportVersioned:
    DLManagedTensorVersioned m
    int64_t shape[3]
    int64_t strides[3]


cdef void _dl_export_free(void *block, void *ctx) noexcept nogil:
    """Drop the exported RamTensor and free the block. Once the interpreter is gone the
    reference is leaked (nothing can be decref'ed then), as NumPy does."""
    if ctx != NULL and _py_initialized():
        with gil:
            Py_XDECREF(<PyObject *>ctx)
    free(block)


cdef void _dl_delete_legacy(DLManagedTensor *m) noexcept nogil:
    _dl_export_free(m, m.manager_ctx)


cdef void _dl_delete_versioned(DLManagedTensorVersioned *m) noexcept nogil:
    _dl_export_free(m, m.manager_ctx)


cdef void _dl_capsule_gone(PyObject *cap, const char *name, bint versioned) noexcept:
    """A capsule is collected: free its managed tensor unless a consumer took it (then
    the capsule was renamed and the consumer calls the deleter)."""
    if not _capsule_is_valid(cap, name):
        return
    cdef PyObject *et
    cdef PyObject *ev
    cdef PyObject *etb
    _err_fetch(&et, &ev, &etb)  # an exception may be in flight (the deleter runs Python)
    cdef void *m = _capsule_pointer(cap, name)
    if versioned:
        (<DLManagedTensorVersioned *>m).deleter(<DLManagedTensorVersioned *>m)
    else:
        (<DLManagedTensor *>m).deleter(<DLManagedTensor *>m)
    _err_restore(et, ev, etb)


cdef void _dl_capsule_gone_legacy(PyObject *cap) noexcept:
    _dl_capsule_gone(cap, _DL_LEGACY, False)


cdef void _dl_capsule_gone_versioned(PyObject *cap) noexcept:
    _dl_capsule_gone(cap, _DL_VERSIONED, True)


cdef void _dl_fill(DLTensor *dl, int64_t *shape, int64_t *strides, RamTensor t) noexcept:
    cdef int i
    dl.data = <void *>t.data
    dl.device.device_type = kDLCPU
    dl.device.device_id = 0
    dl.ndim = 3
    dl.dtype.code = kDLFloat
    dl.dtype.bits = 32
    dl.dtype.lanes = 1
    dl.byte_offset = 0
    for i in range(3):
        shape[i] = t.shape_[i]
        strides[i] = t.strides_[i] // 4  # DLPack counts strides in elements
    dl.shape = shape
    dl.strides = strides


cdef tuple _int_pair(object x, str what):
    """A pair of ints (a device (type, id) or a version (major, minor)), else TypeError."""
    try:
        pair = tuple(x)
        if len(pair) == 2:
            return (_index(pair[0]), _index(pair[1]))
    except TypeError:
        pass
    raise TypeError(f"{what} must be a pair of ints, got {x!r}")


cdef object _dlpack_export(RamTensor t, object stream, object max_version, object dl_device,
                           object copy):
    """The capsule RamTensor.__dlpack__ returns (see its docstring)."""
    what = "__dlpack__"
    if stream is not None:
        raise BufferError(f"{what}: a RamTensor lives in CPU memory, where stream must be "
                          f"None (got {stream!r})")
    if dl_device is not None and _int_pair(dl_device, f"{what}: dl_device") != (kDLCPU, 0):
        raise BufferError(f"{what}: cannot export to device {tuple(dl_device)}; a RamTensor "
                          f"lives in CPU memory, device (1, 0) (kDLCPU)")
    if copy is not None and not isinstance(copy, bool):
        raise TypeError(f"{what}: copy must be True, False or None, got {copy!r}")
    cdef bint versioned = False
    if max_version is not None:
        major, minor = _int_pair(max_version, f"{what}: max_version")
        versioned = major >= DLPACK_MAJOR_VERSION
    cdef RamTensor src = t.copy() if copy else t
    cdef _DLExportLegacy *lg = NULL
    cdef _DLExportVersioned *vs = NULL
    cdef void *block
    if versioned:
        vs = <_DLExportVersioned *>malloc(sizeof(_DLExportVersioned))
        if vs == NULL:
            raise MemoryError(f"{what}: out of memory")
        vs.m.version.major = DLPACK_MAJOR_VERSION
        vs.m.version.minor = DLPACK_MINOR_VERSION
        vs.m.flags = DLPACK_FLAG_BITMASK_IS_COPIED if copy else 0  # writable
        vs.m.deleter = _dl_delete_versioned
        _dl_fill(&vs.m.dl_tensor, vs.shape, vs.strides, src)
        vs.m.manager_ctx = <void *>src
        block = vs
    else:
        lg = <_DLExportLegacy *>malloc(sizeof(_DLExportLegacy))
        if lg == NULL:
            raise MemoryError(f"{what}: out of memory")
        lg.m.deleter = _dl_delete_legacy
        _dl_fill(&lg.m.dl_tensor, lg.shape, lg.strides, src)
        lg.m.manager_ctx = <void *>src
        block = lg
    Py_INCREF(src)  # released by the deleter
    try:
        if versioned:
            return PyCapsule_New(block, _DL_VERSIONED,
                                 <PyCapsule_Destructor>_dl_capsule_gone_versioned)
        return PyCapsule_New(block, _DL_LEGACY, <PyCapsule_Destructor>_dl_capsule_gone_legacy)
    except BaseException:  # no capsule: nobody else will ever call the deleter
        if versioned:
            _dl_delete_versioned(&vs.m)
        else:
            _dl_delete_legacy(&lg.m)
        raise


# ------------------------------------------------------------------------------ import


@cython.final
@cython.auto_pickle(False)  # holds a C pointer: never pickled
cdef class _DLPackOwner:
    """A consumed DLPack tensor: its producer's deleter runs exactly once, when this object
    goes (or at release()). A RamTensor sharing the memory holds it as its ``base``."""

    cdef void *managed
    cdef bint versioned

    def __dealloc__(self):
        self.release()

    cdef void release(self) noexcept:
        cdef void *m = self.managed
        self.managed = NULL  # first: the deleter runs once, even if it re-enters
        if m == NULL:
            return
        if self.versioned:
            if (<DLManagedTensorVersioned *>m).deleter != NULL:
                (<DLManagedTensorVersioned *>m).deleter(<DLManagedTensorVersioned *>m)
        elif (<DLManagedTensor *>m).deleter != NULL:
            (<DLManagedTensor *>m).deleter(<DLManagedTensor *>m)


cdef enum _DLKind:  # the element types from_dlpack converts from
    _DL_F16
    _DL_BF16
    _DL_F32
    _DL_F64
    _DL_BOOL
    _DL_I8
    _DL_I16
    _DL_I32
    _DL_I64
    _DL_U8
    _DL_U16
    _DL_U32
    _DL_U64


cdef str _dl_dtype_name(DLDataType t):
    names = {kDLInt: "int", kDLUInt: "uint", kDLFloat: "float", kDLOpaqueHandle: "opaque",
             kDLBfloat: "bfloat", kDLComplex: "complex", kDLBool: "bool"}
    s = f"{names.get(t.code, f'code {t.code} ')}{t.bits}"
    return s if t.lanes == 1 else f"{s}x{t.lanes}"


cdef int _dl_kind(DLDataType t) except -1:
    """The element kind rcmlrs converts from; TypeError for any other dtype."""
    cdef int b = t.bits
    if t.lanes == 1:
        if t.code == kDLFloat and b in (16, 32, 64):
            return _DL_F16 if b == 16 else (_DL_F32 if b == 32 else _DL_F64)
        if t.code == kDLBfloat and b == 16:
            return _DL_BF16
        if t.code == kDLBool and b == 8:
            return _DL_BOOL
        if t.code == kDLInt and b in (8, 16, 32, 64):
            return {8: _DL_I8, 16: _DL_I16, 32: _DL_I32, 64: _DL_I64}[b]
        if t.code == kDLUInt and b in (8, 16, 32, 64):
            return {8: _DL_U8, 16: _DL_U16, 32: _DL_U32, 64: _DL_U64}[b]
    raise TypeError(f"from_dlpack: cannot convert DLPack dtype {_dl_dtype_name(t)} to float32 "
                    f"(supported: float16/32/64, bfloat16, int and uint 8-64, bool)")


cdef inline float _half_to_float(uint16_t h) noexcept nogil:
    """IEEE binary16 -> float32, exactly (NaN payloads kept)."""
    cdef uint32_t sign = (<uint32_t>(h & 0x8000)) << 16
    cdef uint32_t e = (h >> 10) & 0x1F
    cdef uint32_t m = h & 0x3FF
    cdef uint32_t bits
    cdef float f
    if e == 0:  # zero or subnormal: m * 2^-24, exact in float32
        f = <float>m * <float>5.9604644775390625e-08
        return -f if sign else f
    if e == 0x1F:
        bits = sign | 0x7F800000 | (m << 13)
    else:
        bits = sign | ((e + 112) << 23) | (m << 13)  # rebias 15 -> 127
    memcpy(&f, &bits, 4)
    return f


cdef inline float _dl_load(const char *p, int kind) noexcept nogil:
    """One element at ``p`` (any alignment) as float32; C's conversions round to nearest."""
    cdef float f
    cdef double d
    cdef uint16_t h
    cdef uint32_t u32
    cdef int8_t i8
    cdef int16_t i16
    cdef int32_t i32
    cdef int64_t i64
    cdef uint64_t u64
    if kind == _DL_F32:
        memcpy(&f, p, 4)
        return f
    elif kind == _DL_F16:
        memcpy(&h, p, 2)
        return _half_to_float(h)
    elif kind == _DL_BF16:  # the top half of a float32
        memcpy(&h, p, 2)
        u32 = (<uint32_t>h) << 16
        memcpy(&f, &u32, 4)
        return f
    elif kind == _DL_F64:
        memcpy(&d, p, 8)
        return <float>d
    elif kind == _DL_BOOL:
        return 1.0 if p[0] != 0 else 0.0
    elif kind == _DL_U8:
        return <float>(<uint8_t>p[0])
    elif kind == _DL_I8:
        memcpy(&i8, p, 1)
        return <float>i8
    elif kind == _DL_I16:
        memcpy(&i16, p, 2)
        return <float>i16
    elif kind == _DL_U16:
        memcpy(&h, p, 2)
        return <float>h
    elif kind == _DL_I32:
        memcpy(&i32, p, 4)
        return <float>i32
    elif kind == _DL_U32:
        memcpy(&u32, p, 4)
        return <float>u32
    elif kind == _DL_I64:
        memcpy(&i64, p, 8)
        return <float>i64
    else:
        memcpy(&u64, p, 8)
        return <float>u64


cdef void _dl_convert(const char *src, int kind, Py_ssize_t isz, Py_ssize_t L, Py_ssize_t R,
                      Py_ssize_t C, int64_t s0, int64_t s1, int64_t s2,
                      float *out) noexcept nogil:
    """out (L, R, C), row-major <- the elements at src + (i*s0 + j*s1 + k*s2) * isz."""
    cdef Py_ssize_t i, j, k, o = 0
    cdef const char *row
    for i in range(L):
        for j in range(R):
            row = src + (i * s0 + j * s1) * isz
            for k in range(C):
                out[o] = _dl_load(row + k * s2 * isz, kind)
                o += 1


cdef RamTensor _dl_to_tensor(DLTensor *dl, uint64_t flags, _DLPackOwner owner, object copy):
    """A RamTensor sharing ``dl``'s memory (then holding ``owner``) when it is writable,
    float32, C-contiguous and 4-byte aligned and ``copy`` is not True; else a float32 copy
    (unless ``copy`` is False: BufferError), after which ``owner`` lets the memory go."""
    what = "from_dlpack"
    if dl.device.device_type != kDLCPU:
        raise BufferError(f"{what}: the tensor is on DLPack device "
                          f"{(dl.device.device_type, dl.device.device_id)}, not the CPU (1, 0); "
                          f"rcmlrs tensors live in CPU memory (move it there first)")
    cdef int nd = dl.ndim
    if nd < 0 or (nd > 0 and dl.shape == NULL):
        raise BufferError(f"{what}: malformed DLPack tensor (ndim {nd}, no shape)")
    shp = tuple([dl.shape[i] for i in range(nd)])
    if nd > 3:
        raise ShapeError(f"{what}: {nd}-D input of shape {shp}; at most 3 dims")
    if any(d < 0 for d in shp):
        raise BufferError(f"{what}: malformed DLPack tensor (shape {shp})")
    cdef int kind = _dl_kind(dl.dtype)
    cdef Py_ssize_t isz = dl.dtype.bits // 8
    cdef Py_ssize_t dims[3]
    cdef int64_t st[3]  # strides in elements, right-aligned like the dims
    cdef int a
    for a in range(3):
        dims[a] = 1
        st[a] = 0
    nonzero = 1
    for d in shp:
        nonzero *= max(d, 1)
    if nonzero > MAX_ELEMENTS:  # even an empty tensor needs dims that fit the tensor
        raise ValueError(f"{what}: shape {shp} is too large")
    for a in range(nd):
        dims[3 - nd + a] = <Py_ssize_t>dl.shape[a]
    cdef Py_ssize_t n = _checked_size(dims[0], dims[1], dims[2], what)
    cdef int64_t expect = 1
    cdef bint contiguous = True
    for a in range(2, -1, -1):
        st[a] = dl.strides[a - (3 - nd)] if (dl.strides != NULL and a >= 3 - nd) else expect
        if dims[a] > 1 and st[a] != expect:
            contiguous = False
        expect *= dims[a]
    cdef RamTensor out
    if n == 0:  # nothing to share
        owner.release()
        return _empty(dims[0], dims[1], dims[2])
    if dl.data == NULL:
        raise BufferError(f"{what}: malformed DLPack tensor (NULL data, shape {shp})")
    cdef const char *src = <const char *>dl.data + dl.byte_offset
    reason = None
    if kind != _DL_F32:
        reason = f"dtype {_dl_dtype_name(dl.dtype)} is converted to float32"
    elif flags & DLPACK_FLAG_BITMASK_READ_ONLY:
        reason = "the producer's memory is read-only"
    elif not contiguous:
        reason = "the tensor is not C-contiguous"
    elif (<uintptr_t>src) % sizeof(float) != 0:
        reason = "the data is not 4-byte aligned"
    if reason is None and copy is not True:
        out = RamTensor.__new__(RamTensor)
        out.data = <float *>src
        out.L, out.R, out.C, out.n = dims[0], dims[1], dims[2], n
        out.owns = False
        out.base = owner  # the producer's memory lives as long as this tensor
        out._set_meta()
        return out
    if copy is False:
        raise BufferError(f"{what}: copy=False, but a copy is needed: {reason}")
    out = _empty(dims[0], dims[1], dims[2])
    with nogil:
        if kind == _DL_F32 and contiguous:
            memcpy(out.data, src, n * 4)
        else:
            _dl_convert(src, kind, isz, dims[0], dims[1], dims[2], st[0], st[1], st[2],
                        out.data)
    owner.release()  # the copy is independent: give the producer's memory back now
    return out


cdef RamTensor _dlpack_import(object cap, object copy):
    """Consume a DLPack capsule (either kind) and build the tensor."""
    cdef _DLPackOwner owner = _DLPackOwner.__new__(_DLPackOwner)
    cdef DLManagedTensorVersioned *mv
    cdef DLManagedTensor *ml
    cdef const char *cname
    if PyCapsule_CheckExact(cap) and PyCapsule_IsValid(cap, _DL_VERSIONED):
        mv = <DLManagedTensorVersioned *>PyCapsule_GetPointer(cap, _DL_VERSIONED)
        if mv.version.major != DLPACK_MAJOR_VERSION:  # left to the capsule to free
            raise BufferError(f"from_dlpack: DLPack {mv.version.major}.{mv.version.minor} is "
                              f"not supported (rcmlrs reads version 1.x)")
        PyCapsule_SetName(cap, _DL_VERSIONED_USED)  # ours now: the capsule will not free it
        owner.managed = mv
        owner.versioned = True
        return _dl_to_tensor(&mv.dl_tensor, mv.flags, owner, copy)
    if PyCapsule_CheckExact(cap) and PyCapsule_IsValid(cap, _DL_LEGACY):
        ml = <DLManagedTensor *>PyCapsule_GetPointer(cap, _DL_LEGACY)
        PyCapsule_SetName(cap, _DL_LEGACY_USED)
        owner.managed = ml
        owner.versioned = False
        return _dl_to_tensor(&ml.dl_tensor, 0, owner, copy)
    if PyCapsule_CheckExact(cap):
        cname = PyCapsule_GetName(cap)
        name = b"" if cname == NULL else <bytes>cname
        if name in (b"used_dltensor", b"used_dltensor_versioned"):
            raise BufferError("from_dlpack: this DLPack capsule was already consumed")
        raise TypeError(f"from_dlpack: a capsule named {name!r} is not a DLPack tensor")
    raise TypeError(f"from_dlpack: expected a DLPack capsule, got {type(cap).__name__}")


def from_dlpack(x, *, copy=None):
    """A RamTensor from any DLPack producer (an object with ``__dlpack__``, such as a
    PyTorch tensor, a NumPy array, a JAX array on the CPU, or a DLPack capsule).

    Shares the producer's memory (zero-copy; the tensor keeps the producer alive) when it
    is float32, C-contiguous, writable and of 0-3 dims; dims are promoted like
    ``rc.tensor``. Otherwise a float32 copy: other dtypes are converted, read-only memory
    is copied. ``copy=True`` always copies; ``copy=False`` never does (``BufferError`` if
    a copy is needed). More than 3 dims is a ``ShapeError``; a tensor on another device
    (a GPU) is a ``BufferError``. The result is a fresh tensor (an autograd leaf).
    """
    if copy is not None and not isinstance(copy, bool):
        raise TypeError(f"from_dlpack: copy must be True, False or None, got {copy!r}")
    if PyCapsule_CheckExact(x):
        return _dlpack_import(x, copy)
    export = getattr(x, "__dlpack__", None)
    if export is None:
        raise TypeError(f"from_dlpack: {type(x).__name__} does not support DLPack "
                        f"(no __dlpack__ method)")
    device_of = getattr(x, "__dlpack_device__", None)
    if device_of is not None:
        dev = _int_pair(device_of(), "from_dlpack: __dlpack_device__()")
        if dev[0] != kDLCPU:
            raise BufferError(f"from_dlpack: the tensor is on DLPack device {dev}, not the "
                              f"CPU (1, 0); rcmlrs tensors live in CPU memory (move it "
                              f"there first)")
    try:
        cap = export(max_version=(DLPACK_MAJOR_VERSION, DLPACK_MINOR_VERSION))
    except TypeError:  # a producer older than DLPack 1.0 (no max_version)
        cap = export()
    return _dlpack_import(cap, copy)
