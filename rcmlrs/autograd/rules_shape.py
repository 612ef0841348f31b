"""Backward rules of indexing and the shape ops of issue 14 (rcmlrs/_shapeops.pxi).

``t[key]``, ``flip``, ``repeat``, ``tile`` and each piece of ``split`` are one gather
through a plan of per-axis offsets (rcml_gather3_f32); their gradient is the matching
scatter-add (rcml_scatter3_f32): ``g`` is added into zeros of the input's shape at the
gathered positions, so an element read more than once (a repeated index, ``repeat``,
``tile``) receives the sum of its gradients, added in a fixed order at any thread count.

``t[key] = v`` works in place and is not differentiable: the tape records nothing for it
(and refuses a gradient through an earlier use of the overwritten tensor).
"""

from __future__ import annotations

from rcmlrs._tensor import _scatter_add
from rcmlrs.autograd.registry import register

_SCATTER = "dx = zeros(x.shape) with g added at the {} positions (repeats accumulate)"


def _scatter_rule(g, out, inputs, attrs, needs):
    return (_scatter_add(g, attrs["plan"]) if needs[0] else None,)


for _name, _what in [
    ("getitem", "selected"),
    ("flip", "mirrored"),
    ("repeat", "repeated"),
    ("tile", "tiled"),
    ("split", "piece's"),
]:
    register(_name, formula=_SCATTER.format(_what))(_scatter_rule)


@register("permute", formula="dx = g transposed by the inverse permutation")
def _permute(g, out, inputs, attrs, needs):
    inverse = [0, 0, 0]
    for k, a in enumerate(attrs["axes"]):
        inverse[a] = k
    return (g.transpose(tuple(inverse)) if needs[0] else None,)


@register("stack", formula="d(matrix i) = g[i]")
def _stack(g, out, inputs, attrs, needs):
    return tuple(g[i] if needs[i] else None for i in range(len(inputs)))
