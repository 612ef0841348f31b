"""The float64 NumPy twin of every rcmlrs kernel: the reference the tests hold C to.

Plain, unoptimised formulas, one per kernel, written from the math (not from the C), so
that a kernel bug cannot hide in both. Every function takes and returns float64 NumPy
arrays of rank 3 ``(layers, rows, cols)`` (or Python numbers for whole-tensor results);
``axis`` follows the tensor API: None (all elements) or 0, 1, 2 (negative allowed), and
an axis result keeps that axis with size 1. Conventions the kernels share: derivatives
are taken at the pre-activation ``x``; a derivative or backward of NaN is NaN; the
losses take ``(actual, predicted)`` and are means; optimizer steps return new arrays and
follow ``torch.optim``'s arithmetic. Only NumPy and the standard library are used.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_C = 0.044715
_erf = np.frompyfunc(math.erf, 1, 1)
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _nan_keep(x, r):
    """r, but NaN wherever x is NaN (derivatives propagate NaN inputs)."""
    return np.where(np.isnan(x), np.nan, r)


def _keep(axis):
    return {"axis": axis, "keepdims": True} if axis is not None else {"axis": None}


# ---------------------------------------------------------------- elementwise binary


def add(a, b):
    """a + b (NumPy broadcasting)."""
    return _f64(a) + _f64(b)


def sub(a, b):
    """a - b (NumPy broadcasting)."""
    return _f64(a) - _f64(b)


def mul(a, b):
    """a * b (NumPy broadcasting)."""
    return _f64(a) * _f64(b)


def div(a, b):
    """a / b (NumPy broadcasting)."""
    return _f64(a) / _f64(b)


# ------------------------------------------------------------------------ unary math


def neg(x):
    """-x."""
    return -_f64(x)


def abs(x):  # noqa: A001 - the kernel's name
    """|x|."""
    return np.abs(_f64(x))


def sqrt(x):
    """sqrt(x) (NaN below 0)."""
    return np.sqrt(_f64(x))


def exp(x):
    """e^x."""
    return np.exp(_f64(x))


def log(x):
    """ln x (-inf at 0, NaN below 0)."""
    return np.log(_f64(x))


def powi(x, n):
    """x^n for an integer n (x^0 = 1)."""
    return _f64(x) ** int(n)


def powf(x, p):
    """x^p for a real p (C pow: NaN for a negative base and a non-integer p)."""
    return np.power(_f64(x), float(p))


def clip(x, lo, hi):
    """min(max(x, lo), hi)."""
    return np.minimum(np.maximum(_f64(x), lo), hi)


def tanh(x):
    """tanh x."""
    return np.tanh(_f64(x))


def square(x):
    """x^2."""
    return _f64(x) ** 2


# ------------------------------------------------------------------------ reductions


def sum(x, axis=None):  # noqa: A001 - the kernel's name
    """sum of x (over all elements, or along axis)."""
    return np.sum(_f64(x), **_keep(axis))


def mean(x, axis=None):
    """sum(x) / N (NaN for N = 0)."""
    x = _f64(x)
    n = x.size if axis is None else x.shape[axis]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(x, **_keep(axis)) / n


def min(x, axis=None):  # noqa: A001 - the kernel's name
    """smallest element."""
    return np.min(_f64(x), **_keep(axis))


def max(x, axis=None):  # noqa: A001 - the kernel's name
    """largest element."""
    return np.max(_f64(x), **_keep(axis))


def var(x, axis=None, ddof=0):
    """sum((x - mean)^2) / max(N - ddof, 0): as NumPy and torch, no degrees of freedom
    left gives inf (0 / 0 = NaN for a constant slice)."""
    x = _f64(x)
    n = x.size if axis is None else x.shape[axis]
    with np.errstate(divide="ignore", invalid="ignore"):
        # builtins.max: this module's max() is the reduction
        return np.sum((x - mean(x, axis)) ** 2, **_keep(axis)) / builtins.max(n - ddof, 0)


def std(x, axis=None, ddof=0):
    """sqrt(var(x, axis, ddof))."""
    return np.sqrt(var(x, axis, ddof))


def argmax(x, axis=None):
    """index of the first maximum (flat without an axis); a NaN counts as the maximum."""
    return np.argmax(_f64(x), **_keep(axis))


def median(x):
    """middle value of the sorted elements (mean of the two middle ones for an even N)."""
    return float(np.median(_f64(x)))


# ----------------------------------------------------------------------------- shape


def transpose(x):
    """(L, R, C) -> (L, C, R): x[l].T for every layer."""
    return np.swapaxes(_f64(x), 1, 2)


def pad(x, rows, cols, layers=None, value=0.0):
    """x padded with value or cropped to (layers, rows, cols), kept at the top-left."""
    x = _f64(x)
    layers = x.shape[0] if layers is None else layers
    out = np.full((layers, rows, cols), float(value))
    lc, rc, cc = (np.minimum(a, b) for a, b in zip(x.shape, out.shape, strict=True))
    out[:lc, :rc, :cc] = x[:lc, :rc, :cc]
    return out


def matmul(a, b, transpose_a=False, transpose_b=False):
    """op(a) @ op(b) per layer, op = transpose or identity; a layer count of 1 broadcasts."""
    a, b = _f64(a), _f64(b)
    if transpose_a:
        a = transpose(a)
    if transpose_b:
        b = transpose(b)
    return np.matmul(a, b)


# ----------------------------------------------------------------------- activations


def relu(x):
    """max(x, 0)."""
    x = _f64(x)
    return _nan_keep(x, np.where(x > 0, x, 0.0))


def leaky_relu(x, slope=0.01):
    """x if x > 0 else slope * x."""
    x = _f64(x)
    return np.where(x > 0, x, slope * x)


def sigmoid(x):
    """1 / (1 + e^-x)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-_f64(x)))


def swish(x):
    """x * sigmoid(x)."""
    return _f64(x) * sigmoid(x)


def _gelu_u(x):
    return SQRT_2_OVER_PI * (x + GELU_C * x**3)


def gelu(x):
    """x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3) (the tanh form)."""
    x = _f64(x)
    return x * sigmoid(2.0 * _gelu_u(x))  # (1 + tanh u)/2 = sigmoid(2u), no cancellation


def erf(x):
    """erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt."""
    return _erf(_f64(x)).astype(np.float64)


def _phi_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2))/2, as erfc(-x / sqrt 2)/2 (no cancellation)."""
    return 0.5 * _erfc(-_f64(x) / math.sqrt(2.0)).astype(np.float64)


def gelu_erf(x):
    """x Phi(x) = x/2 (1 + erf(x / sqrt 2)) (the exact form)."""
    return _f64(x) * _phi_cdf(x)


# ---------------------------------------------------------------------- derivatives


def relu_deriv(x):
    """1 where x > 0, else 0 (0 at x = 0)."""
    x = _f64(x)
    return _nan_keep(x, np.where(x > 0, 1.0, 0.0))


def leaky_relu_deriv(x, slope=0.01):
    """1 where x > 0, else slope."""
    x = _f64(x)
    return _nan_keep(x, np.where(x > 0, 1.0, slope))


def sigmoid_deriv(x):
    """s (1 - s), s = sigmoid(x)."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh_deriv(x):
    """1 - tanh(x)^2 (= 1 / cosh(x)^2, no cancellation in the tails)."""
    return 1.0 / np.cosh(_f64(x)) ** 2


def swish_deriv(x):
    """s + x s (1 - s), s = sigmoid(x)."""
    x = _f64(x)
    s = sigmoid(x)
    return s + x * s * (1.0 - s)


def gelu_deriv(x):
    """(1 + t)/2 + x/2 (1 - t^2) u', t = tanh(u), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""
    x = _f64(x)
    s = sigmoid(2.0 * _gelu_u(x))  # (1 + t)/2 = s and (1 - t^2)/2 = 2 s (1 - s)
    du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_C * x**2)
    return s + 2.0 * x * s * (1.0 - s) * du


def gelu_erf_deriv(x):
    """Phi(x) + x phi(x), phi = e^(-x^2/2) / sqrt(2 pi)."""
    x = _f64(x)
    return _phi_cdf(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def erf_deriv(x):
    """2/sqrt(pi) e^(-x^2)."""
    x = _f64(x)
    return 2.0 / math.sqrt(math.pi) * np.exp(-x * x)


# ---------------------------------------------------------- fused backward: g * f'(x)


def relu_backward(x, g):
    """g * relu'(x)."""
    return _f64(g) * relu_deriv(x)


def leaky_relu_backward(x, g, slope=0.01):
    """g * leaky_relu'(x)."""
    return _f64(g) * leaky_relu_deriv(x, slope)


def sigmoid_backward(x, g):
    """g * sigmoid'(x)."""
    return _f64(g) * sigmoid_deriv(x)


def tanh_backward(x, g):
    """g * tanh'(x)."""
    return _f64(g) * tanh_deriv(x)


def swish_backward(x, g):
    """g * swish'(x)."""
    return _f64(g) * swish_deriv(x)


def gelu_backward(x, g):
    """g * gelu'(x) (tanh form)."""
    return _f64(g) * gelu_deriv(x)


def gelu_erf_backward(x, g):
    """g * gelu_erf'(x)."""
    return _f64(g) * gelu_erf_deriv(x)


def erf_backward(x, g):
    """g * erf'(x)."""
    return _f64(g) * erf_deriv(x)


# -------------------------------------------------------------------------- softmax


def softmax(x, axis=-1):
    """e^(x - m) / sum(e^(x - m)) along axis, m = max along axis."""
    x = _f64(x)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """x - m - log(sum(e^(x - m))) along axis."""
    x = _f64(x)
    if x.size == 0:
        return x.copy()
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def softmax_backward(x, g, axis=-1):
    """J(x)^T g = y (g - sum(g y)) along axis, y = softmax(x)."""
    y = softmax(x, axis)
    return y * (_f64(g) - np.sum(_f64(g) * y, axis=axis, keepdims=True))


def softmax_jacobian(x):
    """J[r, i, j] = y_i (delta_ij - y_j) for every row r of the (L*R, C) rows."""
    L, R, C = np.shape(x)
    y = softmax(_f64(x).reshape(L * R, C), axis=-1)
    return y[:, :, None] * (np.eye(y.shape[-1])[None] - y[:, None, :])


# -------------------------------------------------------------------- normalization


def min_max_norm(x, axis=None):
    """(x - min) / (max - min) along axis (all elements for None); 0 where max == min."""
    x = _f64(x)
    if x.size == 0:
        return x.copy()
    lo, span = min(x, axis), max(x, axis) - min(x, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span == 0, 0.0, (x - lo) / span)


def z_score_norm(x, axis=None, ddof=0):
    """(x - mean) / std(ddof) along axis (all elements for None); 0 where std == 0."""
    x = _f64(x)
    if x.size == 0:
        return x.copy()
    s = std(x, axis, ddof)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s == 0, 0.0, (x - mean(x, axis)) / s)


# ---------------------------------------------------------------------------- losses


def mse(actual, predicted):
    """mean((p - a)^2)."""
    return float(np.mean((_f64(predicted) - _f64(actual)) ** 2))


def mse_grad(actual, predicted):
    """d mse / d p = 2 (p - a) / n."""
    d = _f64(predicted) - _f64(actual)
    return 2.0 * d / d.size


def mae(actual, predicted):
    """mean(|p - a|)."""
    return float(np.mean(np.abs(_f64(predicted) - _f64(actual))))


def mae_grad(actual, predicted):
    """d mae / d p = sign(p - a) / n (0 where equal)."""
    d = _f64(predicted) - _f64(actual)
    return np.sign(d) / d.size


def binary_cross_entropy(actual, predicted):
    """mean(-(a max(log p, -100) + (1 - a) max(log(1 - p), -100))) (torch's clamped form)."""
    a, p = _f64(actual), _f64(predicted)
    with np.errstate(divide="ignore"):
        lp = np.maximum(np.log(p), -100.0)
        l1p = np.maximum(np.log1p(-p), -100.0)
    return float(np.mean(-(a * lp + (1.0 - a) * l1p)))


def binary_cross_entropy_grad(actual, predicted):
    """d bce / d p = (p - a) / max(p (1 - p), 1e-12) / n."""
    a, p = _f64(actual), _f64(predicted)
    return (p - a) / np.maximum(p * (1.0 - p), 1e-12) / p.size


def _targets(actual, logits):
    """(logits as (N, C) rows, targets as (N, C)): integer labels (one per row) become
    one-hot rows; a float array of the logits' shape is taken as it is."""
    L, R, C = np.shape(logits)
    z = _f64(logits).reshape(L * R, C)
    a = np.asarray(actual)
    if np.issubdtype(a.dtype, np.integer):
        return z, np.eye(z.shape[1])[a.reshape(-1)]
    return z, _f64(a).reshape(z.shape)


def cross_entropy(actual, logits):
    """mean over rows r of sum_c t_rc (logsumexp(z_r) - z_rc); t one-hot of the labels or
    the given (one-hot) distribution."""
    z, t = _targets(actual, logits)
    return float(np.mean(np.sum(-t * log_softmax(z, axis=-1), axis=-1)))


def cross_entropy_grad(actual, logits):
    """d ce / d z = (softmax(z) sum_c t_c - t) / N (for one-hot t: (softmax(z) - t) / N)."""
    z, t = _targets(actual, logits)
    g = (softmax(z, axis=-1) * t.sum(axis=-1, keepdims=True) - t) / z.shape[0]
    return g.reshape(np.shape(logits))


# ------------------------------------------------------------------------ optimizers


def adam_step(
    param,
    grad,
    m,
    v,
    step,
    lr=1e-3,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    weight_decay=0.0,
    decoupled=False,
    vmax=None,
):
    """One torch.optim.Adam / AdamW (decoupled) / AMSGrad (vmax given) step; returns new
    (param, m, v, vmax):
    p *= 1 - lr wd (AdamW) or g += wd p (L2); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    vmax = max(vmax, v); p -= lr / (1 - b1^t) * m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps).
    """
    p, g, m, v = _f64(param), _f64(grad), _f64(m), _f64(v)
    if decoupled:
        p = p * (1.0 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    bc1, bc2 = 1.0 - beta1**step, 1.0 - beta2**step
    if vmax is not None:
        vmax = np.maximum(_f64(vmax), v)
    den = np.sqrt(v if vmax is None else vmax) / math.sqrt(bc2) + eps
    return p - lr / bc1 * m / den, m, v, vmax


def sgd_step(
    param, grad, buf, lr=0.01, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False
):
    """One torch.optim.SGD step; returns new (param, buf), buf None without momentum:
    g += wd p; buf = g (first step, buf None) or momentum buf + (1 - dampening) g;
    d = g + momentum buf (nesterov) or buf; p -= lr d."""
    p, g = _f64(param), _f64(grad)
    g = g + weight_decay * p
    if momentum:
        buf = g.copy() if buf is None else momentum * _f64(buf) + (1.0 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf
