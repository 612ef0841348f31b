"""The sweep: every kernel, on every backend, at every awkward size, against the reference.

Each case below runs one public op (a tensor method, a loss, an optimizer step) on the
same float32 inputs under every available backend (``_tensor.capabilities()``: serial,
baseline, avx2, avx512 / NEON) and checks

1. the result against the float64 twin in ``tests/reference.py``, within the case's
   stated tolerance, and
2. that every backend gives the serial backend's result BIT FOR BIT (signed zeros and
   infinities included; any NaN equals any NaN, since IEEE leaves a NaN's sign open).
   The one exception is a matrix product past the tiny path (m*n*k > 1024): the
   hand-tuned GEMM micro-kernels differ per ISA by design (DESIGN.md, "One ISA table"),
   so those are held to the reference bound only.

Sizes: 0, 1, 15, 17, 67 (tails of every SIMD width) and 1000 elements, as rank-3 shapes
so that every axis path (rows, strided columns, more than one 64-column block) runs.
Inputs are borrowed, deliberately unaligned NumPy buffers.

Tensor methods, their in-place forms and operators, the loss functions and the
``rc.losses.get(name).value_and_grad`` objects, ``rc.adam_update`` and ``rc.SGD`` are
swept; private ``_nn_*`` helpers are not (rc.nn's layers must equal the tensor API bit for
bit, which their own tests pin).

Tolerances are in float32 ulps of the reference value: 0.5 means correctly rounded (the
result is the float64 value rounded once), ``ROUNDED`` is a double result rounded once
to float32. Transcendentals use the measured bounds of csrc/mathf.h (tests/test_mathf.py:
exp 0.99, log 0.78, tanh 2.49, sigmoid 2.64, erf 2.32 ulp) plus what the surrounding
arithmetic adds. Where a result is a difference of larger terms (a derivative near its
root, softmax backward, an optimizer update), the ulp is taken of a stated ``floor``
magnitude instead, which bounds the absolute error by the terms' size. Special values
(NaN, inf, signed zero) are compared bitwise against serial in ``test_specials_*``; their
meaning is tested in the per-family files.
"""

from __future__ import annotations

import math
import operator
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import reference as ref

import rcmlrs as rc
from rcmlrs import _tensor

BACKENDS = _tensor.capabilities()
SIZES = {0: (2, 3, 0), 1: (1, 1, 1), 15: (1, 3, 5), 17: (1, 1, 17), 67: (1, 1, 67)}
SIZES[1000] = (2, 5, 100)  # axis 1: 100 columns = two 64-wide blocks; axis 2: 6 x 16 + 4
SHAPES = list(SIZES.values())
AXES = (None, 0, 1, 2, -1)

ROUNDED = 0.501  # a double result rounded once to float32 (0.5 plus double rounding)
F32 = np.float32


@dataclass(frozen=True)
class Tol:
    """|got - want| <= ulp * spacing32(max(|want|, floor)), elementwise; ulp and floor are
    numbers or functions of the op's inputs giving arrays that broadcast to the result."""

    ulp: float | Callable[..., np.ndarray]
    floor: float | Callable[..., np.ndarray] = 0.0


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable  # (rng, shape) -> tuple of inputs (float32 arrays, numbers)
    run: Callable  # (*inputs) -> result through rcmlrs' public API
    ref: Callable  # (*inputs) -> float64 result through tests/reference.py
    tol: Tol | tuple[Tol, ...]  # one per output when the op returns several
    bitwise: Callable[..., bool] = field(default=lambda *inputs: True)
    empty_raises: bool = False  # rcmlrs raises ValueError on an empty tensor


# ------------------------------------------------------------------------- inputs


def unaligned(a):
    """A tensor borrowing an unaligned float32 copy of ``a`` (shape kept)."""
    a = np.asarray(a, F32)
    buf = np.empty(a.size + 1, F32)
    buf[1:] = a.ravel()
    return rc.from_numpy(buf[1:].reshape(a.shape))


def uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape).astype(F32)


def nonzero(rng, shape):
    return (rng.uniform(0.25, 4.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(F32)


x_std = uniform(-4.0, 4.0)
x_wide = uniform(-9.0, 9.0)  # activations: both tails
x_pos = uniform(0.01, 30.0)
grad = uniform(-2.0, 2.0)


def one(gen):
    return lambda rng, shape: (gen(rng, shape),)


def with_grad(gen):
    return lambda rng, shape: (gen(rng, shape), grad(rng, shape))


# --------------------------------------------------------------------- tolerances


def _scale(arr):
    return np.abs(np.asarray(arr, np.float64))


def ulp_gelu(x):
    """x sigmoid(v) with v = 2 sqrt(2/pi) (x + 0.044715 x^3) formed in float32 (three
    roundings, 3 ulp) times the sigmoid's condition number |v| (1 - sigmoid(v)), which
    grows in the negative tail."""
    v = 2.0 * ref._gelu_u(np.asarray(x, np.float64))
    return 4.0 + 3.0 * np.abs(v) * (1.0 - ref.sigmoid(v))


def ulp_gelu_erf(x):
    """x erfc(z)/2 with z = -x/sqrt(2) rounded to float32: 3 ulp times erfc's condition
    number |z erfc'(z) / erfc(z)| (about 2 z^2 in the negative tail), and for 0 < z < 1,
    where mathf.h forms erfc as 1 - erf(z), erf's 3 ulp amplified by erf(z) / erfc(z)."""
    z = -np.asarray(x, np.float64) / math.sqrt(2.0)
    erfc = 1.0 - ref.erf(z)
    with np.errstate(all="ignore"):
        cond = np.abs(z) * 2.0 / math.sqrt(math.pi) * np.exp(-z * z) / erfc
        cancel = np.where((z > 0) & (z < 1), ref.erf(z) / erfc, 0.0)
    cond = np.where(np.isfinite(cond), cond, 2.0 * z * z)
    return 4.0 + 3.0 * cond + 3.0 * cancel


def floor_grad(x, g, *_):
    """A backward g * f'(x) whose f' cancels near a root: f' terms are O(1)."""
    return 0.25 * _scale(g)


def floor_out_grad(x, g, *_):
    """g (1 - y^2) or g y (1 - y) from a saved y: 1 - y cancels where y -> 1."""
    return _scale(g)


def ulp_softmax(x, *args, extra=4.0):
    """exp amplifies the float32 rounding of x - max: |x - max| ulp, plus the sum's share."""
    axis = args[-1] if args else -1
    x = np.asarray(x, np.float64)
    if x.size == 0:
        return extra
    return extra + np.abs(x - np.max(x, axis=axis, keepdims=True))


def floor_softmax_bwd(x, g, axis):
    y = ref.softmax(x, axis)
    return y * (_scale(g) + np.sum(_scale(g) * y, axis=axis, keepdims=True))


def floor_jacobian(x):
    """J_ij = y_i (d_ij - y_j) against the row's largest y (1 - y_j cancels as y_j -> 1;
    the entries with a large |x - max| are tiny)."""
    L, R, C = x.shape
    return np.max(ref.softmax(x), axis=-1).reshape(L * R, 1, 1)


def floor_zscore(x, axis, ddof):
    """(x - mean) / std with the mean stored as float32: an error of ulp(mean) / std."""
    with np.errstate(all="ignore"):
        return 1.0 + np.abs(ref.mean(x, axis)) / ref.std(x, axis, ddof)


def floor_matmul(a, b, ta=False, tb=False):
    return ref.matmul(_scale(a), _scale(b), ta, tb)


def ulp_matmul(a, b, ta=False, tb=False):
    """gamma_k |A| |B| with gamma_k ~ k u: k ulp of |A| |B| (u is half an ulp)."""
    return max(a.shape[1] if ta else a.shape[2], 1)


# ---------------------------------------------------------------------- the cases

CASES: list[Case] = []


def case(name, make, run, ref_fn, tol, **kw):
    CASES.append(Case(name, make, run, ref_fn, tol, **kw))


# elementwise binary ops with broadcasting: b's shape, or a plain number
BCAST = {
    "same": lambda s: (s, s),
    "row": lambda s: (s, (1, 1, s[2])),
    "col": lambda s: (s, (s[0], s[1], 1)),
    "outer": lambda s: ((s[0], 1, s[2]), (1, s[1], 1)),
    "layer": lambda s: ((1, s[1], s[2]), (s[0], 1, 1)),
}
BINARY = {
    # name: (operator, method, in-place operator, reference)
    "add": (operator.add, lambda a, b: a.add(b), operator.iadd, ref.add),
    "sub": (operator.sub, lambda a, b: a.sub(b), operator.isub, ref.sub),
    "mul": (operator.mul, lambda a, b: a.mul(b), operator.imul, ref.mul),
    "div": (operator.truediv, lambda a, b: a.div(b), operator.itruediv, ref.div),
}


def _binary_make(kind):
    def make(rng, shape):
        sa, sb = BCAST[kind](shape)
        return x_std(rng, sa), nonzero(rng, sb)

    return make


for _op, (_oper, _meth, _iop, _ref) in BINARY.items():
    for _kind in BCAST:
        case(
            f"{_op}[{_kind}]",
            _binary_make(_kind),
            lambda a, b, f=_meth: f(unaligned(a), unaligned(b)),
            _ref,
            Tol(0.5),
        )
    for _kind in ("same", "row", "col"):  # in place: the result has a's shape
        case(
            f"{_op}[{_kind},in place]",
            _binary_make(_kind),
            lambda a, b, f=_iop: f(unaligned(a), unaligned(b)),
            _ref,
            Tol(0.5),
        )
    # a number on the right (the scalar kernel) and on the left (reflected operators)
    case(
        f"{_op}[scalar]",
        lambda rng, shape: (x_std(rng, shape), -1.75),
        lambda a, s, f=_oper: f(unaligned(a), s),
        _ref,
        Tol(0.5),
    )
    case(
        f"{_op}[rscalar]",
        lambda rng, shape: (nonzero(rng, shape), 2.5),
        lambda a, s, f=_oper: f(s, unaligned(a)),
        lambda a, s, r=_ref: r(s, a),
        Tol(0.5),
    )
case(
    "scale",
    lambda rng, s: (x_std(rng, s), 0.3),
    lambda a, k: unaligned(a).scale(k),
    lambda a, k: ref.mul(a, float(F32(k))),
    Tol(0.5),
)

# unary math
UNARY = [
    ("neg", x_std, lambda t: -t, ref.neg, Tol(0.5)),
    ("abs", x_std, abs, ref.abs, Tol(0.5)),
    ("sqrt", x_pos, lambda t: t.sqrt(), ref.sqrt, Tol(0.5)),
    ("exp", uniform(-87.0, 88.0), lambda t: t.exp(), ref.exp, Tol(1.0)),
    ("log", x_pos, lambda t: t.log(), ref.log, Tol(1.0)),
    ("log[small]", uniform(1e-30, 2.0), lambda t: t.log(), ref.log, Tol(1.0)),
    ("tanh", x_wide, lambda t: t.tanh(), ref.tanh, Tol(3.0)),
    ("square", x_std, lambda t: t**2, ref.square, Tol(0.5)),
    ("clip", x_std, lambda t: t.clip(-0.5, 1.25), lambda x: ref.clip(x, -0.5, 1.25), Tol(0.5)),
]
# powi by repeated squaring: one rounding per multiply (and one for 1/x^n)
for _n, _u in [(0, 0.5), (1, 0.5), (2, 0.5), (3, 1.5), (7, 4.0), (-1, 0.5), (-3, 2.5)]:
    UNARY.append(
        (f"powi[{_n}]", x_std, lambda t, n=_n: t.powi(n), lambda x, n=_n: ref.powi(x, n), Tol(_u))
    )
for _p in (2.5, -1.5, 0.5):
    UNARY.append(
        (f"powf[{_p}]", x_pos, lambda t, p=_p: t.powf(p), lambda x, p=_p: ref.powf(x, p), Tol(1.0))
    )

# activations and their derivatives; the derivative of an activation with a root of f'
# (swish, gelu) is measured against the O(1) size of its terms
ACTS = {
    # name: (method, extra args, ref forward, ref deriv, forward ulp, deriv Tol)
    "relu": ("relu", (), ref.relu, ref.relu_deriv, 0.5, Tol(0.5)),
    "leaky_relu": (
        "leaky_relu",
        (0.1,),
        lambda x: ref.leaky_relu(x, float(F32(0.1))),
        lambda x: ref.leaky_relu_deriv(x, float(F32(0.1))),
        0.5,
        Tol(0.5),
    ),
    "sigmoid": ("sigmoid", (), ref.sigmoid, ref.sigmoid_deriv, 3.0, Tol(4.5)),
    "tanh": ("tanh", (), ref.tanh, ref.tanh_deriv, 3.0, Tol(4.5)),
    "swish": ("swish", (), ref.swish, ref.swish_deriv, 4.0, Tol(4.0, 0.25)),
    "gelu": ("gelu", (), ref.gelu, ref.gelu_deriv, ulp_gelu, Tol(4.0, 0.25)),
}
for _name, (_m, _args, _rf, _rd, _fu, _dtol) in ACTS.items():
    UNARY.append((_name, x_wide, lambda t, m=_m, a=_args: getattr(t, m)(*a), _rf, Tol(_fu, 0.0)))
    UNARY.append(
        (f"{_name}_", x_wide, lambda t, m=_m, a=_args: getattr(t, f"{m}_")(*a), _rf, Tol(_fu, 0.0))
    )
    UNARY.append(
        (
            f"{_name}_deriv",
            x_wide,
            lambda t, m=_m, a=_args: getattr(t, f"{m}_deriv")(*a),
            _rd,
            _dtol,
        )
    )
    case(
        f"{_name}_backward",
        with_grad(x_wide),
        lambda x, g, m=_m, a=_args: getattr(unaligned(x), f"{m}_backward")(unaligned(g), *a),
        lambda x, g, d=_rd: ref.mul(g, d(x)),
        Tol(_dtol.ulp + 0.5, floor_grad if _dtol.floor else 0.0),
    )
UNARY += [
    (
        "alias:lrelu",
        x_wide,
        lambda t: t.lrelu(),
        lambda x: ref.leaky_relu(x, float(F32(0.01))),
        Tol(0.5),
    ),
    ("gelu_erf", x_wide, lambda t: t.gelu(approximate=False), ref.gelu_erf, Tol(ulp_gelu_erf)),
    (
        "gelu_erf_deriv",
        x_wide,
        lambda t: t.gelu_deriv(approximate=False),
        ref.gelu_erf_deriv,
        Tol(4.0, 0.25),
    ),
    ("erf", x_std, lambda t: t.erf(), ref.erf, Tol(3.0)),
]
case(
    "gelu_erf_backward",
    with_grad(x_wide),
    lambda x, g: unaligned(x).gelu_backward(unaligned(g), approximate=False),
    ref.gelu_erf_backward,
    Tol(4.5, floor_grad),
)
# the backward from the saved output y = f(x) (what a layer keeps): g y (1 - y), g (1 - y^2)
for _m, _rd in [("sigmoid", ref.sigmoid_deriv), ("tanh", ref.tanh_deriv), ("relu", ref.relu_deriv)]:
    case(
        f"{_m}_backward[output]",
        with_grad(x_wide),
        lambda x, g, m=_m: getattr(unaligned(x), f"{m}_backward")(
            unaligned(g), output=getattr(unaligned(x), m)()
        ),
        lambda x, g, d=_rd: ref.mul(g, d(x)),
        Tol(6.0, floor_out_grad),
    )

for _name, _gen, _run, _ref, _tol in UNARY:
    case(_name, one(_gen), lambda x, f=_run: f(unaligned(x)), _ref, _tol)

# reductions: without an axis (a float) and along every axis (that axis kept as 1)
REDUCTIONS = {
    "sum": (lambda t, ax: t.sum(ax), ref.sum, ROUNDED),
    "mean": (lambda t, ax: t.mean(ax), ref.mean, ROUNDED),
    "min": (lambda t, ax: t.min(ax), ref.min, 0.0),
    "max": (lambda t, ax: t.max(ax), ref.max, 0.0),
    "var": (lambda t, ax: t.var(ax), ref.var, ROUNDED),
    "var[ddof=1]": (lambda t, ax: t.var(ax, ddof=1), lambda x, ax: ref.var(x, ax, 1), ROUNDED),
    "std": (lambda t, ax: t.std(ax), ref.std, ROUNDED),
    "std[ddof=1]": (lambda t, ax: t.std(ax, ddof=1), lambda x, ax: ref.std(x, ax, 1), ROUNDED),
    "argmax": (lambda t, ax: t.argmax(ax), ref.argmax, 0.0),
}
for _name, (_run, _ref, _u) in REDUCTIONS.items():
    for _ax in AXES:
        case(
            f"{_name}[axis={_ax}]",
            lambda rng, shape, ax=_ax: (x_std(rng, shape), ax),
            lambda x, ax, f=_run: f(unaligned(x), ax),
            _ref,
            Tol(_u),
            empty_raises=_name == "argmax",
        )
case(
    "median",
    one(x_std),
    lambda x: unaligned(x).median(),
    ref.median,
    Tol(ROUNDED),
    empty_raises=True,
)

# shape
case("transpose", one(x_std), lambda x: unaligned(x).transpose(), ref.transpose, Tol(0.0))
for _dims in [(4, 7, None), (1, 2, 3), (0, 5, 1)]:
    case(
        f"pad{_dims}",
        one(x_std),
        lambda x, d=_dims: unaligned(x).pad((d[0], d[1]), d[2], pad_value=-2.5),
        lambda x, d=_dims: ref.pad(x, d[0], d[1], d[2], -2.5),
        Tol(0.0),
    )


def _mm_make(ta, tb):
    def make(rng, shape):
        L, m, k = shape
        n = 1 + (m * 3 + k) % 9
        sa = (L, k, m) if ta else (L, m, k)
        sb = (1, n, k) if tb else (1, k, n)
        return x_std(rng, sa), x_std(rng, sb), ta, tb

    return make


for _ta in (False, True):
    for _tb in (False, True):
        case(
            f"matmul[ta={_ta:d},tb={_tb:d}]",
            _mm_make(_ta, _tb),
            lambda a, b, ta, tb: unaligned(a).matmul(unaligned(b), transpose_a=ta, transpose_b=tb),
            ref.matmul,
            Tol(ulp_matmul, floor_matmul),  # gamma_k |A| |B|
            # only the tiny path (m*n*k <= 1024) is the same loop on every backend
            bitwise=lambda a, b, ta, tb: (
                np.prod(ref.matmul(a, b, ta, tb).shape[1:]) * (a.shape[1] if ta else a.shape[2])
                <= 1024
            ),
        )
case(
    "operator:@",
    lambda rng, s: (x_std(rng, s), x_std(rng, (1, s[2], 3))),
    lambda a, b: unaligned(a) @ unaligned(b),
    ref.matmul,
    Tol(ulp_matmul, floor_matmul),
    bitwise=lambda a, b: a.shape[1] * a.shape[2] * 3 <= 1024,
)

# softmax family along every axis
for _ax in (0, 1, 2, -1):
    case(
        f"softmax[axis={_ax}]",
        lambda rng, s, ax=_ax: (x_wide(rng, s), ax),
        lambda x, ax: unaligned(x).softmax(axis=ax),
        ref.softmax,
        Tol(ulp_softmax),
    )
    case(
        f"log_softmax[axis={_ax}]",
        lambda rng, s, ax=_ax: (x_wide(rng, s), ax),
        lambda x, ax: unaligned(x).log_softmax(axis=ax),
        ref.log_softmax,
        Tol(2.0, 1.0),
    )
    case(
        f"softmax_backward[axis={_ax}]",
        lambda rng, s, ax=_ax: (x_wide(rng, s), grad(rng, s), ax),
        lambda x, g, ax: unaligned(x).softmax_backward(unaligned(g), axis=ax),
        ref.softmax_backward,
        Tol(lambda x, g, ax: ulp_softmax(x, ax, extra=8.0), floor_softmax_bwd),
    )
case(
    "softmax_jacobian",
    one(x_wide),
    lambda x: unaligned(x).softmax_jacobian(),
    ref.softmax_jacobian,
    Tol(4.0, floor_jacobian),
)

# normalization
for _ax in AXES:
    case(
        f"min_max_norm[axis={_ax}]",
        lambda rng, s, ax=_ax: (x_std(rng, s), ax),
        lambda x, ax: unaligned(x).min_max_norm(ax),
        ref.min_max_norm,
        Tol(2.5),
    )
    case(
        f"min_max_norm_[axis={_ax}]",
        lambda rng, s, ax=_ax: (x_std(rng, s), ax),
        lambda x, ax: unaligned(x).min_max_norm_(ax),
        ref.min_max_norm,
        Tol(2.5),
    )
    for _dd in (0, 1):
        case(
            f"z_score_norm[axis={_ax},ddof={_dd}]",
            lambda rng, s, ax=_ax, dd=_dd: (x_std(rng, s), ax, dd),
            lambda x, ax, dd: unaligned(x).z_score_norm(ax, ddof=dd),
            ref.z_score_norm,
            Tol(2.0, floor_zscore),
        )
    case(
        f"z_score_norm_[axis={_ax}]",
        lambda rng, s, ax=_ax: (x_std(rng, s), ax, 1),
        lambda x, ax, dd: unaligned(x).z_score_norm_(ax, ddof=dd),
        ref.z_score_norm,
        Tol(2.0, floor_zscore),
    )


# losses: (value, gradient) through the functions and through losses.get(...).value_and_grad
def _probs(rng, shape):
    p = rng.uniform(0.001, 0.999, shape).astype(F32)
    flat = p.reshape(-1)
    flat[: min(2, flat.size)] = [0.0, 1.0][: min(2, flat.size)]  # the clamped logs
    return p


def _onehot(rng, shape):
    out = np.zeros(shape, F32)
    if out.size:
        np.put_along_axis(out, rng.integers(0, shape[2], shape[:2] + (1,)), 1.0, axis=2)
    return out


LOSSES = {
    # name: (inputs, value fn, deriv fn, ref value, ref grad, value Tol, grad Tol)
    "mse": (with_grad(x_std), rc.mse_loss, rc.mse_deriv, ref.mse, ref.mse_grad, Tol(1.5), Tol(2.5)),
    "mae": (with_grad(x_std), rc.mae_loss, rc.mae_deriv, ref.mae, ref.mae_grad, Tol(1.0), Tol(0.5)),
    "binary_cross_entropy": (
        lambda rng, s: (rng.uniform(0.0, 1.0, s).astype(F32), _probs(rng, s)),
        rc.binary_cross_entropy,
        rc.binary_cross_entropy_deriv,
        ref.binary_cross_entropy,
        ref.binary_cross_entropy_grad,
        Tol(2.0),
        Tol(4.0),
    ),
    "cross_entropy[onehot]": (
        lambda rng, s: (_onehot(rng, s), x_wide(rng, s)),
        rc.cross_entropy_loss,
        rc.cross_entropy_deriv,
        ref.cross_entropy,
        ref.cross_entropy_grad,
        Tol(2.0, 1.0),
        Tol(4.0, lambda a, z: 1.0 / max(a.shape[0] * a.shape[1], 1)),
    ),
    "cross_entropy[labels]": (
        lambda rng, s: (rng.integers(0, max(s[2], 1), s[0] * s[1]), x_wide(rng, s)),
        rc.cross_entropy_loss,
        rc.cross_entropy_deriv,
        ref.cross_entropy,
        ref.cross_entropy_grad,
        Tol(2.0, 1.0),
        Tol(4.0, lambda a, z: 1.0 / max(a.size, 1)),
    ),
}
_LOSS_NAMES = {"cross_entropy[onehot]": "cross_entropy", "cross_entropy[labels]": "cross_entropy"}


def _maybe(x):
    """Float targets as (unaligned) tensors; integer labels stay a NumPy array."""
    return unaligned(x) if x.dtype == F32 else x


for _name, (_make, _val, _der, _rv, _rg, _tv, _tg) in LOSSES.items():
    _api_name = _LOSS_NAMES.get(_name, _name)
    case(
        _name,
        _make,
        lambda a, p, v=_val, d=_der: (v(_maybe(a), unaligned(p)), d(_maybe(a), unaligned(p))),
        lambda a, p, v=_rv, g=_rg: (v(a, p), g(a, p)),
        (_tv, _tg),
        empty_raises=_name == "cross_entropy[labels]",
    )
    case(
        f"{_name}:value_and_grad",
        _make,
        lambda a, p, n=_api_name: rc.losses.get(n).value_and_grad(_maybe(a), unaligned(p)),
        lambda a, p, v=_rv, g=_rg: (v(a, p), g(a, p)),
        (_tv, _tg),
        empty_raises=_name == "cross_entropy[labels]",
    )


# optimizers: one Adam / AdamW / AMSGrad step from a non-zero state, two SGD steps (the
# first fills the momentum buffer, the second uses it)
def _adam_make(rng, shape):
    return (
        x_std(rng, shape),
        grad(rng, shape),
        uniform(-0.5, 0.5)(rng, shape),
        uniform(0.0, 0.5)(rng, shape),
        uniform(0.0, 0.6)(rng, shape),
    )


ADAM = {
    "adam": {},
    "adam[l2]": {"weight_decay": 0.1},
    "adamw": {"weight_decay": 0.1, "decoupled_weight_decay": True},
    "amsgrad": {"amsgrad": True},
    "adam[hyper]": {"lr": 0.05, "beta1": 0.5, "beta2": 0.75, "eps": 1e-3},
}
for _name, _hp in ADAM.items():

    def _adam_run(p, g, m, v, vm, hp=_hp):
        hp = dict(hp)
        ams = hp.pop("amsgrad", False)
        ts = [unaligned(a) for a in (p, g, m, v, vm)]
        rc.adam_update(*ts[:4], 3, vmax=ts[4] if ams else None, **hp)
        return tuple(t for t in (ts[0], ts[2], ts[3], ts[4] if ams else None) if t is not None)

    def _adam_ref(p, g, m, v, vm, hp=_hp):
        hp = dict(hp)
        ams = hp.pop("amsgrad", False)
        decoupled = hp.pop("decoupled_weight_decay", False)
        hp = {k: float(F32(x)) for k, x in hp.items()}
        out = ref.adam_step(p, g, m, v, 3, decoupled=decoupled, vmax=vm if ams else None, **hp)
        return tuple(x for x in out if x is not None)

    # the update of p (and m's lerp) is a difference: measured against |p| + |step| terms
    case(
        _name,
        _adam_make,
        _adam_run,
        _adam_ref,
        (
            Tol(2.0, lambda p, *_: _scale(p) + 0.05),
            Tol(2.0, lambda p, g, m, *_: _scale(g) + _scale(m)),
            Tol(2.5),
            Tol(2.5),
        ),
    )

SGD = {
    "sgd": {},
    "sgd[momentum]": {"momentum": 0.9},
    "sgd[nesterov]": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "sgd[dampening]": {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.2},
}
for _name, _hp in SGD.items():

    def _sgd_run(p, g1, g2, hp=_hp):
        t = unaligned(p)
        opt = rc.SGD([t], lr=0.1, **hp)
        opt.step([unaligned(g1)])
        opt.step([unaligned(g2)])
        return t

    def _sgd_ref(p, g1, g2, hp=_hp):
        hp = {k: float(F32(x)) if not isinstance(x, bool) else x for k, x in hp.items()}
        p, buf = ref.sgd_step(p, g1, None, float(F32(0.1)), **hp)
        p = p.astype(F32)  # the parameter is float32 between steps
        buf = None if buf is None else buf.astype(F32)
        return ref.sgd_step(p, g2, buf, float(F32(0.1)), **hp)[0]

    case(
        _name,
        lambda rng, s: (x_std(rng, s), grad(rng, s), grad(rng, s)),
        _sgd_run,
        _sgd_ref,
        Tol(3.0, lambda p, g1, g2: _scale(p) + 0.1 * (_scale(g1) + _scale(g2))),
    )


# ---------------------------------------------------------------------- the checks


def _as_list(result):
    """Every output of an op as a NumPy array (tensors copied, numbers 0-d)."""
    outs = result if isinstance(result, tuple) else (result,)
    arrays = []
    for o in outs:
        if isinstance(o, rc.RamTensor):
            arrays.append(o.numpy().copy())
        else:
            arrays.append(np.array(o))
    return arrays


def _run_on(backend, c, inputs):
    old = _tensor.get_backend()
    _tensor.set_backend(backend)
    try:
        return _as_list(c.run(*inputs))
    finally:
        _tensor.set_backend(old)


def _reference(c, inputs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _as_list(c.ref(*inputs))


def _check_close(what, got, want, tol, inputs):
    want = np.asarray(want)
    if want.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    want = want.astype(np.float64)
    got64 = got.astype(np.float64)
    finite = np.isfinite(want)
    # NaN where the reference is NaN, the same infinity where it is infinite
    np.testing.assert_array_equal(np.isnan(got64), np.isnan(want), err_msg=f"{what}: NaN")
    np.testing.assert_array_equal(got64[np.isinf(want)], want[np.isinf(want)], err_msg=what)
    if not finite.any():
        return
    err, bound = ulp_error(got64, want, tol, inputs)
    with np.errstate(all="ignore"):
        ratio = np.where(finite & (err > 0), err / bound, 0.0)
    i = tuple(int(v) for v in np.unravel_index(int(np.argmax(ratio)), ratio.shape))
    assert ratio[i] <= 1.0, (
        f"{what}: {err[i]:.2f} ulp > {bound[i]:.2f} at {i}: got {got64[i]!r}, want {want[i]!r}"
    )


def ulp_error(got64, want, tol, inputs):
    """(error in float32 ulps of max(|want|, floor), the allowed ulps), elementwise."""
    floor = tol.floor(*inputs) if callable(tol.floor) else tol.floor
    ulp = tol.ulp(*inputs) if callable(tol.ulp) else tol.ulp
    with np.errstate(all="ignore"):
        mag = np.minimum(np.maximum(np.abs(want), floor), np.finfo(F32).max)
        spacing = np.maximum(np.spacing(mag.astype(F32)).astype(np.float64), 2.0**-149)
        err = np.where(np.isfinite(want), np.abs(got64 - want) / spacing, 0.0)
    return err, np.broadcast_to(np.asarray(ulp, np.float64), err.shape)


def _bits(a):
    """float32 bit patterns with every NaN made the canonical quiet NaN: IEEE leaves a
    NaN's sign and payload unspecified, and vector units do produce -NaN where scalar
    code gives +NaN. Signed zeros and infinities still have to match."""
    a = np.asarray(a)
    if a.dtype != F32:
        return a
    return np.where(np.isnan(a), F32(np.nan), a).view(np.uint32)


def _seed(name):
    return zlib.crc32(name.encode())


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_sweep(c):
    rng = np.random.default_rng(_seed(c.name))
    for shape in SHAPES:
        inputs = c.make(rng, shape)
        where = f"{c.name} shape={shape}"
        if c.empty_raises and math.prod(shape) == 0:
            for backend in BACKENDS:
                with pytest.raises(ValueError):
                    _run_on(backend, c, inputs)
            continue
        try:
            want = _reference(c, inputs)
        except ValueError:  # NumPy refuses (e.g. min over an empty axis): so must rcmlrs
            for backend in BACKENDS:
                with pytest.raises(ValueError):
                    _run_on(backend, c, inputs)
            continue
        tols = c.tol[: len(want)] if isinstance(c.tol, tuple) else (c.tol,) * len(want)
        serial = None
        for backend in BACKENDS:
            got = _run_on(backend, c, inputs)
            assert len(got) == len(want), f"{where}: {len(got)} outputs, want {len(want)}"
            for k, (g, w, tol) in enumerate(zip(got, want, tols, strict=True)):
                _check_close(f"{where} [{backend}] output {k}", g, w, tol, inputs)
            if serial is None:
                serial = got
            elif c.bitwise(*inputs):
                for k, (g, s) in enumerate(zip(got, serial, strict=True)):
                    np.testing.assert_array_equal(
                        _bits(g), _bits(s), err_msg=f"{where}: {backend} != serial, output {k}"
                    )


def test_sweep_covers_every_backend_and_size():
    assert BACKENDS[0] == "serial"
    assert sorted(math.prod(s) for s in SHAPES) == [0, 1, 15, 17, 67, 1000]


# ------------------------------------------------------------------ special values

SPECIALS = np.array(
    [
        np.nan,
        -np.nan,
        np.inf,
        -np.inf,
        0.0,
        -0.0,
        1e-45,
        -1e-45,
        1e-38,
        -1e-38,
        3e38,
        -3e38,
        88.72,
        -88.72,
        104.0,
        -104.0,
        1e-30,
        0.5,
        -0.5,
        1.0,
        -1.0,
        9.5,
        -9.5,
        20.0,
        -20.0,
    ],
    dtype=F32,
)
SPECIAL_CASES = [
    c
    for c in CASES
    if len(c.make(np.random.default_rng(0), (1, 1, 3))) in (1, 2)
    and not c.name.startswith(("median", "pad", "transpose", "operator", "softmax_jac"))
    and c.make(np.random.default_rng(0), (1, 1, 3))[0].shape == (1, 1, 3)
]


@pytest.mark.parametrize("c", SPECIAL_CASES, ids=[c.name for c in SPECIAL_CASES])
def test_specials_match_serial_bitwise(c):
    """NaN, infinities, signed zeros, subnormals and overflow edges give serial's bits."""
    n = SPECIALS.size
    x = np.resize(SPECIALS, (1, 3, n))
    sample = c.make(np.random.default_rng(0), (1, 3, n))
    inputs = [x] + [
        np.roll(x, 7, axis=2) if isinstance(a, np.ndarray) and a.shape == x.shape else a
        for a in sample[1:]
    ]
    with np.errstate(all="ignore"):
        results = [_run_on(b, c, inputs) for b in BACKENDS]
    for backend, got in zip(BACKENDS[1:], results[1:], strict=True):
        for k, (g, s) in enumerate(zip(got, results[0], strict=True)):
            np.testing.assert_array_equal(
                _bits(g), _bits(s), err_msg=f"{c.name}: {backend} != serial, output {k}"
            )
