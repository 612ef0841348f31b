"""RamTensor construction, conversion, indexing, pickling and errors."""

import copy
import pickle

import numpy as np
import pytest

import rcmlrs as rc


def test_promotion_rules():
    assert rc.tensor(3.5).shape == (1, 1, 1)
    assert rc.tensor([1, 2, 3]).shape == (1, 1, 3)
    assert rc.tensor([[1, 2, 3], [4, 5, 6]]).shape == (1, 2, 3)
    assert rc.tensor(np.zeros((2, 3, 4))).shape == (2, 3, 4)
    with pytest.raises(rc.ShapeError):
        rc.tensor(np.zeros((1, 2, 3, 4)))
    t = rc.tensor(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert t.numpy().dtype == np.float32
    assert t.tolist() == [[[0, 1, 2], [3, 4, 5]]]


def test_properties_and_aliases():
    t = rc.zeros((2, 3, 4))
    assert t.layers == t.layer_length == 2
    assert (t.rows, t.cols) == (3, 4)
    assert t.size == t.data_points() == 24
    assert t.nbytes == 96
    assert len(t) == 2


def test_constructors():
    assert rc.zeros(5).shape == (1, 1, 5)
    assert rc.ones((2, 3)).numpy().tolist() == [[[1, 1, 1], [1, 1, 1]]]
    assert np.all(rc.full((2, 2, 2), -7.5).numpy() == -7.5)
    z = rc.RamTensor.new_layer_zeros(rc.Shape(2, 3), 4)
    assert z.shape == (4, 2, 3) and z.sum() == 0.0
    r = rc.RamTensor.new_random(rc.Shape(3, 3), 2, -1.0, 1.0, seed=5)
    assert r.shape == (2, 3, 3)
    assert r.min() >= -1.0 and r.max() < 1.0
    assert rc.RamTensor.new_random(rc.Shape(3, 3), 2, -1.0, 1.0, seed=5).equals(r)
    assert rc.RamTensor.from_value(2.5).tolist() == [[[2.5]]]
    assert rc.RamTensor([[1, 2]]).tolist() == [[[1.0, 2.0]]]
    s = rc.Shape(2, 3)
    assert (s.x, s.y) == (2, 3) and tuple(s) == (2, 3)


def test_bad_sizes_rejected():
    with pytest.raises(ValueError):
        rc.zeros((-1, 2))
    with pytest.raises(ValueError):
        rc.zeros((1 << 30, 1 << 30, 1 << 30))
    with pytest.raises(ValueError):
        rc.zeros((1 << 62, 4))
    with pytest.raises(TypeError):
        rc.zeros((2.5, 3))
    with pytest.raises(rc.ShapeError):
        rc.zeros((1, 2, 3, 4))
    with pytest.raises(TypeError):
        rc.tensor("abc")
    with pytest.raises(TypeError):
        rc.tensor(None)
    with pytest.raises(rc.ShapeError):
        rc.tensor([[1, 2], [3]])


def test_from_numpy_shares_memory():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = rc.from_numpy(a)
    assert t.shape == (1, 3, 4)
    a[1, 2] = 100.0
    assert t[0, 1, 2] == 100.0
    t[0, 0, 0] = -1.0
    assert a[0, 0] == -1.0
    v = t.numpy()
    assert np.shares_memory(v, a)
    del a
    assert v[0, 1, 2] == 100.0  # the tensor keeps the exporter alive


def test_from_numpy_copies_when_needed():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    t = rc.from_numpy(a)
    a[0, 0] = 5
    assert t[0, 0, 0] == 0.0
    b = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]  # not contiguous
    assert rc.from_numpy(b).tolist() == [b.tolist()]
    ro = np.arange(4, dtype=np.float32)
    ro.flags.writeable = False
    t2 = rc.from_numpy(ro)
    t2[0, 0, 0] = 9.0
    assert ro[0] == 0.0
    with pytest.raises(TypeError):
        rc.from_numpy([1, 2])


def test_buffer_protocol_no_copy():
    t = rc.random((2, 3, 4), seed=1)
    a = np.asarray(t)
    assert a.shape == (2, 3, 4) and a.dtype == np.float32
    a[1, 2, 3] = 42.0
    assert t[1, 2, 3] == 42.0
    m = memoryview(t)
    assert m.format == "f" and m.shape == (2, 3, 4) and m.nbytes == 96
    assert np.array(t, copy=True) is not None


def test_indexing():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = rc.tensor(a)
    assert t[1, 2, 3] == 23.0
    assert t[-1, -1, -1] == 23.0
    assert t[-2, 0, 0] == 0.0
    layer = t[1]
    assert layer.shape == (1, 3, 4)
    layer[0, 0, 0] = -5
    assert t[1, 0, 0] == 12.0  # t[l] is a copy
    assert t[-1].equals(rc.tensor(a[1]))
    for bad in [(2, 0, 0), (0, 3, 0), (0, 0, 4), (-3, 0, 0)]:
        with pytest.raises(IndexError):
            t[bad]
        with pytest.raises(IndexError):
            t[bad] = 1.0
    with pytest.raises(IndexError):
        t[2]
    assert t[0, 0].shape == (1, 1, 4)  # two ints: rank 3 kept (issue 14's indexing)
    with pytest.raises(TypeError):
        t["a"]
    with pytest.raises(IndexError):  # as NumPy and torch
        t[0.5, 0, 0]
    with pytest.raises(TypeError):
        t[0, 0, 0] = "x"


def test_scalar_conversion():
    assert float(rc.tensor(2.5)) == 2.5
    assert rc.tensor([[3.0]]).to_scalar() == 3.0
    with pytest.raises(rc.ShapeError, match=r"\(1, 1, 2\)"):
        float(rc.tensor([1.0, 2.0]))


def test_copy_pickle_repr():
    t = rc.randn((2, 3, 5), seed=3)
    for u in (t.copy(), copy.copy(t), copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        assert u.equals(t)
        assert u.numpy().ctypes.data != t.numpy().ctypes.data
    r = repr(t)
    assert r.startswith("RamTensor(") and "shape=(2, 3, 5)" in r
    big = rc.zeros((10, 100, 100))
    assert len(repr(big)) < 2000


def test_equals_allclose():
    a = rc.tensor([1.0, float("nan"), 3.0])
    assert a.equals(a.copy())
    assert not a.equals(rc.tensor([1.0, 2.0, 3.0]))
    assert not a.equals(rc.tensor([[1.0, 2.0, 3.0]] * 2))
    b = rc.tensor([1.0, 2.0, 3.0])
    assert b.allclose(b + 1e-7)
    assert not b.allclose(b + 1e-3)
    assert b.allclose(b + 1e-3, rtol=0, atol=1e-2)
    assert not a.allclose(a)  # NaN is never close
    inf = rc.tensor([float("inf")])
    assert inf.allclose(inf)


def test_pickle_rejects_bad_payload():
    with pytest.raises(rc.FormatError):
        rc._tensor._rebuild(1, 1, 4, b"\x00" * 3)


def test_tolist_and_numpy_roundtrip(rng):
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    t = rc.tensor(a)
    assert np.array_equal(t.numpy(), a)
    assert np.array_equal(np.array(t.tolist(), dtype=np.float32), a)


def test_zero_size_tensors():
    t = rc.zeros((0, 3))
    assert t.shape == (1, 0, 3) and t.size == 0
    assert t.sum() == 0.0
    assert (t + t).shape == (1, 0, 3)
    assert t.numpy().shape == (1, 0, 3)
    assert t.tolist() == [[]]
    with pytest.raises(ValueError):
        t.max()


def test_no_leak_in_small_ops():
    import tracemalloc

    a = rc.random((3, 3), seed=1)
    b = rc.random((3, 3), seed=2)

    def work():
        for _ in range(2000):
            c = (a + b) * 2.0 - a / (b + 1.0)
            c.sum()
            c.exp().transpose()
            c[0, 1, 1]
            a.mean(axis=1)

    work()
    tracemalloc.start()
    work()
    first, _ = tracemalloc.get_traced_memory()
    for _ in range(5):
        work()
    second, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert second - first < 64 * 1024
