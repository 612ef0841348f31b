"""Matrix product: the packed GEMM on every backend against NumPy float64.

Tolerance: a float32 dot product of length k has error at most ~k*u*sum|a*b| (u = 2^-24);
random data sits far inside it. We check |got - want| <= 2*k*u*(|A| @ |B|) + tiny.
"""

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime, _tensor

BACKENDS = _runtime.capabilities()
U = 2.0**-24


def _op(x, t):
    return np.swapaxes(x, -1, -2) if t else x


def _stored(rng, layers, rows, cols, t):
    """A (layers, rows, cols) operand as op() sees it, stored transposed when t."""
    x = rng.standard_normal((layers, cols, rows) if t else (layers, rows, cols))
    return x.astype(np.float32)


def _check(got, a, b, ta, tb, alpha=1.0):
    a64, b64 = _op(a.astype(np.float64), ta), _op(b.astype(np.float64), tb)
    want = alpha * (a64 @ b64)
    k = a64.shape[-1]
    bound = 2.0 * max(k, 1) * U * abs(alpha) * (np.abs(a64) @ np.abs(b64)) + 1e-30
    err = np.abs(got.astype(np.float64) - want)
    assert got.shape == want.shape
    assert np.all(err <= bound), f"max err {err.max()} (bound {bound.max()}) {a.shape} {b.shape}"


def _mm(a, b, ta=False, tb=False):
    return rc.from_numpy(a).matmul(rc.from_numpy(b), transpose_a=ta, transpose_b=tb).numpy()


# m, k, n: square, odd, prime, skinny, sizes that cross the tiny/direct/packed switches,
# k blocks (k > 256) and L2 column blocks (n > 512)
SIZES = [
    (1, 1, 1),
    (2, 3, 4),
    (4, 4, 4),
    (7, 5, 3),
    (16, 16, 16),
    (13, 17, 19),
    (31, 33, 29),
    (64, 64, 64),
    (97, 101, 103),
    (127, 129, 131),
    (12, 257, 32),
    (211, 199, 223),
    (256, 256, 256),
    (257, 263, 269),
    (307, 601, 599),
    (600, 600, 600),
    (1, 600, 600),
    (600, 600, 1),
    (600, 1, 600),
    (3, 500, 2),
    (500, 7, 3),
    (1000, 5, 16),
    (2, 1000, 700),
]


@pytest.mark.parametrize("m,k,n", SIZES)
def test_sizes_all_transposes(m, k, n):
    rng = np.random.default_rng(m * 10007 + k * 101 + n)
    for ta in (False, True):
        for tb in (False, True):
            a, b = _stored(rng, 1, m, k, ta), _stored(rng, 1, k, n, tb)
            _check(_mm(a, b, ta, tb), a, b, ta, tb)


# smaller shapes on every backend: the serial reference is a plain triple loop
BACKEND_SIZES = [
    (5, 7, 3),
    (16, 16, 16),
    (33, 17, 65),
    (100, 250, 37),
    (13, 41, 600),
    (129, 300, 140),
    (300, 301, 260),
]


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend(name, restore):
    rng = np.random.default_rng(7)
    _runtime.set_backend(name)
    for m, k, n in BACKEND_SIZES:
        for ta in (False, True):
            for tb in (False, True):
                a, b = _stored(rng, 2, m, k, ta), _stored(rng, 2, k, n, tb)
                _check(_mm(a, b, ta, tb), a, b, ta, tb)


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_tiny_path_matches_serial_bitwise(name, restore):
    # tiny products (m*n*k <= 1024) sum each output over k in order, exactly like the
    # reference loop
    rng = np.random.default_rng(3)
    for m, k, n in [(1, 1, 1), (4, 4, 4), (3, 9, 5), (8, 8, 8), (2, 20, 25), (10, 10, 10)]:
        for ta in (False, True):
            for tb in (False, True):
                a, b = _stored(rng, 3, m, k, ta), _stored(rng, 3, k, n, tb)
                _runtime.set_backend("serial")
                want = _mm(a, b, ta, tb)
                _runtime.set_backend(name)
                np.testing.assert_array_equal(_mm(a, b, ta, tb), want)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_layer_broadcasting(ta, tb):
    rng = np.random.default_rng(5)
    for la, lb in [(4, 1), (1, 4), (4, 4), (1, 1)]:
        for m, k, n in [(3, 4, 5), (64, 64, 64), (70, 300, 90)]:
            a, b = _stored(rng, la, m, k, ta), _stored(rng, lb, k, n, tb)
            got = _mm(a, b, ta, tb)
            assert got.shape == (max(la, lb), m, n)
            _check(got, a, b, ta, tb)


def test_many_small_layers():
    rng = np.random.default_rng(9)
    a, b = _stored(rng, 64, 64, 64, False), _stored(rng, 64, 64, 64, False)
    _check(_mm(a, b), a, b, False, False)
    w = _stored(rng, 1, 64, 48, False)  # a shared weight, packed once
    _check(_mm(a, w), a, w, False, False)


def test_aliasing_and_inputs_unchanged():
    rng = np.random.default_rng(2)
    for n in (5, 64, 300):
        a = rng.standard_normal((2, n, n)).astype(np.float32)
        keep = a.copy()
        t = rc.from_numpy(a)
        _check((t @ t).numpy(), a, a, False, False)
        _check(t.matmul(t, transpose_a=True).numpy(), a, a, True, False)
        _check(t.matmul(t, transpose_b=True).numpy(), a, a, False, True)
        np.testing.assert_array_equal(a, keep)


def test_operator_and_promotion():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = (rc.tensor(a) @ rc.tensor(b)).numpy()
    np.testing.assert_array_equal(got, (a @ b)[None])
    np.testing.assert_array_equal((rc.tensor(a) @ b).numpy(), (a @ b)[None])
    np.testing.assert_array_equal((a @ rc.tensor(b)).numpy(), (a @ b)[None])


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_thread_count_bit_equality(name, restore):
    rng = np.random.default_rng(4)
    _runtime.set_backend(name)
    cases = [
        ((1, 600, 600), (1, 600, 600)),
        ((1, 300, 700), (1, 700, 260)),
        ((16, 64, 64), (16, 64, 64)),
        ((5, 200, 300), (1, 300, 150)),
        ((1, 37, 2000), (1, 2000, 45)),
    ]
    for sa, sb in cases:
        a = rng.standard_normal(sa).astype(np.float32)
        b = rng.standard_normal(sb).astype(np.float32)
        results = []
        for nt in (1, 2, 3):
            rc.set_num_threads(nt)
            results.append(_mm(a, b).tobytes())
            results.append(
                _mm(a, np.ascontiguousarray(np.swapaxes(b, 1, 2)), False, True).tobytes()
            )
        assert results[0::2] == [results[0]] * 3
        assert results[1::2] == [results[1]] * 3


@pytest.mark.parametrize("name", BACKENDS)
def test_nan_inf_reach_only_their_outputs(name, restore):
    _runtime.set_backend(name)
    rng = np.random.default_rng(6)
    for m, k, n in [(4, 4, 4), (40, 70, 50), (130, 300, 290)]:
        if name == "serial" and m > 100:
            continue
        a = rng.standard_normal((1, m, k)).astype(np.float32)
        b = rng.standard_normal((1, k, n)).astype(np.float32)
        i, p, j = m // 2, k // 3, n - 1
        a[0, i, p] = np.nan
        b[0, p + 1, j] = np.inf
        got = _mm(a, b)[0]
        bad = np.zeros((m, n), bool)
        bad[i, :] = True
        bad[:, j] = True
        assert np.isnan(got[i]).all()
        assert (~np.isfinite(got[:, j])).all()
        assert np.isfinite(got[~bad]).all()
        # zeros elsewhere do not hide them: 0 * nan is nan
        a2 = np.zeros_like(a)
        a2[0, i, p] = np.nan
        got2 = _mm(a2, b)[0]
        assert np.isnan(got2[i]).all() and np.isfinite(np.delete(got2, i, axis=0)[:, :-1]).all()


def test_gemm_into_alpha_beta(restore):
    rng = np.random.default_rng(8)
    for name in BACKENDS:
        _runtime.set_backend(name)
        for m, k, n in [(3, 4, 5), (40, 300, 70), (129, 520, 33)]:
            a = rng.standard_normal((2, m, k)).astype(np.float32)
            b = rng.standard_normal((1, k, n)).astype(np.float32)
            c0 = rng.standard_normal((2, m, n)).astype(np.float32)
            out = rc.from_numpy(c0.copy())
            _tensor._gemm_into(out, rc.from_numpy(a), rc.from_numpy(b), 2.5, -0.5)
            want = 2.5 * (a.astype(np.float64) @ b) - 0.5 * c0
            bound = (
                4 * k * U * (2.5 * np.abs(a.astype(np.float64)) @ np.abs(b))
                + 1e-6 * np.abs(c0)
                + 1e-30
            )
            assert np.all(np.abs(out.numpy() - want) <= bound)
            # beta == 0 never reads C: NaN in the old contents does not leak
            out = rc.full((2, m, n), float("nan"))
            _tensor._gemm_into(out, rc.from_numpy(a), rc.from_numpy(b), 1.0, 0.0)
            _check(out.numpy(), a, b, False, False)
            # transposes through the same entry
            out = rc.zeros((2, m, n))
            at = np.ascontiguousarray(np.swapaxes(a, 1, 2))
            _tensor._gemm_into(out, rc.from_numpy(at), rc.from_numpy(b), 1.0, 1.0, True)
            _check(out.numpy(), a, b, False, False)


def test_gemm_into_errors_and_k_zero():
    a, b = rc.ones((1, 3, 4)), rc.ones((1, 4, 5))
    with pytest.raises(rc.ShapeError, match=r"\(1, 3, 5\)"):
        _tensor._gemm_into(rc.zeros((1, 3, 4)), a, b)
    with pytest.raises(ValueError, match="share memory"):
        sq = rc.ones((1, 4, 4))
        _tensor._gemm_into(sq, sq, rc.ones((1, 4, 4)))
    # k == 0: C = beta * C (BLAS), and beta == 0 gives zeros even over NaN
    out = rc.full((2, 3, 4), 2.0)
    _tensor._gemm_into(out, rc.zeros((2, 3, 0)), rc.zeros((1, 0, 4)), 1.0, 3.0)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3, 4), 6.0, np.float32))
    out = rc.full((2, 3, 4), float("nan"))
    _tensor._gemm_into(out, rc.zeros((2, 3, 0)), rc.zeros((1, 0, 4)), 1.0, 0.0)
    np.testing.assert_array_equal(out.numpy(), np.zeros((2, 3, 4), np.float32))


def test_empty_shapes():
    assert (rc.zeros((1, 0, 5)) @ rc.zeros((1, 5, 3))).shape == (1, 0, 3)
    assert (rc.zeros((2, 3, 5)) @ rc.zeros((1, 5, 0))).shape == (2, 3, 0)
    np.testing.assert_array_equal(
        (rc.zeros((2, 3, 0)) @ rc.zeros((2, 0, 4))).numpy(), np.zeros((2, 3, 4), np.float32)
    )


def test_errors_name_both_shapes():
    with pytest.raises(rc.ShapeError, match=r"\(2, 3, 4\) @ \(2, 5, 6\)"):
        rc.zeros((2, 3, 4)) @ rc.zeros((2, 5, 6))
    with pytest.raises(rc.ShapeError, match=r"\(2, 3, 4\) @ \(3, 4, 6\)"):
        rc.zeros((2, 3, 4)).matmul(rc.zeros((3, 4, 6)))
    with pytest.raises(rc.ShapeError, match=r"\(1, 3, 4\) @ \(1, 3, 4\)"):
        rc.zeros((1, 3, 4)).matmul(rc.zeros((1, 3, 4)), transpose_b=False)
    with pytest.raises(ValueError):  # ShapeError is a ValueError
        rc.zeros((1, 3, 4)).matmul(rc.zeros((1, 5, 4)), transpose_a=True)
    with pytest.raises(TypeError):
        rc.zeros((1, 3, 4)) @ "x"


def test_pad_matmul_to_another():
    rng = np.random.default_rng(1)
    a = rc.from_numpy(rng.standard_normal((1, 3, 4)).astype(np.float32))
    for b in (rng.standard_normal((2, 6, 5)), rng.standard_normal((2, 2, 5))):
        b = b.astype(np.float32)
        got = a.pad_matmul_to_another(rc.from_numpy(b), pad_value=1.0).numpy()
        # the same as padding (or cropping) a's columns and layers, then multiplying
        ap = a.pad((3, b.shape[1]), 2, 1.0).numpy()
        assert ap.shape == (2, 3, b.shape[1])
        _check(got, ap, b, False, False)
