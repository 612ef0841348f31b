"""DLPack: RamTensor.__dlpack__ / __dlpack_device__ and rc.from_dlpack, with PyTorch,
NumPy and hand-built capsules (ctypes) whose deleters count their calls.

Memory is proven shared by writing through one side and reading the other; lifetimes by
dropping the producer, collecting, and reading the consumer."""

from __future__ import annotations

import ctypes
import gc
import sys
import tracemalloc

import numpy as np
import pytest
from conftest import require

import rcmlrs as rc


def _live_tensors() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is rc.RamTensor)


# ----------------------------------------------------------------- the producer side


def test_device():
    assert rc.zeros(3).__dlpack_device__() == (1, 0)


def test_capsule_names_and_refcount():
    t = rc.ones((2, 3, 4))
    base = sys.getrefcount(t)
    legacy = t.__dlpack__()
    assert "dltensor" in repr(legacy) and "versioned" not in repr(legacy)
    versioned = t.__dlpack__(max_version=(1, 0))
    assert '"dltensor_versioned"' in repr(versioned)
    assert "versioned" not in repr(t.__dlpack__(max_version=(0, 8)))
    assert sys.getrefcount(t) == base + 2  # each live capsule holds the tensor
    del legacy
    assert sys.getrefcount(t) == base + 1
    del versioned  # never consumed: collecting the capsule frees its context
    assert sys.getrefcount(t) == base


def test_export_arguments():
    t = rc.ones(3)
    t.__dlpack__(stream=None, dl_device=(1, 0), copy=False)
    with pytest.raises(BufferError, match="stream"):
        t.__dlpack__(stream=1)
    with pytest.raises(BufferError, match="device"):
        t.__dlpack__(dl_device=(2, 0))
    with pytest.raises(BufferError, match="device"):
        t.__dlpack__(dl_device=(1, 1))
    with pytest.raises(TypeError, match="dl_device"):
        t.__dlpack__(dl_device="cpu")
    with pytest.raises(TypeError, match="max_version"):
        t.__dlpack__(max_version=1)
    with pytest.raises(TypeError, match="copy"):
        t.__dlpack__(copy=1)


def test_numpy_consumer_shares_memory():
    t = rc.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    a = np.from_dlpack(t)
    assert a.shape == (2, 3, 4) and a.dtype == np.float32
    assert a.flags.c_contiguous and a.flags.writeable
    a[1, 2, 3] = -7.0
    assert t[1, 2, 3] == -7.0
    t[0, 0, 0] = 42.0
    assert a[0, 0, 0] == 42.0
    del t
    gc.collect()
    assert a[1, 2, 3] == -7.0 and a[0, 0, 0] == 42.0 and a.sum() == 42 - 7 + sum(range(1, 23))


def test_numpy_consumer_copy():
    t = rc.ones((1, 2, 2))
    a = np.from_dlpack(t, copy=True)
    a[0, 0, 0] = 5.0
    assert t[0, 0, 0] == 1.0
    b = np.from_dlpack(t, device="cpu")
    b[0, 0, 0] = 5.0
    assert t[0, 0, 0] == 5.0


def test_torch_consumer_shares_memory():
    torch = require("torch")
    t = rc.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    x = torch.from_dlpack(t)
    assert tuple(x.shape) == (2, 3, 4) and x.dtype == torch.float32
    assert x.stride() == (12, 4, 1) and x.device.type == "cpu"
    x[1, 2, 3] = -7.0
    assert t[1, 2, 3] == -7.0
    t[0, 1, 2] = 100.0
    assert float(x[0, 1, 2]) == 100.0
    del t
    gc.collect()
    assert float(x[1, 2, 3]) == -7.0
    assert float(x.sum()) == sum(range(24)) - 23 - 7 - 6 + 100


@pytest.mark.parametrize("versioned", [False, True])
def test_torch_consumes_capsules(versioned):
    torch = require("torch")
    t = rc.tensor([[1.0, 2.0], [3.0, 4.0]])
    cap = t.__dlpack__(max_version=(1, 0) if versioned else None)
    x = torch.from_dlpack(cap)
    assert "used_dltensor" in repr(cap)
    x[0, 1, 1] = 9.0
    assert t[0, 1, 1] == 9.0
    with pytest.raises(Exception):  # noqa: B017 - torch's own error for a used capsule
        torch.from_dlpack(cap)


def test_torch_consumer_copy():
    torch = require("torch")
    t = rc.ones(4)
    x = torch.from_dlpack(t, copy=True)
    x[0, 0, 0] = 3.0
    assert t[0, 0, 0] == 1.0


def test_empty_tensors_export():
    torch = require("torch")
    for shape in [(0, 2, 3), (2, 0, 3), (1, 1, 0)]:
        t = rc.zeros(shape)
        assert tuple(torch.from_dlpack(t).shape) == shape
        assert np.from_dlpack(t).shape == shape


# ----------------------------------------------------------------- the consumer side


def test_from_torch_shares_memory_and_keeps_it_alive():
    torch = require("torch")
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    t = rc.from_dlpack(x)
    assert t.shape == (1, 3, 4) and t.tolist() == [x.tolist()]
    t[0, 2, 3] = -1.0
    assert float(x[2, 3]) == -1.0
    x[0, 0] = 50.0
    assert t[0, 0, 0] == 50.0
    del x
    gc.collect()
    for _ in range(3):
        torch.ones(3, 4).add_(1)  # reuse freed memory, if any was freed
    assert t[0, 0, 0] == 50.0 and t[0, 2, 3] == -1.0 and t.sum() == sum(range(1, 11)) + 49


def test_from_numpy_shares_memory_and_keeps_it_alive():
    a = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    t = rc.from_dlpack(a)
    assert t.shape == (2, 2, 2)
    t[1, 1, 1] = -3.0
    assert a[1, 1, 1] == -3.0
    a[0, 0, 0] = 11.0
    assert t[0, 0, 0] == 11.0
    del a
    gc.collect()
    assert t.numpy().ravel().tolist() == [11, 1, 2, 3, 4, 5, 6, -3]


def test_from_ramtensor_shares_memory():
    t = rc.ones((1, 2, 2))
    u = rc.from_dlpack(t)
    u[0, 0, 0] = 5.0
    assert t[0, 0, 0] == 5.0
    del t
    gc.collect()
    assert u[0, 0, 0] == 5.0


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4)])
def test_promotion_like_tensor(shape):
    torch = require("torch")
    x = torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape)
    t = rc.from_dlpack(x)
    assert t.equals(rc.tensor(x.numpy()))
    assert rc.from_dlpack(x.numpy()).equals(t)


def test_rank4_is_a_shape_error():
    torch = require("torch")
    with pytest.raises(rc.ShapeError, match="4-D"):
        rc.from_dlpack(torch.zeros(1, 1, 2, 2))
    with pytest.raises(rc.ShapeError, match="4-D"):
        rc.from_dlpack(np.zeros((1, 1, 2, 2), np.float32))


@pytest.mark.parametrize(
    "dtype", ["float16", "bfloat16", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
)
def test_other_dtypes_are_converted(dtype):
    torch = require("torch")
    x = (torch.arange(-6, 6).reshape(3, 4) * 3).to(getattr(torch, dtype))
    t = rc.from_dlpack(x)
    want = x.to(torch.float32).numpy()
    assert np.array_equal(t.numpy()[0], want)
    t[0, 0, 0] = 123.0  # a copy: the producer is untouched
    assert float(x[0, 0]) != 123.0
    with pytest.raises(BufferError, match="copy=False"):
        rc.from_dlpack(x, copy=False)


def test_special_values_convert_exactly():
    torch = require("torch")
    f16 = np.array([0.0, -0.0, 6e-8, -6.1e-5, 65504.0, np.inf, -np.inf, np.nan, 1 / 3], np.float16)
    t = rc.from_dlpack(f16)
    assert np.array_equal(t.numpy()[0, 0], f16.astype(np.float32), equal_nan=True)
    assert np.array_equal(np.signbit(t.numpy()[0, 0]), np.signbit(f16))
    # every float16 bit pattern
    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    got = rc.from_dlpack(every).numpy().ravel()
    assert np.array_equal(got.view(np.uint32), every.astype(np.float32).view(np.uint32))
    bf = torch.tensor([1.5, -2.25, float("inf"), 3.0e38, -1e-40], dtype=torch.bfloat16)
    assert np.array_equal(rc.from_dlpack(bf).numpy().ravel(), bf.float().numpy())
    f64 = np.array([1e300, -1e-300, 0.1, np.nan], np.float64)
    got = rc.from_dlpack(f64).numpy().ravel()
    with np.errstate(over="ignore"):
        assert np.array_equal(got, f64.astype(np.float32), equal_nan=True)
    big = np.array([2**63 - 1, -(2**63), 16777217], np.int64)
    assert np.array_equal(rc.from_dlpack(big).numpy().ravel(), big.astype(np.float32))
    ubig = np.array([2**64 - 1, 2**32 + 1], np.uint64)
    assert np.array_equal(rc.from_dlpack(ubig).numpy().ravel(), ubig.astype(np.float32))


def test_non_contiguous_inputs_are_copied():
    torch = require("torch")
    x = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    for view in (x.transpose(1, 2), x[:, ::2], x[..., 1:3], x.permute(2, 0, 1), x[:, 1]):
        assert not view.is_contiguous()
        t = rc.from_dlpack(view)
        assert t.equals(rc.tensor(view.contiguous().numpy()))
        t.numpy()[...] = -1.0
        assert float(x.min()) >= 0.0  # never written through
    a = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    for view in (a[:, ::-1], a[::-1, :, ::2], a.transpose(2, 1, 0), a[1, 1:]):
        assert rc.from_dlpack(view).equals(rc.tensor(view))
    # size-1 dims may carry any stride: still shared
    one = torch.arange(4, dtype=torch.float32).reshape(4, 1)[:, :1]
    assert one.stride() == (1, 1)
    shared = rc.from_dlpack(one)
    shared[0, 3, 0] = 9.0
    assert float(one[3, 0]) == 9.0


def test_read_only_producer_is_copied():
    a = np.arange(6, dtype=np.float32)
    a.flags.writeable = False
    t = rc.from_dlpack(a)
    t[0, 0, 0] = 100.0
    assert a[0] == 0.0 and t.numpy().ravel().tolist() == [100, 1, 2, 3, 4, 5]
    with pytest.raises(BufferError, match="read-only"):
        rc.from_dlpack(a, copy=False)


def test_copy_argument():
    a = np.ones(3, np.float32)
    t = rc.from_dlpack(a, copy=True)
    t[0, 0, 0] = 2.0
    assert a[0] == 1.0
    u = rc.from_dlpack(a, copy=False)
    u[0, 0, 0] = 3.0
    assert a[0] == 3.0
    with pytest.raises(TypeError, match="copy"):
        rc.from_dlpack(a, copy="yes")


def test_empty_inputs():
    torch = require("torch")
    for shape in [(0,), (0, 3), (2, 0, 3)]:
        t = rc.from_dlpack(torch.zeros(shape))
        assert t.shape == ((1,) * (3 - len(shape)) + shape) and t.size == 0
        assert rc.from_dlpack(np.zeros(shape, np.float64), copy=False).size == 0


def test_legacy_capsule_from_torch():
    torch = require("torch")
    x = torch.ones(2, 2)
    cap = torch.utils.dlpack.to_dlpack(x)
    t = rc.from_dlpack(cap)
    assert "used_dltensor" in repr(cap)
    t[0, 0, 0] = 4.0
    assert float(x[0, 0]) == 4.0
    with pytest.raises(BufferError, match="consumed"):
        rc.from_dlpack(cap)


def test_not_dlpack():
    with pytest.raises(TypeError, match="DLPack"):
        rc.from_dlpack([1.0, 2.0])
    with pytest.raises(TypeError, match="capsule"):
        rc.from_dlpack(rc._tensor._C_API)

    class Lies:
        def __dlpack__(self, **kw):
            return 3

    with pytest.raises(TypeError, match="capsule"):
        rc.from_dlpack(Lies())


def test_gpu_producer_is_refused_before_export():
    calls = []

    class OnGpu:
        def __dlpack_device__(self):
            return (2, 0)

        def __dlpack__(self, **kw):
            calls.append(kw)
            raise AssertionError("must not be called")

    with pytest.raises(BufferError, match="device"):
        rc.from_dlpack(OnGpu())
    assert calls == []


def test_old_producer_without_max_version():
    t = rc.tensor([1.0, 2.0])

    class Old:
        def __dlpack__(self, stream=None):  # DLPack < 1.0 signature
            return t.__dlpack__()

    u = rc.from_dlpack(Old())
    u[0, 0, 0] = 7.0
    assert t[0, 0, 0] == 7.0


def test_fresh_tensor_no_autograd_state():
    t = rc.from_dlpack(np.ones(3, np.float32))
    assert type(t) is rc.RamTensor
    assert getattr(t, "requires_grad", False) is False
    assert getattr(t, "grad_fn", None) is None


# ------------------------------------------- hand-built capsules: the deleter contract


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [
        ("major", ctypes.c_uint32),
        ("minor", ctypes.c_uint32),
        ("manager_ctx", ctypes.c_void_p),
        ("deleter", DELETER),
        ("flags", ctypes.c_uint64),
        ("dl_tensor", DLTensor),
    ]


_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class Producer:
    """A DLPack producer in ctypes: ``array``'s memory in a capsule of either kind, whose
    deleter records each call (and keeps everything it points at alive until then)."""

    def __init__(self, array, versioned=True, device=1, flags=0, major=1, dtype=None):
        self.array = array
        self.calls = 0
        self.shape = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
        self.strides = (ctypes.c_int64 * max(array.ndim, 1))(
            *(s // array.itemsize for s in array.strides)
        )
        code = {"f": 2, "i": 0, "u": 1, "b": 6, "c": 5}[array.dtype.kind]
        dt = DLDataType(*(dtype or (code, array.itemsize * 8, 1)))
        tensor = DLTensor(
            array.ctypes.data, DLDevice(device, 0), array.ndim, dt, self.shape, self.strides, 0
        )
        self.deleter = DELETER(self._delete)
        if versioned:
            self.managed = DLManagedTensorVersioned(major, 0, None, self.deleter, flags, tensor)
            name = b"dltensor_versioned"
        else:
            self.managed = DLManagedTensor(tensor, None, self.deleter)
            name = b"dltensor"
        self.capsule = _capsule_new(ctypes.addressof(self.managed), name, None)

    def _delete(self, ptr):
        assert ptr == ctypes.addressof(self.managed)
        self.calls += 1


@pytest.mark.parametrize("versioned", [False, True])
def test_deleter_runs_once_when_the_borrower_goes(versioned):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    p = Producer(a, versioned=versioned)
    t = rc.from_dlpack(p.capsule)
    assert p.calls == 0
    t[0, 1, 2] = -5.0
    assert a[1, 2] == -5.0  # shared
    u = t.reshape((3, 2))  # a new tensor, not a second borrower
    del t
    gc.collect()
    assert p.calls == 1
    del u
    gc.collect()
    assert p.calls == 1


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(device=2), BufferError),  # CUDA
        (dict(dtype=(5, 64, 1)), TypeError),  # complex64
        (dict(dtype=(2, 32, 4)), TypeError),  # 4 lanes
        (dict(dtype=(3, 64, 1)), TypeError),  # opaque handle
        (dict(dtype=(2, 8, 1)), TypeError),  # 8-bit float
    ],
)
@pytest.mark.parametrize("versioned", [False, True])
def test_deleter_runs_once_on_refusal(versioned, kwargs, error):
    p = Producer(np.zeros((2, 2), np.float32), versioned=versioned, **kwargs)
    with pytest.raises(error):
        rc.from_dlpack(p.capsule)
    gc.collect()
    assert p.calls == 1  # consumed, refused, given back


@pytest.mark.parametrize("versioned", [False, True])
def test_deleter_runs_once_on_rank_error(versioned):
    p = Producer(np.zeros((1, 1, 1, 2), np.float32), versioned=versioned)
    with pytest.raises(rc.ShapeError):
        rc.from_dlpack(p.capsule)
    gc.collect()
    assert p.calls == 1


def test_read_only_flag_copies_and_gives_back():
    a = np.arange(4, dtype=np.float32)
    p = Producer(a, versioned=True, flags=1)
    t = rc.from_dlpack(p.capsule)
    assert p.calls == 1  # copied: the producer's memory is given back at once
    t[0, 0, 0] = 9.0
    assert a[0] == 0.0
    p2 = Producer(a, versioned=True, flags=1)
    with pytest.raises(BufferError, match="read-only"):
        rc.from_dlpack(p2.capsule, copy=False)
    assert p2.calls == 1


def test_converted_copy_gives_back():
    a = np.arange(12, dtype=np.int16).reshape(3, 4)[:, ::2]
    p = Producer(a, versioned=False)
    t = rc.from_dlpack(p.capsule)
    assert p.calls == 1
    assert t.equals(rc.tensor(a))


def test_unknown_major_version_is_left_to_the_producer():
    p = Producer(np.zeros(2, np.float32), major=2)
    with pytest.raises(BufferError, match="2.0"):
        rc.from_dlpack(p.capsule)
    assert "used" not in repr(p.capsule) and p.calls == 0


def test_null_deleter_is_allowed():
    a = np.ones(3, np.float32)
    p = Producer(a)
    p.managed.deleter = DELETER()  # NULL
    t = rc.from_dlpack(p.capsule)
    del t
    gc.collect()


# ---------------------------------------------------------------------------- leaks


def _round(t, torch):
    t.__dlpack__()  # never consumed
    t.__dlpack__(max_version=(1, 0), copy=True)  # a copy, never consumed
    np.from_dlpack(t)
    rc.from_dlpack(t)
    rc.from_dlpack(np.ones(64, np.float64))  # converted
    a = np.ones(64, np.float32)
    rc.from_dlpack(a)
    a.flags.writeable = False
    rc.from_dlpack(a)  # read-only: copied
    with pytest.raises(BufferError):
        rc.from_dlpack(a, copy=False)
    if torch is not None:
        torch.from_dlpack(t)
        rc.from_dlpack(torch.ones(64))
        rc.from_dlpack(torch.utils.dlpack.to_dlpack(torch.ones(8)))


def test_no_leak_in_a_loop():
    try:
        import torch
    except ImportError:
        torch = None
    t = rc.ones((4, 16, 16))
    for _ in range(20):
        _round(t, torch)
    gc.collect()
    refs, live = sys.getrefcount(t), _live_tensors()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(500):
            _round(t, torch)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert growth < 64 * 1024, after.compare_to(before, "lineno")[:10]
    assert sys.getrefcount(t) == refs
    assert _live_tensors() <= live
