"""Issue 14's tensor ops: comparisons, maximum/minimum, where, clip with tensor bounds,
floor/ceil/round/sign/is*, floor modulo, tensor powers; reductions over axis tuples,
argmin, prod, any, all, logsumexp, cumsum; and their autograd rules.

Values are checked against NumPy in float64 on hypothesis-drawn broadcast shapes (empty
ones included) and edge values (NaN, +-inf, +-1e20, +-0); every new kernel is checked
bit for bit across backends and thread counts; bad input must raise an error that names
the op (and the shapes); gradients against finite differences and torch (float64).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rcmlrs as rc
from rcmlrs import _runtime
from rcmlrs.autograd import Tape, gradcheck
from tests.conftest import require

F32 = np.float32
INF = float("inf")
NAN = float("nan")
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 2.5, 3.0, 1e20, -1e20, INF, -INF, NAN, 1e-30]

# ------------------------------------------------------------------ strategies

FINITE = st.floats(-1e3, 1e3, width=32, allow_nan=False, allow_infinity=False)
ANY32 = st.one_of(FINITE, st.sampled_from(EDGES).map(F32))


@st.composite
def bshapes(draw, n=2, min_side=0):
    """n shapes that broadcast together (sizes 0-4, each axis of each shape 1 or full)."""
    full = tuple(draw(st.integers(min_side, 4)) for _ in range(3))
    return [tuple(d if draw(st.booleans()) else 1 for d in full) for _ in range(n)]


@st.composite
def arrays_bcast(draw, n=2, elements=ANY32, min_side=0):
    shapes = draw(bshapes(n, min_side))
    return [draw(hnp.arrays(F32, s, elements=elements)) for s in shapes]


def f64(a):
    return np.asarray(a, dtype=np.float64)


def same(got, want):
    """Equal values, NaN where NaN (the sign of zero is not compared)."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want.astype(F32))


def quiet():
    return np.errstate(all="ignore")


# ------------------------------------------------------------------ comparisons

CMP = {
    "lt": (lambda a, b: a < b, np.less),
    "le": (lambda a, b: a <= b, np.less_equal),
    "gt": (lambda a, b: a > b, np.greater),
    "ge": (lambda a, b: a >= b, np.greater_equal),
    "eq": (lambda a, b: a == b, np.equal),
    "ne": (lambda a, b: a != b, np.not_equal),
}


@pytest.mark.parametrize("name", sorted(CMP))
@settings(max_examples=30, deadline=None)
@given(pair=arrays_bcast())
def test_comparisons_match_numpy(name, pair):
    a, b = pair
    op, ref = CMP[name]
    want = ref(f64(a), f64(b)).astype(F32)
    ta, tb = rc.tensor(a), rc.tensor(b)
    got = op(ta, tb)
    assert isinstance(got, rc.RamTensor)
    same(got, want)
    assert getattr(ta, name)(tb).equals(got)
    # a NumPy array on the left defers to the tensor's reflected comparison
    same(op(a, tb), want)
    # numbers on either side
    s = F32(b.ravel()[0]) if b.size else F32(1.5)
    same(op(ta, float(s)), ref(f64(a), f64(s)).astype(F32))
    same(op(float(s), ta), ref(f64(s), f64(a)).astype(F32))


def test_comparison_edges():
    x = rc.tensor([[NAN, 0.0, -0.0, INF, -INF, 1e20]])
    same(x == x, [[[0, 1, 1, 1, 1, 1]]])
    same(x != x, [[[1, 0, 0, 0, 0, 0]]])
    same(x < NAN, np.zeros((1, 1, 6)))
    same(x >= NAN, np.zeros((1, 1, 6)))
    same(x != NAN, np.ones((1, 1, 6)))
    same(x.eq(0.0), [[[0, 1, 1, 0, 0, 0]]])  # -0 == +0
    same(rc.zeros((2, 0, 3)) < 1.0, np.zeros((2, 0, 3)))


def test_eq_is_elementwise_and_tensors_are_unhashable():
    a = rc.tensor([[1.0, 2.0]])
    assert isinstance(a == a, rc.RamTensor)
    assert (a == None) is False  # noqa: E711  (unsupported operand: identity, not an error)
    assert (a != "x") is True
    with pytest.raises(TypeError):
        hash(a)
    with pytest.raises(ValueError, match=r"truth value of a tensor of shape \(1, 1, 2\)"):
        bool(a == a)
    assert bool(rc.tensor(1.0) == 1.0) is True
    assert bool(rc.tensor(0.0)) is False
    assert a.equals(a.copy())  # the whole-tensor test stays
    assert a in [a]  # identity first, as for NumPy arrays


# ------------------------------------------------------------------ maximum / minimum


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@settings(max_examples=40, deadline=None)
@given(pair=arrays_bcast())
def test_maximum_minimum_match_numpy(name, pair):
    a, b = pair
    ref = getattr(np, name)
    want = ref(f64(a), f64(b))
    ta, tb = rc.tensor(a), rc.tensor(b)
    same(getattr(ta, name)(tb), want)
    same(getattr(rc, name)(ta, tb), want)
    same(getattr(rc, name)(a, tb), want)
    # symmetric bit for bit, signed zeros included
    _bits_equal([getattr(ta, name)(tb)], [getattr(tb, name)(ta)], name)
    for s in (0.0, -2.5, INF, NAN):
        same(getattr(ta, name)(s), ref(f64(a), s))
        same(getattr(rc, name)(s, ta), ref(s, f64(a)))


def test_maximum_signed_zero_and_nan():
    z = rc.tensor([[0.0, -0.0]])
    nz = rc.tensor([[-0.0, 0.0]])
    assert np.signbit(np.asarray(z.maximum(nz))).tolist() == [[[False, False]]]
    assert np.signbit(np.asarray(z.minimum(nz))).tolist() == [[[True, True]]]
    assert math.isnan(rc.tensor([[NAN]]).maximum(-INF)[0, 0, 0])
    assert math.isnan(rc.maximum(INF, rc.tensor([[NAN]]))[0, 0, 0])


# ------------------------------------------------------------------ where


@settings(max_examples=60, deadline=None)
@given(
    arrs=arrays_bcast(3, elements=ANY32),
    zeros=st.lists(st.booleans(), min_size=1, max_size=8),
)
def test_where_matches_numpy(arrs, zeros):
    c, a, b = arrs
    # plenty of zeros in the condition (and NaN, which counts as nonzero)
    flat = c.ravel()
    for i, z in enumerate(zeros[: flat.size]):
        if z:
            flat[i] = 0.0
    want = np.where(f64(c) != 0, f64(a), f64(b))
    same(rc.where(rc.tensor(c), rc.tensor(a), rc.tensor(b)), want)
    same(rc.where(c, a, b), want)  # arrays are accepted as they are
    same(rc.where(c, 1.0, b), np.where(f64(c) != 0, 1.0, f64(b)))
    same(rc.where(c, a, -INF), np.where(f64(c) != 0, f64(a), -INF))


def test_where_selects_bits_and_nan_condition():
    a = rc.tensor([[-0.0, NAN, 1e20]])
    got = rc.where(rc.tensor([[NAN, 1.0, 0.0]]), a, rc.tensor([[5.0, 5.0, 5.0]]))
    g = np.asarray(got)
    assert np.signbit(g[0, 0, 0]) and math.isnan(g[0, 0, 1]) and g[0, 0, 2] == 5.0
    # broadcasting of every operand, the output bigger than each
    got = rc.where(rc.tensor([[[1.0], [0.0]]]), rc.ones((3, 1, 1)), rc.zeros((1, 1, 4)))
    assert got.shape == (3, 2, 4)
    same(got, np.broadcast_to([[[1.0], [0.0]]], (3, 2, 4)))


# ------------------------------------------------------------------ clip


@settings(max_examples=60, deadline=None)
@given(
    arrs=arrays_bcast(3, elements=FINITE),
    specials=st.lists(st.sampled_from(EDGES), max_size=4),
    lo_kind=st.sampled_from(["tensor", "number", "none"]),
    hi_kind=st.sampled_from(["tensor", "number", "none"]),
)
def test_clip_matches_numpy(arrs, specials, lo_kind, hi_kind):
    x, lo, hi = arrs
    flat = x.ravel()
    for i, v in enumerate(specials[: flat.size]):
        flat[i] = v

    def bound(arr, kind):
        if kind == "tensor":
            return rc.tensor(arr), f64(arr)
        if kind == "number":
            v = float(arr.ravel()[0]) if arr.size else 0.5
            return v, v
        return None, None

    lo_t, lo_r = bound(lo, lo_kind)
    hi_t, hi_r = bound(hi, hi_kind)
    if lo_t is None and hi_t is None:
        with pytest.raises(ValueError, match="clip: lo and hi are both None"):
            rc.tensor(x).clip(None, None)
        return
    want = f64(x)
    if lo_r is not None:
        want = np.maximum(want, lo_r)
    if hi_r is not None:
        want = np.minimum(want, hi_r)  # lo > hi gives hi, as np.clip
    same(rc.tensor(x).clip(lo_t, hi_t), want)


def test_clip_tensor_bounds_equal_number_bounds_bitwise():
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, (3, 5, 7)).astype(F32)
    x.ravel()[:6] = [NAN, INF, -INF, -0.0, 0.0, 1e20]
    t = rc.tensor(x)
    for lo, hi in [(-1.0, 1.0), (2.0, -2.0), (-INF, 0.5), (-0.0, 0.0)]:
        want = np.asarray(t.clip(lo, hi)).view(np.uint32)
        got = np.asarray(t.clip(rc.full((1, 1, 7), lo), rc.full((3, 1, 1), hi))).view(np.uint32)
        assert np.array_equal(got, want), (lo, hi)
    # lo > hi elementwise gives hi; a None side is no bound
    same(t.clip(rc.full((1, 5, 1), 2.0), rc.full((1, 1, 1), -2.0)), np.where(np.isnan(x), x, -2.0))
    same(t.clip(None, rc.zeros((1, 1, 7))), np.minimum(f64(x), 0.0))


# ------------------------------------------------------------------ rounding and tests

UNARY = {
    "floor": np.floor,
    "ceil": np.ceil,
    "round": np.round,  # halves to even
    "sign": np.sign,
    "isnan": np.isnan,
    "isinf": np.isinf,
    "isfinite": np.isfinite,
}


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=30, deadline=None)
@given(
    x=hnp.arrays(
        F32,
        st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 70)),
        elements=st.one_of(
            ANY32,
            st.floats(-1e8, 1e8, width=32),
            st.integers(-50, 50).map(lambda k: F32(k / 2)),  # halves
        ),
    )
)
def test_unary_match_numpy(name, x):
    got = np.asarray(getattr(rc.tensor(x), name)())
    want = UNARY[name](x).astype(F32)
    np.testing.assert_array_equal(got, want)
    if name in ("floor", "ceil", "round"):  # signed zeros kept, as NumPy
        assert np.array_equal(np.signbit(got), np.signbit(want))


def test_round_halves_to_even_and_large_values():
    x = rc.tensor([[0.5, 1.5, 2.5, -0.5, -2.5, 8388607.5, 8388609.0, 1.7e38, -0.4]])
    got = np.asarray(x.round()).ravel()
    assert got.tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, 8388608.0, 8388609.0, F32(1.7e38), -0.0]
    assert np.signbit(got[3]) and np.signbit(got[-1])
    assert np.asarray(rc.tensor([[-0.0, 3.0, -1e-30]]).sign()).tolist() == [[[0.0, 1.0, -1.0]]]
    assert not np.signbit(np.asarray(rc.tensor(-0.0).sign())).any()


# ------------------------------------------------------------------ floor modulo


@settings(max_examples=60, deadline=None)
@given(pair=arrays_bcast())
def test_mod_matches_numpy(pair):
    a, b = pair
    with quiet():
        want = np.mod(f64(a), f64(b))
    ta, tb = rc.tensor(a), rc.tensor(b)
    same(ta % tb, want)
    same(ta.mod(tb), want)
    same(a % tb, want)  # __rmod__ with an array
    with quiet():
        same(ta % 2.5, np.mod(f64(a), 2.5))
        same(-7.0 % ta, np.mod(-7.0, f64(a)))
        same(3 % ta, np.mod(3.0, f64(a)))


def test_mod_signs_and_specials():
    a = rc.tensor([[-3.0, 3.0, -3.0, 3.0, 0.0, -0.0, 5.0, -1.0, 1.0, INF, 2.0, NAN]])
    b = rc.tensor([[2.0, -2.0, -2.0, 2.0, -2.0, 2.0, 0.0, INF, -INF, 2.0, NAN, 2.0]])
    got = np.asarray(a % b).ravel()
    with quiet():
        want = np.mod(f64(a), f64(b)).ravel()
    np.testing.assert_array_equal(got, want.astype(F32))
    assert np.array_equal(np.signbit(got[:6]), np.signbit(want[:6]))  # sign of the divisor
    assert got[:4].tolist() == [1.0, -1.0, -1.0, 1.0]
    # Python's % on floats agrees (on the float32 values, rounded once to float32)
    for x, y in [(-7.5, 2.0), (7.5, -2.0), (1e20, 3.0), (-1e-30, 1.0), (5.25, -0.1)]:
        x32, y32 = float(F32(x)), float(F32(y))
        assert (rc.tensor(x) % y).to_scalar() == float(F32(x32 % y32))


def _mod_cases():
    """Operand pairs for the bitwise mod check: random bit patterns (every special and
    binade), everyday values, and quotients within an ulp of integers up to 2^31 (the
    vectorised path takes those below 2^29, where its truncated quotient and q*b are
    exact), with C99's specials."""
    rng = np.random.default_rng(11)
    n = 200_000
    words = rng.integers(0, 2**32, (2, n), dtype=np.uint64).astype(np.uint32)
    yield words[0].view(F32), words[1].view(F32)
    yield rng.uniform(-1e3, 1e3, n).astype(F32), rng.uniform(-3, 3, n).astype(F32)
    b = rng.uniform(0.1, 10, n).astype(F32)
    # quotients up to 2^31: both sides of the 2^29 bound of the vectorised path
    a = (rng.integers(-(2**31), 2**31, n).astype(F32) * b).astype(F32)
    yield a, b
    yield np.nextafter(a, F32(np.inf)), b
    yield np.nextafter(a, F32(-np.inf)), -b
    sp = np.array([0, -0.0, 1, -1, INF, -INF, NAN, 1e-45, -1e-45, 3e38, -3e38, 2.0**29], F32)
    sp = np.concatenate([sp, np.array([2.0**30, 0.5, 7.5, -7.5], F32)])
    yield np.repeat(sp, sp.size), np.tile(sp, sp.size)


def test_mod_bits_equal_numpy_float32(backend):
    """np.mod on float32 is fmodf plus the same sign rule, so it is a bitwise reference
    for every path: tensor % tensor, tensor % number and number % tensor."""

    def same_bits(got, want):
        got = np.asarray(got).ravel()
        ok = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
        assert ok.all(), [(got[i], want[i]) for i in np.flatnonzero(~ok)[:3]]

    for a, b in _mod_cases():
        ta, tb = rc.from_numpy(np.ascontiguousarray(a)), rc.from_numpy(np.ascontiguousarray(b))
        with quiet():
            same_bits(ta % tb, np.mod(a, b))
            same_bits(ta % 1.7, np.mod(a, F32(1.7)))
            same_bits(-1.7 % tb, np.mod(F32(-1.7), b))


# ------------------------------------------------------------------ powers


@settings(max_examples=60, deadline=None)
@given(
    shapes=bshapes(),
    data=st.data(),
)
def test_tensor_pow_matches_numpy(shapes, data):
    base = data.draw(hnp.arrays(F32, shapes[0], elements=st.floats(0.015625, 50.0, width=32)))
    expo = data.draw(hnp.arrays(F32, shapes[1], elements=st.floats(-6.0, 6.0, width=32)))
    want = np.power(f64(base), f64(expo))
    tb, te = rc.tensor(base), rc.tensor(expo)
    np.testing.assert_allclose(np.asarray(tb**te), want, rtol=3e-7, atol=0)
    np.testing.assert_allclose(np.asarray(tb.pow(te)), want, rtol=3e-7, atol=0)
    np.testing.assert_allclose(np.asarray(base**te), want, rtol=3e-7, atol=0)  # __rpow__
    s = 1.75
    np.testing.assert_allclose(np.asarray(s**te), s ** f64(expo), rtol=3e-7, atol=0)
    np.testing.assert_allclose(np.asarray(2**te), 2.0 ** f64(expo), rtol=3e-7, atol=0)


def test_pow_specials_follow_c99():
    b = rc.tensor([[0.0, 0.0, -8.0, -2.0, 1.0, NAN, INF, -INF, 1e20, 2.0]])
    e = rc.tensor([[-1.0, 0.0, 1 / 3, 3.0, NAN, 0.0, -1.0, 3.0, 2.0, 200.0]])
    got = np.asarray(b**e).ravel()
    with quiet():
        want = np.power(f64(b), f64(e)).astype(F32).ravel()
    np.testing.assert_array_equal(got, want)
    assert got[1] == 1.0 and got[4] == 1.0 and got[5] == 1.0  # pow(x, 0), pow(1, NaN)
    # a tensor exponent gives what powf gives for the same number
    x = rc.tensor(np.linspace(0.1, 9, 40, dtype=F32).reshape(1, 4, 10))
    assert (x ** rc.tensor(2.5)).equals(x.powf(2.5))
    assert (x ** np.float32(2.5)).equals(x.powf(2.5))
    assert x.pow(3).equals(x**3) and x.pow(0.5).equals(x.powf(0.5))


# ------------------------------------------------------------------ reductions

AXES = [(), (0,), (1,), (2,), (0, 1), (1, 2), (0, 2), (0, 1, 2), (2, 0), (-1, 0), (-3, -2, -1)]


def _lse(x, axis):
    with quiet():
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        return np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m


REDUCE = {
    "sum": (lambda x, ax: np.sum(x, axis=ax, keepdims=True), 1e-6),
    "mean": (lambda x, ax: np.mean(x, axis=ax, keepdims=True), 1e-6),
    "min": (lambda x, ax: np.min(x, axis=ax, keepdims=True), 0),
    "max": (lambda x, ax: np.max(x, axis=ax, keepdims=True), 0),
    "var": (lambda x, ax: np.var(x, axis=ax, keepdims=True), 1e-5),
    "std": (lambda x, ax: np.std(x, axis=ax, keepdims=True), 1e-5),
    "prod": (lambda x, ax: np.prod(x, axis=ax, keepdims=True), 1e-6),
    "any": (lambda x, ax: np.any(x, axis=ax, keepdims=True), 0),
    "all": (lambda x, ax: np.all(x, axis=ax, keepdims=True), 0),
    "logsumexp": (_lse, 1e-6),
}


@pytest.mark.parametrize("name", sorted(REDUCE))
@settings(max_examples=25, deadline=None)
@given(
    x=hnp.arrays(
        F32,
        st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 6)),
        elements=st.floats(-3.0, 3.0, width=32),
    ),
    axes=st.sampled_from(AXES),
)
def test_reductions_over_axis_tuples_match_numpy(name, x, axes):
    ref, rtol = REDUCE[name]
    t = rc.tensor(x)
    norm = tuple(sorted(a % 3 for a in axes))
    with quiet():  # float32 overflow (prod: 3^90) included; NumPy warns on the cast
        want = ref(f64(x), norm).astype(F32)
    got = getattr(t, name)(axes)
    assert isinstance(got, rc.RamTensor)
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), want, rtol=rtol, atol=1e-6 if rtol else 0)
    assert getattr(t, name)(list(axes)).equals(got)
    # the whole tensor: a Python number, the same bits as the (0, 1, 2) form
    whole = getattr(t, name)()
    assert isinstance(whole, bool if name in ("any", "all") else float)
    assert float(whole) == getattr(t, name)((0, 1, 2)).to_scalar()
    if len(norm) == 1:  # one axis in a tuple is that axis
        assert getattr(t, name)(norm[0]).equals(got)


def test_reduction_special_values():
    x = rc.tensor(
        [[[-INF, -INF, -INF], [1e20, 1e20, 0.0], [INF, 1.0, 2.0], [NAN, 1.0, 2.0], [0.0, 0.0, 0.0]]]
    )
    lse = np.asarray(x.logsumexp(2)).ravel()
    assert lse[0] == -INF and lse[2] == INF and math.isnan(lse[3])
    assert lse[1] == F32(1e20) and lse[4] == F32(math.log(3.0))
    big = rc.tensor([[1000.0, 1000.0], [-1000.0, -1001.0]])
    want = [1000 + math.log(2), -1000 + math.log1p(math.exp(-1))]
    np.testing.assert_allclose(np.asarray(big.logsumexp(2)).ravel(), want, rtol=1e-7)
    assert big.logsumexp() == pytest.approx(1000 + math.log(2), rel=1e-7)
    assert rc.tensor([[-INF, -INF]]).logsumexp() == -INF
    same(x.any(2), [[[1], [1], [1], [1], [0]]])  # NaN counts as nonzero
    same(x.all(2), [[[1], [0], [1], [1], [0]]])
    assert rc.tensor([[NAN]]).all() is True and rc.tensor([[0.0, -0.0]]).any() is False
    p = rc.tensor([[2.0, NAN, 3.0], [1e20, 1e20, 1e-30], [1e20, 1e20, 1e20]]).prod(2)
    assert math.isnan(p[0, 0, 0]) and p[0, 2, 0] == INF
    assert p[0, 1, 0] == pytest.approx(1e10, rel=1e-6)  # in double: no float32 overflow
    assert rc.tensor([[1e30, 1e30, 1e-30, 1e-30]]).prod() == pytest.approx(1.0, rel=1e-6)


def test_reductions_of_empty_tensors():
    e = rc.zeros((2, 0, 3))
    assert e.sum() == 0.0 and e.prod() == 1.0 and e.any() is False and e.all() is True
    assert e.logsumexp() == -INF and math.isnan(e.mean())
    assert e.sum((0, 1)).shape == (1, 1, 3) and e.sum((0, 1)).tolist() == [[[0.0, 0.0, 0.0]]]
    assert e.prod(1).tolist() == [[[1.0] * 3]] * 2
    assert e.any((1, 2)).tolist() == [[[0.0]], [[0.0]]] and e.all(1).tolist() == [[[1.0] * 3]] * 2
    assert e.logsumexp(1).tolist() == [[[-INF] * 3]] * 2
    assert e.sum(2).shape == (2, 0, 1) and e.cumsum(1).shape == (2, 0, 3)
    assert all(math.isnan(v) for v in np.asarray(e.var((1, 2))).ravel())
    assert all(math.isnan(v) for v in np.asarray(e.mean(1)).ravel())
    with pytest.raises(ValueError, match=r"min: cannot reduce the axes \(0, 1\) of shape"):
        e.min((0, 1))
    with pytest.raises(ValueError, match=r"max: cannot reduce an empty axis 1 of shape"):
        e.max(1)
    with pytest.raises(ValueError, match="max: tensor of shape"):
        e.max((0, 1, 2))


@pytest.mark.parametrize("name", ["sum", "mean", "min", "var", "prod", "any", "logsumexp"])
def test_axis_tuple_errors(name):
    t = rc.ones((2, 3, 4))
    f = getattr(t, name)
    with pytest.raises(ValueError, match=rf"{name}: repeated axis in \(0, -3\)"):
        f((0, -3))
    with pytest.raises(ValueError, match=rf"{name}: axis 3 is out of range"):
        f((0, 3))
    with pytest.raises(TypeError, match=rf"{name}: an axis must be an int, got str"):
        f((0, "1"))
    with pytest.raises(TypeError, match=name):
        f(1.5)


def test_argmin_mirrors_argmax():
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, (3, 4, 5)).astype(F32)  # many ties: the first index wins
    t = rc.tensor(x)
    assert t.argmin() == int(np.argmin(x))
    for a in (0, 1, 2, -1):
        got = t.argmin(a)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, np.argmin(x, axis=a, keepdims=True))
    x[1, 2, 3] = NAN
    x[2, 0, 0] = NAN
    t = rc.tensor(x)
    assert t.argmin() == int(np.argmin(x))  # the first NaN
    for a in (0, 1, 2):
        np.testing.assert_array_equal(t.argmin(a), np.argmin(x, axis=a, keepdims=True))
    with pytest.raises(ValueError, match="argmin: tensor of shape"):
        rc.zeros((0, 2, 2)).argmin()


@settings(max_examples=30, deadline=None)
@given(
    x=hnp.arrays(
        F32,
        st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 300)),
        elements=st.floats(-100, 100, width=32),
    ),
    axis=st.sampled_from([0, 1, 2, -1, -2, -3]),
)
def test_cumsum_matches_numpy(x, axis):
    got = rc.tensor(x).cumsum(axis)
    want = np.cumsum(f64(x), axis=axis)
    assert got.shape == x.shape
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-4)


def test_cumsum_specials_and_errors():
    t = rc.tensor([[1.0, INF, -INF, 2.0], [1e20, -1e20, 1.0, NAN]])
    with quiet():
        same(t.cumsum(2), np.cumsum(f64(t), axis=2))
    with pytest.raises(ValueError, match="cumsum: axis 3 is out of range"):
        t.cumsum(3)
    with pytest.raises(TypeError, match="cumsum: an axis must be an int"):
        t.cumsum(None)


# ------------------------------------------------------------------ bad input


def test_errors_name_the_op_and_the_shapes():
    a, b = rc.ones((2, 3, 4)), rc.ones((1, 2, 4))
    for name in ["lt", "le", "gt", "ge", "eq", "ne", "maximum", "minimum", "mod", "pow"]:
        with pytest.raises(
            rc.ShapeError, match=rf"{name}: shapes \(2, 3, 4\) and \(1, 2, 4\) cannot be broadcast"
        ):
            getattr(a, name)(b)
        with pytest.raises(
            TypeError, match=rf"{name}: expected a tensor, array or number, got str"
        ):
            getattr(a, name)("x")
    with pytest.raises(rc.ShapeError, match=r"lt: shapes"):
        a < b  # noqa: B015
    with pytest.raises(rc.ShapeError, match=r"mod: shapes"):
        a % b  # noqa: B018
    with pytest.raises(rc.ShapeError, match=r"pow: shapes"):
        a**b  # noqa: B018
    with pytest.raises(TypeError):
        a < "x"  # noqa: B015
    with pytest.raises(TypeError):
        {} % a  # noqa: B018
    with pytest.raises(TypeError):
        a ** {1: 2}  # noqa: B018
    with pytest.raises(TypeError):
        pow(a, b, 2)
    with pytest.raises(
        rc.ShapeError,
        match=r"where: shapes \(2, 3, 4\), \(1, 2, 4\) and \(1, 1, 1\) cannot be broadcast",
    ):
        rc.where(a, b, 1.0)
    with pytest.raises(TypeError, match="where: expected a tensor, array or number, got NoneType"):
        rc.where(a, None, 1.0)
    with pytest.raises(rc.ShapeError, match=r"clip: shapes \(2, 3, 4\), \(1, 2, 4\)"):
        a.clip(b, None)
    with pytest.raises(TypeError, match="clip: expected a tensor"):
        a.clip("0", 1.0)
    with pytest.raises(TypeError, match="maximum: expected a tensor"):
        rc.maximum("a", 1.0)


# ------------------------------------------------------------------ backends and threads


def _specials(rng, n):
    x = rng.uniform(-4, 4, n).astype(F32)
    k = min(n, len(EDGES))
    if k:
        x[rng.choice(n, k, replace=False)] = np.array(EDGES[:k], F32)
    return x


def _all_new_kernels(x, y, z):
    """Every new kernel once (contiguous, scalar, broadcast and reduction paths)."""
    tx, ty, tz = rc.from_numpy(x), rc.from_numpy(y), rc.from_numpy(z)
    row = rc.from_numpy(np.ascontiguousarray(y[:1, :1, :]))  # (1, 1, C)
    col = rc.from_numpy(np.ascontiguousarray(y[:, :, :1]))  # (L, R, 1)
    outs = []
    for op in ("lt", "le", "gt", "ge", "eq", "ne", "maximum", "minimum", "mod", "pow"):
        outs += [getattr(tx, op)(ty), getattr(tx, op)(1.5), getattr(tx, op)(row)]
        outs.append(getattr(tx, op)(col))
    outs += [2.0 % tx, 2.0**tx, rc.maximum(-0.0, tx), 0.5**ty]
    for op in ("floor", "ceil", "round", "sign", "isnan", "isinf", "isfinite"):
        outs.append(getattr(tx, op)())
    outs += [
        rc.where(tz, tx, ty),
        rc.where(tz, tx, 0.25),
        rc.where(col, tx, row),
        tx.clip(ty, tz),
        tx.clip(row, None),
        tx.clip(None, col),
    ]
    for axes in [(), (0, 1), (1, 2), (0, 2), (0, 1, 2), 0, 1, 2]:
        for name in ("sum", "mean", "min", "max", "var", "std", "prod", "any", "all", "logsumexp"):
            if x.size == 0 and name in ("min", "max"):
                continue
            outs.append(getattr(tx, name)(axes))
    for a in (0, 1, 2):
        outs.append(tx.cumsum(a))
        outs.append(rc._tensor._cumsum(tx, a, True))
    res = [np.asarray(o).copy() for o in outs]
    if x.size:
        res.append(np.array([tx.argmin(), tx.prod(), tx.logsumexp(), tx.any(), tx.all()]))
        res += [tx.argmin(a) for a in (0, 1, 2)]
    return res


def _bits_equal(want, got, what):
    assert len(want) == len(got)
    for i, (w, g) in enumerate(zip(want, got, strict=True)):
        w = np.asarray(w)
        g = np.asarray(g)
        assert w.shape == g.shape, (what, i)
        if w.dtype == F32:
            # any NaN equals any NaN; everything else bit for bit (signed zeros included)
            wn, gn = np.isnan(w), np.isnan(g)
            assert np.array_equal(wn, gn), (what, i)
            assert np.array_equal(w[~wn].view(np.uint32), g[~gn].view(np.uint32)), (what, i)
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{what} #{i}")


SHAPES = [(1, 1, 0), (1, 1, 1), (1, 3, 5), (1, 1, 17), (2, 3, 67), (3, 7, 33)]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_backend_matches_serial(shape):
    rng = np.random.default_rng(sum(shape))
    n = int(np.prod(shape))
    x = _specials(rng, n).reshape(shape)
    y = rng.uniform(-3, 3, shape).astype(F32)
    z = np.where(rng.random(shape) < 0.5, 0.0, rng.uniform(-2, 2, shape)).astype(F32)
    old = _runtime.get_backend()
    try:
        _runtime.set_backend("serial")
        with quiet():
            want = _all_new_kernels(x, y, z)
        for name in _runtime.capabilities():
            _runtime.set_backend(name)
            with quiet():
                got = _all_new_kernels(x, y, z)
            _bits_equal(want, got, f"{name} {shape}")
    finally:
        _runtime.set_backend(old)


def test_bitwise_identical_across_thread_counts(threads):
    """Sizes past every parallel threshold (2^18 floats for cheap ops, 2^16 for libm
    ops, many rows for the broadcast and axis paths)."""
    rng = np.random.default_rng(9)
    shape = (4, 300, 257)
    x = _specials(rng, int(np.prod(shape))).reshape(shape)
    y = rng.uniform(0.1, 3, shape).astype(F32)
    z = np.where(rng.random(shape) < 0.5, 0.0, 1.0).astype(F32)
    res = {}
    for n in (1, 2, 4):
        rc.set_num_threads(n)
        with quiet():
            res[n] = _all_new_kernels(x, y, z)
    _bits_equal(res[1], res[2], "2 threads")
    _bits_equal(res[1], res[4], "4 threads")


# ------------------------------------------------------------------ autograd


def _rand(shape, seed, lo=-2.0, hi=2.0):
    return rc.tensor(np.random.default_rng(seed).uniform(lo, hi, shape).astype(F32))


def _check_torch(fn, tfn, inputs, rtol=1e-4, atol=1e-5, seed=0):
    """Tape gradients of sum(fn(*inputs) * w) against torch autograd in float64."""
    torch = require("torch")
    tensors = [x for x in inputs if isinstance(x, rc.RamTensor)]
    with Tape() as tape:
        tape.watch(*tensors)
        out = fn(*inputs)
    w = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape).astype(F32)
    gs = tape.gradient(out, tensors, output_gradient=w)
    ts = [
        torch.tensor(np.asarray(x, np.float64), requires_grad=True)
        if isinstance(x, rc.RamTensor)
        else x
        for x in inputs
    ]
    tout = tfn(*ts)
    np.testing.assert_allclose(np.asarray(out), tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    (tout * torch.tensor(f64(w))).sum().backward()
    ref = [
        np.zeros(t.shape) if t.grad is None else t.grad.numpy()  # no gradient (a condition)
        for t in ts
        if isinstance(t, torch.Tensor)
    ]
    for g, r in zip(gs, ref, strict=True):
        np.testing.assert_allclose(np.asarray(g), r, rtol=rtol, atol=atol)


@st.composite
def _pair_shapes(draw):
    full = tuple(draw(st.integers(1, 3)) for _ in range(3))
    return [tuple(d if draw(st.booleans()) else 1 for d in full) for _ in range(3)]


BINARY_AD = {
    "maximum": (lambda a, b: a.maximum(b), lambda a, b: __import__("torch").maximum(a, b)),
    "minimum": (lambda a, b: rc.minimum(a, b), lambda a, b: __import__("torch").minimum(a, b)),
    "mod": (lambda a, b: a % b, lambda a, b: __import__("torch").remainder(a, b)),
    "pow": (lambda a, b: a**b, lambda a, b: a**b),
}


@pytest.mark.parametrize("name", sorted(BINARY_AD))
@settings(max_examples=10, deadline=None)
@given(shapes=_pair_shapes(), seed=st.integers(0, 2**16))
def test_binary_gradients_against_torch_and_fd(name, shapes, seed):
    fn, tfn = BINARY_AD[name]
    rng = np.random.default_rng(seed)
    if name == "pow":
        a, b = _rand(shapes[0], seed, 0.5, 2.0), _rand(shapes[1], seed + 1, -2.0, 2.0)
    elif name == "mod":
        # a = k + 1/2 (+-0.02), b in [1, 1.1]: a / b stays >= 0.05 from an integer, away
        # from the jumps of floor(a / b)
        half = rng.integers(-4, 4, shapes[0]) + 0.5 + rng.uniform(-0.02, 0.02, shapes[0])
        a, b = rc.tensor(half.astype(F32)), _rand(shapes[1], seed + 1, 1.0, 1.1)
    else:
        # values on two interleaved grids (k + 1/4 and k + 3/4): never a tie, and at
        # least 1/2 apart, so finite differences do not cross the kink
        a = rc.tensor((rng.integers(-3, 3, shapes[0]) + 0.25).astype(F32))
        b = rc.tensor((rng.integers(-3, 3, shapes[1]) + 0.75).astype(F32))
    _check_torch(fn, tfn, [a, b], seed=seed)
    assert gradcheck(fn, [a, b], eps=1e-3, atol=2e-2, rtol=2e-2)


def test_scalar_operand_gradients():
    torch = require("torch")
    x = _rand((2, 3, 4), 1, 0.3, 2.0)
    _check_torch(lambda a: 2.0**a, lambda a: 2.0**a, [x])
    _check_torch(lambda a: a.maximum(1.0), lambda a: torch.clamp(a, min=1.0), [x])
    _check_torch(lambda a: rc.minimum(1.0, a), lambda a: torch.clamp(a, max=1.0), [x])
    _check_torch(lambda a: a % 0.7, lambda a: torch.remainder(a, 0.7), [x])
    _check_torch(
        lambda a: 5.0 % a, lambda a: torch.remainder(torch.tensor(5.0, dtype=a.dtype), a), [x]
    )
    for fn in (
        lambda a: 2.0**a,
        lambda a: a.maximum(1.0),
        lambda a: rc.minimum(a, 0.9),
    ):
        assert gradcheck(fn, [x], eps=1e-3, atol=2e-2, rtol=2e-2)
    # a zero base: d/d(expo) of 0 ** b is 0 for b >= 0 (not 0 * -inf), as torch
    b = rc.tensor([[0.0, 0.0, 2.0]])
    e = rc.tensor([[2.0, 0.0, 1.5]])
    _check_torch(lambda u, v: u**v, lambda u, v: u**v, [b, e])


def test_where_and_clamp_gradients():
    torch = require("torch")
    x = _rand((2, 3, 4), 2)
    y = _rand((1, 3, 1), 3)
    c = rc.tensor((np.random.default_rng(4).random((2, 1, 4)) < 0.5).astype(F32))
    _check_torch(
        lambda c_, a, b: rc.where(c_, a, b), lambda c_, a, b: torch.where(c_ != 0, a, b), [c, x, y]
    )
    assert gradcheck(lambda a, b: rc.where(c, a, b), [x, y])
    with Tape() as tape:
        tape.watch(c, x, y)
        out = rc.where(c, x, y)
    assert tape.gradient(out.sum((0, 1, 2)), [c])[0].equals(rc.zeros(c.shape))  # no grad to cond
    lo = rc.tensor(np.array([[[-1.0], [-0.3], [0.35]]], F32))
    hi = rc.tensor(np.array([[[1.2, 0.55, -0.45, 2.0]]], F32))  # lo > hi somewhere: hi wins
    x = rc.tensor(np.round(np.asarray(x) * 8) / 8 + 0.0625)  # no element at a bound
    _check_torch(
        lambda a, l_, h: a.clip(l_, h), lambda a, l_, h: torch.clamp(a, l_, h), [x, lo, hi]
    )
    assert gradcheck(lambda a, l_, h: a.clip(l_, h), [x, lo, hi], eps=1e-3)
    _check_torch(lambda a, l_: a.clip(l_, None), lambda a, l_: torch.clamp(a, min=l_), [x, lo])


REDUCE_AD = {
    "sum": lambda t, ax: t.sum(ax, keepdim=True),
    "mean": lambda t, ax: t.mean(ax, keepdim=True),
    "max": lambda t, ax: t.amax(ax, keepdim=True),
    "min": lambda t, ax: t.amin(ax, keepdim=True),
    "var": lambda t, ax: t.var(ax, unbiased=False, keepdim=True),
    "std": lambda t, ax: t.std(ax, unbiased=False, keepdim=True),
    "prod": None,
    "logsumexp": lambda t, ax: t.logsumexp(ax, keepdim=True),
}


def _torch_prod(t, axes):
    for a in sorted(axes, reverse=True):
        t = t.prod(a, keepdim=True)
    return t


@pytest.mark.parametrize("name", sorted(REDUCE_AD))
@pytest.mark.parametrize("axes", [(0, 1), (1, 2), (0, 2), (0, 1, 2), (2,)])
def test_reduction_gradients_over_axis_tuples(name, axes):
    x = _rand((2, 3, 4), 5, 0.5, 2.0) if name == "prod" else _rand((2, 3, 4), 5)
    tred = REDUCE_AD[name]

    def tfn(t):
        return _torch_prod(t, axes) if name == "prod" else tred(t, axes)

    _check_torch(lambda t: getattr(t, name)(axes), tfn, [x])
    assert gradcheck(lambda t: getattr(t, name)(axes), [x], eps=1e-3, atol=2e-2, rtol=2e-2)


def test_prod_gradient_with_zeros():
    # one zero in a row: only it gets a gradient (the product of the others); two: none
    x = rc.tensor(np.array([[[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.5, -2.0, 0.5]]], F32))
    _check_torch(lambda t: t.prod(2), lambda t: t.prod(2, keepdim=True), [x])
    _check_torch(lambda t: t.prod((0, 1)), lambda t: _torch_prod(t, (0, 1)), [x])
    _check_torch(lambda t: t.prod((1, 2)), lambda t: _torch_prod(t, (1, 2)), [x])


def test_logsumexp_and_cumsum_gradients():
    torch = require("torch")
    x = _rand((2, 3, 5), 6, -30.0, 30.0)
    _check_torch(lambda t: t.logsumexp(2), lambda t: torch.logsumexp(t, 2, keepdim=True), [x])
    for a in (0, 1, 2):
        _check_torch(lambda t, a=a: t.cumsum(a), lambda t, a=a: torch.cumsum(t, a), [x])
        assert gradcheck(lambda t, a=a: t.cumsum(a), [x], eps=1e-2)


def test_non_differentiable_ops_record_nothing():
    x = _rand((2, 3, 4), 7)
    with Tape() as tape:
        tape.watch(x)
        for fn in (
            lambda t: t < 0.5,
            lambda t: t.ge(t),
            lambda t: t == 0.0,
            lambda t: t.floor(),
            lambda t: t.ceil(),
            lambda t: t.round(),
            lambda t: t.sign(),
            lambda t: t.isnan(),
            lambda t: t.isinf(),
            lambda t: t.isfinite(),
            lambda t: t.any(1),
            lambda t: t.all((0, 1)),
        ):
            fn(x)
        assert len(tape) == 0
        y = x.maximum(0.0).sum((0, 1, 2))
    assert len(tape) == 2
    (g,) = tape.gradient(y, [x])
    same(g, (np.asarray(x) > 0).astype(F32))


def test_tape_listing_names_the_new_ops():
    x = _rand((1, 2, 3), 8, 0.5, 1.5)
    with Tape() as tape:
        tape.watch(x)
        y = (x**x).prod((1, 2))
    text = tape.listing(y, [x])
    assert "pow(" in text and "prod(" in text and "axis=(1, 2)" in text
