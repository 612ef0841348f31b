"""RMSprop, Adagrad and Nadam (trajectories vs torch.optim, checkpoints, every backend and
thread count vs serial), the options every optimizer shares (learning_rate=, a live lr,
clipnorm / clipvalue vs torch's clipping), and rc.optim.schedules vs torch's
lr_scheduler and Keras's documented formulas."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from conftest import require

import rcmlrs as rc
from rcmlrs import _runtime
from rcmlrs.optim import schedules

BACKENDS = _runtime.capabilities()
SHAPES = [(3, 4), (1, 1, 1), (2, 5, 33), (257,)]
STEPS = 20


def make_params(rng, shapes=SHAPES):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def grad_fn(step, params, seed=7):
    """Gradients that depend on the parameters plus fixed noise (feedback as in training)."""
    r = np.random.default_rng(seed + step)
    return [(0.5 * (p - 0.5) + r.standard_normal(p.shape) * 0.1).astype(np.float32) for p in params]


def run_rc(factory, init, steps=STEPS, grads=grad_fn):
    params = [rc.tensor(p) for p in init]
    opt = factory(params)
    for s in range(steps):
        opt.step(
            grads(s, [np.asarray(p).reshape(q.shape) for p, q in zip(params, init, strict=True)])
        )
    return [np.asarray(p).reshape(q.shape) for p, q in zip(params, init, strict=True)], opt


def run_torch(torch, factory, init, steps=STEPS, grads=grad_fn, clip=None):
    params = [torch.nn.Parameter(torch.tensor(p)) for p in init]
    opt = factory(params)
    for s in range(steps):
        gs = grads(s, [p.detach().numpy() for p in params])
        for p, g in zip(params, gs, strict=True):
            p.grad = torch.tensor(g)
            if clip is not None:
                clip(p)
        opt.step()
    return [p.detach().numpy() for p in params]


def close(got, want, rtol=1e-5, atol=2e-6):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# ours, torch's class name, torch's kwargs
CASES = {
    "rmsprop": ("RMSprop", dict(lr=1e-2), dict(lr=1e-2)),
    "rmsprop_all": (
        "RMSprop",
        dict(lr=5e-3, alpha=0.9, eps=1e-6, weight_decay=0.05, momentum=0.8, centered=True),
        dict(lr=5e-3, alpha=0.9, eps=1e-6, weight_decay=0.05, momentum=0.8, centered=True),
    ),
    "rmsprop_centered": ("RMSprop", dict(centered=True), dict(centered=True)),
    "rmsprop_momentum_wd": (
        "RMSprop",
        dict(lr=1e-3, momentum=0.9, weight_decay=0.01),
        dict(lr=1e-3, momentum=0.9, weight_decay=0.01),
    ),
    "rmsprop_low_alpha": (
        "RMSprop",
        dict(alpha=0.3, centered=True),
        dict(alpha=0.3, centered=True),
    ),
    "adagrad": ("Adagrad", dict(lr=0.1), dict(lr=0.1)),
    "adagrad_defaults": ("Adagrad", dict(), dict()),
    "adagrad_all": (
        "Adagrad",
        dict(lr=0.05, lr_decay=0.1, weight_decay=0.02, initial_accumulator_value=0.3, eps=1e-7),
        dict(lr=0.05, lr_decay=0.1, weight_decay=0.02, initial_accumulator_value=0.3, eps=1e-7),
    ),
    "nadam": ("NAdam", dict(), dict()),
    "nadam_all": (
        "NAdam",
        dict(lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.05, momentum_decay=0.01),
        dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, momentum_decay=0.01),
    ),
    "nadamw": (
        "NAdam",
        dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
        dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
    ),
    "nadam_low_beta1": ("NAdam", dict(beta1=0.3, lr=0.05), dict(betas=(0.3, 0.999), lr=0.05)),
}
OURS = {"RMSprop": rc.RMSprop, "Adagrad": rc.Adagrad, "NAdam": rc.Nadam}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_torch(case, rng):
    torch = require("torch")
    name, ours, theirs = CASES[case]
    init = make_params(rng)
    got, opt = run_rc(lambda ps: OURS[name](ps, **ours), init)
    cls = getattr(torch.optim, name)
    want = run_torch(torch, lambda ps: cls(ps, foreach=False, **theirs), init)
    assert opt.t == STEPS
    if case == "rmsprop_low_alpha":
        # centered with alpha 0.3 divides by sqrt(sq - ga^2), a variance estimate of a
        # gradient that hardly varies: the cancellation magnifies torch's FMA roundings
        # (its vectorised addcmul and add(alpha=) use fused multiply-adds) ~30-fold
        close(got, want, rtol=1e-4, atol=2e-5)
    else:
        close(got, want)


@pytest.mark.parametrize("name", ["RMSprop", "Adagrad", "NAdam"])
def test_defaults_are_torchs(name):
    torch = require("torch")
    ours = OURS[name]().hyperparameters()
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)]).defaults
    for k, v in ours.items():
        key = {"beta1": "betas", "beta2": "betas"}.get(k, k)
        if key not in theirs:
            assert k in ("clipnorm", "clipvalue") and v is None
            continue
        want = theirs[key]
        if key == "betas":
            want = want[0] if k == "beta1" else want[1]
        assert v == want, (name, k)


def test_compile_names():
    from rcmlrs.nn import optimizers

    for name, cls in [("rmsprop", rc.RMSprop), ("adagrad", rc.Adagrad), ("nadam", rc.Nadam)]:
        assert type(optimizers.get(name)) is cls
        assert type(optimizers.get(name.upper())) is cls
    with pytest.raises(ValueError, match="rmsprop"):
        optimizers.get("adadelta")


# ------------------------------------------------------------------ checkpoints

FACTORIES = {
    "rmsprop": lambda ps: rc.RMSprop(ps, lr=1e-2, momentum=0.9, centered=True, weight_decay=0.01),
    "rmsprop_plain": lambda ps: rc.RMSprop(ps),
    "adagrad": lambda ps: rc.Adagrad(ps, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1),
    "nadam": lambda ps: rc.Nadam(ps, lr=1e-2, weight_decay=0.01),
    "nadam_clip_sched": lambda ps: rc.Nadam(
        ps, lr=schedules.CosineDecay(1e-2, 20, warmup_steps=5, warmup_target=2e-2), clipnorm=1.0
    ),
}


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_state_dict_round_trip_resumes_bit_for_bit(kind, rng):
    factory = FACTORIES[kind]
    params = [rc.tensor(p) for p in make_params(rng)]
    opt = factory(params)
    for s in range(10):
        opt.step(grad_fn(s, [np.asarray(p) for p in params]))
    sd = pickle.loads(pickle.dumps(opt.state_dict()))
    saved = [p.copy() for p in params]
    for s in range(10, 20):
        opt.step(grad_fn(s, [np.asarray(p) for p in params]))
    params2 = [p.copy() for p in saved]
    opt2 = factory(params2)
    opt2.load_state_dict(sd)
    assert opt2.t == 10
    for s in range(10, 20):
        opt2.step(grad_fn(s, [np.asarray(p) for p in params2]))
    for a, b in zip(params, params2, strict=True):
        assert a.equals(b)


def test_load_state_dict_validates(rng):
    p = rc.tensor(rng.standard_normal((3, 4)))
    opt = rc.Nadam([p])
    opt.step([rc.ones((3, 4))])
    sd = opt.state_dict()
    assert 0.0 < sd["state"][0]["mu_product"] < 1.0
    with pytest.raises(ValueError, match="Adam"):
        rc.Adam([p.copy()]).load_state_dict(sd)
    bad = pickle.loads(pickle.dumps(sd))
    bad["state"][0]["mu_product"] = 2.0
    with pytest.raises(ValueError, match="mu_product"):
        rc.Nadam([p.copy()]).load_state_dict(bad)
    r = rc.RMSprop([p.copy()])
    r.step([rc.ones((3, 4))])
    with pytest.raises(ValueError, match="keys"):
        rc.RMSprop([p.copy()], centered=True).load_state_dict(r.state_dict())
    with pytest.raises(ValueError, match="centered"):
        r.load_state_dict({**r.state_dict(), "hyper": {**r.hyperparameters(), "centered": True}})


@pytest.mark.parametrize("opt_name", ["rmsprop", "adagrad", "nadam"])
def test_model_save_load_restores_the_optimizer(opt_name, tmp_path):
    nn = rc.nn
    r = np.random.default_rng(0)
    x = r.standard_normal((64, 5)).astype(np.float32)
    y = r.standard_normal((64, 2)).astype(np.float32)

    def make():
        m = nn.Sequential([nn.Dense(8, "tanh"), nn.Dense(2)])
        return m

    m = make()
    m.compile(optimizer=opt_name, loss="mse")
    m.fit(x, y, epochs=2, batch_size=16, seed=1, verbose=0)
    path = tmp_path / "m.rcml"
    m.save(path)
    m2 = nn.load_model(path)
    assert type(m2.optimizer) is type(m.optimizer)
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    m2.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(m.weights, m2.weights, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_model_save_load_keeps_a_schedule_and_clipping(tmp_path):
    nn = rc.nn
    r = np.random.default_rng(0)
    x = r.standard_normal((32, 3)).astype(np.float32)
    y = r.standard_normal((32, 1)).astype(np.float32)
    sched = schedules.ExponentialDecay(0.05, 0.5, decay_steps=3, staircase=True)
    m = nn.Sequential([nn.Dense(4, "relu"), nn.Dense(1)])
    m.compile(optimizer=rc.RMSprop(lr=sched, clipvalue=0.1, momentum=0.5), loss="mse")
    m.fit(x, y, epochs=2, batch_size=8, seed=3, verbose=0)
    path = tmp_path / "m.rcml"
    m.save(path)
    m2 = nn.load_model(path)
    opt2 = m2.optimizer
    assert opt2.schedule == sched and opt2.clipvalue == 0.1 and opt2.clipnorm is None
    assert opt2.t == m.optimizer.t == 8 and opt2.lr == m.optimizer.lr == sched(8)
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    m2.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(m.weights, m2.weights, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_a_custom_schedule_is_not_saved():
    from rcmlrs.nn import optimizers

    assert optimizers.savable(rc.Adam(lr=schedules.StepDecay(0.1, 2)))
    assert not optimizers.savable(rc.Adam(lr=lambda t: 0.1))


# --------------------------------------------------------- backends and threads


def _trajectories(n, steps=4):
    r = np.random.default_rng(3)
    init = r.standard_normal(n).astype(np.float32)
    out = []
    for factory in (
        lambda ps: rc.RMSprop(ps, lr=1e-2, momentum=0.9, centered=True, weight_decay=0.01),
        lambda ps: rc.RMSprop(ps, lr=1e-2),
        lambda ps: rc.Adagrad(ps, lr=0.1, lr_decay=0.1, weight_decay=0.01),
        lambda ps: rc.Nadam(ps, lr=1e-2, weight_decay=0.01),
        lambda ps: rc.Nadam(ps, lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True),
        lambda ps: rc.Adam(ps, lr=1e-2, clipnorm=0.5),
        lambda ps: rc.SGD(ps, lr=0.1, momentum=0.9, clipvalue=0.3),
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
    ref = _trajectories(n)
    for backend in BACKENDS:
        _runtime.set_backend(backend)
        for threads in (1, 2, 5):
            rc.set_num_threads(threads)
            for i, (a, b) in enumerate(zip(ref, _trajectories(n), strict=True)):
                assert a.equals(b), (backend, threads, i)


# ------------------------------------------------------- learning_rate and lr


@pytest.mark.parametrize("cls", [rc.Adam, rc.SGD, rc.RMSprop, rc.Adagrad, rc.Nadam])
def test_learning_rate_alias(cls, rng):
    a = cls(learning_rate=0.05)
    assert a.lr == a.learning_rate == 0.05
    assert cls().lr == cls(lr=cls().lr).lr  # the default is a plain number
    assert type(cls().lr) is float
    with pytest.raises(TypeError, match="both lr and learning_rate"):
        cls(lr=0.05, learning_rate=0.05)
    with pytest.raises(TypeError, match="both lr and learning_rate"):
        cls(None, cls().lr, learning_rate=0.1)  # lr given, equal to the default
    init = make_params(rng)
    got1, _ = run_rc(lambda ps: cls(ps, learning_rate=0.03), init, 5)
    got2, _ = run_rc(lambda ps: cls(ps, lr=0.03), init, 5)
    for x, y in zip(got1, got2, strict=True):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("cls", [rc.Adam, rc.SGD, rc.RMSprop, rc.Adagrad, rc.Nadam])
def test_lr_is_live(cls, rng):
    """Changing opt.lr between steps is the same as a schedule giving those rates."""
    init = make_params(rng)
    rates = [0.1, 0.1, 0.02, 0.0, 0.05]

    def stepwise(ps):
        return cls(ps, lr=0.1)

    params = [rc.tensor(p) for p in init]
    opt = stepwise(params)
    for s, lr in enumerate(rates):
        opt.lr = lr
        opt.step(
            grad_fn(s, [np.asarray(p).reshape(q.shape) for p, q in zip(params, init, strict=True)])
        )
    got, _ = run_rc(lambda ps: cls(ps, lr=lambda t: rates[t]), init, len(rates))
    for x, y in zip(
        got,
        [np.asarray(p).reshape(q.shape) for p, q in zip(params, init, strict=True)],
        strict=True,
    ):
        assert np.array_equal(x, y)
    opt.learning_rate = 0.25
    assert opt.lr == 0.25
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    with pytest.raises(TypeError):
        opt.lr = "fast"


def test_schedule_as_lr_matches_torch_scheduler(rng):
    """A schedule evaluated at the step count = torch's scheduler stepped every step."""
    torch = require("torch")
    init = make_params(rng)
    got, opt = run_rc(
        lambda ps: rc.SGD(ps, lr=schedules.StepDecay(0.1, 3, gamma=0.5), momentum=0.9), init
    )
    params = [torch.nn.Parameter(torch.tensor(p)) for p in init]
    topt = torch.optim.SGD(params, lr=0.1, momentum=0.9, foreach=False)
    sched = torch.optim.lr_scheduler.StepLR(topt, step_size=3, gamma=0.5)
    for s in range(STEPS):
        for p, g in zip(params, grad_fn(s, [p.detach().numpy() for p in params]), strict=True):
            p.grad = torch.tensor(g)
        topt.step()
        sched.step()
    close(got, [p.detach().numpy() for p in params])
    assert opt.lr == 0.1 * 0.5 ** (STEPS // 3)
    assert opt.schedule is not None and rc.Adam().schedule is None


def test_a_bad_schedule_value_is_refused():
    p = rc.zeros((2,))
    opt = rc.Adam([p], lr=lambda t: -0.1)
    with pytest.raises(ValueError, match="schedule"):
        opt.step([rc.ones((2,))])
    assert opt.t == 0 and p.equals(rc.zeros((2,)))
    opt.lr = lambda t: "x"
    with pytest.raises(TypeError, match="schedule"):
        opt.step([rc.ones((2,))])


# ------------------------------------------------------------------- clipping


def clip_grads(rng, scale=3.0):
    """Gradients with norms on both sides of the clip levels, and a zero gradient."""
    r = np.random.default_rng(11)

    def grads(step, params):
        out = [
            (r.standard_normal(p.shape) * scale * (i % 3)).astype(np.float32)
            for i, p in enumerate(params)
        ]
        return out

    return grads


@pytest.mark.parametrize("clipnorm", [0.5, 2.0, 100.0])
def test_clipnorm_matches_torch_per_tensor(clipnorm, rng):
    torch = require("torch")
    init = make_params(rng)
    got, _ = run_rc(
        lambda ps: rc.SGD(ps, lr=0.1, momentum=0.5, clipnorm=clipnorm), init, grads=clip_grads(rng)
    )
    want = run_torch(
        torch,
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5, foreach=False),
        init,
        grads=clip_grads(rng),
        clip=lambda p: torch.nn.utils.clip_grad_norm_([p], clipnorm, foreach=False),
    )
    close(got, want)


@pytest.mark.parametrize("clipvalue", [0.1, 1.0])
def test_clipvalue_matches_torch_clamp(clipvalue, rng):
    torch = require("torch")
    init = make_params(rng)
    got, _ = run_rc(
        lambda ps: rc.RMSprop(ps, lr=1e-2, clipvalue=clipvalue), init, grads=clip_grads(rng)
    )

    def clamp(p):
        p.grad.clamp_(-clipvalue, clipvalue)

    want = run_torch(
        torch,
        lambda ps: torch.optim.RMSprop(ps, lr=1e-2, foreach=False),
        init,
        grads=clip_grads(rng),
        clip=clamp,
    )
    close(got, want)


def test_clipping_exact_values_and_grads_untouched():
    g = rc.tensor(np.array([3.0, 4.0, 0.0], np.float32))  # norm 5
    p = rc.zeros((3,))
    rc.SGD([p], lr=1.0, clipnorm=1.0).step([g])
    np.testing.assert_allclose(np.asarray(p).ravel(), [-0.6, -0.8, 0.0], rtol=1e-7)
    assert g.equals(rc.tensor(np.array([3.0, 4.0, 0.0], np.float32)))  # the caller's grad
    p = rc.zeros((3,))
    rc.SGD([p], lr=1.0, clipnorm=5.0).step([g])  # norm not above clipnorm: unchanged
    assert np.array_equal(np.asarray(p).ravel(), np.float32([-3, -4, 0]))
    p = rc.zeros((3,))
    rc.SGD([p], lr=1.0, clipvalue=3.5).step([g])
    assert np.array_equal(np.asarray(p).ravel(), np.float32([-3, -3.5, 0]))
    p = rc.zeros((3,))
    rc.SGD([p], lr=1.0, clipnorm=1.0, clipvalue=0.7).step([g])  # norm first, then value
    np.testing.assert_allclose(np.asarray(p).ravel(), [-0.6, -0.7, 0.0], rtol=1e-7)
    p = rc.zeros((2,))
    rc.SGD([p], lr=1.0, clipnorm=1.0).step([rc.zeros((2,))])  # a zero gradient stays 0
    assert np.array_equal(np.asarray(p).ravel(), np.float32([0, 0]))


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "cls, kw, exc, match",
    [
        (rc.RMSprop, dict(lr=-1.0), ValueError, "lr"),
        (rc.RMSprop, dict(eps=0.0), ValueError, "eps"),
        (rc.RMSprop, dict(eps=-1e-8), ValueError, "eps"),
        (rc.RMSprop, dict(alpha=1.5), ValueError, "alpha"),
        (rc.RMSprop, dict(momentum=-0.1), ValueError, "momentum"),
        (rc.RMSprop, dict(weight_decay=float("nan")), ValueError, "weight_decay"),
        (rc.Adagrad, dict(lr=-0.1), ValueError, "lr"),
        (rc.Adagrad, dict(eps=0.0), ValueError, "eps"),
        (rc.Adagrad, dict(lr_decay=-1.0), ValueError, "lr_decay"),
        (rc.Adagrad, dict(initial_accumulator_value=-1.0), ValueError, "initial_accumulator"),
        (rc.Nadam, dict(lr=-1e-3), ValueError, "lr"),
        (rc.Nadam, dict(eps=0.0), ValueError, "eps"),
        (rc.Nadam, dict(beta1=1.0), ValueError, "beta1"),
        (rc.Nadam, dict(beta2=-0.1), ValueError, "beta2"),
        (rc.Nadam, dict(momentum_decay=-1.0), ValueError, "momentum_decay"),
        (rc.Nadam, dict(lr="x"), TypeError, "lr"),
        (rc.Adam, dict(clipnorm=0.0), ValueError, "clipnorm"),
        (rc.SGD, dict(clipvalue=-1.0), ValueError, "clipvalue"),
        (rc.SGD, dict(clipnorm=float("inf")), ValueError, "clipnorm"),
        (rc.Adam, dict(lr=1e-3, learning_rate=1e-3), TypeError, "both"),
        (rc.Nadam, dict(learning_rate=-1.0), ValueError, "lr"),
    ],
)
def test_bad_arguments(cls, kw, exc, match):
    with pytest.raises(exc, match=match):
        cls(**kw)


def test_bad_step_inputs_leave_state_untouched():
    p = rc.ones((2, 3))
    opt = rc.RMSprop([p], momentum=0.9)
    with pytest.raises(rc.ShapeError):
        opt.step([rc.ones((3, 2))])
    assert opt.t == 0 and opt.state[0]["step"] == 0 and p.equals(rc.ones((2, 3)))
    opt.step([None])  # None skips the parameter
    assert opt.t == 1 and p.equals(rc.ones((2, 3)))


def test_empty_tensor():
    for cls in (rc.RMSprop, rc.Adagrad, rc.Nadam):
        p = rc.zeros((0,))
        opt = cls([p], clipnorm=1.0)
        opt.step([rc.zeros((0,))])
        assert opt.t == 1


# ------------------------------------------------------------------- schedules


def test_step_decay_matches_torch_steplr():
    torch = require("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.3)
    ours = schedules.StepDecay(0.3, 4, gamma=0.3)
    for epoch in range(30):
        assert math.isclose(ours(epoch), opt.param_groups[0]["lr"], rel_tol=1e-12), epoch
        opt.step()
        sched.step()


def test_exponential_decay_matches_torch_exponentiallr():
    torch = require("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    ours = schedules.ExponentialDecay(0.2, 0.9)
    for epoch in range(30):
        assert math.isclose(ours(epoch), opt.param_groups[0]["lr"], rel_tol=1e-12), epoch
        opt.step()
        sched.step()


def test_exponential_decay_keras_formula():
    s = schedules.ExponentialDecay(0.1, 0.96, decay_steps=10)
    st = schedules.ExponentialDecay(0.1, 0.96, decay_steps=10, staircase=True)
    for step in (0, 1, 5, 9, 10, 15, 100, 2.5):
        assert s(step) == pytest.approx(0.1 * 0.96 ** (step / 10), rel=1e-15)
        assert st(step) == pytest.approx(0.1 * 0.96 ** math.floor(step / 10), rel=1e-15)


def keras_cosine(step, initial, decay_steps, alpha=0.0, warmup_steps=0, warmup_target=None):
    """Keras 3's CosineDecay.__call__, transcribed (float64)."""

    def decay(s, frm):
        frac = s / decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * frac))
        return frm * ((1 - alpha) * cosine + alpha)

    if warmup_target is None:
        return decay(min(step, decay_steps), initial)
    s = min(step, decay_steps + warmup_steps)
    if s < warmup_steps:
        return (warmup_target - initial) * (s / warmup_steps) + initial
    return decay(s - warmup_steps, warmup_target)


@pytest.mark.parametrize(
    "kw",
    [
        dict(initial=0.1, decay_steps=20),
        dict(initial=0.1, decay_steps=20, alpha=0.1),
        dict(initial=0.0, decay_steps=10, warmup_steps=5, warmup_target=0.1),
        dict(initial=0.01, decay_steps=10, alpha=0.2, warmup_steps=4, warmup_target=0.05),
        dict(initial=0.1, decay_steps=10, warmup_steps=4),  # no target: no warmup (Keras)
    ],
)
def test_cosine_decay_keras_formula(kw):
    s = schedules.CosineDecay(
        kw["initial"],
        kw["decay_steps"],
        alpha=kw.get("alpha", 0.0),
        warmup_steps=kw.get("warmup_steps", 0),
        warmup_target=kw.get("warmup_target"),
    )
    for step in range(40):
        assert s(step) == pytest.approx(keras_cosine(step, **kw), rel=1e-15, abs=1e-18)


def test_cosine_decay_landmarks():
    s = schedules.CosineDecay(0.0, 10, alpha=0.1, warmup_steps=5, warmup_target=1.0)
    assert s(0) == 0.0 and s(5) == 1.0 and s(2) == pytest.approx(0.4)
    assert s(10) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the decay
    assert s(15) == pytest.approx(0.1) and s(1000) == pytest.approx(0.1)


def test_cosine_matches_torch_cosineannealing_without_warmup():
    torch = require("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=0.05)
    ours = schedules.CosineDecay(0.5, 12, alpha=0.1)
    for epoch in range(13):
        assert ours(epoch) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9), epoch
        opt.step()
        sched.step()


def test_schedule_config_round_trip_and_validation():
    for s in (
        schedules.StepDecay(0.1, 3),
        schedules.ExponentialDecay(0.1, 0.5, 2.0, True),
        schedules.CosineDecay(0.1, 9, 0.1, 2, 0.3),
    ):
        again = schedules.from_config(type(s).__name__, s.get_config())
        assert again == s and repr(again) == repr(s) and hash(again) == hash(s)
        assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(ValueError):
        schedules.from_config("Nope", {})
    bad = [
        (schedules.StepDecay, (0.1, 0), ValueError),
        (schedules.StepDecay, (-0.1, 2), ValueError),
        (schedules.StepDecay, (0.1, 2.5), TypeError),
        (schedules.ExponentialDecay, (0.1, 0.0), ValueError),
        (schedules.ExponentialDecay, (0.1, 0.5, 0), ValueError),
        (schedules.CosineDecay, (0.1, 0), ValueError),
        (schedules.CosineDecay, (0.1, 10, 1.5), ValueError),
        (schedules.CosineDecay, (0.1, 10, 0.0, -1), ValueError),
        (schedules.CosineDecay, (float("nan"), 10), ValueError),
    ]
    for cls, args, exc in bad:
        with pytest.raises(exc):
            cls(*args)
    with pytest.raises(ValueError, match="step"):
        schedules.StepDecay(0.1, 2)(-1)
    with pytest.raises(TypeError, match="step"):
        schedules.StepDecay(0.1, 2)("3")


def test_schedules_are_callables_of_the_epoch():
    """What a LearningRateScheduler callback needs: schedule(epoch) -> float."""
    s = schedules.StepDecay(0.1, 2, gamma=0.5)
    assert [s(e) for e in range(5)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert isinstance(s(np.int64(3)), float)
    assert rc.optim.schedules is schedules
