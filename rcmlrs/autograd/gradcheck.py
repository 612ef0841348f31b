"""``gradcheck``: a tape's gradients against central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import rcmlrs
from rcmlrs._tensor import RamTensor, RCMLRSError


class GradcheckError(RCMLRSError, AssertionError):
    """The analytic and the numerical gradient disagree (the message names the worst)."""


def _value(fn: Callable[..., Any], inputs: Sequence[Any], weights: np.ndarray) -> float:
    out = fn(*inputs)
    arr = np.asarray(out if isinstance(out, RamTensor) else rcmlrs.tensor(out), dtype=np.float64)
    return float((arr * weights).sum())


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-3,
    atol: float = 1e-2,
    rtol: float = 1e-2,
    seed: int = 0,
) -> bool:
    """Compare ``Tape.gradient`` of ``fn(*inputs)`` with central finite differences.

    ``inputs``: RamTensors (each is watched and perturbed) and other values (passed as
    they are). The output may have any shape: both sides differentiate
    ``sum(out * w)`` for a fixed random ``w`` (so every output element counts). Each
    element of each tensor input is moved by +-``eps`` and ``fn`` rerun; the difference
    quotient is taken in float64 from the float32 outputs. Returns True, or raises
    GradcheckError naming the input, the element and both values of the worst mismatch
    (``|analytic - numeric| > atol + rtol * |numeric|``). Cost: 2 calls per element.
    ``eps`` is an absolute step in the inputs' units; ``atol`` is in gradient units (output
    units per input unit) and ``rtol`` is a fraction of ``|numeric|`` (1e-2 is 1%).
    """
    tensors = [i for i, x in enumerate(inputs) if isinstance(x, RamTensor)]
    if not tensors:
        raise TypeError("gradcheck: no RamTensor among the inputs")
    with rcmlrs.autograd.Tape() as tape:
        for i in tensors:
            tape.watch(inputs[i])
        out = fn(*inputs)
    if not isinstance(out, RamTensor):
        raise TypeError(f"gradcheck: fn must return a RamTensor, got {type(out).__name__}")
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.5, 1.5, size=out.shape)
    grads = tape.gradient(out, [inputs[i] for i in tensors], output_gradient=w.astype(np.float32))
    worst = None
    for i, g in zip(tensors, grads, strict=True):
        x = inputs[i]
        xa = np.asarray(x)  # a view: perturb in place, restore exactly
        ga = np.asarray(g, dtype=np.float64)
        for idx in np.ndindex(*x.shape):
            v = xa[idx]
            xa[idx] = np.float32(v + eps)
            fp = _value(fn, inputs, w)
            xa[idx] = np.float32(v - eps)
            fm = _value(fn, inputs, w)
            xa[idx] = v
            h = np.float64(np.float32(v + eps)) - np.float64(np.float32(v - eps))
            num = (fp - fm) / h
            err = abs(ga[idx] - num) - (atol + rtol * abs(num))
            if not np.isfinite(ga[idx]) and not np.isfinite(num) and ga[idx] == num:
                continue
            if not (err <= 0):
                if worst is None or not (err <= worst[0]):
                    worst = (err, i, idx, float(ga[idx]), num)
    if worst is not None:
        _, i, idx, a, n = worst
        raise GradcheckError(
            f"gradcheck: input {i}, element {idx}: analytic {a!r} vs numeric {n!r} "
            f"(atol={atol}, rtol={rtol}, eps={eps})"
        )
    return True
