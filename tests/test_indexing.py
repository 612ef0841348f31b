"""Indexing (t[key], t[key] = v) and the shape ops of issue 14 against NumPy.

The rank-3 rule (RamTensor.__getitem__): every axis is indexed on its own; an int i
means i:i+1, so the result is always rank 3 and a copy. With at most one array among the
components that is NumPy's own result for the key with each int written i:i+1; with two
or three arrays it is their outer product, NumPy's a[np.ix_(...)]. Three ints give a
float, and a boolean mask of the whole shape gives NumPy's flat result as (1, 1, count).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rcmlrs as rc
from rcmlrs import _runtime
from tests.conftest import require

# ------------------------------------------------------------------ the reference


def _components(key):
    return list(key) if isinstance(key, tuple) else [key]


def _is_int(k) -> bool:
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _expand(key):
    comps = _components(key)
    n = sum(1 for c in comps if c is not Ellipsis)
    out = []
    for c in comps:
        if c is Ellipsis:
            out.extend([slice(None)] * (3 - n))
        else:
            out.append(c)
    return out + [slice(None)] * (3 - len(out))


def _is_mask3(key) -> bool:
    if not isinstance(key, (list, np.ndarray)):
        return False
    k = np.asarray(key)
    return k.dtype == bool and k.ndim == 3


def _as_slice(i: int, d: int) -> slice:
    i = int(i) + d if i < 0 else int(i)
    return slice(i, i + 1)


def _axis_index(c, d: int) -> np.ndarray:
    """The index array one component selects on an axis of size d."""
    if isinstance(c, slice):
        return np.arange(d)[c]
    if _is_int(c):
        return np.arange(d)[_as_slice(c, d)]
    a = np.asarray(c)
    if a.dtype == bool:
        return np.flatnonzero(a)
    return np.arange(d)[a.astype(np.int64)] if a.size else np.zeros(0, np.int64)


def ref_getitem(a: np.ndarray, key):
    """What t[key] must be, from NumPy alone."""
    if _is_mask3(key):
        return a[np.asarray(key)].reshape(1, 1, -1)
    comps = _expand(key)
    if all(_is_int(c) for c in comps):
        return float(a[tuple(comps)])
    arrays = [c for c in comps if not (isinstance(c, slice) or _is_int(c))]
    if len(arrays) <= 1:
        # NumPy's own result, ints written as one-element slices
        k = tuple(_as_slice(c, a.shape[i]) if _is_int(c) else c for i, c in enumerate(comps))
        return a[k]
    return a[np.ix_(*[_axis_index(c, a.shape[i]) for i, c in enumerate(comps)])]


def ref_setitem(a: np.ndarray, key, value) -> None:
    if _is_mask3(key):
        key = np.asarray(key)
        a[key] = np.broadcast_to(np.asarray(value, np.float32), (1, 1, int(key.sum()))).ravel()
        return
    comps = _expand(key)
    if all(_is_int(c) for c in comps):
        a[tuple(comps)] = value
        return
    ix = np.ix_(*[_axis_index(c, a.shape[i]) for i, c in enumerate(comps)])
    sel = tuple(len(i.ravel()) for i in ix)
    v = np.asarray(value, np.float32)
    v = v.reshape((1,) * (3 - v.ndim) + v.shape)
    a[ix] = np.broadcast_to(v, sel)


def check_get(a: np.ndarray, key) -> None:
    t = rc.tensor(a)
    want = ref_getitem(a, key)
    got = t[key]
    if isinstance(want, float):
        assert isinstance(got, float) and got == want
        return
    assert isinstance(got, rc.RamTensor)
    assert got.shape == want.shape, (key, got.shape, want.shape)
    np.testing.assert_array_equal(np.asarray(got), want)


# ----------------------------------------------------------------- hypothesis keys

dims = st.integers(0, 5)


@st.composite
def component(draw, d: int):
    kinds = ["slice", "list", "mask", "array"] + (["int"] if d else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        return draw(st.integers(-d, d - 1))
    if kind == "slice":
        bound = st.none() | st.integers(-d - 2, d + 2)
        step = st.none() | st.sampled_from([-3, -2, -1, 1, 2, 3])
        return slice(draw(bound), draw(bound), draw(step))
    if kind == "mask":
        return draw(st.lists(st.booleans(), min_size=d, max_size=d))
    idx = draw(st.lists(st.integers(-d, d - 1), max_size=6)) if d else []
    if kind == "array":
        dtype = draw(st.sampled_from([np.int64, np.int32, np.intp]))
        return np.asarray(idx, dtype=dtype)
    return idx


@st.composite
def shape_and_key(draw, max_arrays: int = 3):
    shape = tuple(draw(st.lists(dims, min_size=3, max_size=3)))
    n = draw(st.integers(1, 3))
    ellipsis = draw(st.none() | st.integers(0, n))
    # the axes the explicit components index (after an Ellipsis they move right)
    axes = (
        list(range(n))
        if ellipsis is None
        else (list(range(ellipsis)) + list(range(3 - (n - ellipsis), 3)))
    )
    comps = [draw(component(shape[ax])) for ax in axes]
    arrays = [i for i, c in enumerate(comps) if isinstance(c, (list, np.ndarray))]
    for i in arrays[max_arrays:]:
        comps[i] = slice(None)
    if ellipsis is not None:
        comps.insert(ellipsis, Ellipsis)
    key = comps[0] if len(comps) == 1 and draw(st.booleans()) else tuple(comps)
    return shape, key


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(shape_and_key(max_arrays=1))
def test_getitem_matches_numpy_one_array(sk):
    shape, key = sk
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    check_get(a, key)


@SETTINGS
@given(shape_and_key(max_arrays=3))
def test_getitem_several_arrays_is_the_outer_product(sk):
    shape, key = sk
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) - 7.5
    check_get(a, key)


@st.composite
def basic_key(draw):
    """A shape up to (4, 120, 130) and a key of only ints and slices (the C-offset path):
    shapes past 192 offsets in all take its heap buffer."""
    shape = (draw(st.integers(0, 4)), draw(st.integers(0, 120)), draw(st.integers(0, 130)))
    n = draw(st.integers(1, 3))
    comps = []
    for d in shape[:n]:
        if d and draw(st.booleans()):
            comps.append(draw(st.integers(-d, d - 1)))
        else:
            bound = st.none() | st.integers(-d - 2, d + 2)
            step = st.none() | st.sampled_from([-3, -2, -1, 1, 2, 3])
            comps.append(slice(draw(bound), draw(bound), draw(step)))
    key = comps[0] if n == 1 and isinstance(comps[0], slice) else tuple(comps)
    return shape, key


@SETTINGS
@given(basic_key())
def test_basic_slices_match_numpy_and_the_recorded_plan(sk):
    """Int/slice keys take the C-offset path; on a tape they take the NumPy plan that
    autograd records. Both must be NumPy's selection."""
    shape, key = sk
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) * 0.5 - 3.0
    check_get(a, key)
    t = rc.tensor(a)
    fast = t[key]
    if isinstance(fast, float):
        return
    with rc.autograd.Tape() as tape:
        tape.watch(t)
        planned = t[key]
    assert planned.shape == fast.shape
    np.testing.assert_array_equal(np.asarray(planned), np.asarray(fast))


@SETTINGS
@given(shape_and_key(max_arrays=3), st.sampled_from(["scalar", "full", "broadcast"]))
def test_setitem_matches_numpy(sk, how):
    shape, key = sk
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    t = rc.tensor(a)
    sel = rc.tensor(a)[key]
    sel_shape = (1, 1, 1) if isinstance(sel, float) else sel.shape
    rng = np.random.default_rng(0)
    if how == "scalar" or isinstance(sel, float):
        value = -3.5
    elif how == "full":
        value = rng.standard_normal(sel_shape).astype(np.float32)
    else:
        value = rng.standard_normal((1, 1, sel_shape[2])).astype(np.float32)
    ref = a.copy()
    ref_setitem(ref, key, value)
    t[key] = value
    np.testing.assert_array_equal(np.asarray(t), ref)


def test_whole_shape_mask_gives_the_flat_selection():
    a = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    t = rc.tensor(a)
    m = a > 0.2
    check_get(a, m)
    got = t[rc.tensor(m.astype(np.float32))]  # a 0/1 RamTensor works as the mask
    np.testing.assert_array_equal(np.asarray(got), a[m].reshape(1, 1, -1))
    np.testing.assert_array_equal(np.asarray(t[t > 0.2]), a[m].reshape(1, 1, -1))
    check_get(a, m.tolist())  # nested lists of bools too
    t[m] = 0.0
    b = a.copy()
    b[m] = 0.0
    np.testing.assert_array_equal(np.asarray(t), b)
    t[m] = np.arange(int(m.sum()), dtype=np.float32)
    b[m] = np.arange(int(m.sum()), dtype=np.float32)
    np.testing.assert_array_equal(np.asarray(t), b)
    assert t[np.zeros((3, 4, 5), bool)].shape == (1, 1, 0)


def test_kept_behaviours():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = rc.tensor(a)
    assert t[1, 2, 3] == 23.0 and isinstance(t[1, 2, 3], float)
    assert t[..., 1, 2, 3] == 23.0
    assert t[np.int64(-1), np.int32(0), np.uint8(1)] == 13.0
    one = t[1]
    assert one.shape == (1, 3, 4)
    one[0, 0, 0] = -1.0  # a copy
    assert t[1, 0, 0] == 12.0
    assert t[np.int64(1)].equals(one.copy() * 0 + rc.tensor(a[1:2]))
    assert t[0, 1].shape == (1, 1, 4)
    t[1, 2, 3] = 5
    assert t[1, 2, 3] == 5.0
    t[-1] = 7.0
    assert float(t[1].sum()) == 84.0


def test_results_are_copies():
    t = rc.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    for key in [slice(None), (slice(None), 1), [0, 1], (Ellipsis, slice(None, None, -1))]:
        s = t[key]
        s[0, 0, 0] = 100.0
        assert t[0, 0, 0] != 100.0 or key is None


def test_empty_shapes():
    for shape in [(0, 3, 4), (2, 0, 4), (2, 3, 0), (0, 0, 0)]:
        a = np.zeros(shape, np.float32)
        for key in [slice(None), (slice(None), slice(None), []), ([],), (Ellipsis, slice(1, 3))]:
            check_get(a, key)
        t = rc.tensor(a)
        t[:] = 3.0
        assert t.shape == shape
    t = rc.zeros((2, 3, 4))
    t[[]] = 1.0
    t[:, 1:1] = rc.ones((1, 1, 4))
    assert float(t.sum()) == 0.0


# --------------------------------------------------------------------- bad keys


@pytest.mark.parametrize(
    "key, exc, match",
    [
        ((0, 0, 0, 0), IndexError, "too many indices"),
        ((Ellipsis, 0, Ellipsis), IndexError, "single ellipsis"),
        (2, IndexError, "out of range"),
        ((0, 3), IndexError, "index 3 is out of range for axis 1 of size 3"),
        ((slice(None), [0, 5]), IndexError, "index 5 is out of range for axis 1"),
        (([-3],), IndexError, "index -3 is out of range for axis 0 of size 2"),
        ([2**70], IndexError, "out of range"),
        ((0, 2**70), IndexError, "out of range for axis 1"),  # beyond Py_ssize_t
        ((slice(None), -(2**70)), IndexError, "out of range for axis 1"),
        (np.array([2**63], np.uint64), IndexError, "out of range"),
        ([True, False, True], IndexError, "length 3 does not match axis 0 of size 2"),
        ((slice(None), np.ones(4, bool)), IndexError, "length 4 does not match axis 1"),
        (np.ones((2, 3), bool), IndexError, "1-D .* or covers the whole shape"),
        (np.ones((2, 3, 5), bool), IndexError, r"mask of shape \(2, 3, 5\) does not match"),
        ([[0, 1], [1, 0]], IndexError, "must be 1-D"),
        ([0.5, 1.0], IndexError, "integers or booleans, got float64"),
        (None, TypeError, "None"),
        ((0, None), TypeError, "None"),
        ("a", TypeError, "got str"),
        (1.5, IndexError, "got float 1.5"),
        ((0.5, 0, 0), IndexError, "got float 0.5"),
        (True, TypeError, "got bool"),
        ((0, np.True_), TypeError, "NumPy bool"),
        ((slice(None), rc.ones(3)), TypeError, "whole key"),
        (rc.ones((1, 3, 4)), IndexError, r"mask tensor of shape \(1, 3, 4\)"),
        (rc.full((2, 3, 4), 0.5), IndexError, "only 0 and 1"),
        ({1: 2}, TypeError, "got dict"),
        ((slice(None, None, 0),), ValueError, "slice step cannot be zero"),
    ],
)
def test_bad_keys_raise_clearly(key, exc, match):
    t = rc.zeros((2, 3, 4))
    with pytest.raises(exc, match=match):
        t[key]
    with pytest.raises(exc, match=match):
        t[key] = 1.0
    assert float(t.sum()) == 0.0


def test_setitem_value_must_broadcast():
    t = rc.zeros((2, 3, 4))
    with pytest.raises(rc.ShapeError, match=r"\(1, 2, 4\).*selection of shape \(2, 1, 4\)"):
        t[:, 0] = np.ones((2, 4), np.float32)
    with pytest.raises(rc.ShapeError, match=r"\(1, 1, 2\).*\(0, 3, 4\)"):
        t[[]] = [1.0, 2.0]
    with pytest.raises(TypeError):
        t[0] = "x"
    with pytest.raises(TypeError):
        t[0, 0, 0] = [1.0, 2.0]
    assert float(t.sum()) == 0.0
    t[:, 1:] = rc.tensor([[1.0], [2.0]])  # (1, 2, 1) stretches over (2, 2, 4)
    assert t[1, 2, 3] == 2.0 and t[0, 1, 0] == 1.0 and t[0, 0, 0] == 0.0


def test_repeated_indices_keep_the_last_value():
    a = np.zeros((2, 3, 4), np.float32)
    t = rc.tensor(a)
    t[[0, 0, 1, 0], :, [3, 3]] = np.arange(8, dtype=np.float32).reshape(4, 1, 2)
    a[np.ix_([0, 0, 1, 0], range(3), [3, 3])] = np.arange(8, dtype=np.float32).reshape(4, 1, 2)
    np.testing.assert_array_equal(np.asarray(t), a)
    assert t[0, 0, 3] == 7.0


def test_setitem_reads_an_overlapping_value_from_a_snapshot():
    base = np.arange(12, dtype=np.float32)
    t = rc.from_numpy(base)
    shifted = rc.from_numpy(base[2:])  # shares t's buffer
    t[:, :, :10] = shifted
    want = np.arange(12, dtype=np.float32)
    want[:10] = np.arange(2, 12, dtype=np.float32)
    np.testing.assert_array_equal(base, want)

    base = np.arange(12, dtype=np.float32)
    t = rc.from_numpy(base)
    t[:, :, 2:] = rc.from_numpy(base[:10])  # forward overlap: a naive copy would smear
    want = np.arange(12, dtype=np.float32)
    want[2:] = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(base, want)

    t = rc.tensor(np.arange(6, dtype=np.float32))
    t[..., ::-1] = t
    assert t.tolist() == [[[5.0, 4.0, 3.0, 2.0, 1.0, 0.0]]]


def test_index_components_are_converted_once():
    calls = []

    class Counting:
        def __init__(self, v: int):
            self.v = v

        def __index__(self) -> int:
            calls.append(self.v)
            return self.v

    t = rc.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert t[Counting(1), :, Counting(-1)].tolist() == [[[15.0], [19.0], [23.0]]]
    assert t[[Counting(0), Counting(1)], 0].shape == (2, 1, 4)
    t[Counting(0), Counting(0)] = 1.0
    assert len(calls) == 6


# ------------------------------------------------------------------ thread counts


def test_gather_and_scatter_do_not_depend_on_the_thread_count(threads):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((7, 300, 257)).astype(np.float32)  # > 2^18: runs on the pool
    t = rc.tensor(a)
    keys = [
        (slice(None), slice(None, None, -1), rng.integers(-257, 257, 300)),
        (rng.integers(0, 7, 9), slice(1, None, 2), slice(None)),
        a > 0,
        (Ellipsis, slice(None, None, 3)),
        # whole layers, and runs of whole rows: one copy per layer, cut between threads
        rng.integers(-7, 7, 9),
        (slice(None, None, -1), slice(5, 290)),
    ]
    results = {}
    for n in (1, 2, 3, 8):
        _runtime.set_num_threads(n)
        got = [t[k] for k in keys]
        got.append(t.flip(2))
        got.append(t.tile((1, 1, 2)))
        got.append(t.transpose((2, 0, 1)))
        plan = rc._tensor._index_plan(t, keys[0])  # repeated columns: serial scatter
        got.append(rc._tensor._scatter_add(t[keys[0]], plan))
        u = rc.zeros((7, 300, 257))
        u[keys[1]] = 1.5
        u[keys[0]] = t[keys[0]]
        got.append(u)
        results[n] = got
    for n in (2, 3, 8):
        for x, y in zip(results[1], results[n], strict=True):
            assert np.asarray(x).tobytes() == np.asarray(y).tobytes()
    for k, got in zip(keys, results[1][: len(keys)], strict=True):
        np.testing.assert_array_equal(np.asarray(got), ref_getitem(a, k))
    flip, tile, perm = results[1][len(keys) : len(keys) + 3]
    np.testing.assert_array_equal(np.asarray(flip), a[:, :, ::-1])
    np.testing.assert_array_equal(np.asarray(tile), np.tile(a, (1, 1, 2)))
    np.testing.assert_array_equal(np.asarray(perm), a.transpose(2, 0, 1))


def test_gather_copies_unit_step_runs():
    # long unit-step runs along the last axis are copied as blocks: check run edges
    a = np.arange(2 * 3 * 200, dtype=np.float32).reshape(2, 3, 200)
    t = rc.tensor(a)
    cols = np.r_[0:40, 50:90, 10:30, 199, 198, 100:200, 0:1]
    check_get(a, (slice(None), slice(None), cols))
    check_get(a, (slice(None), [2, 0], cols[::-1]))
    # one backwards run (flip's reversed copy, from 8 columns), and shorter ones
    for rev in (np.r_[199:0:-1], np.r_[150:20:-1], np.r_[7:-1:-1], np.r_[6:-1:-1]):
        check_get(a, (slice(None), slice(None), rev))
        stop = int(rev[-1]) - 1 if rev[-1] > 0 else None
        check_get(a, (slice(None), [1], slice(int(rev[0]), stop, -1)))
    np.testing.assert_array_equal(np.asarray(t.flip(2)), a[:, :, ::-1])
    np.testing.assert_array_equal(np.asarray(t.tile(3)), np.tile(a, 3))
    np.testing.assert_array_equal(np.asarray(t.repeat(2, axis=1)), np.repeat(a, 2, axis=1))


# --------------------------------------------------------------------- shape ops


def test_stack():
    rng = np.random.default_rng(4)
    ms = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(5)]
    out = rc.stack([ms[0], rc.tensor(ms[1])] + ms[2:])
    np.testing.assert_array_equal(np.asarray(out), np.stack(ms))
    assert rc.stack([[[1.0, 2.0]]]).shape == (1, 1, 2)
    assert rc.stack(rc.zeros((1, 0, 2)) for _ in range(3)).shape == (3, 0, 2)
    with pytest.raises(rc.ShapeError, match=r"\(1, 3, 4\) and \(1, 4, 3\)"):
        rc.stack([ms[0], ms[0].T])
    with pytest.raises(rc.ShapeError, match=r"\(2, 3, 4\)"):
        rc.stack([rc.zeros((2, 3, 4))])
    with pytest.raises(ValueError, match="at least one"):
        rc.stack([])


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_split(axis):
    a = np.arange(2 * 6 * 4, dtype=np.float32).reshape(2, 6, 4)
    if axis in (0, 1):
        a = np.arange(6 * 6 * 4, dtype=np.float32).reshape(6, 6, 4)
    t = rc.tensor(a)
    for s in [1, 2, [1, 3], [0, 2, 2, 9], [-2], []]:
        got = rc.split(t, s, axis=axis)
        want = np.split(a, s, axis=axis)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape
            np.testing.assert_array_equal(np.asarray(g), w)
    with pytest.raises(rc.ShapeError, match="does not divide into 5 equal sections"):
        rc.split(t, 5, axis=axis)
    with pytest.raises(ValueError, match="positive"):
        rc.split(t, 0, axis=axis)
    assert len(rc.split(a, 3, axis=0)) == 3 if a.shape[0] % 3 == 0 else True


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, (0, 2), (2, 1), [0, 1, 2]])
def test_flip(axis):
    a = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    want = np.flip(a, axis=tuple(axis) if isinstance(axis, list) else axis)
    np.testing.assert_array_equal(np.asarray(rc.tensor(a).flip(axis)), want)


def test_flip_errors():
    with pytest.raises(ValueError, match="repeated axis"):
        rc.zeros((2, 2, 2)).flip((0, -3))
    with pytest.raises(ValueError, match="out of range"):
        rc.zeros((2, 2, 2)).flip(3)


def test_repeat():
    a = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    t = rc.tensor(a)
    for axis in (0, 1, 2, -2):
        for r in (0, 1, 3):
            np.testing.assert_array_equal(np.asarray(t.repeat(r, axis)), np.repeat(a, r, axis))
    np.testing.assert_array_equal(np.asarray(t.repeat([1, 0, 2], 1)), np.repeat(a, [1, 0, 2], 1))
    np.testing.assert_array_equal(
        np.asarray(t.repeat(np.array([2, 1]), axis=0)), np.repeat(a, [2, 1], 0)
    )
    np.testing.assert_array_equal(np.asarray(t.repeat(2)), np.repeat(a, 2).reshape(1, 1, -1))
    with pytest.raises(ValueError, match="non-negative"):
        t.repeat(-1, 0)
    with pytest.raises(rc.ShapeError, match="2 repeat counts"):
        t.repeat([1, 2], 1)
    with pytest.raises(ValueError, match="too large"):
        t.repeat(2**60, 0)


@pytest.mark.parametrize("reps", [1, 2, 0, (2, 3), (3, 1, 2), [1, 0, 1], (1,)])
def test_tile(reps):
    a = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(np.asarray(rc.tensor(a).tile(reps)), np.tile(a, reps))


def test_tile_errors():
    with pytest.raises(rc.ShapeError, match="1 to 3 entries"):
        rc.zeros((1, 1, 1)).tile((1, 1, 1, 1))
    with pytest.raises(ValueError, match="non-negative"):
        rc.zeros((1, 1, 1)).tile(-1)


def test_transpose():
    a = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    t = rc.tensor(a)
    np.testing.assert_array_equal(np.asarray(t.transpose()), a.transpose(0, 2, 1))
    np.testing.assert_array_equal(np.asarray(t.T), a.transpose(0, 2, 1))
    for perm in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0), (-1, 0, 1)]:
        want = a.transpose(perm)
        np.testing.assert_array_equal(np.asarray(t.transpose(perm)), want)
        np.testing.assert_array_equal(np.asarray(t.transpose(list(perm))), want)
        np.testing.assert_array_equal(np.asarray(t.transpose(*perm)), want)
    for bad in [(0, 1), (0, 0, 1), (0, 1, 3)]:
        with pytest.raises(ValueError, match="permutation|out of range"):
            t.transpose(bad)
    assert t.transpose((2, 0, 1)) is not t


@pytest.mark.parametrize(
    "args",
    [
        (5,),
        (0,),
        (-3,),
        (2, 7),
        (7, 2),
        (7, 2, -1),
        (0.0, 1.0, 0.1),
        (1, 2, 0.25),
        (-1.5, 2.5, 0.7),
        (10, -10, -3),
        (0, 1e-300, 1e300),
        (0, -1e-300, 1e300),
        (3.0,),
        (1e8, 1e8 + 5),
        (0, 5, float("inf")),
    ],
)
def test_arange(args):
    got = rc.arange(*args)
    want = np.arange(*args, dtype=np.float64).astype(np.float32)
    assert got.shape == (1, 1, want.size)
    np.testing.assert_array_equal(np.asarray(got).ravel(), want)


def test_arange_errors():
    with pytest.raises(ValueError, match="zero"):
        rc.arange(0, 1, 0)
    with pytest.raises(ValueError, match="finite"):
        rc.arange(0, float("inf"))
    with pytest.raises(ValueError, match="too many"):
        rc.arange(0, 1e30)
    with pytest.raises(TypeError):
        rc.arange("3")


@pytest.mark.parametrize("num", [0, 1, 2, 5, 50, 101])
@pytest.mark.parametrize("endpoint", [True, False])
@pytest.mark.parametrize("ends", [(0.0, 1.0), (-3.0, 7.5), (2.0, 2.0), (1.0, -1.0), (0, 1e-310)])
def test_linspace(num, endpoint, ends):
    got = rc.linspace(*ends, num=num, endpoint=endpoint)
    want = np.linspace(*ends, num=num, endpoint=endpoint).astype(np.float32)
    assert got.shape == (1, 1, num)
    np.testing.assert_array_equal(np.asarray(got).ravel(), want)


def test_linspace_errors():
    with pytest.raises(ValueError, match="negative"):
        rc.linspace(0, 1, -1)


@pytest.mark.parametrize(
    "n, m, k",
    [(3, None, 0), (3, 5, 0), (5, 3, 0), (4, 4, 1), (4, 4, -2), (3, 3, 5), (0, None, 0), (2, 0, 0)],
)
def test_eye(n, m, k):
    got = rc.eye(n, m, k)
    want = np.eye(n, m, k, dtype=np.float32)[None]
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.asarray(got), want)


def test_one_hot():
    want = np.eye(4, dtype=np.float32)[[0, 3, 1, 1]][None]
    for labels in [
        [0, 3, 1, 1],
        np.array([0, 3, 1, 1]),
        np.array([0.0, 3.0, 1.0, 1.0]),
        rc.tensor([0, 3, 1, 1]),
        np.array([[0], [3], [1], [1]], np.uint8),
    ]:
        got = rc.one_hot(labels, 4)
        assert got.shape == (1, 4, 4)
        np.testing.assert_array_equal(np.asarray(got), want)
    assert rc.one_hot([], 3).shape == (1, 0, 3)
    with pytest.raises(ValueError, match=r"label 4 \(position 1\) is out of range for 4"):
        rc.one_hot([0, 4], 4)
    with pytest.raises(ValueError, match=r"label -1 .* out of range"):
        rc.one_hot(np.array([-1]), 4)
    with pytest.raises(ValueError, match=r"label 1.5 \(position 2\) is not a whole number"):
        rc.one_hot([0, 1, 1.5], 4)
    with pytest.raises(ValueError, match="nan .* not a whole number"):
        rc.one_hot(rc.tensor([float("nan")]), 4)
    with pytest.raises(ValueError, match="out of range"):
        rc.one_hot([2**70], 4)
    with pytest.raises(TypeError):
        rc.one_hot([True, False], 2)
    with pytest.raises(TypeError):
        rc.one_hot("abc", 2)


# ---------------------------------------------------------------------- autograd


def _rand(shape, seed):
    return rc.tensor(np.random.default_rng(seed).uniform(-2, 2, shape).astype(np.float32))


def _tape_grads(fn, inputs, w):
    with rc.autograd.Tape() as tape:
        tape.watch(*inputs)
        out = fn(*inputs)
    return out, tape.gradient(out, list(inputs), output_gradient=w)


def _check_torch(fn, tfn, inputs, seed=0):
    """Tape gradients of sum(fn(*inputs) * w) against torch autograd in float64."""
    torch = require("torch")
    out = fn(*inputs)
    w = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape).astype(np.float32)
    _, gs = _tape_grads(fn, inputs, w)
    ts = [torch.tensor(np.asarray(x, np.float64), requires_grad=True) for x in inputs]
    tout = tfn(*ts)
    assert tuple(tout.shape) == out.shape
    np.testing.assert_allclose(np.asarray(out), tout.detach().numpy(), rtol=1e-6)
    (tout * torch.tensor(w.astype(np.float64))).sum().backward()
    for g, t in zip(gs, ts, strict=True):
        np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), rtol=1e-6, atol=1e-6)


GRAD_CASES = [
    # name, fn, torch fn, input shapes
    ("layer", lambda x: x[1], lambda x: x[1:2], [(3, 2, 4)]),
    ("np int layer", lambda x: x[np.int64(-1)], lambda x: x[2:3], [(3, 2, 4)]),
    ("slices", lambda x: x[::-1, 1:, ::2], lambda x: x.flip(0)[:, 1:, ::2], [(3, 4, 5)]),
    ("int + slice", lambda x: x[:, 2], lambda x: x[:, 2:3], [(2, 3, 4)]),
    ("repeated ids", lambda x: x[:, [0, 2, 0, 0]], lambda x: x[:, [0, 2, 0, 0]], [(2, 3, 4)]),
    (
        "outer ids",
        lambda x: x[[1, 1], :, [3, 0, 3]],
        lambda x: x[[1, 1]][:, :, [3, 0, 3]],
        [(2, 3, 4)],
    ),
    (
        "mask axis",
        lambda x: x[..., [True, False, True, True]],
        lambda x: x[..., [0, 2, 3]],
        [(2, 3, 4)],
    ),
    ("flip", lambda x: x.flip((0, 2)), lambda x: x.flip((0, 2)), [(2, 3, 4)]),
    ("repeat", lambda x: x.repeat(3, 1), lambda x: x.repeat_interleave(3, 1), [(2, 3, 4)]),
    (
        "repeat counts",
        lambda x: x.repeat([2, 0, 1, 3], axis=-1),
        lambda x: x.repeat_interleave(x.new_tensor([2, 0, 1, 3]).long(), -1),
        [(2, 3, 4)],
    ),
    (
        "repeat flat",
        lambda x: x.repeat(2),
        lambda x: x.reshape(1, 1, -1).repeat_interleave(2, 2),
        [(2, 3, 4)],
    ),
    ("tile", lambda x: x.tile((2, 1, 3)), lambda x: x.tile((2, 1, 3)), [(2, 3, 4)]),
    ("permute", lambda x: x.transpose((2, 0, 1)), lambda x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("permute 2", lambda x: x.transpose(1, 0, 2), lambda x: x.permute(1, 0, 2), [(2, 3, 4)]),
    ("transpose", lambda x: x.transpose(), lambda x: x.transpose(1, 2), [(2, 3, 4)]),
    (
        "stack",
        lambda a, b: rc.stack([a, b, a]),
        lambda a, b: torch_cat([a, b, a]),
        [(1, 3, 4), (1, 3, 4)],
    ),
    (
        "split",
        lambda x: rc.concat([p * (i + 1.0) for i, p in enumerate(rc.split(x, [1, 3], axis=2))], 2),
        lambda x: torch_cat([x[..., :1], 2 * x[..., 1:3], 3 * x[..., 3:]], 2),
        [(2, 3, 5)],
    ),
]


def torch_cat(parts, dim=0):
    return require("torch").cat(parts, dim)


@pytest.mark.parametrize("name, fn, tfn, shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_shape_op_gradients(name, fn, tfn, shapes):
    inputs = [_rand(s, i) for i, s in enumerate(shapes)]
    assert rc.autograd.gradcheck(fn, inputs)
    _check_torch(fn, tfn, inputs)


def test_whole_mask_gradient():
    x = _rand((2, 3, 4), 5)
    m = np.asarray(x) > 0
    assert rc.autograd.gradcheck(lambda t: t[m], [x])
    w = np.arange(1, int(m.sum()) + 1, dtype=np.float32).reshape(1, 1, -1)
    _, (g,) = _tape_grads(lambda t: t[m], [x], w)
    want = np.zeros((2, 3, 4), np.float32)
    want[m] = w.ravel()
    np.testing.assert_array_equal(np.asarray(g), want)


def test_repeated_index_gradients_accumulate():
    x = rc.zeros((2, 1, 3))
    _, (g,) = _tape_grads(lambda t: t[[0, 0, 1, 0]], [x], np.ones((4, 1, 3), np.float32))
    assert np.asarray(g)[:, 0, 0].tolist() == [3.0, 1.0]
    _, (g,) = _tape_grads(lambda t: t.tile(3), [x], np.ones((2, 1, 9), np.float32))
    assert set(np.asarray(g).ravel().tolist()) == {3.0}


def test_setitem_is_not_recorded_and_guards_earlier_uses():
    x = _rand((2, 3, 4), 1)
    with rc.autograd.Tape() as tape:
        tape.watch(x)
        y = x[:, 1] * 2.0
        z = x.copy()
        z[0] = 0.0  # z is in place: not recorded, its version moves on
    (g,) = tape.gradient(y, [x])
    want = np.zeros((2, 3, 4), np.float32)
    want[:, 1] = 2.0
    np.testing.assert_array_equal(np.asarray(g), want)
    with rc.autograd.Tape() as tape:
        tape.watch(x)
        y = x[0] * 1.0
        x[1, 0, 0] = 5.0
    with pytest.raises(RuntimeError):
        tape.gradient(y, [x])  # x changed after x[0] was recorded
