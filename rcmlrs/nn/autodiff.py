"""rc.nn on the tape: the loss as a tape op, and losses written as Python functions.

``loss_on_tape(loss, actual, predicted)`` is THE one place where a model puts its loss on
an ``rc.autograd.Tape``: a size-1 tensor the tape differentiates. A loss object becomes
one op whose gradient is the fused kernel's (the same ``value_and_grad`` that ``fit``'s
fused path calls, so both paths see the same dL/dpredicted bit for bit); a function loss
(``compile(loss=fn)``) records its own tensor ops.

``FunctionLoss`` wraps ``fn(actual, predicted) -> (1, 1, 1) RamTensor`` built from tensor
ops as an ``rc.losses.Loss``: its value and dL/dpredicted come from a tape that watches
``predicted``, so a model with such a loss trains on its fused path unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rcmlrs
from rcmlrs import losses as _losses
from rcmlrs._tensor import RamTensor
from rcmlrs.autograd import Tape, pause, record

__all__ = ["FunctionLoss", "get_loss", "loss_on_tape"]


class FunctionLoss(_losses.Loss):
    """A loss given as a function ``fn(actual, predicted) -> size-1 RamTensor`` built from
    tensor ops (``compile(loss=fn)``). ``actual`` is the batch's targets as a tensor of the
    predictions' shape (integer labels as given, for a function that takes them).
    ``model.save`` stores only the function's name (see ``rc.nn.load_model``)."""

    def __init__(self, fn: Callable[[Any, RamTensor], RamTensor]) -> None:
        if not callable(fn):
            raise TypeError(f"compile: loss must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, actual: Any, predicted: RamTensor) -> RamTensor:  # type: ignore[override]
        """The loss as a size-1 tensor (recorded by an active tape)."""
        out = self.fn(actual, predicted)
        if not isinstance(out, RamTensor) or out.size != 1:
            got = f"shape {out.shape}" if isinstance(out, RamTensor) else type(out).__name__
            raise TypeError(
                f"loss function {self.name!r} must return a size-1 RamTensor built from "
                f"tensor ops (e.g. ((p - a) * (p - a)).mean(axis=0).mean(axis=1)"
                f".mean(axis=2)), got {got}"
            )
        return out

    def value_and_grad_(self, actual, predicted, want_value, want_grad):
        if not want_grad:
            with pause():
                return float(self(actual, predicted)), None
        tape = Tape()
        with tape:
            tape.watch(predicted)
            out = self(actual, predicted)
        return float(out), tape.gradient(out, predicted)

    def __repr__(self) -> str:
        return f"FunctionLoss({self.name})"

    def get_config(self) -> dict[str, Any]:
        return {"function": self.name}


def get_loss(loss: Any) -> _losses.Loss:
    """``compile``'s loss: a name, a Loss (instance or class), or a function."""
    if isinstance(loss, (str, _losses.Loss, type)) or not callable(loss):
        return _losses.get(loss)
    return FunctionLoss(loss)


def loss_on_tape(loss: _losses.Loss, actual: Any, predicted: RamTensor) -> RamTensor:
    """``loss`` of the batch as a (1, 1, 1) tensor that the active tape differentiates.

    A function loss records its tensor ops; a loss object is one op whose rule scales
    the fused kernel's dL/dpredicted (computed with the value, in the same pass) by the
    incoming gradient. (When loss objects record themselves on the tape, this becomes
    ``loss(actual, predicted)``.)"""
    if isinstance(loss, FunctionLoss):
        return loss(actual, predicted)
    value, grad = loss.value_and_grad(actual, predicted)
    out = rcmlrs.full((1, 1, 1), value)

    def rule(g: RamTensor, needs: tuple[bool, ...]) -> tuple[RamTensor]:
        # the usual incoming gradient is the seed 1: the product would be grad, bit for bit
        return (grad if float(g) == 1.0 else grad * g,)

    record(loss.name, out, (predicted,), None, backward=rule)
    return out
