"""rcmlrs.autograd's tape and the rules of the core ops.

Every rule is checked twice: against central finite differences (``gradcheck``) and
against torch autograd in float64 on the same inputs (skips per test without torch).
Inputs are drawn away from the kinks (|x| >= 0.1 for relu-like ops, x > 0.2 for log,
sqrt and powf) so the finite differences are meaningful.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rcmlrs as rc
from rcmlrs import _runtime
from rcmlrs.autograd import GradcheckError, Tape, gradcheck
from tests.conftest import require


def _rand(shape, seed, lo=-2.0, hi=2.0, away=0.0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(lo, hi, size=shape)
    if away:
        a = np.where(np.abs(a) < away, np.sign(a + 1e-12) * away, a)
    return rc.tensor(a.astype(np.float32))


def _grads(fn, inputs, w=None):
    """rcmlrs tape gradients of sum(fn(*inputs) * w)."""
    tensors = [x for x in inputs if isinstance(x, rc.RamTensor)]
    with Tape() as tape:
        tape.watch(*tensors)
        out = fn(*inputs)
    w = np.ones(out.shape, np.float32) if w is None else w
    return out, tape.gradient(out, tensors, output_gradient=w)


def _torch_grads(tfn, inputs, w):
    torch = require("torch")
    ts = [
        torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
        if isinstance(x, rc.RamTensor)
        else x
        for x in inputs
    ]
    out = tfn(*ts)
    (out * torch.tensor(np.asarray(w, np.float64))).sum().backward()
    return [t.grad.numpy() for t in ts if isinstance(t, torch.Tensor)]


def _check_torch(fn, tfn, inputs, rtol=1e-4, atol=1e-5, seed=0):
    out, gs = _grads(fn, inputs)
    w = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape).astype(np.float32)
    _, gs = _grads(fn, inputs, w)
    ref = _torch_grads(tfn, inputs, w)
    assert len(gs) == len(ref)
    for g, r in zip(gs, ref, strict=True):
        np.testing.assert_allclose(np.asarray(g), r, rtol=rtol, atol=atol)


# --------------------------------------------------------------- broadcast shapes


@st.composite
def _bshapes(draw):
    full = tuple(draw(st.integers(1, 4)) for _ in range(3))
    a = tuple(d if draw(st.booleans()) else 1 for d in full)
    b = tuple(d if draw(st.booleans()) else 1 for d in full)
    return a, b


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=15, deadline=None)
@given(shapes=_bshapes(), seed=st.integers(0, 2**16))
def test_binary_broadcast_against_torch_and_fd(name, shapes, seed):
    fn, tfn = BINARY[name]
    a = _rand(shapes[0], seed)
    b = _rand(shapes[1], seed + 1, 0.5, 2.0)  # a divisor away from 0
    _check_torch(fn, tfn, [a, b], seed=seed)
    assert gradcheck(fn, [a, b], eps=1e-2, atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: a + 2.5,
        lambda a: 2.5 - a,
        lambda a: a - 1.5,
        lambda a: 3.0 * a,
        lambda a: a / 4.0,
        lambda a: 4.0 / a,
        lambda a: a * 0.5,
        lambda a: -a,
    ],
)
def test_scalar_operands(fn):
    a = _rand((2, 3, 4), 1, 0.5, 2.0)
    _check_torch(fn, fn, [a])
    _check_torch(lambda t: t.scale(0.5), lambda t: t * 0.5, [a])
    assert gradcheck(fn, [a], eps=1e-2)


UNARY = {
    "abs": (lambda x: x.abs(), lambda x: x.abs(), {"away": 0.1}),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), {"lo": 0.2}),
    "exp": (lambda x: x.exp(), lambda x: x.exp(), {}),
    "log": (lambda x: x.log(), lambda x: x.log(), {"lo": 0.2}),
    "powi3": (lambda x: x.powi(3), lambda x: x**3, {}),
    "powi-2": (lambda x: x.powi(-2), lambda x: x**-2, {"lo": 0.3}),
    "powf": (lambda x: x.powf(1.7), lambda x: x**1.7, {"lo": 0.2}),
    "pow_op": (lambda x: x**2.5, lambda x: x**2.5, {"lo": 0.2}),
    "clip": (lambda x: x.clip(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), {}),
    "relu": (lambda x: x.relu(), lambda x: x.relu(), {"away": 0.1}),
    "leaky_relu": (
        lambda x: x.leaky_relu(0.2),
        lambda x: __import__("torch").nn.functional.leaky_relu(x, 0.2),
        {"away": 0.1},
    ),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid(), {}),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh(), {}),
    "swish": (lambda x: x.swish(), lambda x: __import__("torch").nn.functional.silu(x), {}),
    "gelu": (
        lambda x: x.gelu(),
        lambda x: __import__("torch").nn.functional.gelu(x, approximate="tanh"),
        {},
    ),
    "gelu_erf": (
        lambda x: x.gelu(approximate=False),
        lambda x: __import__("torch").nn.functional.gelu(x),
        {},
    ),
    "erf": (lambda x: x.erf(), lambda x: __import__("torch").special.erf(x), {}),
    "softmax": (lambda x: x.softmax(), lambda x: x.softmax(-1), {}),
    "softmax0": (lambda x: x.softmax(axis=0), lambda x: x.softmax(0), {}),
    "log_softmax": (lambda x: x.log_softmax(), lambda x: x.log_softmax(-1), {}),
    "log_softmax1": (lambda x: x.log_softmax(axis=1), lambda x: x.log_softmax(1), {}),
    "copy": (lambda x: x.copy(), lambda x: x.clone(), {}),
    "transpose": (lambda x: x.transpose(), lambda x: x.transpose(1, 2), {}),
    "T": (lambda x: x.T * 2.0, lambda x: x.transpose(1, 2) * 2.0, {}),
    "reshape": (lambda x: x.reshape((4, 3, 2)), lambda x: x.reshape(4, 3, 2), {}),
    "flatten": (lambda x: x.flatten(), lambda x: x.reshape(2, 1, 12), {}),
    "pad_grow": (
        lambda x: x.pad((5, 6), 3, 1.5),
        lambda x: __import__("torch").nn.functional.pad(x, (0, 2, 0, 2, 0, 1), value=1.5),
        {},
    ),
    "pad_crop": (lambda x: x.pad((2, 3)), lambda x: x[:, :2, :3], {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_against_torch_and_fd(name):
    fn, tfn, rng = UNARY[name]
    x = _rand((2, 3, 4), 7, rng.get("lo", -2.0), 2.0, rng.get("away", 0.0))
    _check_torch(fn, tfn, [x], rtol=2e-4, atol=2e-5)
    assert gradcheck(fn, [x], eps=1e-2, atol=2e-2, rtol=2e-2)


REDUCE = {
    "sum": (lambda x, a: x.sum(axis=a), lambda x, a: x.sum(a, keepdim=True)),
    "mean": (lambda x, a: x.mean(axis=a), lambda x, a: x.mean(a, keepdim=True)),
    "max": (lambda x, a: x.max(axis=a), lambda x, a: x.amax(a, keepdim=True)),
    "min": (lambda x, a: x.min(axis=a), lambda x, a: x.amin(a, keepdim=True)),
    "var": (lambda x, a: x.var(axis=a), lambda x, a: x.var(a, keepdim=True, correction=0)),
    "var1": (lambda x, a: x.var(axis=a, ddof=1), lambda x, a: x.var(a, keepdim=True)),
    "std": (lambda x, a: x.std(axis=a), lambda x, a: x.std(a, keepdim=True, correction=0)),
}


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
@pytest.mark.parametrize("name", sorted(REDUCE))
def test_reductions_against_torch_and_fd(name, axis):
    fn, tfn = REDUCE[name]
    x = _rand((3, 4, 5), 11)
    _check_torch(lambda t: fn(t, axis), lambda t: tfn(t, axis), [x], rtol=2e-4, atol=2e-5)
    assert gradcheck(lambda t: fn(t, axis), [x], eps=1e-3, atol=2e-2, rtol=2e-2)


def test_max_ties_split_the_gradient_like_torch_amax():
    x = rc.tensor([[[1.0, 3.0, 3.0, 2.0]]])
    _, (g,) = _grads(lambda t: t.max(axis=2), [x])
    assert g.tolist() == [[[0.0, 0.5, 0.5, 0.0]]]


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("layers", [(1, 1), (3, 3), (1, 3), (3, 1)])
def test_matmul_transposes_and_layer_broadcast(ta, tb, layers):
    m, k, n = 3, 4, 5
    a = _rand((layers[0],) + ((k, m) if ta else (m, k)), 1)
    b = _rand((layers[1],) + ((n, k) if tb else (k, n)), 2)

    def fn(a, b):
        return a.matmul(b, transpose_a=ta, transpose_b=tb)

    def tfn(a, b):
        return (a.transpose(1, 2) if ta else a) @ (b.transpose(1, 2) if tb else b)

    _check_torch(fn, tfn, [a, b])
    assert gradcheck(fn, [a, b], eps=1e-2)


def test_matmul_operator_and_a_chain():
    x = _rand((1, 6, 4), 3)
    w1 = _rand((1, 4, 8), 4)
    b1 = _rand((1, 1, 8), 5)
    w2 = _rand((1, 8, 3), 6)

    def fn(x, w1, b1, w2):
        return ((x @ w1 + b1).tanh() @ w2).softmax().log().mean(axis=1)

    def tfn(x, w1, b1, w2):
        return ((x @ w1 + b1).tanh() @ w2).softmax(-1).log().mean(1, keepdim=True)

    _check_torch(fn, tfn, [x, w1, b1, w2])
    assert gradcheck(fn, [x, w1, b1, w2], eps=1e-2)


def test_insert_matrix():
    x = _rand((3, 2, 2), 1)
    m = _rand((1, 2, 2), 2)
    out, (gx, gm) = _grads(lambda x, m: x.insert_matrix(1, m) * 3.0, [x, m])
    assert np.asarray(gx)[1].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert np.all(np.asarray(gx)[[0, 2]] == 3.0) and np.all(np.asarray(gm) == 3.0)


# --------------------------------------------------------------- the tape itself


def test_nothing_is_recorded_without_a_watched_input():
    a = rc.ones((1, 2, 2))
    with Tape() as tape:
        b = (a * 2.0).exp().sum(axis=0)
        tape.watch(b)
        c = b + a
    assert len(tape) == 1 and tape.entries[0][0] == "add" and tape.entries[0][1] is c
    # and outside a tape nothing is recorded at all
    assert rc._tensor._get_tape() is None


def test_pruning_skips_the_gradients_nobody_asked_for():
    x, w = _rand((1, 4, 3), 1), _rand((1, 3, 2), 2)
    with Tape() as tape:
        tape.watch(x, w)
        y = (x @ w).sum(axis=1)
    text = tape.listing(y, [w])
    assert "_, dw1 += matmul'" in text  # dx is pruned: one GEMM, not two
    (gw,) = tape.gradient(y, [w])
    np.testing.assert_allclose(
        np.asarray(gw),
        np.asarray(x).sum(1).T[None].repeat(1, 0).reshape(1, 3, 1).repeat(2, 2),
        rtol=1e-6,
    )


def test_gradient_accumulates_over_reuse_and_unconnected_sources_get_zeros():
    x = rc.tensor([[[1.0, 2.0, 3.0]]])
    u = rc.ones((1, 1, 3))
    with Tape() as tape:
        tape.watch(x, u)
        y = (x * x + x * 3.0 + x).sum(axis=2)
    gx, gu = tape.gradient(y, [x, u])
    assert gx.tolist() == [[[6.0, 8.0, 10.0]]]
    assert gu.tolist() == [[[0.0, 0.0, 0.0]]]
    # a single source gives a single tensor; gradient can be called again
    assert tape.gradient(y, x).tolist() == [[[6.0, 8.0, 10.0]]]


def test_in_place_change_after_recording_is_refused():
    x = _rand((1, 2, 3), 1)
    with Tape() as tape:
        tape.watch(x)
        h = x.exp()
        y = (h * h).sum(axis=2)
    h += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        tape.gradient(y, [x])
    x2 = _rand((1, 2, 3), 1)
    with Tape() as tape:
        tape.watch(x2)
        h = x2.sigmoid()
        y = (h * x2).sum(axis=1)
        h.relu_()
    with pytest.raises(RuntimeError, match="modified in place"):
        tape.gradient(y, [x2])


def test_errors_name_the_problem():
    x = _rand((1, 2, 3), 1)
    with Tape() as tape:
        tape.watch(x)
        y = x.map(lambda v: v * 2).sum(axis=2)
        z = x.sum()  # a float: cannot be a target
    with pytest.raises(NotImplementedError, match="'map' has no gradient rule"):
        tape.gradient(y, [x])
    with pytest.raises(TypeError, match="target must be a RamTensor"):
        tape.gradient(z, [x])
    with pytest.raises(ValueError, match="was not watched"):
        tape.gradient(y, [rc.ones((1, 2, 3))])
    with pytest.raises(TypeError, match="expected a RamTensor"):
        tape.watch(np.ones(3))
    with pytest.raises(rc.ShapeError, match="output_gradient"):
        tape.gradient(y, [x], output_gradient=np.ones((1, 1, 5), np.float32))


def test_gradcheck_reports_a_wrong_rule():
    from rcmlrs.autograd import registry

    saved = registry.RULES["exp"]
    registry.RULES["exp"] = lambda g, out, inputs, attrs, needs: (g * 2.0,)
    try:
        with pytest.raises(GradcheckError, match="input 0, element"):
            gradcheck(lambda t: t.exp(), [_rand((1, 2, 2), 1)])
    finally:
        registry.RULES["exp"] = saved


def test_nested_tapes_and_other_threads():
    x = _rand((1, 2, 2), 3)
    with Tape() as outer:
        outer.watch(x)
        with Tape() as inner:
            inner.watch(x)
            y = (x * x).sum(axis=1)
        z = (y * 2.0).sum(axis=2)
    assert len(inner) == 2 and len(outer) == 4
    res = []
    with Tape() as tape:
        tape.watch(x)
        t = threading.Thread(target=lambda: res.append(x.exp()))
        t.start()
        t.join()
    assert len(tape) == 0  # the other thread's op is not this tape's
    assert outer.gradient(z, x).allclose(x * 4.0)


def test_gradients_are_identical_at_any_thread_count():
    x = _rand((1, 96, 200), 1)
    w = _rand((1, 200, 300), 2)

    def run():
        with Tape() as tape:
            tape.watch(x, w)
            y = ((x @ w).tanh() * (x @ w)).mean(axis=1).sum(axis=2)
        return [np.asarray(g).copy() for g in tape.gradient(y, [x, w])]

    old = _runtime.get_num_threads()
    try:
        _runtime.set_num_threads(1)
        a = run()
        _runtime.set_num_threads(2)
        b = run()
    finally:
        _runtime.set_num_threads(old)
    for u, v in zip(a, b, strict=True):
        assert u.tobytes() == v.tobytes()


def test_listing_shows_forward_and_backward():
    x, w = _rand((1, 2, 3), 1), _rand((1, 3, 2), 2)
    with Tape() as tape:
        tape.watch(x, w)
        y = (x @ w).relu().mean(axis=2)
    text = tape.listing(y, [x, w])
    assert "t0 = matmul(w0, w1) -> (1, 2, 2)" in text
    assert "dw0, dw1 += matmul'(dt0)" in text and "relu'" in text and "mean'" in text


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_concat_against_torch_and_fd(axis):
    torch = require("torch")
    a, b = _rand((2, 3, 4), 1), _rand((2, 3, 4), 2)
    if axis == 1:
        b = _rand((2, 2, 4), 2)

    def fn(a, b):
        return rc.concat([a, b * 2.0], axis=axis)

    _check_torch(fn, lambda a, b: torch.cat([a, b * 2.0], dim=axis), [a, b])
    assert gradcheck(fn, [a, b], eps=1e-2)
