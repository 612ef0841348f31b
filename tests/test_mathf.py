"""Accuracy of the vectorised float32 transcendentals (csrc/mathf.h) against float64.

The sweep walks the float32 bit patterns with a fixed stride over the whole range (both
signs), so every binade is covered densely; the error is measured in units in the last
place of the correctly rounded float32 result. Bounds are the measured maxima rounded up
(see the mathf.h header comment): exp 0.99, log 0.78, tanh 2.49, sigmoid 2.64, erf 2.32;
powers (rcml_powf, from double log2 and exp2) 0.5005.
Every backend computes the same bits (exact FMAs everywhere), checked here too.
"""

import math

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime

BACKENDS = _runtime.capabilities()
_erf64 = np.frompyfunc(math.erf, 1, 1)


def _sweep(step):
    bits = np.arange(0, 0x7F800000, step, dtype=np.uint64).astype(np.uint32)
    pos = bits.view(np.float32)
    return np.concatenate([pos, -pos])


DENSE = _sweep(509)  # ~8.4 million floats, every binade


def _ulp_error(got, ref):
    ref = np.asarray(ref, np.float64)
    spacing = np.spacing(np.abs(ref.astype(np.float32))).astype(np.float64)
    spacing = np.maximum(spacing, 2.0**-149)
    exact = got == ref.astype(np.float32)  # e.g. both overflow to inf
    ok = np.isfinite(ref) & ~exact
    with np.errstate(invalid="ignore"):
        err = np.where(ok, np.abs(got.astype(np.float64) - ref) / spacing, 0.0)
    i = int(np.argmax(err))
    return err[i], i


CASES = {
    # name: (method, float64 reference, input filter, max ulp)
    "exp": (lambda t: t.exp(), np.exp, lambda x: (x > -110) & (x < 89), 1.0),
    "log": (lambda t: t.log(), np.log, lambda x: x > 0, 1.0),
    "tanh": (lambda t: t.tanh(), np.tanh, lambda x: np.abs(x) < 12, 3.0),
    "sigmoid": (
        lambda t: t.sigmoid(),
        lambda v: 1.0 / (1.0 + np.exp(-v)),
        lambda x: np.abs(x) < 110,
        3.0,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_max_ulp_dense_sweep(name):
    method, ref, keep, bound = CASES[name]
    x = np.ascontiguousarray(DENSE[keep(DENSE)])
    got = method(rc.from_numpy(x)).numpy().ravel()
    with np.errstate(all="ignore"):
        err, i = _ulp_error(got, ref(x.astype(np.float64)))
    assert err <= bound, f"{name}: {err:.3f} ulp at x={float(x[i])!r}"


def test_erf_max_ulp():
    x = DENSE[np.abs(DENSE) < 6][::7]
    x = np.ascontiguousarray(np.concatenate([x, np.linspace(-6, 6, 20001, dtype=np.float32)]))
    got = rc.from_numpy(x).erf().numpy().ravel()
    err, i = _ulp_error(got, _erf64(x.astype(np.float64)).astype(np.float64))
    assert err <= 3.0, f"erf: {err:.3f} ulp at x={float(x[i])!r}"


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_backends_give_serial_bits(name):
    x = np.ascontiguousarray(_sweep(65521))
    ops = [
        lambda t: t.exp(),
        lambda t: abs(t).log(),
        lambda t: t.tanh(),
        lambda t: t.sigmoid(),
        lambda t: t.erf(),
        lambda t: abs(t).powf(0.37),  # a number exponent
        lambda t: 1.5**t,  # a number base: its log2 taken once
        lambda t: abs(t) ** rc.from_numpy(_POW_Y[: t.size].reshape(t.shape)),
    ]
    old = _runtime.get_backend()
    try:
        _runtime.set_backend("serial")
        want = [op(rc.from_numpy(x)).numpy().copy() for op in ops]
        _runtime.set_backend(name)
        got = [op(rc.from_numpy(x)).numpy().copy() for op in ops]
    finally:
        _runtime.set_backend(old)
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g.view(np.uint32), w.view(np.uint32))


def test_specials(backend):
    inf, nan = np.inf, np.nan
    x = np.array(
        [-1e4, 1e4, -inf, inf, nan, -0.0, 0.0, 1e-45, -1e-45, 1e-40, 88.8, -104.5], np.float32
    )
    t = rc.from_numpy(x)
    with np.errstate(all="ignore"):
        e = t.exp().numpy().ravel()
        s = t.sigmoid().numpy().ravel()
        th = t.tanh().numpy().ravel()
        ef = t.erf().numpy().ravel()
    assert e[0] == 0 and e[1] == inf and e[2] == 0 and e[3] == inf and np.isnan(e[4])
    assert e[10] == inf and e[11] == 0  # overflow to inf, underflow to 0, never NaN
    assert s[0] == 0 and s[1] == 1 and s[2] == 0 and s[3] == 1 and np.isnan(s[4])
    assert s[5] == 0.5 and s[6] == 0.5
    assert th[0] == -1 and th[1] == 1 and th[2] == -1 and th[3] == 1 and np.isnan(th[4])
    assert ef[0] == -1 and ef[1] == 1 and ef[2] == -1 and ef[3] == 1 and np.isnan(ef[4])
    # odd functions keep the sign of zero; tiny inputs pass through (tanh x ~ x)
    assert np.signbit(th[5]) and not np.signbit(th[6])
    assert np.signbit(ef[5]) and not np.signbit(ef[6])
    assert th[7] == np.float32(1e-45) and th[8] == np.float32(-1e-45)
    assert th[9] == np.float32(1e-40)
    # the sigmoid tail underflows gradually: sigmoid(-100) = e^-100 (subnormal)
    tail = rc.tensor([-100.0, -90.0, -50.0]).sigmoid().numpy().ravel()
    np.testing.assert_allclose(tail[1:], np.exp([-90.0, -50.0]), rtol=3e-7, atol=2.0**-147)
    assert tail[0] > 0 and abs(tail[0] - math.exp(-100)) <= 2.0**-149


# ------------------------------------------------------------------ powers
# exponents for the sweeps: moderate magnitudes (most results finite), both signs
_POW_Y = np.random.default_rng(5).uniform(-40.0, 40.0, DENSE.size).astype(np.float32)


def _pow_ref(x, y):
    with np.errstate(all="ignore"):
        return np.power(x.astype(np.float64), y.astype(np.float64))


def test_pow_max_ulp_dense_sweep():
    """Positive bases over every binade against float64, with three kinds of exponent:
    moderate reals, integers (negative bases too) and tiny ones (results near 1)."""
    x = np.abs(DENSE[::4])
    x = x[x > 0]
    y = _POW_Y[: x.size]
    yi = np.rint(y / 4)  # integers -10..10, with bases of both signs
    xs = np.where(np.arange(x.size) % 2 == 0, x, -x)
    cases = [(x, y), (xs, yi), (x, y * 1e-6)]
    edges = 0
    for xb, ye in cases:
        xb, ye = np.ascontiguousarray(xb, np.float32), np.ascontiguousarray(ye, np.float32)
        got = (rc.from_numpy(xb) ** rc.from_numpy(ye)).numpy().ravel()
        ref = _pow_ref(xb, ye)
        with np.errstate(over="ignore"):  # results beyond float32: inf, checked below
            err, i = _ulp_error(got, ref)
            ref32 = ref.astype(np.float32)
        assert err <= 0.5005, f"pow: {err:.4f} ulp at x={float(xb[i])!r}, y={float(ye[i])!r}"
        # overflow to inf and underflow to 0 land where float64's rounding puts them
        edge = ~np.isfinite(ref32) | (ref32 == 0)
        edges += int(edge.sum())
        np.testing.assert_array_equal(got[edge], ref32[edge])
    assert edges > 1000  # the sweep reaches overflow and underflow


# C99's special values and their neighbours: signed zeros, +-1, infinities, NaN, odd and
# even integers (2^24 is even; 2^24 - 1 the largest odd one), non-integers, subnormals
_POW_SPECIALS = np.array(
    [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5, -2.5]
    + [1e-45, -1e-45, 1e-38, 16777216.0, -16777215.0, 4194304.5, -4194304.5, 3.4e38, -3.4e38]
    + [1e30],
    np.float32,
)


def test_pow_specials_grid_every_path(backend):
    """Every (base, exponent) pair of C99's special values and their neighbours equals
    float64 pow rounded to float32, bit for bit (signed zeros, infinities, NaN), through
    the tensor-tensor, number-exponent and number-base paths."""
    sp = _POW_SPECIALS
    b, e = np.repeat(sp, sp.size), np.tile(sp, sp.size)
    with np.errstate(over="ignore"):
        want = _pow_ref(b, e).astype(np.float32)
    got = (rc.from_numpy(b) ** rc.from_numpy(e)).numpy().ravel()
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    bad = np.flatnonzero(~same)
    assert bad.size == 0, [(b[i], e[i], got[i], want[i]) for i in bad[:5]]
    for k, v in enumerate(sp):
        row = want[k * sp.size : (k + 1) * sp.size]  # base v, every exponent
        col = want[k :: sp.size]  # every base, exponent v
        by_base = (float(v) ** rc.from_numpy(sp)).numpy().ravel()
        by_expo = rc.from_numpy(sp).powf(float(v)).numpy().ravel()
        for g, w in ((by_base, row), (by_expo, col)):
            ok = (g.view(np.uint32) == w.view(np.uint32)) | (np.isnan(g) & np.isnan(w))
            assert ok.all(), (float(v), g[~ok], w[~ok])
