# The C API capsule (csrc/rcmlrs_capi.h) and the tensor-object entry points it carries
# (csrc/rcmlrs.h, "tensor objects"). Included by _tensor.pyx: these see RamTensor's fields.

from cpython.object cimport PyObject
from cpython.pycapsule cimport PyCapsule_New

# ------------------------------------------------------------------ tensor objects
# C functions (`public`, under the C names the table in csrc/capi.c points to) through
# which a C extension makes RamTensors and reads their buffer and shape without cimporting
# this module. The GIL is held by the caller. Arguments arrive as PyObject * so that a
# NULL from C is an error here, not a crash.


cdef RamTensor _capi_tensor(PyObject *obj, str what):
    if obj == NULL:
        raise TypeError(f"{what}: expected a RamTensor, got NULL")
    if not isinstance(<object>obj, RamTensor):
        raise TypeError(f"{what}: expected a RamTensor, got {type(<object>obj).__name__}")
    cdef RamTensor t = <RamTensor>obj
    if t.data == NULL:  # RamTensor.__new__(RamTensor) without __init__
        raise ValueError(f"{what}: the tensor was never initialised")
    return t


cdef public object _capi_tensor_new "rcml_tensor_new"(
        size_t layers, size_t rows, size_t cols):
    # each factor <= 2^40 first: a size_t above PY_SSIZE_T_MAX would turn negative
    cdef size_t most = <size_t>MAX_ELEMENTS
    if layers > most or rows > most or cols > most:
        raise ValueError(f"rcml_tensor_new: shape {(layers, rows, cols)} is too large")
    return _empty(<Py_ssize_t>layers, <Py_ssize_t>rows, <Py_ssize_t>cols)


cdef public int _capi_tensor_check "rcml_tensor_check"(PyObject *obj) noexcept:
    return obj != NULL and isinstance(<object>obj, RamTensor)


cdef public float *_capi_tensor_data "rcml_tensor_data"(PyObject *obj) except NULL:
    return _capi_tensor(obj, "rcml_tensor_data").data


cdef public int _capi_tensor_shape "rcml_tensor_shape"(PyObject *obj, size_t *shape) except -1:
    cdef RamTensor t = _capi_tensor(obj, "rcml_tensor_shape")
    shape[0] = <size_t>t.L
    shape[1] = <size_t>t.R
    shape[2] = <size_t>t.C
    return 0


cdef public int _capi_tensor_modified "rcml_tensor_modified"(PyObject *obj) except -1:
    cdef RamTensor t = _capi_tensor(obj, "rcml_tensor_modified")
    t._version += 1
    return 0


# -------------------------------------------------------------------------- capsule
# Every entry point of csrc/rcmlrs.h, for rcmlrs's other Cython modules and third-party
# extensions (csrc/rcmlrs_capi.h): one copy of the kernels, one dispatch state, one pool.
_C_API = PyCapsule_New(<void *>rcml_capi_table(), RCML_CAPI_NAME, NULL)
