"""Backward rules of issue 14's ops: maximum/minimum, where, clip with tensor bounds,
floor modulo, tensor powers, prod, logsumexp and cumsum. (The tuple-axis forms of sum,
mean, min, max, var and std use the rules of ``rules.py``, which take any axis tuple.)
Comparisons, floor/ceil/round/sign and the is* tests have no gradient: they record
nothing. See ``rcmlrs.autograd.registry`` for the rule signature."""

from __future__ import annotations

from rcmlrs import _tensor
from rcmlrs._tensor import RamTensor, where
from rcmlrs.autograd.registry import expand, register, unbroadcast


def _tensor_needed(x, need):
    return need and isinstance(x, RamTensor)


# ------------------------------------------------------------------ selection


def _pick(g, out, inputs, needs, mine, other):
    """maximum / minimum: g goes to the operand that was selected, half each on a tie
    (as torch.maximum); ``mine(a, b)`` is 1 where a wins outright."""
    a, b = inputs
    tie = a.eq(b) * 0.5
    da = db = None
    if _tensor_needed(a, needs[0]):
        da = unbroadcast(g * (mine(a, b) + tie), a.shape)
    if _tensor_needed(b, needs[1]):
        db = unbroadcast(g * (other(a, b) + tie), b.shape)
    return da, db


@register("maximum", formula="da = g [a > b] + g/2 [a == b], db likewise")
def _maximum(g, out, inputs, attrs, needs):
    return _pick(g, out, inputs, needs, lambda a, b: a.gt(b), lambda a, b: a.lt(b))


@register("minimum", formula="da = g [a < b] + g/2 [a == b], db likewise")
def _minimum(g, out, inputs, attrs, needs):
    return _pick(g, out, inputs, needs, lambda a, b: a.lt(b), lambda a, b: a.gt(b))


@register("where", formula="da = g where cond, db = g elsewhere (cond: none)")
def _where(g, out, inputs, attrs, needs):
    cond, a, b = inputs
    da = unbroadcast(where(cond, g, 0.0), a.shape) if needs[1] else None
    db = unbroadcast(where(cond, 0.0, g), b.shape) if needs[2] else None
    return None, da, db


@register("clamp", formula="dx = g where lo <= x <= hi; dlo = g where lo won; dhi = g where hi won")
def _clamp(g, out, inputs, attrs, needs):
    # the forward: v = x < lo ? lo : x; out = v > hi ? hi : v (lo > hi gives hi)
    x, lo, hi = inputs
    below = x.lt(lo)
    over = where(below, lo, x).gt(hi)
    keep = 1.0 - over
    dx = unbroadcast(g * ((1.0 - below) * keep), x.shape) if needs[0] else None
    dlo = unbroadcast(g * (below * keep), lo.shape) if needs[1] else None
    dhi = unbroadcast(g * over, hi.shape) if needs[2] else None
    return dx, dlo, dhi


@register("clip", formula="dx = g where lo <= x <= hi (number bounds)")
def _clip(g, out, inputs, attrs, needs):
    return (_clamp(g, out, (inputs[0], attrs["p0"], attrs["p1"]), None, (True, False, False))[0],)


# ------------------------------------------------------------------ arithmetic


def _floor_div(a, b):
    return (a / b).floor()


@register("mod", formula="out = a mod b: da = g, db = -g floor(a / b)")
def _mod(g, out, inputs, attrs, needs):
    a, b = inputs
    da = unbroadcast(g, a.shape) if needs[0] else None
    db = None
    if _tensor_needed(b, needs[1]):
        db = unbroadcast(-(g * _floor_div(a, b)), b.shape)
    return da, db


@register("rmod", formula="out = b mod a: da = -g floor(b / a), db = g")
def _rmod(g, out, inputs, attrs, needs):
    a, b = inputs
    da = unbroadcast(-(g * _floor_div(b, a)), a.shape) if needs[0] else None
    db = unbroadcast(g, b.shape) if _tensor_needed(b, needs[1]) else None
    return da, db


def _pow_grads(g, out, base, expo, need_base, need_expo):
    """out = base ** expo: (d base, d expo) as torch's pow: the base term is 0 where the
    exponent is 0, the exponent term 0 where base = 0 and expo >= 0 (not 0 * -inf)."""
    db = de = None
    if _tensor_needed(base, need_base):
        t = (base ** (expo - 1.0)) * expo
        db = unbroadcast(g * where(expo == 0.0, 0.0, t), base.shape)
    if _tensor_needed(expo, need_expo):
        zero_base = base.eq(0.0) if isinstance(base, RamTensor) else float(base == 0.0)
        t = out * (base.log() if isinstance(base, RamTensor) else _log(base))
        if isinstance(expo, RamTensor):
            mask = expo.ge(0.0) * zero_base
        else:
            mask = zero_base * float(expo >= 0.0)
        de = unbroadcast(g * where(mask, 0.0, t), expo.shape)
    return db, de


def _log(v: float) -> float:
    return _tensor.tensor(v).log().to_scalar()


@register("pow", formula="out = a ** b: da = g b a^(b-1), db = g out log(a)")
def _pow(g, out, inputs, attrs, needs):
    a, b = inputs
    return _pow_grads(g, out, a, b, needs[0], needs[1])


@register("rpow", formula="out = b ** a: da = g out log(b), db = g a b^(a-1)")
def _rpow(g, out, inputs, attrs, needs):
    a, b = inputs
    db, da = _pow_grads(g, out, b, a, needs[1], needs[0])
    return da, db


# ------------------------------------------------------------------ reductions


def _over(x: RamTensor, fn, axes) -> RamTensor:
    """A reduction over the recorded axes, the tuple form of the forward op."""
    return getattr(x, fn)(axes)


@register("prod", formula="dx = g * prod of the other elements (exact with zeros)")
def _prod(g, out, inputs, attrs, needs):
    x = inputs[0]
    axes = attrs["axis"]
    zero = x.eq(0.0)
    nzeros = _over(zero, "sum", axes)
    # the product of the nonzero elements: out / x where no element is 0; the product of
    # the others where x is the only 0; 0 elsewhere
    rest = _over(where(zero, 1.0, x), "prod", axes)
    at_zero = expand(rest * nzeros.eq(1.0), x.shape)
    elsewhere = expand(rest * nzeros.eq(0.0), x.shape) / where(zero, 1.0, x)
    return (expand(g, x.shape) * where(zero, at_zero, elsewhere),)


@register("logsumexp", formula="dx = g * exp(x - out)")
def _logsumexp(g, out, inputs, attrs, needs):
    x = inputs[0]
    return (expand(g, x.shape) * (x - out).exp(),)


@register("cumsum", formula="dx = cumsum of g from the other end")
def _cumsum(g, out, inputs, attrs, needs):
    return (_tensor._cumsum(g, attrs["axis"], not attrs["reverse"]),)
