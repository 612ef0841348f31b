"""Batch and layer normalization as tensor functions: ``rc.batch_norm``, ``rc.layer_norm``.

Both work on engine batches, rank-3 RamTensors ``(L, R, C)`` whose last axis holds the
channels (or features): rows ``(1, batch, f)``, time-major ``(T, batch, f)`` and images
``(batch, H*W, C)`` alike, read as the ``(L*R, C)`` matrix of their rows. Statistics use the
biased variance and ``x_hat = (x - mean) / sqrt(var + epsilon)``; ``y = gamma * x_hat +
beta`` with one gamma and beta per channel.

- ``batch_norm``: mean and variance per channel over all L*R rows (Keras
  ``BatchNormalization(axis=-1)``, ``torch.nn.functional.batch_norm`` over every axis but
  the channels).
- ``layer_norm``: mean and variance per row over its C values (Keras
  ``LayerNormalization(axis=-1)``, ``torch.nn.functional.layer_norm`` over the last axis).

An active ``rc.autograd.Tape`` records each call as one op (inputs ``x``, ``gamma``,
``beta``); its rule (rcmlrs/autograd/rules_norm.py) calls the same fused backward kernel as
the rc.nn layers (csrc/norm.c), so the three agree bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import rcmlrs
from rcmlrs import _norm
from rcmlrs._tensor import RamTensor, _get_tape


def check_momentum(momentum: object, what: str) -> float:
    """``momentum`` as a float in [0, 1] (ValueError / TypeError naming ``what``)."""
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise TypeError(f"{what}: momentum must be a number in [0, 1], got {momentum!r}")
    m = float(momentum)
    if not 0.0 <= m <= 1.0:
        raise ValueError(
            f"{what}: momentum must be in [0, 1] (the weight kept from the moving "
            f"statistics at each step, e.g. 0.99), got {momentum!r}"
        )
    return m


def check_epsilon(epsilon: object, what: str) -> float:
    """``epsilon`` as a finite float > 0 (ValueError / TypeError naming ``what``)."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
        raise TypeError(f"{what}: epsilon must be a positive number, got {epsilon!r}")
    e = float(epsilon)
    if not (e > 0.0 and math.isfinite(e)):
        raise ValueError(
            f"{what}: epsilon must be a finite number > 0 (added to the variance before "
            f"the square root, e.g. 1e-3), got {epsilon!r}"
        )
    return e


def _tensor_arg(v: Any, name: str, what: str) -> RamTensor:
    if isinstance(v, RamTensor):
        return v
    try:
        return rcmlrs.tensor(v)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: {name} must be a RamTensor or array-like: {e}") from None


def batch_norm(
    x: Any,
    gamma: Any,
    beta: Any,
    moving_mean: RamTensor | None = None,
    moving_variance: RamTensor | None = None,
    training: bool = False,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
) -> RamTensor:
    """Batch normalization of the engine batch ``x`` ``(L, R, C)``, per channel over all
    L*R rows; returns ``y`` of ``x``'s shape.

    ``gamma`` and ``beta``: C values each (e.g. ``(1, 1, C)``). ``training=True`` uses the
    batch mean and biased variance and, when ``moving_mean`` / ``moving_variance``
    (RamTensors of C values) are given, updates them in place as Keras does:
    ``moving = moving * momentum + batch * (1 - momentum)`` (the biased batch variance;
    torch would use the unbiased one). ``training=False`` normalizes with the moving
    statistics, which are then required. ``epsilon`` > 0 is added to the variance;
    ``momentum`` in [0, 1]. The tape records the op with inputs ``(x, gamma, beta)``
    (in training the gradient flows through the batch statistics), plus
    ``(moving_mean, moving_variance)`` in inference, which the output then depends on."""
    what = "batch_norm"
    if not isinstance(training, bool):
        raise TypeError(f"{what}: training must be True or False, got {training!r}")
    mom = check_momentum(momentum, what)
    eps = check_epsilon(epsilon, what)
    x = _tensor_arg(x, "x", what)
    gamma = _tensor_arg(gamma, "gamma", what)
    beta = _tensor_arg(beta, "beta", what)
    for name, v in (("moving_mean", moving_mean), ("moving_variance", moving_variance)):
        if v is not None and not isinstance(v, RamTensor):
            raise TypeError(
                f"{what}: {name} must be a RamTensor (it is updated in place), got "
                f"{type(v).__name__}"
            )
    y, mean, _var, istd = _norm._bn_forward(
        x, gamma, beta, moving_mean, moving_variance, training, mom, eps
    )
    tape = _get_tape()
    if tape is not None:
        attrs = {"mean": mean, "istd": istd, "training": training}
        # in inference y depends on the moving statistics too (in training they are only
        # written, never read)
        stats = () if training else (moving_mean, moving_variance)
        tape.record("batch_norm", y, (x, gamma, beta, *stats), attrs)
    return y


def layer_norm(x: Any, gamma: Any, beta: Any, epsilon: float = 1e-3) -> RamTensor:
    """Layer normalization of the engine batch ``x`` ``(L, R, C)``: each of the L*R rows
    over its C values (biased variance, ``epsilon`` > 0 added to it), then per-column
    ``gamma`` and ``beta`` (C values each). Returns ``y`` of ``x``'s shape. The tape
    records the op with inputs ``(x, gamma, beta)``."""
    what = "layer_norm"
    eps = check_epsilon(epsilon, what)
    x = _tensor_arg(x, "x", what)
    gamma = _tensor_arg(gamma, "gamma", what)
    beta = _tensor_arg(beta, "beta", what)
    y, mean, istd = _norm._ln_forward(x, gamma, beta, eps)
    tape = _get_tape()
    if tape is not None:
        tape.record("layer_norm", y, (x, gamma, beta), {"mean": mean, "istd": istd})
    return y


__all__ = ["batch_norm", "check_epsilon", "check_momentum", "layer_norm"]
