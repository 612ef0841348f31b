"""Optimizers: trajectories vs torch.optim, the low-level step vs a float64 formula,
checkpoints, every backend and thread count vs serial, validation and edge cases."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime

BACKENDS = _runtime.capabilities()
SHAPES = [(3, 4), (1, 1, 1), (2, 5, 33), (257,)]


def make_params(rng, shapes=SHAPES):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def grad_fn(step, params, rng_seed=7):
    """Gradients that depend on the parameters (a quadratic pull to 0.5) plus fixed noise,
    so trajectories feed back like real training."""
    r = np.random.default_rng(rng_seed + step)
    return [(0.5 * (p - 0.5) + r.standard_normal(p.shape) * 0.1).astype(np.float32) for p in params]


def run_rc(opt_factory, init, steps):
    params = [rc.tensor(p) for p in init]
    opt = opt_factory(params)
    for s in range(steps):
        opt.step(
            grad_fn(s, [np.asarray(p).reshape(q.shape) for p, q in zip(params, init, strict=True)])
        )
    return [np.asarray(p).reshape(q.shape) for p, q in zip(params, init, strict=True)], opt


def run_torch(torch, opt_factory, init, steps):
    params = [torch.nn.Parameter(torch.tensor(p)) for p in init]
    opt = opt_factory(params)
    for s in range(steps):
        gs = grad_fn(s, [p.detach().numpy() for p in params])
        for p, g in zip(params, gs, strict=True):
            p.grad = torch.tensor(g)
        opt.step()
    return [p.detach().numpy() for p in params]


ADAM_CASES = {
    "adam": (dict(lr=1e-2), dict(lr=1e-2)),
    "adam_betas": (
        dict(lr=3e-2, beta1=0.3, beta2=0.9, eps=1e-6),
        dict(lr=3e-2, betas=(0.3, 0.9), eps=1e-6),
    ),
    "adam_l2": (dict(lr=1e-2, weight_decay=0.1), dict(lr=1e-2, weight_decay=0.1)),
    "adamw": (
        dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
        dict(lr=1e-2, weight_decay=0.1),
    ),
    "amsgrad": (
        dict(lr=1e-2, amsgrad=True, weight_decay=0.01),
        dict(lr=1e-2, amsgrad=True, weight_decay=0.01),
    ),
    "adamw_amsgrad": (
        dict(lr=2e-2, amsgrad=True, weight_decay=0.05, decoupled_weight_decay=True),
        dict(lr=2e-2, amsgrad=True, weight_decay=0.05),
    ),
}


@pytest.mark.parametrize("case", sorted(ADAM_CASES))
def test_adam_trajectory_matches_torch(case, rng):
    torch = pytest.importorskip("torch")
    ours, theirs = ADAM_CASES[case]
    init = make_params(rng)
    got, opt = run_rc(lambda ps: rc.Adam(ps, **ours), init, 60)
    cls = torch.optim.AdamW if case.startswith("adamw") else torch.optim.Adam
    want = run_torch(torch, lambda ps: cls(ps, foreach=False, **theirs), init, 60)
    assert opt.t == 60
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=2e-6)


SGD_CASES = {
    "plain": dict(lr=0.05),
    "momentum": dict(lr=0.05, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "wd": dict(lr=0.05, weight_decay=0.01),
    "momentum_wd_damp": dict(lr=0.05, momentum=0.8, weight_decay=0.01, dampening=0.3),
    "nesterov_wd": dict(lr=0.02, momentum=0.95, nesterov=True, weight_decay=0.05),
}


@pytest.mark.parametrize("case", sorted(SGD_CASES))
def test_sgd_trajectory_matches_torch(case, rng):
    torch = pytest.importorskip("torch")
    hp = SGD_CASES[case]
    init = make_params(rng)
    got, _ = run_rc(lambda ps: rc.SGD(ps, **hp), init, 60)
    want = run_torch(torch, lambda ps: torch.optim.SGD(ps, foreach=False, **hp), init, 60)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=2e-6)


def test_adam_foreach_and_fused_torch_agree(rng):
    torch = pytest.importorskip("torch")
    init = make_params(rng, [(1000,)])
    got, _ = run_rc(lambda ps: rc.Adam(ps, lr=1e-2), init, 50)
    for kw in (dict(foreach=True), dict(fused=True)):
        want = run_torch(torch, lambda ps, kw=kw: torch.optim.Adam(ps, lr=1e-2, **kw), init, 50)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=2e-6)


# ---------------------------------------------------------------- low level


def ref_adam(p, g, m, v, step, lr, b1, b2, eps, wd, vmax=None, decoupled=False):
    p, g, m, v = (np.float64(x) for x in (p, g, m, v))
    if wd and decoupled:
        p = p * (1 - lr * wd)
    elif wd:
        g = g + wd * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    vv = v
    if vmax is not None:
        vmax = np.maximum(np.float64(vmax), v)
        vv = vmax
    denom = np.sqrt(vv) / math.sqrt(1 - b2**step) + eps
    p = p - lr / (1 - b1**step) * m / denom
    return p, m, v, vmax


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_update_vs_float64(amsgrad, decoupled, rng):
    n = 1003
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    m = (rng.standard_normal(n) * 0.1).astype(np.float32)
    v = rng.uniform(0, 0.1, n).astype(np.float32)
    vmax = rng.uniform(0, 0.1, n).astype(np.float32) if amsgrad else None
    hp = dict(lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-7, weight_decay=0.03)
    want = ref_adam(
        p,
        g,
        m,
        v,
        7,
        hp["lr"],
        hp["beta1"],
        hp["beta2"],
        hp["eps"],
        hp["weight_decay"],
        vmax,
        decoupled,
    )
    tp, tg, tm, tv = (rc.tensor(x) for x in (p, g, m, v))
    tvmax = rc.tensor(vmax) if amsgrad else None
    rc.adam_update(tp, tg, tm, tv, 7, vmax=tvmax, decoupled_weight_decay=decoupled, **hp)
    for got, w in zip((tp, tm, tv), want[:3], strict=True):
        np.testing.assert_allclose(np.asarray(got)[0, 0], w, rtol=2e-6, atol=1e-7)
    if amsgrad:
        np.testing.assert_allclose(np.asarray(tvmax)[0, 0], want[3], rtol=2e-6)
    np.testing.assert_array_equal(np.asarray(tg)[0, 0], g)  # grad is read only


def test_adam_update_shares_numpy_memory(rng):
    p = rng.standard_normal(10).astype(np.float32)
    p0 = p.copy()
    m, v = np.zeros(10, np.float32), np.zeros(10, np.float32)
    rc.adam_update(rc.from_numpy(p), np.ones(10), rc.from_numpy(m), rc.from_numpy(v), 1, lr=0.1)
    np.testing.assert_allclose(p, p0 - 0.1, rtol=1e-6)  # first Adam step moves by ~lr
    assert (m != 0).all() and (v != 0).all()


# -------------------------------------------------------------- checkpoints


@pytest.mark.parametrize(
    "factory",
    [
        lambda ps: rc.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=0.01),
        lambda ps: rc.Adam(ps, lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
        lambda ps: rc.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    ],
)
def test_state_dict_round_trip_continues_identically(factory, rng):
    init = make_params(rng)
    params = [rc.tensor(p) for p in init]
    opt = factory(params)
    for s in range(10):
        opt.step(grad_fn(s, [np.asarray(p) for p in params]))
    sd = opt.state_dict()
    sd_pickled = pickle.loads(pickle.dumps(sd))
    saved_params = [p.copy() for p in params]
    for s in range(10, 25):
        opt.step(grad_fn(s, [np.asarray(p) for p in params]))
    # a fresh optimizer over copies of the checkpointed params
    params2 = [p.copy() for p in saved_params]
    opt2 = factory(params2)
    opt2.load_state_dict(sd_pickled)
    assert opt2.t == 10
    for s in range(10, 25):
        opt2.step(grad_fn(s, [np.asarray(p) for p in params2]))
    assert opt2.t == opt.t == 25
    for a, b in zip(params, params2, strict=True):
        assert a.equals(b)
    # the state_dict is a snapshot: later steps did not change it
    again = copy.deepcopy(sd)
    for st, st2 in zip(sd["state"], again["state"], strict=True):
        for k, val in st.items():
            if isinstance(val, rc.RamTensor):
                assert val.equals(st2[k])


def test_load_state_dict_validates(rng):
    p = rc.tensor(rng.standard_normal((3, 4)))
    opt = rc.Adam([p])
    opt.step([rc.ones((3, 4))])
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="SGD"):
        rc.SGD([p.copy()]).load_state_dict(sd)
    with pytest.raises(ValueError, match="1 parameter states"):
        rc.Adam([p.copy(), p.copy()]).load_state_dict(sd)
    with pytest.raises(rc.ShapeError):
        rc.Adam([rc.zeros((4, 3))]).load_state_dict(sd)
    with pytest.raises(ValueError, match="keys"):
        rc.Adam([p.copy()], amsgrad=True).load_state_dict(sd)
    with pytest.raises(ValueError):
        rc.Adam([p.copy()]).load_state_dict({"nope": 1})


def test_param_added_later_starts_its_own_bias_correction(rng):
    torch = pytest.importorskip("torch")
    a0, b0 = make_params(rng, [(5,), (6,)])
    a, b = rc.tensor(a0), rc.tensor(b0)
    opt = rc.Adam([a], lr=0.1)
    ta = torch.nn.Parameter(torch.tensor(a0))
    tb = torch.nn.Parameter(torch.tensor(b0))
    topt = torch.optim.Adam([ta], lr=0.1, foreach=False)
    for s in range(6):
        if s == 3:
            opt.add_params([b])
            topt.add_param_group({"params": [tb]})
        gs = grad_fn(s, [a0, b0])
        opt.step([gs[0], gs[1]] if s >= 3 else [gs[0]])
        ta.grad = torch.tensor(gs[0])
        tb.grad = torch.tensor(gs[1])
        topt.step()
    np.testing.assert_allclose(np.asarray(a)[0, 0], ta.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(b)[0, 0], tb.detach().numpy(), rtol=1e-5)


# ---------------------------------------------------- backends and threads


def _trajectory(n, steps=4):
    r = np.random.default_rng(3)
    init = r.standard_normal(n).astype(np.float32)
    out = []
    for factory in (
        lambda ps: rc.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=0.01),
        lambda ps: rc.Adam(ps, lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
        lambda ps: rc.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    ):
        p = rc.tensor(init)
        opt = factory([p])
        for s in range(steps):
            opt.step([rc.tensor(np.sin(np.arange(n, dtype=np.float32) * (s + 1)))])
        out.append(p)
    return out


@pytest.mark.parametrize("n", [1, 45, 200_003])
def test_every_backend_and_thread_count_matches_serial_bitwise(n, restore):
    _runtime.set_backend("serial")
    rc.set_num_threads(1)
    ref = _trajectory(n)
    for backend in BACKENDS:
        _runtime.set_backend(backend)
        for threads in (1, 2, 5):
            rc.set_num_threads(threads)
            for a, b in zip(ref, _trajectory(n), strict=True):
                assert a.equals(b), (backend, threads)


# ------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=-1e-3),
        dict(lr=float("nan")),
        dict(beta1=1.0),
        dict(beta1=-0.1),
        dict(beta2=1.0),
        dict(beta2=1.5),
        dict(eps=0.0),
        dict(eps=-1e-8),
        dict(weight_decay=-0.1),
    ],
)
def test_adam_bad_hyperparameters(kw):
    name = next(iter(kw))
    with pytest.raises(ValueError, match=name):
        rc.Adam(**kw)
    p = rc.zeros(3)
    with pytest.raises(ValueError, match=name):
        rc.adam_update(p, rc.zeros(3), rc.zeros(3), rc.zeros(3), 1, **kw)


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=-1.0),
        dict(momentum=-0.5),
        dict(weight_decay=-1.0),
        dict(nesterov=True),
        dict(nesterov=True, momentum=0.9, dampening=0.5),
    ],
)
def test_sgd_bad_hyperparameters(kw):
    with pytest.raises(ValueError):
        rc.SGD(**kw)


def test_type_errors():
    with pytest.raises(TypeError):
        rc.Adam(lr="fast")
    with pytest.raises(TypeError):
        rc.Adam([np.zeros(3)])  # params must be RamTensors (updated in place)
    with pytest.raises(TypeError):
        rc.adam_update(np.zeros(3), np.zeros(3), rc.zeros(3), rc.zeros(3), 1)
    with pytest.raises(TypeError):
        rc.adam_update(rc.zeros(3), np.zeros(3), rc.zeros(3), rc.zeros(3), 1.5)
    with pytest.raises(ValueError, match="step"):
        rc.adam_update(rc.zeros(3), np.zeros(3), rc.zeros(3), rc.zeros(3), 0)


def test_grad_count_and_shape_errors_leave_params_untouched():
    a, b = rc.ones((2, 3)), rc.ones(4)
    opt = rc.Adam([a, b], lr=0.1)
    with pytest.raises(ValueError, match="1 gradients for 2 parameters"):
        opt.step([rc.ones((2, 3))])
    with pytest.raises(rc.ShapeError, match=r"\(1, 3, 2\).*\(1, 2, 3\)"):
        opt.step([rc.ones((3, 2)), rc.ones(4)])
    with pytest.raises(rc.ShapeError, match="gradient 1"):
        opt.step([rc.ones((2, 3)), rc.ones(5)])
    assert a.equals(rc.ones((2, 3))) and b.equals(rc.ones(4)) and opt.t == 0
    with pytest.raises(rc.ShapeError, match=r"grad shape \(1, 1, 5\).*\(1, 1, 4\)"):
        rc.adam_update(b, rc.ones(5), rc.zeros(4), rc.zeros(4), 1)
    with pytest.raises(rc.ShapeError, match="m has shape"):
        rc.adam_update(b, rc.ones(4), rc.zeros(5), rc.zeros(4), 1)
    with pytest.raises(ValueError, match="m and v share memory"):
        m = rc.zeros(4)
        rc.adam_update(b, rc.ones(4), m, m, 1)
    with pytest.raises(ValueError, match="already registered"):
        opt.add_params([a])


def test_nan_grads_propagate_and_none_skips():
    a, b = rc.ones(4), rc.ones(4)
    opt = rc.Adam([a, b], lr=0.1, amsgrad=True)
    opt.step([rc.tensor([np.nan, 1, 1, 1]), None])
    assert math.isnan(a[0, 0, 0]) and not math.isnan(a[0, 0, 1])
    assert b.equals(rc.ones(4))  # skipped
    assert opt.state[1]["step"] == 0 and opt.state[0]["step"] == 1
    opt.step([rc.ones(4), rc.ones(4)])
    assert math.isnan(a[0, 0, 0]) and math.isnan(opt.state[0]["vmax"][0, 0, 0])
    s = rc.SGD([rc.ones(3)], momentum=0.9)
    s.step([rc.tensor([np.inf, -np.inf, np.nan])])
    vals = s.params[0].tolist()[0][0]
    assert vals[0] == -math.inf and vals[1] == math.inf and math.isnan(vals[2])


def test_aliased_grad_is_read_before_write():
    p = rc.ones(5)
    rc.SGD([p], lr=0.5).step([p])  # grad is the param itself
    assert p.equals(rc.full(5, 0.5))


def test_repr_hyperparameters_and_t():
    opt = rc.SGD([rc.ones(2)], lr=0.1, momentum=0.5)
    assert "SGD(lr=0.1" in repr(opt) and "momentum=0.5" in repr(opt)
    assert opt.t == 0
    opt.step([rc.ones(2)])
    assert opt.t == 1
    assert rc.Adam().params == [] and "Adam(" in repr(rc.Adam())


def test_empty_param():
    p = rc.zeros((1, 0, 3))
    opt = rc.Adam([p])
    opt.step([rc.zeros((1, 0, 3))])
    assert opt.t == 1
