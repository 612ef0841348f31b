"""Backward rules of the core tensor ops (arithmetic, matmul, unary math, activations,
softmax, reductions with axes, shape ops). Each calls the fused kernels the forward pass
uses; see ``rcmlrs.autograd.registry`` for the rule signature."""

from __future__ import annotations

import rcmlrs
from rcmlrs import _tensor
from rcmlrs._tensor import RamTensor
from rcmlrs.autograd.registry import expand, register, unbroadcast

# ------------------------------------------------------------------ arithmetic


def _bshape(x):
    return x.shape if isinstance(x, RamTensor) else (1, 1, 1)


@register("add", formula="da = g, db = g (summed over broadcast axes)")
def _add(g, out, inputs, attrs, needs):
    a, b = inputs
    return (
        unbroadcast(g, a.shape) if needs[0] else None,
        unbroadcast(g, b.shape) if needs[1] else None,
    )


@register("sub", formula="da = g, db = -g")
def _sub(g, out, inputs, attrs, needs):
    a, b = inputs
    return (
        unbroadcast(g, a.shape) if needs[0] else None,
        unbroadcast(-g, b.shape) if needs[1] else None,
    )


@register("rsub", formula="out = b - a: da = -g, db = g")
def _rsub(g, out, inputs, attrs, needs):
    a, b = inputs
    return (
        unbroadcast(-g, a.shape) if needs[0] else None,
        unbroadcast(g, b.shape) if needs[1] else None,
    )


@register("mul", formula="da = g * b, db = g * a")
def _mul(g, out, inputs, attrs, needs):
    a, b = inputs
    return (
        unbroadcast(g * b, a.shape) if needs[0] else None,
        unbroadcast(g * a, b.shape) if needs[1] else None,
    )


@register("div", formula="da = g / b, db = -g * out / b")
def _div(g, out, inputs, attrs, needs):
    a, b = inputs
    return (
        unbroadcast(g / b, a.shape) if needs[0] else None,
        unbroadcast(-(g * out) / b, b.shape) if needs[1] else None,
    )


@register("rdiv", formula="out = b / a: da = -g * out / a, db = g / a")
def _rdiv(g, out, inputs, attrs, needs):
    a, b = inputs
    return (
        unbroadcast(-(g * out) / a, a.shape) if needs[0] else None,
        unbroadcast(g / a, b.shape) if needs[1] else None,
    )


# ------------------------------------------------------------------ unary math


def _sign(x: RamTensor) -> RamTensor:
    """-1, 0 or 1 (0 at 0 and NaN), from the relu derivative kernel: 1 where x > 0."""
    return x.relu_deriv() - x.neg().relu_deriv()


@register("neg", formula="dx = -g")
def _neg(g, out, inputs, attrs, needs):
    return (-g,)


@register("abs", formula="dx = g * sign(x)")
def _abs(g, out, inputs, attrs, needs):
    return (g * _sign(inputs[0]),)


@register("sqrt", formula="dx = g / (2 out)")
def _sqrt(g, out, inputs, attrs, needs):
    return (g / (out * 2.0),)


@register("exp", formula="dx = g * out")
def _exp(g, out, inputs, attrs, needs):
    return (g * out,)


@register("log", formula="dx = g / x")
def _log(g, out, inputs, attrs, needs):
    return (g / inputs[0],)


@register("powi", formula="dx = g * n x^(n-1)")
def _powi(g, out, inputs, attrs, needs):
    n = int(attrs["p0"])
    if n == 0:
        return (rcmlrs.zeros(g.shape),)
    return (g * (inputs[0].powi(n - 1) * float(n)),)


@register("powf", formula="dx = g * p x^(p-1)")
def _powf(g, out, inputs, attrs, needs):
    p = attrs["p0"]
    if p == 0.0:
        return (rcmlrs.zeros(g.shape),)
    return (g * (inputs[0].powf(p - 1.0) * p),)


@register("clip", formula="dx = g where lo <= x <= hi, else 0")
def _clip(g, out, inputs, attrs, needs):
    x = inputs[0]
    lo, hi = attrs["p0"], attrs["p1"]
    outside = ((x.neg() + lo).relu_deriv() + (x - hi).relu_deriv()).clip(0.0, 1.0)
    return (g * (1.0 - outside),)


# ------------------------------------------------------------------ matrix product


@register(
    "matmul",
    formula="dA = g @ B^T, dB = A^T @ g (transposes folded into the GEMM flags)",
)
def _matmul(g, out, inputs, attrs, needs):
    a, b = inputs
    ta, tb = attrs["transpose_a"], attrs["transpose_b"]
    da = db = None
    if needs[0]:
        if not ta:
            da = g.matmul(b, transpose_b=not tb)  # g @ op(B)^T
        else:
            da = b.matmul(g, transpose_a=tb, transpose_b=True)  # op(B) g^T
        da = unbroadcast(da, a.shape)
    if needs[1]:
        if not tb:
            db = a.matmul(g, transpose_a=not ta)  # op(A)^T @ g
        else:
            db = g.matmul(a, transpose_a=True, transpose_b=ta)  # g^T op(A)
        db = unbroadcast(db, b.shape)
    return da, db


# ------------------------------------------------------------------ activations

_ACT = ("relu", "leaky_relu", "sigmoid", "tanh", "swish", "gelu", "gelu_erf", "erf")


def _act_rule(g, out, inputs, attrs, needs):
    return (_tensor._act_backward_rule(inputs[0], g, attrs["act"], attrs["param"], out),)


for _name in _ACT:
    register(_name, formula=f"dx = g * {_name}'(x), the fused {_name}_backward kernel")(_act_rule)


@register("softmax", formula="dx = softmax_backward(x, g) = y * (g - sum(g * y))")
def _softmax(g, out, inputs, attrs, needs):
    return (inputs[0].softmax_backward(g, axis=attrs["axis"]),)


@register("log_softmax", formula="dx = g - exp(out) * sum(g)")
def _log_softmax(g, out, inputs, attrs, needs):
    a = attrs["axis"]
    return (g - out.exp() * g.sum(axis=a),)


# ------------------------------------------------------------------ reductions


def _count(shape, axes) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


@register("sum", formula="dx = g broadcast back over the reduced axes")
def _sum(g, out, inputs, attrs, needs):
    return (expand(g, inputs[0].shape),)


@register("mean", formula="dx = g / N broadcast back")
def _mean(g, out, inputs, attrs, needs):
    x = inputs[0]
    return (expand(g / float(_count(x.shape, attrs["axis"])), x.shape),)


def _extreme(g, out, inputs, attrs, needs):
    """Split g evenly among the elements equal to the extreme (as torch.amax/amin)."""
    x = inputs[0]
    hit = 1.0 - (x - out).abs().relu_deriv()  # 1 where x == out
    count = hit
    for a in attrs["axis"]:
        count = count.sum(axis=a)
    return (expand(g / count, x.shape) * hit,)


register("max", formula="dx = g / count where x == max")(_extreme)
register("min", formula="dx = g / count where x == min")(_extreme)


@register("var", formula="dx = g * 2 (x - mean) / (N - ddof)")
def _var(g, out, inputs, attrs, needs):
    x = inputs[0]
    axes = attrs["axis"]
    mean = x
    for a in axes:
        mean = mean.mean(axis=a)
    n = _count(x.shape, axes) - attrs["ddof"]
    return ((x - mean) * expand(g * (2.0 / n), x.shape),)


@register("std", formula="dx = g * (x - mean) / ((N - ddof) * std)")
def _std(g, out, inputs, attrs, needs):
    x = inputs[0]
    axes = attrs["axis"]
    mean = x
    for a in axes:
        mean = mean.mean(axis=a)
    n = _count(x.shape, axes) - attrs["ddof"]
    return ((x - mean) * expand(g / (out * float(n)), x.shape),)


# ------------------------------------------------------------------ shape ops


@register("copy", formula="dx = g")
def _copy(g, out, inputs, attrs, needs):
    return (g,)


@register("transpose", formula="dx = g^T")
def _transpose(g, out, inputs, attrs, needs):
    return (g.transpose(),)


@register("reshape", formula="dx = g reshaped to x's shape")
def _reshape(g, out, inputs, attrs, needs):
    return (g.reshape(inputs[0].shape),)


@register("pad", formula="dx = g cropped to x's shape (padding is its own adjoint)")
def _pad(g, out, inputs, attrs, needs):
    L, R, C = inputs[0].shape
    return (g.pad((R, C), L, 0.0),)


@register("insert_matrix", formula="dx = g with the layer zeroed, dm = g[layer]")
def _insert_matrix(g, out, inputs, attrs, needs):
    x, m = inputs
    li = attrs["layer"]
    dx = g.insert_matrix(li, rcmlrs.zeros((1, x.rows, x.cols))) if needs[0] else None
    dm = g[li] if needs[1] else None
    return dx, dm


@register("concat", formula="d(input i) = g sliced along the axis")
def _concat(g, out, inputs, attrs, needs):
    a = attrs["axis"]
    res = []
    pos = 0
    for x, n in zip(inputs, needs, strict=True):
        size = x.shape[a]
        if n:
            key = [slice(None)] * 3
            key[a] = slice(pos, pos + size)
            res.append(g[tuple(key)])
        else:
            res.append(None)
        pos += size
    return tuple(res)
