# The RamTensor object layout, for Cython extensions that cimport it.
cdef class RamTensor:
    cdef float *data          # L*R*C contiguous float32 values
    cdef Py_ssize_t L, R, C   # layers, rows, cols
    cdef Py_ssize_t n         # L*R*C
    cdef Py_ssize_t shape_[3]
    cdef Py_ssize_t strides_[3]
    cdef bint owns            # data came from rcml_alloc_aligned
    cdef object base          # the exporter kept alive when data is borrowed
    cdef Py_buffer view
    cdef bint has_view
    cdef object __weakref__

    cdef inline void _set_meta(self) noexcept
    cdef Py_ssize_t _offset(self, object key) except -1
