# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, embedsignature=True
"""RamTensor: a rank-3 float32 tensor over one contiguous buffer, and its constructors.

The tensor owns a 64-byte aligned buffer (or borrows a NumPy buffer zero-copy), checks
shapes and arguments, releases the GIL and calls the C kernels of csrc/. Every method
returns a new tensor so calls chain; the in-place forms end in ``_`` or are the
augmented operators.
"""

cimport cython
from cpython.buffer cimport PyBUF_FORMAT, PyBuffer_Release, PyObject_GetBuffer
from cpython.buffer cimport PyBUF_C_CONTIGUOUS, PyBUF_RECORDS_RO
from cpython.buffer cimport PyBuffer_IsContiguous
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.slice cimport PySlice_AdjustIndices, PySlice_Unpack
from libc.math cimport INFINITY, NAN, copysign, fabs, isfinite, isinf, sqrt
from libc.stdint cimport int64_t, uintptr_t
from libc.string cimport memcpy, memset

from rcmlrs._kernels cimport *

import sys as _sys
from operator import index as _index

rcml_init()

# ----------------------------------------------------------------------- autograd hook
# The recorder of the active rcmlrs.autograd tape(s), or None. Every differentiable op
# ends with ``if _tape is not None: _tape.record(name, out, inputs, attrs)``: outside a
# tape an op pays one pointer test and records nothing.
cdef object _tape = None


def _set_tape(recorder):
    """Install the recorder rcmlrs.autograd uses (None: stop recording). Private."""
    global _tape
    _tape = recorder


def _get_tape():
    """The active recorder, or None (for Python code that records its own ops)."""
    return _tape

# ----------------------------------------------------------------------------- errors


class RCMLRSError(Exception):
    """Base class of every rcmlrs error."""


class ShapeError(RCMLRSError, ValueError):
    """Shapes do not fit the operation; the message names the op and both shapes."""


class FormatError(RCMLRSError, ValueError):
    """A file is damaged, truncated, hostile or not in an rcmlrs/safetensors format."""


# NOGIL_MIN (in _tensor.pxd): above this many floats a kernel runs without the GIL.
# A tensor may hold at most 2^40 floats (4 TiB): anything larger is a mistake, and the
# limit keeps every byte count far from overflow on every platform.
cdef char *_FMT_F = b"f"
cdef Py_ssize_t MAX_ELEMENTS = (<Py_ssize_t>1) << 40


class Shape:
    """The original crate's 2-D shape: ``x`` = rows, ``y`` = cols."""

    # a dict of slots gives each attribute its docstring (help(Shape.x))
    __slots__ = {"x": "Number of rows (an int >= 0).", "y": "Number of columns (an int >= 0)."}

    def __init__(self, x, y):
        self.x = _check_dim(x, "Shape.x")
        self.y = _check_dim(y, "Shape.y")

    def __iter__(self):
        yield self.x
        yield self.y

    def __eq__(self, other):
        if isinstance(other, Shape):
            return self.x == other.x and self.y == other.y
        if isinstance(other, tuple):
            return (self.x, self.y) == other
        return NotImplemented

    def __hash__(self):
        return hash((self.x, self.y))

    def __repr__(self):
        return f"Shape(x={self.x}, y={self.y})"


cdef object _int_arg(object k, str what):
    """A Python int from an index-like argument (its __index__ runs exactly once here,
    so callers convert every argument before they read a tensor's pointer or shape)."""
    if isinstance(k, bool) or not hasattr(k, "__index__"):
        raise TypeError(f"{what} must be an int, got {type(k).__name__}")
    return _index(k)


cdef Py_ssize_t _check_dim(object d, str what) except -1:
    cdef object v = _int_arg(d, f"{what}: a dimension")
    if v < 0:
        raise ValueError(f"{what}: negative dimension {v}")
    if v > MAX_ELEMENTS:
        raise ValueError(f"{what}: dimension {v} is too large")
    return <Py_ssize_t>v


cdef tuple _shape3(object shape, str what):
    """int or 1-3 tuple (or Shape) -> (layers, rows, cols), right-aligned."""
    if isinstance(shape, Shape):  # its fields are assignable: check them again
        return (1, _check_dim(shape.x, what), _check_dim(shape.y, what))
    if isinstance(shape, RamTensor):
        return (<RamTensor>shape).shape
    if not isinstance(shape, (tuple, list)):
        return (1, 1, _check_dim(shape, what))
    n = len(shape)
    if n == 0 or n > 3:
        raise ShapeError(f"{what}: shape must have 1 to 3 dimensions, got {tuple(shape)}")
    dims = [_check_dim(d, what) for d in shape]
    while len(dims) < 3:
        dims.insert(0, 1)
    return tuple(dims)


cdef tuple _shape2(object shape, str what):
    if isinstance(shape, Shape):
        return (_check_dim(shape.x, what), _check_dim(shape.y, what))
    if isinstance(shape, (tuple, list)):
        shape = tuple(shape)  # a list could shrink while its items are converted
        if len(shape) == 2:
            return (_check_dim(shape[0], what), _check_dim(shape[1], what))
    raise TypeError(f"{what}: shape must be a Shape or a (rows, cols) tuple")


cdef Py_ssize_t _checked_size(Py_ssize_t L, Py_ssize_t R, Py_ssize_t C, str what) except -1:
    # each factor <= 2^40, so the checks below cannot themselves overflow
    if L < 0 or R < 0 or C < 0:
        raise ValueError(f"{what}: negative dimension in {(L, R, C)}")
    if L == 0 or R == 0 or C == 0:
        return 0
    if R > MAX_ELEMENTS // C:
        raise ValueError(f"{what}: shape {(L, R, C)} is too large")
    cdef Py_ssize_t rc = R * C
    if L > MAX_ELEMENTS // rc:
        raise ValueError(f"{what}: shape {(L, R, C)} is too large")
    return L * rc


@cython.freelist(64)
cdef class RamTensor:
    """A (layers, rows, cols) float32 tensor in one C-contiguous buffer.

    Build one with ``rc.tensor``, ``rc.zeros``, ``rc.from_numpy`` and friends; calling
    ``RamTensor(data)`` is the same as ``rc.tensor(data)``.
    """

    __array_ufunc__ = None  # make NumPy defer to our reflected operators

    def __cinit__(self):
        self.data = NULL
        self.L = self.R = self.C = self.n = 0
        self.owns = False
        self.has_view = False
        self.base = None

    def __init__(self, data=None):
        # A second __init__ would swap the buffer under live views and under operations
        # running on this tensor (an __index__ or __float__ can call it): refuse it.
        if self.data != NULL or self.has_view:
            raise RuntimeError("RamTensor.__init__: this tensor is already initialised; "
                               "a tensor's buffer and shape never change (make a new one)")
        if data is None:
            data = []
        cdef RamTensor t = tensor(data)
        if self.data != NULL or self.has_view:  # converting data re-entered __init__
            raise RuntimeError("RamTensor.__init__: this tensor was initialised while its "
                               "data was being converted")
        # steal t's buffer
        self.data, self.L, self.R, self.C, self.n = t.data, t.L, t.R, t.C, t.n
        self.owns = t.owns
        self._set_meta()
        t.data = NULL
        t.owns = False

    def __dealloc__(self):
        if self.owns and self.data != NULL:
            rcml_free_aligned(self.data)
        if self.has_view:
            PyBuffer_Release(&self.view)
        self.data = NULL

    cdef inline void _set_meta(self) noexcept:
        self.shape_[0] = self.L
        self.shape_[1] = self.R
        self.shape_[2] = self.C
        self.strides_[0] = self.R * self.C * 4
        self.strides_[1] = self.C * 4
        self.strides_[2] = 4

    # ------------------------------------------------------------------ buffer
    def __getbuffer__(self, Py_buffer *buffer, int flags):
        buffer.buf = <void *>self.data
        buffer.obj = self
        buffer.len = self.n * 4
        buffer.readonly = 0
        buffer.itemsize = 4
        buffer.format = _FMT_F if (flags & PyBUF_FORMAT) else NULL
        buffer.ndim = 3
        buffer.shape = self.shape_
        buffer.strides = self.strides_
        buffer.suboffsets = NULL
        buffer.internal = NULL

    def __releasebuffer__(self, Py_buffer *buffer):
        pass

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule sharing this tensor's memory (``torch.from_dlpack(t)``,
        ``np.from_dlpack(t)``); the capsule keeps the tensor alive. A versioned capsule
        ("dltensor_versioned") when ``max_version`` >= (1, 0), else the legacy "dltensor".
        ``stream`` must be None (CPU memory); ``dl_device`` None or (1, 0);
        ``copy=True`` exports a copy. See _dlpack.pxi."""
        return _dlpack_export(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self):
        """(1, 0): DLPack's kDLCPU, device 0."""
        return (kDLCPU, 0)

    # ------------------------------------------------- original-crate spellings
    @classmethod
    def new_layer_zeros(cls, shape, layer_length):
        """Zeros of (layer_length, shape.x, shape.y); ``shape`` is a Shape or (rows, cols)."""
        R, C = _shape2(shape, "new_layer_zeros")
        return zeros((_check_dim(layer_length, "new_layer_zeros"), R, C))

    @classmethod
    def new_random(cls, shape, layer_length, rand_min, rand_max, seed=None):
        """Uniform numbers in [rand_min, rand_max) of (layer_length, shape.x, shape.y)."""
        from rcmlrs._random import random

        R, C = _shape2(shape, "new_random")
        return random((_check_dim(layer_length, "new_random"), R, C), rand_min, rand_max,
                      seed=seed)

    @classmethod
    def from_value(cls, v):
        """A tensor holding ``v``: a number gives (1, 1, 1); arrays follow rc.tensor."""
        return tensor(v)

    # ------------------------------------------------------------- properties
    @property
    def shape(self):
        """(layers, rows, cols)."""
        return (self.L, self.R, self.C)

    @property
    def layers(self):
        """Number of layers, the first axis of ``shape`` (an int)."""
        return self.L

    @property
    def layer_length(self):
        """Alias of ``layers`` (the original crate's name)."""
        return self.L

    @property
    def rows(self):
        """Number of rows, the second axis of ``shape`` (an int)."""
        return self.R

    @property
    def cols(self):
        """Number of columns, the last (contiguous) axis of ``shape`` (an int)."""
        return self.C

    @property
    def size(self):
        """Number of elements, layers * rows * cols."""
        return self.n

    @property
    def nbytes(self):
        """Size of the data buffer in bytes: 4 * ``size`` (float32 elements)."""
        return self.n * 4

    @property
    def dtype(self):
        """Always ``"float32"``: every tensor holds 32-bit floats."""
        return "float32"

    @property
    def ndim(self):
        """Always 3: a tensor is ``(layers, rows, cols)``."""
        return 3

    def data_points(self):
        """Number of elements (the original crate's name for ``size``)."""
        return self.n

    def __len__(self):
        return self.L

    # ------------------------------------------------------------- conversion
    def numpy(self):
        """A NumPy view (L, R, C) sharing this tensor's memory."""
        import numpy as np
        return np.asarray(self)

    def __array__(self, dtype=None, copy=None):
        import numpy as np
        if copy:
            a = np.array(memoryview(self), copy=True)
        else:
            a = np.asarray(memoryview(self))
        return a if dtype is None else a.astype(dtype, copy=False)

    def tolist(self):
        """Nested Python lists, 3 levels: [layer][row][col].
        For an (L, R, C) tensor: L lists of R lists of C floats."""
        cdef Py_ssize_t l, r, c
        return [[[<double>self.data[(l * self.R + r) * self.C + c] for c in range(self.C)]
                 for r in range(self.R)] for l in range(self.L)]

    def to_scalar(self):
        """The single value of a size-1 tensor as a Python float.
        The tensor must be of size 1, e.g. (1, 1, 1)."""
        if self.n != 1:
            raise ShapeError(
                f"to_scalar: tensor of shape {self.shape} has {self.n} elements, not 1")
        return <double>self.data[0]

    def __float__(self):
        return self.to_scalar()

    def copy(self):
        """A deep copy (owned, aligned buffer).
        Returns a new (L, R, C) RamTensor of the same shape."""
        cdef RamTensor out = _empty(self.L, self.R, self.C)
        if self.n:
            memcpy(out.data, self.data, self.n * 4)
        if _tape is not None:
            _tape.record("copy", out, (self,), None)
        return out

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return (_rebuild, (self.L, self.R, self.C,
                           PyBytes_FromStringAndSize(<char *>self.data, self.n * 4)))

    def __repr__(self):
        import numpy as np
        body = np.array2string(np.asarray(self), separator=", ", prefix="RamTensor(",
                               threshold=200, edgeitems=3, precision=6)
        return f"RamTensor({body}, shape={self.shape})"

    # --------------------------------------------------------------- indexing
    cdef Py_ssize_t _offset(self, object key) except -1:
        # a plain tuple (a subclass's __len__ could lie; indexing here is unchecked)
        key = tuple(key) if isinstance(key, tuple) else None
        if key is None or len(key) != 3:
            raise TypeError("index with t[layer, row, col] (three ints) or t[layer]")
        # every index is converted before the shape is read; the bounds are checked on
        # Python ints, so a huge index is an IndexError, never an OverflowError
        cdef tuple vals = tuple([_int_arg(k, "tensor index") for k in key])
        cdef Py_ssize_t dims[3]
        cdef Py_ssize_t idx[3]
        cdef int a
        dims[0] = self.L
        dims[1] = self.R
        dims[2] = self.C
        for a in range(3):
            v = vals[a]
            if v < -dims[a] or v >= dims[a]:
                raise IndexError(f"index {v} is out of range for axis {a} of size {dims[a]} "
                                 f"(shape {self.shape})")
            idx[a] = v + dims[a] if v < 0 else v
        return (idx[0] * self.R + idx[1]) * self.C + idx[2]

    def __getitem__(self, key):
        """A copy of the selected elements, always rank 3 (see _shapeops.pxi).

        ``key`` holds up to 3 components (missing ones and ``...`` mean whole axes), each
        an int, a slice (any step), an integer array/list (negative indices allowed) or a
        1-D boolean mask of that axis's length. Every axis is indexed on its own: an int
        ``i`` keeps its axis with size 1 (it means ``i:i+1``), so ``t[:, 1]`` is
        (layers, 1, cols); with two or three arrays the result is their outer product
        (NumPy's ``a[np.ix_(i, j, k)]``), not NumPy's zipped pairs. Exceptions kept from
        the first release: ``t[l, r, c]`` (three ints) is a Python float and ``t[l]`` the
        (1, rows, cols) layer. A boolean mask of the whole shape (a bool array, or a 0/1
        RamTensor such as ``t > 0``) selects the True elements into (1, 1, count).
        Out-of-range indices and masks of the wrong length raise IndexError; None
        (np.newaxis) and other types raise TypeError."""
        cdef RamTensor out
        cdef Py_ssize_t l
        if type(key) is int:  # the common t[l]: no NumPy on this path
            v = key
            if v < -self.L or v >= self.L:
                raise IndexError(f"layer index {v} is out of range for {self.L} layers")
            l = v + self.L if v < 0 else v
            out = _layer_copy(self, l)
            if _tape is not None:
                _tape.record("getitem", out, (self,), {"plan": _plan_key(self, l, "t[key]")})
            return out
        if _three_ints(key):  # the common t[l, r, c]: no key parsing
            return <double>self.data[self._offset(key)]
        if _tape is None:  # ints, slices, int arrays: offsets in C (a tape records the plan)
            out = _basic_slice(self, key)
            if out is not None:
                return out
        # a plan recorded on a tape needs its scatter mode (the gradient scatters)
        plan = _plan_key(self, key, "t[key]", _tape is not None)
        if not isinstance(plan, _Plan):
            return <double>self.data[<Py_ssize_t>plan]
        return _gathered("getitem", self, <_Plan>plan)

    def __setitem__(self, key, value):
        """Assign through any key ``__getitem__`` takes: a number fills the selection, a
        tensor or array broadcasts to the selection's shape (else ShapeError naming both).
        A repeated index keeps the last value. A value sharing this tensor's buffer is
        read from a snapshot. In place: not differentiable, so autograd records nothing
        (the write bumps the tensor's version, so a tape refuses a gradient through an
        earlier use of it)."""
        cdef float v
        if _three_ints(key):
            v = _to_float(value, "__setitem__")
            self.data[self._offset(key)] = v
            self._version += 1
            return
        plan = _plan_key(self, key, "t[key] = value")
        if not isinstance(plan, _Plan):
            v = _to_float(value, "__setitem__")
            self.data[<Py_ssize_t>plan] = v
        else:
            _setitem_plan(self, <_Plan>plan, value)
        self._version += 1

    # ------------------------------------------------------------- comparison
    def equals(self, other):
        """True when shapes match and every element is equal (NaN equals NaN).
        Returns a Python bool, not a tensor."""
        cdef RamTensor b = _as_tensor(other, "equals")
        cdef Py_ssize_t i
        cdef float x, y
        if self.shape != b.shape:
            return False
        for i in range(self.n):
            x = self.data[i]
            y = b.data[i]
            if not (x == y or (x != x and y != y)):
                return False
        return True

    def allclose(self, other, double rtol=1e-5, double atol=1e-8):
        """NumPy's rule ``|a - b| <= atol + rtol * |b|`` elementwise (broadcasting), as
        ``np.allclose``: an infinity is close only to the same infinity, NaN to nothing.
        Returns a Python bool; ``rtol`` is relative (a fraction of ``|b|``) and ``atol`` is in
        the units of the elements."""
        cdef RamTensor b = _as_tensor(other, "allclose")
        cdef Py_ssize_t L, R, C
        cdef Py_ssize_t as_[3]
        cdef Py_ssize_t bs[3]
        L, R, C = _broadcast_shape(self, b, "allclose", as_, bs)
        cdef Py_ssize_t l, r, c
        cdef double x, y
        for l in range(L):
            for r in range(R):
                for c in range(C):
                    x = self.data[l * as_[0] + r * as_[1] + c * as_[2]]
                    y = b.data[l * bs[0] + r * bs[1] + c * bs[2]]
                    if x == y:
                        continue
                    # x != y here: an infinity (or NaN) on either side is never close;
                    # without this, inf <= atol + rtol * inf would call 0 close to inf
                    if not (isfinite(x) and isfinite(y)):
                        return False
                    if not (fabs(x - y) <= atol + rtol * fabs(y)):
                        return False
        return True

    # ------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _binary_op(self, other, RCML_ADD, "add", True)

    def __radd__(self, other):
        return _binary_op(self, other, RCML_ADD, "add", True)

    def __sub__(self, other):
        return _binary_op(self, other, RCML_SUB, "sub", True)

    def __rsub__(self, other):
        return _binary_op(self, other, RCML_RSUB, "sub", True)

    def __mul__(self, other):
        return _binary_op(self, other, RCML_MUL, "mul", True)

    def __rmul__(self, other):
        return _binary_op(self, other, RCML_MUL, "mul", True)

    def __truediv__(self, other):
        return _binary_op(self, other, RCML_DIV, "div", True)

    def __rtruediv__(self, other):
        return _binary_op(self, other, RCML_RDIV, "div", True)

    def __iadd__(self, other):
        return _inplace_op(self, other, RCML_ADD, "add")

    def __isub__(self, other):
        return _inplace_op(self, other, RCML_SUB, "sub")

    def __imul__(self, other):
        return _inplace_op(self, other, RCML_MUL, "mul")

    def __itruediv__(self, other):
        return _inplace_op(self, other, RCML_DIV, "div")

    def __neg__(self):
        return _unary(self, RCML_NEG, 0.0, 0.0)

    def __pos__(self):
        return self.copy()

    def __abs__(self):
        return _unary(self, RCML_ABS, 0.0, 0.0)

    def __pow__(self, p, mod):
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported")
        if isinstance(p, int) and not isinstance(p, bool):
            return self.powi(p)
        if isinstance(p, float):
            return self.powf(p)
        return _binary_op(self, p, RCML_POW, "pow", True)

    def __rpow__(self, base, mod):
        if mod is not None:
            raise TypeError("pow() with a modulus is not supported")
        return _binary_op(self, base, RCML_RPOW, "pow", True)

    def __mod__(self, other):
        return _binary_op(self, other, RCML_MOD, "mod", True)

    def __rmod__(self, other):
        return _binary_op(self, other, RCML_RMOD, "mod", True)

    # comparisons are elementwise (0/1 tensors), as in NumPy: a tensor is unhashable
    # (Cython sets __hash__ = None beside __eq__); ``equals`` is the whole-tensor test
    def __lt__(self, other):
        return _binary_op(self, other, RCML_LT, "lt", True)

    def __le__(self, other):
        return _binary_op(self, other, RCML_LE, "le", True)

    def __gt__(self, other):
        return _binary_op(self, other, RCML_GT, "gt", True)

    def __ge__(self, other):
        return _binary_op(self, other, RCML_GE, "ge", True)

    def __eq__(self, other):
        return _binary_op(self, other, RCML_EQ, "eq", True)

    def __ne__(self, other):
        return _binary_op(self, other, RCML_NE, "ne", True)

    def __bool__(self):
        if self.n != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is "
                             f"ambiguous; use .any() or .all() (or .equals for a comparison)")
        return self.data[0] != 0.0

    def __matmul__(self, other):
        if not isinstance(other, RamTensor):
            try:
                other = _as_tensor(other, "matmul")
            except TypeError:
                return NotImplemented
        return self.matmul(other)

    def __rmatmul__(self, other):
        try:
            other = _as_tensor(other, "matmul")
        except TypeError:
            return NotImplemented
        return (<RamTensor>other).matmul(self)

    def add(self, other):
        """Elementwise a + b (broadcasting; b may be a number).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_ADD, "add")

    def sub(self, other):
        """Elementwise a - b (broadcasting).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_SUB, "sub")

    def mul(self, other):
        """Elementwise a * b (broadcasting). Not the matrix product: see matmul.
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_MUL, "mul")

    def div(self, other):
        """Elementwise a / b (broadcasting, IEEE: x/0 = +-inf, 0/0 = NaN).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_DIV, "div")

    def scale(self, k):
        """Every element times the number k.
        Returns a new tensor of the same (L, R, C) shape."""
        return _binary_op(self, _to_float(k, "scale"), RCML_MUL, "scale")

    def scaler(self, k):
        """Alias of ``scale`` (the original crate's name)."""
        return self.scale(k)

    def neg(self):
        """Elementwise negation ``-x``; a new tensor of the same shape."""
        return _unary(self, RCML_NEG, 0.0, 0.0)

    def abs(self):
        """Elementwise absolute value ``|x|``; a new tensor of the same shape."""
        return _unary(self, RCML_ABS, 0.0, 0.0)

    def sqrt(self):
        """Elementwise square root (NaN below 0).
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_SQRT, 0.0, 0.0)

    def exp(self):
        """Elementwise e^x (~1 ulp; 0 below -104, inf above 88.72).
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_EXP, 0.0, 0.0)

    def log(self):
        """Elementwise natural log (-inf at 0, NaN below 0).
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_LOG, 0.0, 0.0)

    def powi(self, n):
        """Elementwise ``x^n`` for an integer n, ``|n| <= 2^24`` (repeated squaring).
        Returns a new tensor of the same (L, R, C) shape."""
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise TypeError(f"powi: exponent must be an int, got {type(n).__name__}")
        cdef object v = n.__index__()
        # the kernel takes the exponent as a float32, exact up to 2^24; beyond that the
        # parity (the sign of a negative base) would be lost, so refuse rather than guess
        if not (-(1 << 24) <= v <= (1 << 24)):
            raise ValueError(f"powi: exponent {v} is out of range (|n| <= 16777216); "
                             f"use powf for a real exponent")
        return _unary(self, RCML_POWI, <float>v, 0.0)

    def powf(self, p):
        """Elementwise x^p for a real p (C powf semantics).
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_POWF, _to_float(p, "powf"), 0.0)

    def clip(self, lo, hi):
        """Elementwise min(max(x, lo), hi); NaN stays NaN. With lo > hi every element
        becomes hi (as ``np.clip`` and ``torch.clamp``). A bound is a number, a tensor or
        array (broadcasting with x, like ``np.clip``), or None for no bound (not both);
        a NaN bound is no bound.
        Returns a new tensor of the broadcast shape of x and the bounds (x's shape for
        number bounds)."""
        return _clip(self, lo, hi)

    # ------------------------------------------ comparisons and selection (issue 14)
    def eq(self, other):
        """Elementwise a == b as 1.0/0.0 (broadcasting; NaN == anything is 0).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_EQ, "eq")

    def ne(self, other):
        """Elementwise a != b as 1.0/0.0 (NaN != anything is 1).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_NE, "ne")

    def lt(self, other):
        """Elementwise a < b as 1.0/0.0 (a NaN on either side gives 0).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_LT, "lt")

    def le(self, other):
        """Elementwise a <= b as 1.0/0.0 (a NaN on either side gives 0).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_LE, "le")

    def gt(self, other):
        """Elementwise a > b as 1.0/0.0 (a NaN on either side gives 0).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_GT, "gt")

    def ge(self, other):
        """Elementwise a >= b as 1.0/0.0 (a NaN on either side gives 0).
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_GE, "ge")

    def maximum(self, other):
        """Elementwise maximum (broadcasting), as ``np.maximum``: a NaN on either side
        gives NaN; of -0.0 and 0.0 the result is 0.0.
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_MAXIMUM, "maximum")

    def minimum(self, other):
        """Elementwise minimum (broadcasting), as ``np.minimum``: a NaN on either side
        gives NaN; of -0.0 and 0.0 the result is -0.0.
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_MINIMUM, "minimum")

    def mod(self, other):
        """Elementwise floor modulo a - floor(a / b) * b with the sign of b, as Python's
        ``%`` and ``np.mod`` (exact before the final rounding). b = 0 or a = +-inf give
        NaN; a finite with b = +-inf gives a when the signs agree, else b.
        Returns a new tensor of the broadcast shape of a and b."""
        return _binary_op(self, other, RCML_MOD, "mod")

    def pow(self, other):
        """Elementwise x ** other: an int exponent as ``powi``, a float as ``powf``, a
        tensor or array elementwise with broadcasting (C ``powf``: pow(x, 0) = 1 and
        pow(1, y) = 1 even for NaN; a negative base with a non-integer exponent is NaN).
        Returns a new tensor of the broadcast shape of x and ``other``."""
        if isinstance(other, int) and not isinstance(other, bool):
            return self.powi(other)
        if isinstance(other, float):
            return self.powf(other)
        return _binary_op(self, other, RCML_POW, "pow")

    def floor(self):
        """Elementwise floor (exact; NaN, +-inf and -0.0 unchanged).
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_FLOOR, 0.0, 0.0)

    def ceil(self):
        """Elementwise ceiling (exact; NaN, +-inf and -0.0 unchanged).
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_CEIL, 0.0, 0.0)

    def round(self):
        """Elementwise rounding to the nearest integer, halves to even (as ``np.round``:
        round(2.5) = 2.0, round(-0.4) = -0.0); NaN and +-inf unchanged.
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_ROUND, 0.0, 0.0)

    def sign(self):
        """Elementwise sign: -1.0, 0.0 (for +-0) or 1.0; NaN stays NaN (``np.sign``).
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_SIGN, 0.0, 0.0)

    def isnan(self):
        """1.0 where the element is NaN, else 0.0.
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_ISNAN, 0.0, 0.0)

    def isinf(self):
        """1.0 where the element is +inf or -inf, else 0.0.
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_ISINF, 0.0, 0.0)

    def isfinite(self):
        """1.0 where the element is neither NaN nor infinite, else 0.0.
        Returns a new tensor of the same (L, R, C) shape."""
        return _unary(self, RCML_ISFINITE, 0.0, 0.0)

    def map(self, fn):
        """Apply a Python function to every element (the original ``cus_act!``).

        This is the slow path: one Python call per element. Use the vectorised methods
        wherever they exist.
        Returns a new tensor of the same (L, R, C) shape.
        """
        if not callable(fn):
            raise TypeError("map: fn must be callable")
        cdef RamTensor out = _empty(self.L, self.R, self.C)
        cdef Py_ssize_t i
        for i in range(self.n):
            out.data[i] = _to_float(fn(<double>self.data[i]), "map")
        if _tape is not None:  # no rule: a gradient through map raises, never silently 0
            _tape.record("map", out, (self,), None)
        return out

    # ---------------------------------------------------------- matrix product
    def matmul(self, other, transpose_a=False, transpose_b=False):
        """Batched true matrix product: (L, m, k) @ (L, k, n) -> (L, m, n).

        ``transpose_a``/``transpose_b`` use a layer's transpose in place of the layer. A
        layer count of 1 on either side broadcasts (the shared operand is packed once).
        """
        return _matmul(self, _as_tensor(other, "matmul"), bool(transpose_a), bool(transpose_b))

    def pad_matmul_to_another(self, other, pad_value=0.0):
        """Pad or crop this tensor's columns (and layers) with ``pad_value`` so the
        product with ``other`` is defined, then multiply.
        (L, R, C) with (L2, C2, N) gives (L if L2 == 1 else L2, R, N)."""
        cdef RamTensor b = _as_tensor(other, "pad_matmul_to_another")
        cdef float fill = _to_float(pad_value, "pad_matmul_to_another")  # before the shapes
        cdef Py_ssize_t L = self.L if (b.L == 1 or self.L == b.L) else b.L
        a = self
        if self.C != b.R or L != self.L:
            a = self.pad((self.R, b.R), L, fill)
        return _matmul(a, b, False, False)

    # ------------------------------------------------------------- reductions
    # Reductions take axis=None (every element: a Python float) or an axis in -3..2 or a
    # tuple of distinct axes (a tensor where those axes have size 1).
    def sum(self, axis=None):
        """Sum of all elements (a float), or over the given axes (they become 1); in
        double, in a fixed order."""
        return _reduce(self, RCML_RED_SUM, axis, 0.0, "sum")

    def mean(self, axis=None):
        """Arithmetic mean of all elements (a float), or over the given axes.
        Over axes, returns a tensor where those axes have size 1, e.g. ``axis=2``: (L, R, C) ->
        (L, R, 1)."""
        return _reduce(self, RCML_RED_MEAN, axis, 0.0, "mean")

    def min(self, axis=None):
        """Smallest element (NaN if any is NaN), or over the given axes.
        Over axes, returns a tensor where those axes have size 1, e.g. ``axis=2``: (L, R, C) ->
        (L, R, 1)."""
        return _reduce(self, RCML_RED_MIN, axis, 0.0, "min")

    def max(self, axis=None):
        """Largest element (NaN if any is NaN), or over the given axes.
        Over axes, returns a tensor where those axes have size 1, e.g. ``axis=2``: (L, R, C) ->
        (L, R, 1)."""
        return _reduce(self, RCML_RED_MAX, axis, 0.0, "max")

    def find_min(self, axis=None):
        """Alias of ``min`` (the original crate's name)."""
        return self.min(axis)

    def find_max(self, axis=None):
        """Alias of ``max`` (the original crate's name)."""
        return self.max(axis)

    def var(self, axis=None, ddof=0):
        """Variance sum((x - mean)^2) / (N - ddof), two-pass in double, of all elements
        or over the given axes (N = the number of elements reduced). With N <= ddof the
        divisor is 0, as in NumPy and torch: inf (NaN for a constant input).
        Over axes, returns a tensor where those axes have size 1; without, a Python float."""
        return _reduce(self, RCML_RED_VAR, axis, _to_ddof(ddof), "var")

    def std(self, axis=None, ddof=0):
        """Standard deviation sqrt(var(axis, ddof)).
        Over axes, returns a tensor where those axes have size 1; without, a Python float."""
        return _reduce(self, RCML_RED_STD, axis, _to_ddof(ddof), "std")

    def prod(self, axis=None):
        """Product of all elements (a float; 1.0 when empty), or over the given axes;
        in double, in order, rounded once.
        Over axes, returns a tensor where those axes have size 1."""
        return _reduce(self, RCML_RED_PROD, axis, 0.0, "prod")

    def any(self, axis=None):
        """True if any element is nonzero (NaN counts as nonzero), or over the given
        axes as 1.0/0.0.
        Over axes, returns a tensor where those axes have size 1."""
        return _reduce(self, RCML_RED_ANY, axis, 0.0, "any")

    def all(self, axis=None):
        """True if every element is nonzero (True when empty), or over the given axes
        as 1.0/0.0.
        Over axes, returns a tensor where those axes have size 1."""
        return _reduce(self, RCML_RED_ALL, axis, 0.0, "all")

    def logsumexp(self, axis=None):
        """log(sum(exp(x))) of all elements (a float), or over the given axes, computed
        as m + log(sum(exp(x - m))), m = max, the sum in double (along contiguous rows:
        axis 2, axes (1, 2) or all, each exp(x - m) is a float32 within ~1 ulp): stable
        for inputs of any size.
        Slices of -inf (and empty ones) give -inf, a +inf gives inf, a NaN gives NaN.
        Over axes, returns a tensor where those axes have size 1."""
        return _reduce(self, RCML_RED_LOGSUMEXP, axis, 0.0, "logsumexp")

    def cumsum(self, axis):
        """Running sums along ``axis`` (same shape; each a sequential sum in double
        rounded once, as ``np.cumsum`` along that axis)."""
        return _cumsum(self, axis, False)

    def argmax(self, axis=None):
        """Flat index (int) of the first maximum, or with an axis an int64 NumPy array
        with that axis of size 1. A NaN counts as the maximum (as in NumPy)."""
        return _argext(self, axis, False, "argmax")

    def argmin(self, axis=None):
        """Flat index (int) of the first minimum, or with an axis an int64 NumPy array
        with that axis of size 1. A NaN counts as the minimum (as in NumPy)."""
        return _argext(self, axis, True, "argmin")

    def median(self):
        """The true median of all elements (mean of the two middle values for an even
        count); NaN if any element is NaN.
        Returns a Python float."""
        if self.n == 0:
            raise ValueError(f"median: tensor of shape {self.shape} is empty")
        cdef RamTensor tmp = _clone(self)
        cdef float m
        with nogil:
            m = rcml_median_f32(tmp.data, tmp.n)
        return <double>m

    # ------------------------------------------------------------------ shape
    def transpose(self, axes=None, *more):
        """No argument: swap rows and cols in every layer, (L, R, C) -> (L, C, R) (the
        first release's meaning; NumPy's default would reverse all axes). With ``axes``,
        a permutation of (0, 1, 2) (or three ints): output axis k is input axis axes[k],
        as ``np.transpose(a, axes)``. Always a copy."""
        cdef tuple perm = (0, 2, 1)
        if axes is not None or more:
            perm = _permutation(axes, more, "transpose")
        cdef RamTensor out
        if perm == (0, 2, 1):
            out = _empty(self.L, self.C, self.R)
            if self.n >= NOGIL_MIN:
                with nogil:
                    rcml_transpose_f32(self.data, self.L, self.R, self.C, out.data)
            else:
                rcml_transpose_f32(self.data, self.L, self.R, self.C, out.data)
        elif perm == (0, 1, 2):
            out = self.copy()
        else:
            np = _numpy()
            src = self.shape
            out = _gather(self, _plan_from_indices(
                src, np.arange(src[perm[0]]), np.arange(src[perm[1]]),
                np.arange(src[perm[2]]), True, True, True, perm))
        if _tape is not None and perm != (0, 1, 2):  # the identity is copy(), recorded
            if perm == (0, 2, 1):
                _tape.record("transpose", out, (self,), None)
            else:
                _tape.record("permute", out, (self,), {"axes": perm})
        return out

    @property
    def T(self):
        """Same as ``transpose()``."""
        return self.transpose()

    def flatten(self):
        """(L, R, C) -> (L, 1, R*C), a copy."""
        return self.reshape((self.L, 1, self.R * self.C))

    def reshape(self, shape):
        """A copy with a new shape of the same size (int or 1-3 tuple, right-aligned;
        one dimension may be -1 and is then inferred).
        The result holds the same L * R * C elements, e.g. (2, 3, 4) -> reshape((6, 4)) is (1, 6,
        4)."""
        if not isinstance(shape, (tuple, list, Shape, RamTensor)):
            shape = (shape,)
        if isinstance(shape, (tuple, list)):
            # convert every dimension once, before this tensor's size is read
            shape = tuple([_int_arg(d, "reshape: a dimension") for d in tuple(shape)])
        if isinstance(shape, tuple) and -1 in shape:
            dims = list(shape)
            if dims.count(-1) > 1:
                raise ShapeError(f"reshape: only one dimension can be -1, got {tuple(shape)}")
            known = 1
            for d in dims:
                if d != -1:
                    if d < 0:
                        raise ValueError(f"reshape: negative dimension in {tuple(shape)}")
                    known *= d
            if known == 0 or self.n % known:
                raise ShapeError(f"reshape: cannot reshape {self.shape} into {tuple(shape)}")
            shape = tuple(self.n // known if d == -1 else d for d in dims)
        L, R, C = _shape3(shape, "reshape")
        if _checked_size(L, R, C, "reshape") != self.n:
            raise ShapeError(f"reshape: cannot reshape {self.shape} ({self.n} elements) "
                             f"into {(L, R, C)}")
        cdef RamTensor out = _empty(L, R, C)
        if self.n:
            memcpy(out.data, self.data, self.n * 4)
        if _tape is not None:
            _tape.record("reshape", out, (self,), None)
        return out

    def pad(self, shape, layers=None, pad_value=0.0):
        """Pad or crop to (layers, rows, cols): ``shape`` is a Shape or (rows, cols);
        new cells get ``pad_value``; ``layers=None`` keeps the layer count."""
        R2, C2 = _shape2(shape, "pad")
        L2 = None if layers is None else _check_dim(layers, "pad")
        cdef float fill = _to_float(pad_value, "pad")
        if L2 is None:  # every argument is converted before the shape is read
            L2 = self.L
        cdef RamTensor out = _empty(L2, R2, C2)
        if out.n:
            rcml_pad_f32(self.data, self.L, self.R, self.C, fill, out.data, L2, R2, C2)
        if _tape is not None:
            _tape.record("pad", out, (self,), None)
        return out

    def insert_matrix(self, layer_index, matrix):
        """A copy with layer ``layer_index`` replaced by ``matrix`` (rows x cols; a
        2-D array, nested list or a one-layer tensor)."""
        cdef RamTensor m = _as_tensor(matrix, "insert_matrix")
        li = _int_arg(layer_index, "insert_matrix: layer_index")
        if li < 0:
            li += self.L
        if li < 0 or li >= self.L:
            raise IndexError(f"insert_matrix: layer {layer_index} is out of range for "
                             f"{self.L} layers")
        if m.L != 1 or m.R != self.R or m.C != self.C:
            raise ShapeError(f"insert_matrix: matrix of shape {m.shape} does not fit a layer "
                             f"of {self.shape}")
        out = _empty(self.L, self.R, self.C)
        if self.n:
            memcpy((<RamTensor>out).data, self.data, self.n * 4)
        if m.n:
            memcpy((<RamTensor>out).data + <Py_ssize_t>li * self.R * self.C, m.data, m.n * 4)
        if _tape is not None:
            _tape.record("insert_matrix", out, (self, m), {"layer": li})
        return out

    # ----------------------------------------- indexing and shape ops (issue 14)
    # flip, repeat and tile (and transpose(axes), __getitem__ above) are one gather
    # (rcml_gather3_f32) through a plan built in _shapeops.pxi; results are copies.
    def flip(self, axis=None):
        """Reverse the order of elements along ``axis`` (an int, a tuple of axes, or
        None for all three), as ``np.flip``.
        Returns a new tensor of the same (L, R, C) shape."""
        axes = _axes_tuple(axis, "flip")
        np = _numpy()
        src = self.shape
        idx = [np.arange(src[a] - 1, -1, -1) if a in axes else np.arange(src[a])
               for a in range(3)]
        return _gathered("flip", self, _plan_from_indices(src, idx[0], idx[1], idx[2],
                                                          True, True, True))

    def repeat(self, repeats, axis=None):
        """Repeat each element ``repeats`` times along ``axis``, as ``np.repeat``:
        ``repeats`` is an int or one count per element of that axis. ``axis=None``
        repeats the flattened elements into (1, 1, size * repeats)."""
        np = _numpy()
        if isinstance(repeats, np.ndarray):
            seq = list(repeats.ravel())
        elif isinstance(repeats, (tuple, list, range)):
            seq = list(repeats)
        else:
            seq = [repeats]
        reps = [_int_arg(r, "repeat: repeats") for r in seq]
        if any([r < 0 for r in reps]):
            raise ValueError(f"repeat: repeats must be non-negative, got {repeats!r}")
        a = None if axis is None else _axis_index(axis, "repeat")
        src = self.shape
        d = self.n if a is None else src[a]
        if len(reps) != 1 and len(reps) != d:
            raise ShapeError(f"repeat: {len(reps)} repeat counts for an axis of length {d} "
                             f"(shape {src})")
        total = _out_dim(d * reps[0] if len(reps) == 1 else sum(reps), "repeat")
        if a is not None:
            dims = list(src)
            dims[a] = total
            _checked_size(dims[0], dims[1], dims[2], "repeat")
        counts = np.asarray(reps, dtype=np.int64)
        idx = np.repeat(np.arange(d, dtype=np.int64), counts)
        distinct = bool((counts <= 1).all())
        if a is None:
            return _gathered("repeat", self, _flat_plan(src, idx, distinct))
        parts = [np.arange(src[k]) for k in range(3)]
        parts[a] = idx
        dflags = [True, True, True]
        dflags[a] = distinct
        return _gathered("repeat", self, _plan_from_indices(src, parts[0], parts[1], parts[2],
                                                            dflags[0], dflags[1], dflags[2]))

    def tile(self, reps):
        """Repeat the whole tensor ``reps`` times along each axis, as ``np.tile``:
        ``reps`` is an int or a 1-3 tuple, right-aligned like shapes, so ``tile(2)``
        doubles the columns and ``tile((2, 1, 3))`` gives (2L, R, 3C)."""
        if isinstance(reps, (tuple, list)):
            r = [_int_arg(k, "tile: reps") for k in tuple(reps)]
        else:
            r = [_int_arg(reps, "tile: reps")]
        if not 1 <= len(r) <= 3:
            raise ShapeError(f"tile: reps must have 1 to 3 entries for a rank-3 tensor, "
                             f"got {tuple(r)}")
        if any([k < 0 for k in r]):
            raise ValueError(f"tile: reps must be non-negative, got {tuple(r)}")
        while len(r) < 3:
            r.insert(0, 1)
        src = self.shape
        dims = [_out_dim(src[k] * r[k], "tile") for k in range(3)]
        _checked_size(dims[0], dims[1], dims[2], "tile")
        np = _numpy()
        idx = [np.arange(dims[k], dtype=np.int64) % src[k] if src[k] else
               np.zeros(0, dtype=np.int64) for k in range(3)]
        return _gathered("tile", self, _plan_from_indices(src, idx[0], idx[1], idx[2],
                                                          r[0] <= 1, r[1] <= 1, r[2] <= 1))

    # ------------------------------------------------- activations (issue 4)
    # Thin wrappers: the work is in _activations.pxi and csrc/act_body.h. Forms ending
    # in ``_`` overwrite this tensor and return it.
    def relu(self):
        """max(x, 0) elementwise (relu(-0.0) = 0.0, NaN stays NaN).
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_apply(self, RCML_ACT_RELU, 0.0, False)

    def relu_(self):
        """In-place relu; returns self."""
        return _act_apply(self, RCML_ACT_RELU, 0.0, True)

    def leaky_relu(self, slope=0.01):
        """x if x > 0 else slope * x.
        ``slope`` is the (unitless) gradient for x <= 0; returns a new tensor of the same (L, R,
        C) shape."""
        return _act_apply(self, RCML_ACT_LEAKY_RELU, _to_float(slope, "leaky_relu"), False)

    def leaky_relu_(self, slope=0.01):
        """In-place leaky_relu; returns self."""
        return _act_apply(self, RCML_ACT_LEAKY_RELU, _to_float(slope, "leaky_relu_"), True)

    def lrelu(self, slope=0.01):
        """Alias of ``leaky_relu`` (the original crate's name)."""
        return self.leaky_relu(slope)

    def lrelu_(self, slope=0.01):
        """Alias of ``leaky_relu_``."""
        return self.leaky_relu_(slope)

    def sigmoid(self):
        """1 / (1 + e^-x), accurate in both tails (sigmoid(-1e4) = 0, sigmoid(1e4) = 1).
        Returns probabilities in [0, 1], a new tensor of the same (L, R, C) shape."""
        return _act_apply(self, RCML_ACT_SIGMOID, 0.0, False)

    def sigmoid_(self):
        """In-place sigmoid; returns self."""
        return _act_apply(self, RCML_ACT_SIGMOID, 0.0, True)

    def tanh(self):
        """Hyperbolic tangent elementwise (a few ulp, saturates to +-1).
        Returns values in [-1, 1], a new tensor of the same (L, R, C) shape."""
        return _act_apply(self, RCML_ACT_TANH, 0.0, False)

    def tanh_(self):
        """In-place tanh; returns self."""
        return _act_apply(self, RCML_ACT_TANH, 0.0, True)

    def swish(self):
        """x * sigmoid(x) (SiLU).
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_apply(self, RCML_ACT_SWISH, 0.0, False)

    def swish_(self):
        """In-place swish; returns self."""
        return _act_apply(self, RCML_ACT_SWISH, 0.0, True)

    def gelu(self, approximate=True):
        """GELU: tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) by default;
        ``approximate=False`` is the exact form x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_apply(self, _gelu_id(approximate), 0.0, False)

    def gelu_(self, approximate=True):
        """In-place gelu; returns self."""
        return _act_apply(self, _gelu_id(approximate), 0.0, True)

    def erf(self):
        """The error function elementwise (a few ulp).
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_apply(self, RCML_ACT_ERF, 0.0, False)

    def softmax(self, axis=-1):
        """e^x / sum(e^x) along ``axis`` (default: each row), max-shifted so inputs of any
        magnitude are stable; a slice holding NaN becomes NaN.
        Returns probabilities in [0, 1] (summing to 1 per slice), a tensor of the same (L, R, C)
        shape."""
        return _softmax(self, axis, _SMX_SOFTMAX, None, "softmax")

    def log_softmax(self, axis=-1):
        """x - max - log(sum(e^(x - max))) along ``axis``: log of softmax without
        underflow (finite for inputs of 1e3 and more).
        Returns log-probabilities (<= 0), a tensor of the same (L, R, C) shape."""
        return _softmax(self, axis, _SMX_LOG, None, "log_softmax")

    def relu_deriv(self):
        """relu'(x): 1 where x > 0, else 0 (0 at x = 0, as in PyTorch).
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_deriv(self, RCML_ACT_RELU, 0.0)

    def leaky_relu_deriv(self, slope=0.01):
        """leaky_relu'(x): 1 where x > 0, else slope.
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_deriv(self, RCML_ACT_LEAKY_RELU, _to_float(slope, "leaky_relu_deriv"))

    def lrelu_deriv(self, slope=0.01):
        """Alias of ``leaky_relu_deriv``."""
        return self.leaky_relu_deriv(slope)

    def sigmoid_deriv(self):
        """sigmoid'(x) = s (1 - s), computed without cancellation in the tails.
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_deriv(self, RCML_ACT_SIGMOID, 0.0)

    def tanh_deriv(self):
        """tanh'(x) = 1 - tanh(x)^2, computed as 4e/(1+e)^2 with e = e^(-2|x|).
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_deriv(self, RCML_ACT_TANH, 0.0)

    def swish_deriv(self):
        """swish'(x) = s + x s (1 - s), s = sigmoid(x).
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_deriv(self, RCML_ACT_SWISH, 0.0)

    def gelu_deriv(self, approximate=True):
        """gelu'(x) of the tanh form (default) or of the exact erf form.
        Returns a new tensor of the same (L, R, C) shape."""
        return _act_deriv(self, _gelu_id(approximate), 0.0)

    def relu_backward(self, grad_output, output=None):
        """grad_output * relu'(x) in one pass (x is this tensor, the pre-activation).

        ``output``: optionally the forward result y = relu(x); the backward then reads y
        (what a layer keeps anyway) instead of x. Same values; also for leaky_relu
        (slope > 0), sigmoid (y (1 - y)) and tanh (1 - y^2), where it skips the exp.
        ``grad_output`` (and ``output``) have x's (L, R, C) shape, as has the result."""
        return _act_backward(self, grad_output, RCML_ACT_RELU, 0.0, "relu_backward", output)

    def leaky_relu_backward(self, grad_output, slope=0.01, output=None):
        """grad_output * leaky_relu'(x) in one pass (``output``: see relu_backward).
        ``grad_output`` (and ``output``) have x's (L, R, C) shape, as has the result."""
        return _act_backward(self, grad_output, RCML_ACT_LEAKY_RELU,
                             _to_float(slope, "leaky_relu_backward"), "leaky_relu_backward",
                             output)

    def lrelu_backward(self, grad_output, slope=0.01, output=None):
        """Alias of ``leaky_relu_backward``."""
        return self.leaky_relu_backward(grad_output, slope, output)

    def sigmoid_backward(self, grad_output, output=None):
        """grad_output * sigmoid'(x) in one pass. With ``output`` = sigmoid(x) (saved by
        the forward pass) it is grad * y * (1 - y), a memory-bound pass (as PyTorch's);
        without, sigmoid'(x) is recomputed from x with full accuracy in the tails.
        ``grad_output`` (and ``output``) have x's (L, R, C) shape, as has the result."""
        return _act_backward(self, grad_output, RCML_ACT_SIGMOID, 0.0, "sigmoid_backward",
                             output)

    def tanh_backward(self, grad_output, output=None):
        """grad_output * tanh'(x) in one pass (``output`` = tanh(x): grad * (1 - y^2)).
        ``grad_output`` (and ``output``) have x's (L, R, C) shape, as has the result."""
        return _act_backward(self, grad_output, RCML_ACT_TANH, 0.0, "tanh_backward", output)

    def swish_backward(self, grad_output):
        """grad_output * swish'(x) in one pass.
        ``grad_output`` has x's (L, R, C) shape, as has the result."""
        return _act_backward(self, grad_output, RCML_ACT_SWISH, 0.0, "swish_backward")

    def gelu_backward(self, grad_output, approximate=True):
        """grad_output * gelu'(x) in one pass.
        ``grad_output`` has x's (L, R, C) shape, as has the result."""
        return _act_backward(self, grad_output, _gelu_id(approximate), 0.0, "gelu_backward")

    def softmax_backward(self, grad_output, axis=-1):
        """J(x)^T grad_output per slice along ``axis``: y * (g - sum(g * y)), y = softmax(x)
        (x is this tensor, the softmax input).
        ``grad_output`` has x's (L, R, C) shape, as has the result."""
        return _softmax(self, axis, _SMX_BACKWARD, grad_output, "softmax_backward")

    def log_softmax_backward(self, grad_output, axis=-1):
        """The backward of log_softmax at its input x (this tensor) per slice along
        ``axis``: g - softmax(x) * sum(g), in one fused pass (softmax recomputed).
        ``grad_output`` has x's (L, R, C) shape, as has the result."""
        return _softmax(self, axis, _SMX_LOG_BACKWARD, grad_output, "log_softmax_backward")

    def softmax_jacobian(self):
        """The Jacobian of the row softmax for every row: shape (layers*rows, cols, cols),
        J[r, i, j] = y_i (delta_ij - y_j)."""
        return _softmax_jacobian(self)

    # ------------------------------------------------- normalization (issue 4)
    def min_max_norm(self, axis=None):
        """(x - min) / (max - min) over all elements or per slice along ``axis``; a
        constant input (or slice) gives zeros, not NaN.
        Returns values in [0, 1], a new tensor of the same (L, R, C) shape."""
        return _normalize(self, axis, False, 0.0, False, "min_max_norm")

    def min_max_norm_(self, axis=None):
        """In-place min_max_norm; returns self."""
        return _normalize(self, axis, False, 0.0, True, "min_max_norm_")

    def z_score_norm(self, axis=None, ddof=0):
        """(x - mean) / std (std with ``ddof``) over all elements or per slice along
        ``axis``; a constant input (or slice) gives zeros, not NaN.
        Returns a new tensor of the same (L, R, C) shape, in units of standard deviations."""
        return _normalize(self, axis, True, _to_ddof(ddof), False, "z_score_norm")

    def z_score_norm_(self, axis=None, ddof=0):
        """In-place z_score_norm; returns self."""
        return _normalize(self, axis, True, _to_ddof(ddof), True, "z_score_norm_")


include "_helpers.pxi"
include "_constructors.pxi"
include "_activations.pxi"
include "_ops2.pxi"
include "_dlpack.pxi"
include "_tape_core.pxi"
include "_shapeops.pxi"

include "_capi.pxi"
