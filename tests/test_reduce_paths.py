"""The two fast reduction paths of csrc/reduce.c against NumPy in float64, bit for bit
across backends and thread counts:

- sum and mean over axes (0, 2) of (L, R, C), rcml_sum02_f32 (no transpose). Its row
  order (C > 256, or C >= 64 and C >= 16 L) and its column order (the rest) are both
  exercised, on both sides of each bound;
- logsumexp along contiguous rows (axis 2, axes (1, 2), the whole tensor): the table's
  max, float exp and double sum in chunks of 1024, so rows of 1023, 1024, 1025 and more.

Both sums are in double and rounded once, so a float32 result is within one ulp of the
float64 reference; logsumexp (float exp of a float argument) within rtol/atol 1e-6 as in
tests/test_tensor_ops2.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime

F32 = np.float32
INF = float("inf")
NAN = float("nan")

# (L, R, C): the column order (C < 64; C >= 64 but C < 16 L; C = 256, one row per block),
# the row order (C >= 64 and C >= 16 L; C > 256), blocks that do not divide R, size-1 axes
SUM02_SHAPES = [
    (1, 1, 1),
    (4, 64, 3),
    (1000, 8, 4),
    (3, 100, 63),  # column order, just below 64
    (3, 100, 64),  # row order: 64 >= 16 * 3
    (5, 33, 64),  # column order: 64 < 16 * 5
    (8, 9, 127),  # column order: 127 < 128
    (8, 9, 128),  # row order: 128 >= 16 * 8
    (40, 7, 256),  # column order, one row per block
    (40, 7, 257),  # row order: C > 256
    (7, 300, 1),
    (1, 513, 5),
    (2, 3, 1000),
]


def _ulp_close(got, want):
    """got (float32) within one ulp of the float64 reference (NaN where NaN, infinities
    equal)."""
    got = np.asarray(got)
    w32 = want.astype(F32)
    assert got.shape == w32.shape, (got.shape, w32.shape)
    nan = np.isnan(w32)
    assert np.array_equal(np.isnan(got), nan)
    np.testing.assert_array_max_ulp(got[~nan], w32[~nan], maxulp=1)


@pytest.mark.parametrize("shape", SUM02_SHAPES)
def test_sum_mean_axes02_match_float64(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.uniform(-1, 3, shape).astype(F32)
    t = rc.tensor(x)
    x64 = x.astype(np.float64)
    _ulp_close(t.sum((0, 2)), x64.sum(axis=(0, 2), keepdims=True))
    _ulp_close(t.mean((0, 2)), x64.mean(axis=(0, 2), keepdims=True))
    assert t.sum((2, 0)).equals(t.sum((0, 2))) and t.sum([-3, -1]).equals(t.sum((0, 2)))


@pytest.mark.parametrize("shape", [(4, 5, 3), (3, 6, 64), (2, 5, 300)])
def test_sum_mean_axes02_special_values(shape):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, shape).astype(F32)
    x[1, 1, 2] = NAN  # row 1: NaN
    x[0, 2, 0] = INF  # row 2: +inf
    x[0, 3, 1] = INF  # row 3: +inf and -inf: NaN
    x[1, 3, 0] = -INF
    x[:, 4, :] = 1e20  # row 4: large, exact in double
    t = rc.tensor(x)
    with np.errstate(invalid="ignore"):
        _ulp_close(t.sum((0, 2)), x.astype(np.float64).sum(axis=(0, 2), keepdims=True))
        _ulp_close(t.mean((0, 2)), x.astype(np.float64).mean(axis=(0, 2), keepdims=True))


def test_sum_mean_axes02_empty():
    for shape in [(0, 3, 4), (2, 3, 0), (0, 3, 0)]:
        t = rc.zeros(shape)
        assert t.sum((0, 2)).tolist() == [[[0.0]] * 3]
        assert all(np.isnan(v) for v in np.asarray(t.mean((0, 2))).ravel())
    assert rc.zeros((2, 0, 5)).sum((0, 2)).shape == (1, 0, 1)
    assert rc.zeros((2, 0, 300)).mean((0, 2)).shape == (1, 0, 1)


def _lse64(x, axis):
    x = x.astype(np.float64)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        return np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m


@pytest.mark.parametrize("C", [1, 2, 17, 256, 1023, 1024, 1025, 3000])
def test_logsumexp_rows_match_float64(C):
    rng = np.random.default_rng(C)
    x = rng.uniform(-30, 30, (2, 3, C)).astype(F32)
    x[1, 2] = rng.uniform(-1e-3, 1e-3, C)  # many terms near 1
    t = rc.tensor(x)
    for axis in (2, (1, 2)):
        want = _lse64(x, axis).astype(F32)
        np.testing.assert_allclose(np.asarray(t.logsumexp(axis)), want, rtol=1e-6, atol=1e-6)
    want = _lse64(x, None).item()
    assert t.logsumexp() == pytest.approx(want, rel=1e-6, abs=1e-6)
    assert t.logsumexp((0, 1, 2)).to_scalar() == t.logsumexp()


def test_logsumexp_rows_special_values():
    C = 1500  # two chunks: a special value in the second one
    x = np.zeros((1, 8, C), F32)
    x[0, 0, 1200] = NAN  # NaN
    x[0, 1, 1100] = INF  # +inf
    x[0, 2] = -INF  # all -inf
    x[0, 3, :] = -INF  # -inf with one finite term: that term
    x[0, 3, 1300] = 2.5
    x[0, 4, 7] = 1e20  # one huge term dominates
    x[0, 5, :] = -1e20  # all equal and huge: m + log(C)
    x[0, 6, ::2] = 80.0  # near float exp's overflow without the shift
    x[0, 7, 1025] = NAN  # NaN beside +inf
    x[0, 7, 3] = INF
    got = np.asarray(rc.tensor(x).logsumexp(2)).ravel()
    assert np.isnan(got[0]) and got[1] == INF and got[2] == -INF and np.isnan(got[7])
    assert got[3] == F32(2.5) and got[4] == F32(1e20)
    assert got[5] == F32(-1e20)
    np.testing.assert_allclose(got[6], 80.0 + np.log(750.0), rtol=1e-7)
    np.testing.assert_allclose(got, _lse64(x, 2).ravel().astype(F32), rtol=1e-6, atol=1e-6)
    e = rc.zeros((2, 3, 0))
    assert e.logsumexp(2).tolist() == [[[-INF]] * 3] * 2 and e.logsumexp() == -INF


def _new_paths(x):
    t = rc.from_numpy(x)
    outs = [t.sum((0, 2)), t.mean((0, 2)), t.logsumexp(2), t.logsumexp((1, 2))]
    res = [np.asarray(o).copy() for o in outs]
    res.append(np.array([t.logsumexp()], F32))
    return res


def _bits_equal(want, got, what):
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        assert w.shape == g.shape, (what, i)
        assert np.array_equal(np.isnan(w), np.isnan(g)), (what, i)
        ok = ~np.isnan(w)
        assert np.array_equal(w[ok].view(np.uint32), g[ok].view(np.uint32)), (what, i)


# past every parallel grain: the row order (C > 256), the column order (many layers),
# rows of two logsumexp chunks; NaN, +-inf and +-1e20 spread through each
BIG = [(4, 300, 257), (64, 512, 16), (16, 40, 1100)]


def _data(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.uniform(-4, 4, shape).astype(F32)
    flat = x.reshape(-1)
    k = rng.choice(flat.size, min(40, flat.size // 3), replace=False)
    flat[k] = np.resize(np.array([NAN, INF, -INF, 1e20, -1e20], F32), k.size)
    return x


@pytest.mark.parametrize("shape", BIG)
def test_new_paths_bitwise_across_thread_counts(shape, threads):
    x = _data(shape)
    res = {}
    for n in (1, 2, 3):
        rc.set_num_threads(n)
        with np.errstate(all="ignore"):
            res[n] = _new_paths(x)
    _bits_equal(res[1], res[2], "2 threads")
    _bits_equal(res[1], res[3], "3 threads")


@pytest.mark.parametrize("shape", BIG + [(3, 100, 64), (8, 9, 127), (2, 3, 5)])
def test_new_paths_every_backend_matches_serial(shape, restore):
    x = _data(shape)
    names = _runtime.capabilities()
    assert names[0] == "serial" and len(names) >= 2
    rc.set_num_threads(2)
    _runtime.set_backend("serial")
    with np.errstate(all="ignore"):
        want = _new_paths(x)
    for name in names[1:]:
        _runtime.set_backend(name)
        with np.errstate(all="ignore"):
            _bits_equal(want, _new_paths(x), name)


@pytest.mark.parametrize("shape", [(3, 13, 300), (1, 1, 5), (2, 9, 1), (8, 512, 64)])
def test_last_axis_cumsum_rows_scanned_together_keep_their_bits(shape, threads):
    """cumsum along the last axis scans up to 8 rows at once, each still one running
    double sum in order, so every element is the float32 rounding of NumPy's float64
    running sum, bit for bit, forwards and backwards, at any thread count (the row
    groups then start at other rows). (8, 512, 64) runs on the pool."""
    x = np.random.default_rng(4).uniform(-100, 100, shape).astype(np.float32)
    fwd = np.cumsum(x.astype(np.float64), axis=2).astype(np.float32)
    rev = np.cumsum(x[..., ::-1].astype(np.float64), axis=2)[..., ::-1].astype(np.float32)
    t = rc.from_numpy(x)
    for n in (1, 2, 3):
        rc.set_num_threads(n)
        got_f = np.asarray(t.cumsum(2))
        got_r = np.asarray(rc._tensor._cumsum(t, 2, True))
        np.testing.assert_array_equal(got_f.view(np.uint32), fwd.view(np.uint32))
        np.testing.assert_array_equal(got_r.view(np.uint32), rev.view(np.uint32))


# Over the rows (axis 1) of a wide (L, R, C): reduce.c cuts C into 256-column tiles, each
# summed down its rows in order (cols_acc, and cols_sqdev for the variance), which prefetch
# a tile narrower than its rows RCML_COLS_PF = 4 rows ahead. Partial last tiles, R on
# both sides of the prefetch distance, and a tile as wide as its rows (no prefetch).
ROW_TILES = [(2, 37, 600), (1, 9, 1000), (1, 5, 257), (1, 4, 300), (1, 1, 513), (3, 40, 256)]


@pytest.mark.parametrize("shape", ROW_TILES)
def test_sums_over_rows_of_column_tiles_are_sequential_double_sums(shape, threads):
    """Each column's sum is one double sum in row order, rounded once: bit for bit the
    float64 running sum (np.cumsum is sequential), at 1, 2 and 3 threads; the variance
    and std likewise from that mean and the running sum of squared deviations."""
    x = np.random.default_rng(sum(shape)).uniform(-3, 5, shape).astype(F32)
    x64 = x.astype(np.float64)
    R = shape[1]
    s = np.cumsum(x64, axis=1)[:, -1:, :]
    mean = s / R
    ss = np.cumsum((x64 - mean) ** 2, axis=1)[:, -1:, :]
    want = {
        "sum": s.astype(F32),
        "mean": mean.astype(F32),
        "var": (ss / R).astype(F32),
        "std": np.sqrt(ss / (R - 1)).astype(F32) if R > 1 else None,
    }
    t = rc.from_numpy(x)
    for n in (1, 2, 3):
        rc.set_num_threads(n)
        got = {"sum": t.sum(1), "mean": t.mean(1), "var": t.var(1), "std": t.std(1, ddof=1)}
        for name, w in want.items():
            if w is None:
                continue
            g = np.asarray(got[name])
            assert g.shape == w.shape, (name, g.shape)
            np.testing.assert_array_equal(g.view(np.uint32), w.view(np.uint32), f"{name} t{n}")
