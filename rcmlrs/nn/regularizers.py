"""Weight penalties, Keras's definitions: ``L1(l1)``, ``L2(l2)``, ``L1L2(l1, l2)``.

A layer given ``kernel_regularizer=`` (or ``bias_regularizer=``, ``recurrent_regularizer=``)
adds ``penalty(W) = l1 * sum(|W|) + l2 * sum(W^2)`` (no 1/2, as Keras) to the loss that
``fit`` trains on and reports (and that ``evaluate`` reports), and
``l1 * sign(W) + 2 * l2 * W`` to W's gradient (sign(0) = 0, torch's subgradient of |w|).
Only trainable layers' weights are penalized (Keras: ``trainable_weights``).

Both are tensor-kernel expressions: ``penalty`` is a (1, 1, 1) tensor of tensor ops (an
active ``rc.autograd`` tape records it, so the tape path differentiates it), ``gradient``
the closed form the fused path adds to the layer's gradient after its backward.
"""

from __future__ import annotations

import math
from typing import Any

from rcmlrs._tensor import RamTensor

_ALL = (0, 1, 2)


def _coef(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {v!r}")
    return float(v)


class Regularizer:
    """Base of the penalties: ``reg(W)`` is the penalty as a float; ``penalty(W)`` the
    same as a (1, 1, 1) tensor of tensor ops; ``gradient(W)`` d penalty / dW.
    ``W`` is a rank-3 weight of any shape and the gradient has the same shape; the penalty
    is added to the loss, in the loss's units."""

    def penalty(self, w: RamTensor) -> RamTensor:
        raise NotImplementedError

    def gradient(self, w: RamTensor) -> RamTensor:
        raise NotImplementedError

    def __call__(self, w: RamTensor) -> float:
        return float(self.penalty(w))

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|W|) + l2 * sum(W^2)``; gradient ``l1 * sign(W) + 2 * l2 * W``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        what = type(self).__name__
        self.l1 = _coef(l1, f"{what}: l1")
        self.l2 = _coef(l2, f"{what}: l2")

    def penalty(self, w: RamTensor) -> RamTensor:
        out: RamTensor | None = None
        if self.l1:
            out = w.abs().sum(axis=_ALL) * self.l1
        if self.l2:
            sq = (w * w).sum(axis=_ALL) * self.l2
            out = sq if out is None else out + sq
        if out is None:  # both 0: still a tensor of the params (a zero gradient)
            out = w.sum(axis=_ALL) * 0.0
        return out

    def gradient(self, w: RamTensor) -> RamTensor:
        out: RamTensor | None = None
        if self.l1:
            out = w.sign() * self.l1
        if self.l2:
            sq = w * (2.0 * self.l2)
            out = sq if out is None else out + sq
        return out if out is not None else w * 0.0

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|W|)`` (Keras default l1 = 0.01)."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(W^2)`` (Keras default l2 = 0.01; no 1/2)."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


CLASSES: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2}
_NAMES: dict[str, Any] = {
    "l1": L1,
    "l2": L2,
    "l1_l2": lambda: L1L2(l1=0.01, l2=0.01),  # Keras's string default
    "l1l2": lambda: L1L2(l1=0.01, l2=0.01),
}


def get(spec: Any) -> Regularizer | None:
    """None, a ``Regularizer``, a name ("l1", "l2", "l1_l2" with Keras's 0.01), or
    ``{"class": "L2", "config": {"l2": 1e-4}}`` as ``serialize`` writes."""
    if spec is None or isinstance(spec, Regularizer):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key not in _NAMES:
            raise ValueError(
                f"unknown regularizer {spec!r}; valid names are l1, l2, l1_l2 (or an "
                f"rc.nn.regularizers object)"
            )
        reg: Regularizer = _NAMES[key]()
        return reg
    if isinstance(spec, dict):
        if set(spec) - {"class", "config"} or spec.get("class") not in CLASSES:
            raise ValueError(
                f"regularizer description must be {{'class': one of {sorted(CLASSES)}, "
                f"'config': {{...}}}}, got {spec!r}"
            )
        config = spec.get("config", {})
        if not isinstance(config, dict):
            raise TypeError(f"regularizer config must be a dict, got {config!r}")
        return CLASSES[spec["class"]].from_config(dict(config))
    raise TypeError(
        f"regularizer must be None, a name or an rc.nn.regularizers object, got "
        f"{type(spec).__name__}"
    )


def serialize(reg: Regularizer | None) -> dict[str, Any] | None:
    """``{"class": ..., "config": ...}`` (what a layer config stores), None for None."""
    if reg is None:
        return None
    if type(reg) not in CLASSES.values():
        raise TypeError(
            f"regularizer {reg!r} cannot be saved in a layer config; use L1, L2 or L1L2"
        )
    return {"class": type(reg).__name__, "config": reg.get_config()}


__all__ = ["CLASSES", "L1", "L1L2", "L2", "Regularizer", "get", "serialize"]
