"""Arithmetic, unary math, reductions and shape ops against NumPy float64."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rcmlrs as rc

FINITE = st.floats(-1e3, 1e3, width=32, allow_nan=False, allow_infinity=False)


def shapes3(min_side=0, max_side=5):
    return st.tuples(*(st.integers(min_side, max_side) for _ in range(3)))


@st.composite
def broadcastable_pair(draw):
    base = draw(shapes3(1, 4))
    mask_a = draw(st.tuples(*(st.booleans(),) * 3))
    mask_b = draw(st.tuples(*(st.booleans(),) * 3))
    sa = tuple(1 if m else d for d, m in zip(base, mask_a, strict=True))
    sb = tuple(1 if m else d for d, m in zip(base, mask_b, strict=True))
    a = draw(hnp.arrays(np.float32, sa, elements=FINITE))
    b = draw(hnp.arrays(np.float32, sb, elements=FINITE))
    return a, b


OPS = {
    "add": (lambda x, y: x + y, np.add),
    "sub": (lambda x, y: x - y, np.subtract),
    "mul": (lambda x, y: x * y, np.multiply),
}


@settings(max_examples=60, deadline=None)
@given(broadcastable_pair(), st.sampled_from(sorted(OPS)))
def test_binary_broadcast_matches_numpy(pair, name):
    a, b = pair
    f, ref = OPS[name]
    got = f(rc.tensor(a), rc.tensor(b)).numpy()
    want = ref(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # method spellings and scalar forms
    assert getattr(rc.tensor(a), name)(rc.tensor(b)).equals(rc.tensor(got))


@settings(max_examples=40, deadline=None)
@given(broadcastable_pair())
def test_div_broadcast(pair):
    a, b = pair
    b = np.where(np.abs(b) < 1e-3, np.float32(1.5), b)
    got = (rc.tensor(a) / rc.tensor(b)).numpy()
    np.testing.assert_allclose(got, a.astype(np.float64) / b, rtol=1e-6, atol=1e-30)


def test_scalar_on_either_side(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    t = rc.tensor(a)
    s = np.float32(2.5)
    for got, want in [
        (t + 2.5, a + s),
        (2.5 + t, s + a),
        (t - 2.5, a - s),
        (2.5 - t, s - a),
        (t * 2.5, a * s),
        (2.5 * t, s * a),
        (t / 2.5, a / s),
        (2.5 / t, s / a),
        (t.scale(2.5), a * s),
        (t.scaler(2.5), a * s),
        (-t, -a),
        (abs(t), np.abs(a)),
        (t.neg(), -a),
        (t.abs(), np.abs(a)),
    ]:
        np.testing.assert_array_equal(got.numpy(), want)


def test_numpy_on_the_left_defers(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    t = rc.tensor(a)
    r = a + t
    assert isinstance(r, rc.RamTensor)
    np.testing.assert_array_equal(r.numpy()[0], a + a)
    assert isinstance(t + a, rc.RamTensor)
    assert isinstance([[1.0] * 4] * 3 - t, rc.RamTensor)


def test_inplace_ops(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((1, 3, 1)).astype(np.float32)
    t = rc.tensor(a)
    ident = id(t)
    t += rc.tensor(b)
    t *= 2.0
    t -= 1.0
    t /= rc.tensor(np.full((2, 3, 4), 4.0, np.float32))
    assert id(t) == ident
    np.testing.assert_allclose(t.numpy(), ((a + b) * 2 - 1) / 4, rtol=1e-6)
    with pytest.raises(rc.ShapeError, match=r"\(1, 3, 1\)"):
        u = rc.tensor(b)
        u += rc.tensor(a)


def test_inplace_with_overlapping_views():
    base = np.arange(10, dtype=np.float32)
    x = rc.from_numpy(base[0:8])
    y = rc.from_numpy(base[2:10])
    x += y  # y overlaps x shifted by 2: must read the original y
    np.testing.assert_array_equal(base[:8], np.arange(8) + np.arange(2, 10))


def test_broadcast_error_message():
    with pytest.raises(rc.ShapeError, match=r"add.*\(1, 2, 3\).*\(1, 2, 4\)"):
        rc.zeros((2, 3)) + rc.zeros((2, 4))
    with pytest.raises(TypeError):
        rc.zeros(3) + "a"
    with pytest.raises(TypeError):
        rc.zeros(3) + None


@pytest.mark.parametrize(
    "name,fn,lo,hi",
    [
        ("sqrt", np.sqrt, 0.0, 100.0),
        ("exp", np.exp, -80.0, 80.0),
        ("log", np.log, 1e-30, 1e30),
    ],
)
def test_unary_accuracy(name, fn, lo, hi, backend):
    rng = np.random.default_rng(7)
    if name == "log":
        x = np.exp(rng.uniform(np.log(lo), np.log(hi), 5000)).astype(np.float32)
    else:
        x = rng.uniform(lo, hi, 5000).astype(np.float32)
    got = getattr(rc.tensor(x), name)().numpy().ravel().astype(np.float64)
    want = fn(x.astype(np.float64))
    # a few float32 ulp relative error
    np.testing.assert_allclose(got, want, rtol=4e-7 * 4, atol=1e-37)


def test_unary_specials(backend):
    inf, nan = float("inf"), float("nan")
    x = rc.tensor([0.0, -0.0, inf, -inf, nan, -1.0, 1e-45, 200.0, -200.0])
    with np.errstate(all="ignore"):
        xn = x.numpy().astype(np.float64)
        for name, ref in [
            ("exp", np.exp),
            ("log", np.log),
            ("sqrt", np.sqrt),
            ("abs", np.abs),
            ("neg", np.negative),
        ]:
            got = getattr(x, name)().numpy()
            want = ref(xn).astype(np.float32)
            np.testing.assert_array_equal(got, want, err_msg=name)
    assert math.copysign(1.0, x.abs()[0, 0, 1]) == 1.0


def test_powers_and_clip(rng):
    a = rng.uniform(0.5, 2.0, (2, 3, 4)).astype(np.float32)
    t = rc.tensor(a)
    for n in [0, 1, 2, 3, 7, -1, -3]:
        np.testing.assert_allclose(t.powi(n).numpy(), a.astype(np.float64) ** n, rtol=2e-6)
        np.testing.assert_allclose((t**n).numpy(), a.astype(np.float64) ** n, rtol=2e-6)
    np.testing.assert_allclose(t.powf(1.7).numpy(), a.astype(np.float64) ** 1.7, rtol=2e-6)
    np.testing.assert_allclose((t**0.5).numpy(), np.sqrt(a), rtol=2e-6)
    c = rc.tensor([-2.0, 0.5, 3.0, float("nan")]).clip(-1, 1).numpy().ravel()
    assert c[:3].tolist() == [-1.0, 0.5, 1.0] and np.isnan(c[3])
    # lo > hi gives hi everywhere, as np.clip and torch.clamp (defect 11 of the hardening issue)
    np.testing.assert_array_equal(t.clip(1, 0).numpy(), np.clip(a, np.float32(1), np.float32(0)))
    with pytest.raises(TypeError):
        t.powi(1.5)
    neg = rc.tensor([-1.0, 1.0])
    assert (neg ** (1 << 24)).tolist() == [[[1.0, 1.0]]]
    assert (neg ** ((1 << 24) - 1)).tolist() == [[[-1.0, 1.0]]]
    with pytest.raises(ValueError):
        neg**2147483647  # the exponent could not keep its parity


def test_map_slow_path():
    t = rc.tensor([1.0, 2.0, 3.0])
    assert t.map(lambda v: v * v + 1).tolist() == [[[2.0, 5.0, 10.0]]]
    with pytest.raises(TypeError):
        t.map(3)


# ------------------------------------------------------------------ reductions


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float32, shapes3(1, 6), elements=FINITE),
    st.sampled_from([None, 0, 1, 2, -1, -2, -3]),
    st.integers(0, 1),
)
def test_reductions_match_numpy(a, axis, ddof):
    t = rc.tensor(a)
    a64 = a.astype(np.float64)
    for name in ["sum", "mean", "min", "max"]:
        got = getattr(t, name)(axis)
        want = getattr(a64, name)(axis=axis, keepdims=axis is not None)
        got = got if axis is None else got.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3, err_msg=name)
    n = a.size if axis is None else a.shape[axis]
    if n - ddof > 0:
        for name in ["var", "std"]:
            got = getattr(t, name)(axis, ddof=ddof)
            want = getattr(a64, name)(axis=axis, ddof=ddof, keepdims=axis is not None)
            got = got if axis is None else got.numpy()
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3, err_msg=name)
    got = t.argmax(axis)
    want = np.argmax(a64, axis=axis, keepdims=axis is not None)
    np.testing.assert_array_equal(got, want)
    if axis is not None:
        assert got.dtype == np.int64


def test_reductions_backends_and_nan(backend):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 70, 300)).astype(np.float32)
    t = rc.tensor(a)
    assert t.sum() == pytest.approx(float(a.astype(np.float64).sum()), rel=1e-6, abs=1e-3)
    assert t.max() == a.max() and t.min() == a.min()
    for axis in (0, 1, 2):
        np.testing.assert_allclose(
            t.sum(axis).numpy(), a.astype(np.float64).sum(axis, keepdims=True), rtol=1e-5, atol=1e-4
        )
        np.testing.assert_array_equal(t.max(axis).numpy(), a.max(axis, keepdims=True))
    a[1, 5, 7] = np.nan
    t = rc.tensor(a)
    assert math.isnan(t.sum()) and math.isnan(t.max()) and math.isnan(t.min())
    assert t.argmax() == np.argmax(a)
    assert math.isnan(t.median())
    np.testing.assert_array_equal(t.argmax(1), np.argmax(a, axis=1, keepdims=True))
    assert np.isnan(t.max(2).numpy()[1, 5, 0])


def test_sum_is_accurate():
    t = rc.full(1_000_000, 0.1)
    assert abs(t.sum() - 1e5) / 1e5 < 1e-5
    assert abs(t.mean() - 0.1) < 1e-7
    u = rc.full((1000, 1000), 0.1)
    assert np.allclose(u.sum(axis=2).numpy(), 100.0, rtol=1e-6)
    assert np.allclose(u.sum(axis=1).numpy(), 100.0, rtol=1e-6)


def test_median(rng):
    for n in [1, 2, 3, 4, 5, 10, 101, 1000, 4097]:
        a = rng.standard_normal(n).astype(np.float32)
        assert rc.tensor(a).median() == pytest.approx(
            float(np.median(a.astype(np.float64))), rel=1e-6, abs=1e-7
        )
    dup = np.array([5.0] * 1000 + [1.0] * 999, np.float32)
    assert rc.tensor(dup).median() == 5.0
    assert rc.tensor(np.arange(100000, dtype=np.float32)).median() == 49999.5
    assert rc.tensor(np.arange(100000, 0, -1, dtype=np.float32)).median() == 50000.5
    with pytest.raises(ValueError):
        rc.zeros((0,)).median()


def test_min_max_aliases_and_negatives():
    t = rc.tensor([-3.0, -1.0, -2.0])  # the original crate started max at 0
    assert t.max() == -1.0 and t.find_max() == -1.0
    assert rc.tensor([3.0, 1.0, 2.0]).find_min() == 1.0


def test_reduction_errors():
    t = rc.zeros((2, 3))
    with pytest.raises(ValueError):
        t.sum(axis=3)
    with pytest.raises(TypeError):
        t.sum(axis=1.5)
    with pytest.raises(TypeError):
        t.var(ddof="x")
    assert math.isnan(rc.tensor([1.0]).var(ddof=1))


# -------------------------------------------------------------------- shape ops


@pytest.mark.parametrize("rows", [1, 3, 15, 16, 17, 33, 64, 100])
def test_transpose_tiles_and_edges_every_backend(backend, rows):
    # the register-transposed 16 x 16 tiles (gemm.h's tr16, or the portable one) and the
    # row and column edges around them, with every layer and every bit (NaN payloads,
    # -0.0, inf) copied exactly
    rng = np.random.default_rng(rows)
    for layers in (1, 3):
        for cols in (1, 7, 16, 31, 32, 48, 130):
            a = rng.standard_normal((layers, rows, cols)).astype(np.float32)
            flat = a.reshape(-1)
            flat[::7] = -0.0
            flat[3::11] = np.inf
            flat.view(np.uint32)[5::13] = 0x7FC01234 + np.arange(len(flat[5::13]), dtype=np.uint32)
            got = rc.tensor(a).transpose().numpy()
            want = a.transpose(0, 2, 1)
            assert got.shape == want.shape
            np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_transpose_flatten_reshape(rng):
    a = rng.standard_normal((3, 37, 53)).astype(np.float32)
    t = rc.tensor(a)
    np.testing.assert_array_equal(t.transpose().numpy(), a.transpose(0, 2, 1))
    np.testing.assert_array_equal(t.T.numpy(), a.transpose(0, 2, 1))
    assert t.flatten().shape == (3, 1, 37 * 53)
    np.testing.assert_array_equal(t.flatten().numpy().ravel(), a.ravel())
    assert t.reshape((53, 37, 3)).shape == (53, 37, 3)
    assert t.reshape(-1).shape == (1, 1, a.size)
    assert t.reshape((3, -1)).shape == (1, 3, 37 * 53)
    with pytest.raises(rc.ShapeError):
        t.reshape((2, 2))
    with pytest.raises(rc.ShapeError):
        t.reshape((-1, -1))


def test_pad_and_crop():
    a = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    t = rc.tensor(a)
    p = t.pad(rc.Shape(4, 6), 2, pad_value=-1.0)
    assert p.shape == (2, 4, 6)
    want = np.full((2, 4, 6), -1.0, np.float32)
    want[0, :3, :4] = a[0]
    np.testing.assert_array_equal(p.numpy(), want)
    c = t.pad((2, 2))
    np.testing.assert_array_equal(c.numpy(), a[:, :2, :2])
    with pytest.raises(TypeError):
        t.pad(5)


def test_insert_matrix():
    t = rc.zeros((3, 2, 2))
    u = t.insert_matrix(1, [[1, 2], [3, 4]])
    assert u[1].tolist() == [[[1, 2], [3, 4]]] and t.sum() == 0.0
    assert u.insert_matrix(-1, rc.ones((2, 2)))[2].sum() == 4.0
    with pytest.raises(IndexError):
        t.insert_matrix(3, [[1, 2], [3, 4]])
    with pytest.raises(rc.ShapeError):
        t.insert_matrix(0, [[1, 2, 3]])


def test_concat(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((2, 3, 4)).astype(np.float32)
    for axis in (0, 1, 2, -1):
        got = rc.concat([rc.tensor(a), b], axis=axis).numpy()
        np.testing.assert_array_equal(got, np.concatenate([a, b], axis=axis))
    with pytest.raises(rc.ShapeError):
        rc.concat([rc.zeros((2, 3)), rc.zeros((3, 3))], axis=2)
    with pytest.raises(ValueError):
        rc.concat([])
