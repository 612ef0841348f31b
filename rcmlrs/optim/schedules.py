"""Learning-rate schedules: callables ``schedule(step) -> lr``.

An optimizer takes a schedule as ``lr=`` and evaluates it once per step at ``t``, the
number of steps taken so far (0 for the first step), as Keras does with
``optimizer.iterations``; a ``LearningRateScheduler`` callback may call the same object
with the epoch number instead. ``step`` is a number >= 0 (an int, or any real for the
continuous forms). Every value is computed in double::

    opt = rc.Adam(params, lr=rc.optim.schedules.CosineDecay(1e-3, decay_steps=1000))

``StepDecay`` and ``ExponentialDecay(decay_steps=1)`` give the values of torch's
``StepLR`` and ``ExponentialLR`` at epoch ``step``; ``ExponentialDecay`` and
``CosineDecay`` follow the formulas documented for Keras's schedules of the same name.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "SCHEDULES",
    "CosineDecay",
    "ExponentialDecay",
    "LearningRateSchedule",
    "StepDecay",
    "from_config",
]


def _num(v: Any, name: str, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
        raise TypeError(f"{what}: {name} must be a number, got {type(v).__name__}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: {name} must be a number, got {type(v).__name__}") from None
    if not math.isfinite(f):
        raise ValueError(f"{what}: {name} must be finite, got {v!r}")
    return f


def _nonneg(v: Any, name: str, what: str) -> float:
    f = _num(v, name, what)
    if f < 0.0:
        raise ValueError(f"{what}: {name} must be >= 0, got {v!r}")
    return f


def _positive(v: Any, name: str, what: str) -> float:
    f = _num(v, name, what)
    if not f > 0.0:
        raise ValueError(f"{what}: {name} must be > 0, got {v!r}")
    return f


def _count(v: Any, name: str, what: str, lo: int) -> int:
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        raise TypeError(f"{what}: {name} must be an int, got {type(v).__name__}")
    n = v.__index__()
    if n < lo:
        raise ValueError(f"{what}: {name} must be >= {lo}, got {n}")
    return n


class LearningRateSchedule:
    """Base class: ``__call__(step) -> float``, ``get_config()`` (the constructor's
    arguments, JSON-able; ``from_config`` rebuilds the schedule), equality by config.
    ``step`` counts optimizer steps from 0 (or epochs from 0 under a
    ``LearningRateScheduler``); the value is the learning rate for that one step."""

    def __call__(self, step: Any) -> float:
        return self._value(_nonneg(step, "step", type(self).__name__))

    def _value(self, step: float) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict (``from_config`` rebuilds it)."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class StepDecay(LearningRateSchedule):
    """``initial_lr * gamma ** (step // step_size)``: torch's ``StepLR`` (the rate is
    multiplied by ``gamma`` every ``step_size`` steps). ``initial_lr`` is the rate per
    step at step 0; ``step_size`` is counted in steps."""

    def __init__(self, initial_lr: float, step_size: int, gamma: float = 0.1) -> None:
        what = "StepDecay"
        self.initial_lr = _nonneg(initial_lr, "initial_lr", what)
        self.step_size = _count(step_size, "step_size", what, 1)
        self.gamma = _nonneg(gamma, "gamma", what)

    def _value(self, step: float) -> float:
        return self.initial_lr * self.gamma ** (math.floor(step) // self.step_size)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict (``from_config`` rebuilds it)."""
        return {"initial_lr": self.initial_lr, "step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(LearningRateSchedule):
    """``initial_lr * decay_rate ** (step / decay_steps)`` (Keras's ``ExponentialDecay``);
    with ``staircase`` the exponent is ``floor(step / decay_steps)``. ``decay_steps=1``
    gives torch's ``ExponentialLR(gamma=decay_rate)``. ``initial_lr`` is the rate per
    step at step 0; ``decay_steps`` is counted in steps."""

    def __init__(
        self,
        initial_lr: float,
        decay_rate: float,
        decay_steps: float = 1,
        staircase: bool = False,
    ) -> None:
        what = "ExponentialDecay"
        self.initial_lr = _nonneg(initial_lr, "initial_lr", what)
        self.decay_rate = _positive(decay_rate, "decay_rate", what)
        self.decay_steps = _positive(decay_steps, "decay_steps", what)
        if not isinstance(staircase, bool):
            raise TypeError(f"{what}: staircase must be a bool, got {type(staircase).__name__}")
        self.staircase = staircase

    def _value(self, step: float) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_lr * self.decay_rate**p

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict (``from_config`` rebuilds it)."""
        return {
            "initial_lr": self.initial_lr,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
            "staircase": self.staircase,
        }


class CosineDecay(LearningRateSchedule):
    """Keras's ``CosineDecay``, with its optional linear warmup.

    Without ``warmup_target`` (``warmup_steps`` then ignored, as in Keras):
    ``initial_lr * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)`` with
    ``s = min(step, decay_steps)``. With ``warmup_target``: for ``step < warmup_steps``
    the rate goes linearly from ``initial_lr`` to ``warmup_target``
    (``initial_lr + (warmup_target - initial_lr) * step / warmup_steps``), then decays
    from ``warmup_target`` by the cosine above over ``s = min(step, warmup_steps +
    decay_steps) - warmup_steps``. ``alpha`` in [0, 1] is the floor, as a fraction.
    ``initial_lr`` and ``warmup_target`` are rates per step; ``decay_steps`` and
    ``warmup_steps`` are counted in steps (from 0)."""

    def __init__(
        self,
        initial_lr: float,
        decay_steps: int,
        alpha: float = 0.0,
        warmup_steps: int = 0,
        warmup_target: float | None = None,
    ) -> None:
        what = "CosineDecay"
        self.initial_lr = _nonneg(initial_lr, "initial_lr", what)
        self.decay_steps = _count(decay_steps, "decay_steps", what, 1)
        alpha = _num(alpha, "alpha", what)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"{what}: alpha must be in [0, 1], got {alpha!r}")
        self.alpha = alpha
        self.warmup_steps = _count(warmup_steps, "warmup_steps", what, 0)
        self.warmup_target = (
            None if warmup_target is None else _nonneg(warmup_target, "warmup_target", what)
        )

    def _decay(self, s: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * (s / self.decay_steps)))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def _value(self, step: float) -> float:
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_lr)
        w = self.warmup_steps
        s = min(step, w + self.decay_steps)
        if s < w:
            return (self.warmup_target - self.initial_lr) * (s / w) + self.initial_lr
        return self._decay(s - w, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-able dict (``from_config`` rebuilds it)."""
        return {
            "initial_lr": self.initial_lr,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "warmup_steps": self.warmup_steps,
            "warmup_target": self.warmup_target,
        }


SCHEDULES: dict[str, type[LearningRateSchedule]] = {
    "StepDecay": StepDecay,
    "ExponentialDecay": ExponentialDecay,
    "CosineDecay": CosineDecay,
}


def from_config(name: Any, config: Any) -> LearningRateSchedule:
    """The schedule ``SCHEDULES[name](**config)`` (what ``model.save`` stores)."""
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {name!r}; known: {sorted(SCHEDULES)}")
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise ValueError(f"{name}: the schedule's config must be a dict of arguments")
    return SCHEDULES[name](**config)
