"""The C API capsule: one copy of the kernels, reachable from every other module.

rcmlrs._tensor exports every function of rcmlrs.h as the table behind the capsule
rcmlrs._tensor._C_API (csrc/rcmlrs_capi.h); rcmlrs._train and rcmlrs._layers call the
kernels through it, so the process has one dispatch state and one thread pool.
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

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
