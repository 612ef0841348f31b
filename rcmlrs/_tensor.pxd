# The RamTensor object layout and the helpers rcmlrs's other Cython modules (_train,
# _layers) and third-party extensions cimport.

# Above this many floats a kernel runs without the GIL (releasing it costs ~100 ns).
cdef enum:
    NOGIL_MIN = 16384

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
    # bumped by every in-place write through RamTensor's methods, so an autograd tape
    # can refuse a gradient whose recorded inputs changed afterwards
    cdef readonly unsigned long long _version

    cdef inline void _set_meta(self) noexcept
    cdef Py_ssize_t _offset(self, object key) except -1


# A new tensor of shape (L, R, C), contents uninitialised (checked size).
cdef RamTensor _empty(Py_ssize_t L, Py_ssize_t R, Py_ssize_t C)
# x as a RamTensor (no copy when it already is one); TypeError naming `what` otherwise.
cdef RamTensor _as_tensor(object x, str what)
# True when the buffers of a and b share memory.
cdef bint _overlaps(RamTensor a, RamTensor b) noexcept
# The tensor shape (L, R, C) of an int or a 1-3 tuple (right-aligned), checked.
cdef tuple _shape3(object shape, str what)
# A float32 from a Python number; TypeError naming `what` otherwise.
cdef float _to_float(object v, str what) except? -1
