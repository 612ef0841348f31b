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

from rcmlrs import _tensor

Rule = Callable[..., tuple]

RULES: dict[str, Rule] = {}
FORMULAS: dict[str, str] = {}


def _first_doc_line(fn: Rule) -> str:
    """The docstring's first line, skipping the signature Cython embeds."""
    sig = f"{getattr(fn, '__name__', '')}("
    for line in (fn.__doc__ or "").strip().splitlines():
        if line.strip() and not line.startswith(sig):
            return line.strip()
    return ""


def register(name: str, formula: str = "") -> Callable[[Rule], Rule]:
    """Decorator: ``rule`` is the backward of the op recorded as ``name``. ``formula`` is
    the one-line math that ``Tape.listing()`` prints for it."""

    def deco(fn: Rule) -> Rule:
        if name in RULES:
            raise ValueError(f"autograd: op {name!r} already has a rule ({RULES[name]!r})")
        RULES[name] = fn
        FORMULAS[name] = formula or _first_doc_line(fn)
        return fn

    return deco


# the broadcast helpers every rule uses, next to the kernels (rcmlrs/_tape_core.pxi)
unbroadcast = _tensor.unbroadcast
expand = _tensor.expand
