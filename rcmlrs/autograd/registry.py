"""The table of backward rules: op name -> function, one per differentiable op.

A rule is ``rule(g, out, inputs, attrs, needs) -> tuple``:

``g``
    dL/d(out), a RamTensor of ``out``'s shape.
``out``, ``inputs``, ``attrs``
    what the op recorded: its result, its inputs (tensors or numbers) and a small dict of
    the arguments the rule needs (axis, transpose flags, ...).
``needs``
    one bool per input: True where a gradient is wanted. A rule skips the work for the
    others (no wasted GEMM) and returns None there.

It returns one entry per input: a RamTensor of that input's shape, or None. Rules run with
recording paused and compute with the tensor ops and fused kernels, never NumPy, so a
gradient is exactly as fast and as deterministic as the forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rcmlrs
from rcmlrs._tensor import RamTensor

Rule = Callable[..., tuple]

RULES: dict[str, Rule] = {}
FORMULAS: dict[str, str] = {}


def register(name: str, formula: str = "") -> Callable[[Rule], Rule]:
    """Decorator: ``rule`` is the backward of the op recorded as ``name``. ``formula`` is
    the one-line math that ``Tape.listing()`` prints for it."""

    def deco(fn: Rule) -> Rule:
        if name in RULES:
            raise ValueError(f"autograd: op {name!r} already has a rule ({RULES[name]!r})")
        RULES[name] = fn
        FORMULAS[name] = formula or (fn.__doc__ or "").strip().split("\n")[0]
        return fn

    return deco


def unbroadcast(grad: RamTensor, shape: tuple[int, int, int]) -> RamTensor:
    """Sum a gradient of a broadcast result back to ``shape`` (the axes where ``shape``
    has 1 and ``grad`` does not), in a fixed order: axis 0, then 1, then 2."""
    if grad.shape == tuple(shape):
        return grad
    for a in range(3):
        if shape[a] == 1 and grad.shape[a] != 1:
            grad = grad.sum(axis=a)
    if grad.shape != tuple(shape):
        raise rcmlrs.ShapeError(f"unbroadcast: gradient {grad.shape} does not reduce to {shape}")
    return grad


def expand(g: RamTensor, shape: tuple[int, int, int]) -> RamTensor:
    """``g`` (size-1 on some axes) broadcast to ``shape``, as a new tensor."""
    if g.shape == tuple(shape):
        return g
    return rcmlrs.zeros(shape) + g


def shape_of(x: Any) -> tuple[int, int, int]:
    return x.shape if isinstance(x, RamTensor) else (1, 1, 1)
