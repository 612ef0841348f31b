"""The C API capsule: one copy of the kernels, reachable from every other module.

rcmlrs._tensor exports every function of rcmlrs.h as the table behind the capsule
rcmlrs._tensor._C_API (csrc/rcmlrs_capi.h); rcmlrs._train and rcmlrs._layers call the
kernels through it, so the process has one dispatch state and one thread pool.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _layers, _runtime, _tensor, _train


def _header(name: str) -> str:
    path = Path(rc.get_include()) / name
    if not path.is_file():
        pytest.skip(f"rc.get_include() has no {name}: rcmlrs was not built/installed")
    return path.read_text()


def _capsule_pointer() -> int:
    api = ctypes.pythonapi
    api.PyCapsule_IsValid.restype = ctypes.c_int
    api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    name = b"rcmlrs._tensor._C_API"
    assert api.PyCapsule_IsValid(_tensor._C_API, name) == 1
    return int(api.PyCapsule_GetPointer(_tensor._C_API, name))


class _Table(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint),
        ("abi", ctypes.c_uint),
        ("count", ctypes.c_size_t),
        ("fns", ctypes.c_void_p),
    ]


def test_table_lists_every_function_of_the_public_header():
    declared = re.findall(r"^RCML_FN\([^,]+, (rcml_\w+)\)", _header("rcmlrs.h"), flags=re.M)
    listed = re.findall(r"^\s+X\((rcml_\w+)\)", _header("rcmlrs_capi.h"), flags=re.M)
    assert len(declared) == len(set(declared)) > 50
    assert sorted(listed) == sorted(declared)
    table = _Table.from_address(_capsule_pointer())
    assert table.count == len(listed)
    assert table.version >= 1 and table.abi == 1
    slots = (ctypes.c_void_p * table.count).from_address(table.fns)
    assert all(slots)  # every entry point is there


def test_the_other_modules_share_the_kernels_and_the_backend():
    # _train and _layers hold no kernel of their own: a backend pinned through _tensor is
    # the one they run (the serial reference agrees bit for bit with every backend here,
    # so compare with and without the pin).
    a = rc.random((3, 40), seed=1)
    p = rc.random((3, 40), seed=2)
    old = _runtime.get_backend()
    try:
        _runtime.set_backend("serial")
        v1, g1 = _train._elem_loss(2, a, p, True, True, "bce")
        y1 = _layers._nn_activation(p, _tensor._act_id("gelu"), 0.0)
    finally:
        _runtime.set_backend(old)
    v2, g2 = _train._elem_loss(2, a, p, True, True, "bce")
    y2 = _layers._nn_activation(p, _tensor._act_id("gelu"), 0.0)
    assert v1 == v2 and g1.equals(g2) and y1.equals(y2)


def _slot(name: str, proto: type) -> object:
    """A table entry by name, as a ctypes function holding the GIL (PYFUNCTYPE)."""
    listed = re.findall(r"^\s+X\((rcml_\w+)\)", _header("rcmlrs_capi.h"), flags=re.M)
    table = _Table.from_address(_capsule_pointer())
    slots = (ctypes.c_void_p * table.count).from_address(table.fns)
    return proto(slots[listed.index(name)])


def test_the_cython_pxd_declares_every_function_of_the_public_header():
    # Cython users get the whole table from `from rcmlrs._kernels cimport *`
    declared = re.findall(r"^RCML_FN\([^,]+, (rcml_\w+)\)", _header("rcmlrs.h"), flags=re.M)
    pxd = _header("_kernels.pxd")
    missing = [name for name in declared if not re.search(rf"\b{name}\(", pxd)]
    assert missing == []


def test_the_table_is_version_2_with_the_tensor_functions_at_its_end():
    # append-only: the 63 entry points of version 1 (rcmlrs 0.1) keep their slots; the
    # tensor-object functions of version 2 come after them, together
    listed = re.findall(r"^\s+X\((rcml_\w+)\)", _header("rcmlrs_capi.h"), flags=re.M)
    assert listed[0] == "rcml_init" and listed[62] == "rcml_nn_dropout_f32"
    tensor = ["rcml_tensor_new", "rcml_tensor_check", "rcml_tensor_data", "rcml_tensor_shape"]
    start = listed.index("rcml_tensor_new")
    assert start >= 63 and listed[start : start + 5] == [*tensor, "rcml_tensor_modified"]
    table = _Table.from_address(_capsule_pointer())
    assert table.version >= 2 and table.count == len(listed)


def test_tensor_objects_through_the_table():
    """rcml_tensor_new/data/shape/check/modified, called as a C extension would (through
    the capsule's pointers, GIL held), including the errors they raise instead of
    crashing."""
    size = ctypes.c_size_t
    new = _slot("rcml_tensor_new", ctypes.PYFUNCTYPE(ctypes.py_object, size, size, size))
    data = _slot("rcml_tensor_data", ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object))
    data_raw = _slot("rcml_tensor_data", ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p))
    shape = _slot(
        "rcml_tensor_shape",
        ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.POINTER(size * 3)),
    )
    check = _slot("rcml_tensor_check", ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p))
    modified = _slot("rcml_tensor_modified", ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object))

    t = new(2, 3, 4)
    assert type(t) is rc.RamTensor and t.shape == (2, 3, 4)
    address = data(t)
    assert address % 64 == 0  # an owned, aligned buffer
    s = (size * 3)()
    assert shape(t, ctypes.byref(s)) == 0 and list(s) == [2, 3, 4]
    # writes through the pointer are the tensor's elements, (l, r, c) at (l*R + r)*C + c
    (ctypes.c_float * 24).from_address(address)[(1 * 3 + 2) * 4 + 3] = 7.5
    assert t[1, 2, 3] == 7.5
    v = t._version
    assert modified(t) == 0 and t._version == v + 1
    # a borrowed NumPy buffer: the pointer is NumPy's
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = rc.from_numpy(a)
    assert data(b) == a.ctypes.data
    assert check(id(t)) == 1 and check(id(a)) == 0 and check(None) == 0
    assert new(0, 5, 5).shape == (0, 5, 5)
    for bad in ("x", None, a, rc.RamTensor.__new__(rc.RamTensor)):
        with pytest.raises((TypeError, ValueError), match="rcml_tensor_data"):
            data(bad)
        with pytest.raises((TypeError, ValueError), match="rcml_tensor_shape"):
            shape(bad, ctypes.byref(s))
    with pytest.raises(TypeError, match="got NULL"):
        data_raw(None)
    for dims in ((2**41, 1, 1), (2**64 - 1, 1, 1), (2**30, 2**30, 1)):
        with pytest.raises(ValueError, match="too large"):
            new(*dims)
