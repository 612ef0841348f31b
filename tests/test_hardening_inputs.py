"""Hostile and edge-case inputs to the tensor API: each test names the defect it covers
(the numbering of the hardening issue). References are NumPy (float64 where the answer is
a real number), never rcmlrs itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rcmlrs as rc

F32_MAX = float(np.finfo(np.float32).max)


# ------------------------------------------------ 1: from_numpy reads the buffer itself


class _ShapeLiar(np.ndarray):
    """Claims (4096, 4096) whatever its buffer holds."""

    @property
    def shape(self):
        return (4096, 4096)

    @property
    def ndim(self):
        return 2

    @property
    def size(self):
        return 4096 * 4096


class _DtypeLiar(np.ndarray):
    """Claims float32 over other data."""

    @property
    def dtype(self):
        return np.dtype(np.float32)


def test_from_numpy_ignores_a_subclass_lying_about_its_shape() -> None:
    # defect 1: the shape came from the subclass's attributes: a 64 MiB tensor over 16 bytes
    base = np.arange(4, dtype=np.float32)
    t = rc.from_numpy(base.view(_ShapeLiar))
    assert t.shape == (1, 1, 4) and t.nbytes == 16
    t += 1.0
    np.testing.assert_array_equal(np.asarray(t).ravel(), np.arange(4) + 1.0)
    np.testing.assert_array_equal(base, np.arange(4) + 1.0)  # still shares (valid float32)


def test_from_numpy_ignores_a_subclass_lying_about_its_dtype() -> None:
    # defect 1: int8 data claiming float32 was shared as 4 floats over 4 bytes
    base = np.arange(4, dtype=np.int8)
    t = rc.from_numpy(base.view(_DtypeLiar))
    assert t.shape == (1, 1, 4) and t.nbytes == 16
    assert not np.shares_memory(np.asarray(t), base)
    np.testing.assert_array_equal(np.asarray(t).ravel(), base.astype(np.float64))
    t += 1.0  # writes only its own copy
    np.testing.assert_array_equal(base, np.arange(4))


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],  # strided
        np.arange(12, dtype=np.float32).reshape(3, 4).T,  # Fortran order
        np.arange(6, dtype=">f4"),  # foreign byte order
        np.arange(6, dtype=np.float16).reshape(2, 3),
        np.arange(6, dtype=np.int64),
        np.array(2.5, dtype=np.float32),  # 0-d
        np.zeros((2, 0), dtype=np.float32),
    ],
)
def test_from_numpy_copies_what_it_cannot_share(arr: np.ndarray) -> None:
    # defect 1: the copy path reads the buffer too, with NumPy's promotion rule as reference
    t = rc.from_numpy(arr)
    want = np.asarray(arr, dtype=np.float64).reshape((1,) * (3 - max(arr.ndim, 1)) + arr.shape)
    if arr.ndim == 0:
        want = want.reshape(1, 1, 1)
    assert t.shape == want.shape
    np.testing.assert_array_equal(np.asarray(t), want)
    if arr.size:
        assert not np.shares_memory(np.asarray(t), arr)


def test_from_numpy_refuses_more_than_three_dims_from_the_buffer() -> None:
    # defect 1: the rank check reads the buffer as well
    with pytest.raises(rc.ShapeError):
        rc.from_numpy(np.zeros((1, 2, 3, 4), np.float32).view(_ShapeLiar))


# ------------------------------------------------ 6: odd addresses are copied, not shared


@pytest.mark.parametrize("offset", [1, 2, 3])
def test_from_numpy_copies_a_misaligned_buffer(offset: int) -> None:
    # defect 6: a float32 array at an address that is not a multiple of 4 was shared, and
    # the kernels then made misaligned loads (UBSan)
    raw = bytearray(4 * 9 + offset)
    arr = np.frombuffer(raw, dtype=np.float32, count=9, offset=offset)
    arr[:] = np.arange(9, dtype=np.float32) - 4.0
    assert arr.ctypes.data % 4 != 0 and arr.flags.writeable
    t = rc.from_numpy(arr)
    view = np.asarray(t)
    assert view.ctypes.data % 4 == 0 and not np.shares_memory(view, arr)
    np.testing.assert_array_equal(view.ravel(), np.arange(9) - 4.0)
    np.testing.assert_array_equal(np.asarray(t * 2.0).ravel(), (np.arange(9) - 4.0) * 2)


def test_from_numpy_still_shares_an_aligned_float32_array() -> None:
    # defect 6 (regression guard): the aligned, writable, contiguous case stays zero-copy
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = rc.from_numpy(arr)
    assert np.shares_memory(np.asarray(t), arr)


