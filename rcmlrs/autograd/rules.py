"""Backward rules of the core tensor ops (arithmetic, matmul, unary math, activations,
softmax, reductions with axes, shape ops). Each calls the fused kernels the forward pass
uses; see ``rcmlrs.autograd.registry`` for the rule signature."""

from __future__ import annotations

import math

import rcmlrs
from rcmlrs import _tensor
from rcmlrs.autograd.registry import expand, register

# ------------------------------------------------------------------ arithmetic


# The rules every network runs live in C-level Cython next to the kernels they call
# (rcmlrs/_tape_core.pxi): registered here by name like every other rule.
for _name, _rule in (
    ("add", _tensor._rule_add),
    ("sub", _tensor._rule_sub),
    ("rsub", _tensor._rule_rsub),
    ("mul", _tensor._rule_mul),
    ("div", _tensor._rule_div),
    ("rdiv", _tensor._rule_rdiv),
    ("matmul", _tensor._rule_matmul),
    ("sum", _tensor._rule_sum),
    ("mean", _tensor._rule_mean),
):
    register(_name)(_rule)

# ------------------------------------------------------------------ unary math


@register("neg", formula="dx = -g")
def _neg(g, out, inputs, attrs, needs):
    return (-g,)


@register("abs", formula="dx = g * sign(x)")
def _abs(g, out, inputs, attrs, needs):
    return (g * inputs[0].sign(),)


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


# ------------------------------------------------------------------ matrix product


# ------------------------------------------------------------------ activations

_ACT = ("relu", "leaky_relu", "sigmoid", "tanh", "swish", "gelu", "gelu_erf", "erf")


for _name in _ACT:
    register(_name, formula=f"dx = g * {_name}'(x), the fused {_name}_backward kernel")(
        _tensor._rule_act
    )


@register("softmax", formula="dx = softmax_backward(x, g) = y * (g - sum(g * y))")
def _softmax(g, out, inputs, attrs, needs):
    return (inputs[0].softmax_backward(g, axis=attrs["axis"]),)


@register("log_softmax", formula="dx = log_softmax_backward(x, g) = g - softmax(x) * sum(g)")
def _log_softmax(g, out, inputs, attrs, needs):
    return (inputs[0].log_softmax_backward(g, axis=attrs["axis"]),)


# ------------------------------------------------------------------ reductions


def _count(shape, axes) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _extreme(g, out, inputs, attrs, needs):
    """Split g evenly among the elements equal to the extreme (as torch.amax/amin)."""
    x = inputs[0]
    hit = x.eq(out)  # 1 where x is the extreme (out broadcasts over the reduced axes)
    count = hit.sum(axis=attrs["axis"])
    return (expand(g / count, x.shape) * hit,)


register("max", formula="dx = g / count where x == max")(_extreme)
register("min", formula="dx = g / count where x == min")(_extreme)


def _centered(x, attrs):
    """(x - mean over the reduced axes, N - ddof): what var and std differentiate."""
    axes = attrs["axis"]
    mean = x
    for a in axes:
        mean = mean.mean(axis=a)
    return x - mean, max(_count(x.shape, axes) - attrs["ddof"], 0)  # as the forward


@register("var", formula="dx = g * 2 (x - mean) / (N - ddof)")
def _var(g, out, inputs, attrs, needs):
    d, n = _centered(inputs[0], attrs)
    scale = 2.0 / n if n else math.inf  # no degrees of freedom: +-inf (0 * inf = NaN)
    return (d * expand(g * scale, d.shape),)


@register("std", formula="dx = g * (x - mean) / ((N - ddof) * std)")
def _std(g, out, inputs, attrs, needs):
    d, n = _centered(inputs[0], attrs)
    return (d * expand(g / (out * float(n)), d.shape),)


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
