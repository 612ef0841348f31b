"""Activations, derivatives, fused backward and the softmax family (issue 4).

Values against float64 NumPy formulas; derivatives against central finite differences
of the float64 formula; backward against deriv * grad; softmax backward and GELU against
torch autograd (skipped without torch); every backend against the serial reference on
unaligned borrowed buffers; extremes.
"""

import math

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime

BACKENDS = _runtime.capabilities()
_erfc64 = np.frompyfunc(math.erfc, 1, 1)
K = math.sqrt(2.0 / math.pi)


def _sig(v):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-v))


def _gelu_erf(v):
    return 0.5 * v * _erfc64(-v / math.sqrt(2.0)).astype(np.float64)


REF = {
    # name: (rcmlrs forward, rcmlrs deriv, rcmlrs backward, float64 formula)
    "relu": (
        lambda t: t.relu(),
        lambda t: t.relu_deriv(),
        lambda t, g: t.relu_backward(g),
        lambda v: np.maximum(v, 0.0),
    ),
    "leaky_relu": (
        lambda t: t.leaky_relu(0.1),
        lambda t: t.leaky_relu_deriv(0.1),
        lambda t, g: t.leaky_relu_backward(g, 0.1),
        lambda v: np.where(v > 0, v, 0.1 * v),
    ),
    "sigmoid": (
        lambda t: t.sigmoid(),
        lambda t: t.sigmoid_deriv(),
        lambda t, g: t.sigmoid_backward(g),
        _sig,
    ),
    "tanh": (
        lambda t: t.tanh(),
        lambda t: t.tanh_deriv(),
        lambda t, g: t.tanh_backward(g),
        np.tanh,
    ),
    "swish": (
        lambda t: t.swish(),
        lambda t: t.swish_deriv(),
        lambda t, g: t.swish_backward(g),
        lambda v: v * _sig(v),
    ),
    "gelu": (
        lambda t: t.gelu(),
        lambda t: t.gelu_deriv(),
        lambda t, g: t.gelu_backward(g),
        lambda v: 0.5 * v * (1.0 + np.tanh(K * (v + 0.044715 * v**3))),
    ),
    "gelu_erf": (
        lambda t: t.gelu(approximate=False),
        lambda t: t.gelu_deriv(approximate=False),
        lambda t, g: t.gelu_backward(g, approximate=False),
        _gelu_erf,
    ),
}


def _inputs(rng):
    x = np.concatenate(
        [
            rng.standard_normal(3000) * 3,
            rng.uniform(-12, 12, 2000),
            np.linspace(-20, 20, 801),
        ]
    ).astype(np.float32)
    return x


@pytest.mark.parametrize("name", sorted(REF))
def test_values_match_float64(name, rng, backend):
    fwd, _, _, ref = REF[name]
    x = _inputs(rng)
    got = fwd(rc.tensor(x)).numpy().ravel().astype(np.float64)
    np.testing.assert_allclose(got, ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REF))
def test_derivatives_match_central_differences(name, rng):
    _, deriv, _, ref = REF[name]
    x = _inputs(rng)
    x = x[np.abs(x) > 1e-3]  # away from the relu kink
    x64 = x.astype(np.float64)
    h = 1e-6 * np.maximum(1.0, np.abs(x64))
    fd = (ref(x64 + h) - ref(x64 - h)) / (2 * h)
    got = deriv(rc.tensor(x)).numpy().ravel().astype(np.float64)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(REF))
def test_backward_is_deriv_times_grad(name, rng, backend):
    _, deriv, backward, _ = REF[name]
    x = rc.tensor(_inputs(rng)[:2900].reshape(2, 29, 50))
    g = rc.randn(x.shape, seed=5)
    want = (deriv(x) * g).numpy()
    got = backward(x, g).numpy()
    np.testing.assert_array_equal(got, want)


def test_backward_from_saved_output(rng):
    x = rc.tensor((rng.standard_normal((2, 30, 40)) * 4).astype(np.float32))
    g = rc.randn(x.shape, seed=6)
    for name, kw in [("relu", {}), ("leaky_relu", {"slope": 0.2}), ("sigmoid", {}), ("tanh", {})]:
        y = getattr(x, name)(**kw)
        a = getattr(x, name + "_backward")(g, **kw)
        b = getattr(x, name + "_backward")(g, output=y, **kw)
        # the y form has absolute (not relative) accuracy: 1 - y cancels in the tails
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=2e-6, atol=1e-6, err_msg=name)
    y = x.relu()
    assert x.relu_backward(g, output=y).equals(x.relu_backward(g))
    # a negative slope breaks "y > 0 iff x > 0": x is used instead
    y = x.leaky_relu(-0.5)
    assert x.leaky_relu_backward(g, -0.5, output=y).equals(x.leaky_relu_backward(g, -0.5))
    # activations whose derivative is not a function of y ignore it
    assert x.gelu_backward(g).equals(x.swish_backward(g).mul(0).add(x.gelu_backward(g)))
    with pytest.raises(rc.ShapeError, match="output shape"):
        x.sigmoid_backward(g, output=rc.zeros((1, 30, 40)))


def test_aliases_and_inplace(rng):
    x = rc.tensor(rng.standard_normal((2, 3, 4)).astype(np.float32))
    assert x.lrelu(0.2).equals(x.leaky_relu(0.2))
    assert x.lrelu_deriv(0.2).equals(x.leaky_relu_deriv(0.2))
    g = rc.ones(x.shape)
    assert x.lrelu_backward(g, 0.2).equals(x.leaky_relu_backward(g, 0.2))
    assert x.leaky_relu().equals(x.leaky_relu(0.01))
    for name in ["relu", "sigmoid", "tanh", "swish", "gelu"]:
        want = getattr(x, name)()
        arr = x.numpy().copy()
        t = rc.from_numpy(arr)
        assert getattr(t, name + "_")() is t
        assert t.equals(want) and np.array_equal(arr, want.numpy())  # borrowed buffer updated
    t = x.copy()
    assert t.leaky_relu_(0.3) is t and t.equals(x.leaky_relu(0.3))
    t = x.copy()
    assert t.gelu_(approximate=False) is t and t.equals(x.gelu(approximate=False))


def test_extremes():
    inf, nan = np.inf, np.nan
    x = rc.tensor([-1e4, 1e4, -inf, inf, nan, -0.0, 0.0, 1e-45, -1e-40])
    with np.errstate(all="ignore"):
        outs = {
            n: getattr(x, n)().numpy().ravel()
            for n in ["relu", "leaky_relu", "sigmoid", "tanh", "swish", "gelu"]
        }
        outs["gelu_erf"] = x.gelu(approximate=False).numpy().ravel()
    assert list(outs["sigmoid"][:4]) == [0, 1, 0, 1]
    assert list(outs["tanh"][:4]) == [-1, 1, -1, 1]
    for name in ["swish", "gelu", "gelu_erf"]:
        v = outs[name]
        assert v[0] == 0 and v[1] == 1e4 and v[2] == 0 and v[3] == inf, name
    assert list(outs["relu"][:4]) == [0, 1e4, 0, inf]
    assert list(outs["leaky_relu"][:4]) == [np.float32(-100.0), 1e4, -inf, inf]
    for name, v in outs.items():
        assert np.isnan(v[4]), name  # NaN in -> NaN out
        assert not np.isnan(np.delete(v, 4)).any(), name  # never NaN from overflow
    # signed zero: relu(-0.0) = +0.0 (as max(x, 0)), the odd ones keep -0.0
    assert not np.signbit(outs["relu"][5]) and np.signbit(outs["tanh"][5])
    assert np.signbit(outs["leaky_relu"][5])
    # subnormals pass through the linear-near-0 functions
    assert outs["relu"][7] == np.float32(1e-45) and outs["tanh"][8] == np.float32(-1e-40)
    with np.errstate(all="ignore"):
        derivs = [
            x.relu_deriv(),
            x.leaky_relu_deriv(),
            x.sigmoid_deriv(),
            x.tanh_deriv(),
            x.swish_deriv(),
            x.gelu_deriv(),
            x.gelu_deriv(approximate=False),
        ]
    for d in derivs:
        v = d.numpy().ravel()
        assert np.isnan(v[4]) and not np.isnan(np.delete(v, 4)).any()
        assert np.all(np.isfinite(np.delete(v, 4)))
    sd = x.sigmoid_deriv().numpy().ravel()
    assert sd[0] == 0 and sd[1] == 0 and sd[5] == 0.25
    assert x.swish_deriv().numpy().ravel()[3] == 1 and x.gelu_deriv().numpy().ravel()[3] == 1


def test_errors():
    x = rc.zeros((2, 3, 4))
    with pytest.raises(rc.ShapeError, match=r"sigmoid_backward.*\(1, 3, 4\).*\(2, 3, 4\)"):
        x.sigmoid_backward(rc.zeros((1, 3, 4)))
    with pytest.raises(rc.ShapeError, match="softmax_backward"):
        x.softmax_backward(rc.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="axis"):
        x.softmax(axis=3)
    with pytest.raises(TypeError):
        x.softmax(axis="rows")
    with pytest.raises(TypeError):
        x.leaky_relu("steep")
    with pytest.raises(TypeError):
        x.relu_backward(None)


# ---------------------------------------------------------------------------- softmax


def _softmax64(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_softmax_and_log_softmax_every_axis(axis, rng, backend):
    a = (rng.standard_normal((3, 5, 70)) * 4).astype(np.float32)
    t = rc.tensor(a)
    want = _softmax64(a.astype(np.float64), axis)
    np.testing.assert_allclose(t.softmax(axis).numpy(), want, rtol=2e-6, atol=1e-9)
    np.testing.assert_allclose(t.log_softmax(axis).numpy(), np.log(want), rtol=1e-5, atol=2e-6)
    assert t.softmax().equals(t.softmax(-1))


def test_softmax_is_stable_for_large_inputs():
    a = np.array([[1000.0, 1001.0, 1002.0], [-1e4, 0.0, 1e4], [3e38, 3e38, -3e38]], np.float32)
    t = rc.tensor(a)
    s, ls = t.softmax().numpy()[0], t.log_softmax().numpy()[0]
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ls[:2]))
    np.testing.assert_allclose(s[0], _softmax64(np.array([0.0, 1.0, 2.0]), 0), rtol=1e-6)
    np.testing.assert_allclose(ls[0], [-2.40760596, -1.40760596, -0.40760596], rtol=1e-6)
    assert list(s[1]) == [0, 0, 1] and ls[1][2] == 0 and ls[1][0] == -2e4
    np.testing.assert_allclose(s[2], [0.5, 0.5, 0.0])


def test_softmax_nan_stays_in_its_slice():
    a = np.zeros((1, 3, 4), np.float32)
    a[0, 1, 2] = np.nan
    s = rc.tensor(a).softmax().numpy()[0]
    assert np.isnan(s[1]).all() and np.allclose(s[[0, 2]], 0.25)
    s0 = rc.tensor(a).softmax(axis=1).numpy()[0]
    assert np.isnan(s0[:, 2]).all() and np.allclose(s0[:, [0, 1, 3]], 1 / 3)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_backward_matches_torch(axis, rng):
    torch = pytest.importorskip("torch")
    a = (rng.standard_normal((2, 6, 33)) * 3).astype(np.float32)
    g = rng.standard_normal(a.shape).astype(np.float32)
    ta = torch.tensor(a.astype(np.float64), requires_grad=True)
    torch.softmax(ta, dim=axis).backward(torch.tensor(g.astype(np.float64)))
    got = rc.tensor(a).softmax_backward(rc.tensor(g), axis).numpy()
    np.testing.assert_allclose(got, ta.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_softmax_jacobian(rng):
    a = (rng.standard_normal((2, 3, 5)) * 2).astype(np.float32)
    t = rc.tensor(a)
    J = t.softmax_jacobian()
    assert J.shape == (6, 5, 5)
    y = _softmax64(a.reshape(6, 5).astype(np.float64), -1)
    want = np.stack([np.diag(r) - np.outer(r, r) for r in y])
    np.testing.assert_allclose(J.numpy(), want, rtol=1e-5, atol=1e-7)
    # J^T g row by row is what softmax_backward computes
    g = rng.standard_normal((2, 3, 5)).astype(np.float32)
    jtg = np.einsum("rij,ri->rj", J.numpy().astype(np.float64), g.reshape(6, 5))
    np.testing.assert_allclose(
        t.softmax_backward(rc.tensor(g)).numpy().reshape(6, 5), jtg, rtol=1e-5, atol=1e-6
    )
    assert rc.zeros((2, 0, 3)).softmax_jacobian().shape == (0, 3, 3)


def test_gelu_and_backward_match_torch(rng):
    torch = pytest.importorskip("torch")
    a = (rng.standard_normal(4000) * 4).astype(np.float32)
    g = rng.standard_normal(4000).astype(np.float32)
    for approx, mode in [(True, "tanh"), (False, "none")]:
        ta = torch.tensor(a.astype(np.float64), requires_grad=True)
        y = torch.nn.functional.gelu(ta, approximate=mode)
        y.backward(torch.tensor(g.astype(np.float64)))
        t = rc.tensor(a)
        np.testing.assert_allclose(
            t.gelu(approx).numpy().ravel(), y.detach().numpy(), rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(
            t.gelu_backward(rc.tensor(g), approx).numpy().ravel(),
            ta.grad.numpy(),
            rtol=1e-5,
            atol=1e-6,
        )


# ---------------------------------------------------------------- backends and threads


def _all_kernels(x, g, rows):
    tx, tg = rc.from_numpy(x), rc.from_numpy(g)
    out = []
    for fwd, deriv, backward, _ in REF.values():
        out += [fwd(tx), deriv(tx), backward(tx, tg)]
    out += [tx.erf()]
    for name in ["relu", "sigmoid", "tanh"]:
        y = getattr(tx, name)()
        out.append(getattr(tx, name + "_backward")(tg, output=y))
    if rows:
        m = rc.from_numpy(x.reshape(rows, -1))
        gm = rc.from_numpy(g.reshape(rows, -1))
        for ax in (-1, -2):
            out += [m.softmax(ax), m.log_softmax(ax), m.softmax_backward(gm, ax)]
        out += [m.min_max_norm(axis=-1), m.z_score_norm(axis=-2)]
    # bit-exact, except that a NaN's sign/payload is not part of the contract
    res = []
    for o in out:
        v = o.numpy().copy()
        v[np.isnan(v)] = np.nan
        res.append(v.view(np.uint32))
    return res


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_backend_matches_serial_all_lengths(name):
    rng = np.random.default_rng(7)
    old = _runtime.get_backend()
    try:
        for n in range(68):
            # one float in, so the borrowed buffers are not 64-byte aligned
            bx = (rng.standard_normal(2 * n + 1) * 5).astype(np.float32)
            bg = rng.standard_normal(2 * n + 1).astype(np.float32)
            if n > 3:
                bx[3] = np.nan
                bx[4] = -np.inf
            x, g = bx[1:], bg[1:]
            _runtime.set_backend("serial")
            with np.errstate(all="ignore"):
                want = _all_kernels(x, g, 2 if n else 0)
            _runtime.set_backend(name)
            with np.errstate(all="ignore"):
                got = _all_kernels(x, g, 2 if n else 0)
            for i, (w, gt) in enumerate(zip(want, got, strict=True)):
                np.testing.assert_array_equal(gt, w, err_msg=f"{name} n={n} kernel #{i}")
    finally:
        _runtime.set_backend(old)


def test_thread_count_does_not_change_bits(threads):
    x = rc.randn((3, 200, 500), seed=9) * 4
    g = rc.randn((3, 200, 500), seed=10)
    res = []
    for nt in (1, 2, 3):
        rc.set_num_threads(nt)
        res.append(
            [
                x.sigmoid(),
                x.relu(),
                x.gelu_backward(g),
                x.softmax(),
                x.log_softmax(1),
                x.softmax_backward(g, 0),
                x.z_score_norm(),
                x.min_max_norm(axis=0),
            ]
        )
    for other in res[1:]:
        for a, b in zip(res[0], other, strict=True):
            assert a.equals(b)


def test_empty_and_tiny_shapes():
    for shp in [(0,), (2, 0, 3), (1, 1, 1), (3, 1, 1)]:
        t = rc.ones(shp)
        for name in ["relu", "sigmoid", "gelu", "softmax", "log_softmax", "sigmoid_deriv"]:
            assert getattr(t, name)().shape == t.shape
        assert t.softmax_backward(rc.ones(shp)).shape == t.shape
    assert rc.tensor([5.0]).softmax().to_scalar() == 1.0
    assert rc.tensor([5.0]).log_softmax().to_scalar() == 0.0
