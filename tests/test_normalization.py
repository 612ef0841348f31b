"""min_max_norm / z_score_norm (issue 4): all elements or one axis, ddof, in place."""

import numpy as np
import pytest

import rcmlrs as rc


def _minmax64(a, axis):
    lo, hi = a.min(axis=axis, keepdims=True), a.max(axis=axis, keepdims=True)
    d = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d == 0, 0.0, (a - lo) / np.where(d == 0, 1, d))


def _z64(a, axis, ddof):
    m, s = a.mean(axis=axis, keepdims=True), a.std(axis=axis, ddof=ddof, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s == 0, 0.0, (a - m) / np.where(s == 0, 1, s))


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -3])
def test_min_max_norm(axis, rng, backend):
    a = (rng.standard_normal((3, 4, 37)) * 10 + 3).astype(np.float32)
    got = rc.tensor(a).min_max_norm(axis=axis).numpy()
    np.testing.assert_allclose(got, _minmax64(a.astype(np.float64), axis), rtol=1e-5, atol=1e-6)
    assert got.min() >= 0 and got.max() <= 1


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -2])
@pytest.mark.parametrize("ddof", [0, 1])
def test_z_score_norm(axis, ddof, rng, backend):
    a = (rng.standard_normal((3, 5, 41)) * 7 - 2).astype(np.float32)
    got = rc.tensor(a).z_score_norm(axis=axis, ddof=ddof).numpy()
    np.testing.assert_allclose(got, _z64(a.astype(np.float64), axis, ddof), rtol=1e-5, atol=2e-6)


def test_constant_input_gives_zeros():
    for t in [rc.full((2, 3, 4), 7.25), rc.full(5, -0.1), rc.tensor([3.0])]:
        for out in [
            t.min_max_norm(),
            t.z_score_norm(),
            t.min_max_norm(axis=-1),
            t.z_score_norm(axis=0),
        ]:
            v = out.numpy()
            assert not np.isnan(v).any() and not v.any()
    # one constant row among varying ones
    a = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]], np.float32)
    np.testing.assert_array_equal(
        rc.tensor(a).min_max_norm(axis=-1).numpy()[0], [[0, 0.5, 1], [0, 0, 0]]
    )
    np.testing.assert_array_equal(rc.tensor(a).z_score_norm(axis=-1).numpy()[0][1], [0, 0, 0])


def test_inplace_forms(rng):
    a = (rng.standard_normal((2, 3, 50)) * 4).astype(np.float32)
    t = rc.tensor(a)
    for name, axis in [
        ("min_max_norm", None),
        ("min_max_norm", 1),
        ("z_score_norm", None),
        ("z_score_norm", -1),
    ]:
        want = getattr(t, name)(axis=axis)
        arr = a.copy()
        b = rc.from_numpy(arr)
        assert getattr(b, name + "_")(axis=axis) is b
        assert b.equals(want) and np.array_equal(arr, want.numpy())
    b = rc.tensor(a)
    assert b.z_score_norm_(ddof=1).equals(t.z_score_norm(ddof=1))
    assert t.equals(rc.tensor(a))  # the non-_ forms left the input alone


def test_nan_empty_and_errors():
    a = np.array([1.0, np.nan, 3.0], np.float32)
    assert np.isnan(rc.tensor(a).min_max_norm().numpy()).all()
    assert np.isnan(rc.tensor(a).z_score_norm().numpy()).all()
    e = rc.zeros((2, 0, 3))
    assert e.min_max_norm().shape == (2, 0, 3) and e.z_score_norm(axis=1).shape == (2, 0, 3)
    with pytest.raises(ValueError, match="axis"):
        rc.ones(3).min_max_norm(axis=5)
    with pytest.raises(TypeError):
        rc.ones(3).z_score_norm(ddof="one")


def test_large_input_threads_and_backends(threads):
    x = rc.randn((4, 300, 300), seed=3) * 5 + 1
    a = x.numpy().astype(np.float64)
    np.testing.assert_allclose(x.z_score_norm().numpy(), _z64(a, None, 0), rtol=1e-4, atol=1e-5)
    rc.set_num_threads(1)
    one = [x.min_max_norm(), x.z_score_norm(axis=2)]
    rc.set_num_threads(2)
    two = [x.min_max_norm(), x.z_score_norm(axis=2)]
    assert all(p.equals(q) for p, q in zip(one, two, strict=True))
