"""Optimizers for ``Sequential.compile``: names map to the library's fused optimizers
(``rc.Adam``, ``rc.SGD`` from rcmlrs.optim); any object with ``add_params(params)`` and
``step(grads)`` works as an instance. ``OPTIMIZERS`` lists the classes ``model.save``
can store with their state (and ``load_model`` rebuild)."""

from __future__ import annotations

from typing import Any

from rcmlrs.optim import SGD, Adam, Optimizer

NAMES = ("adam", "sgd")
OPTIMIZERS: dict[str, type[Optimizer]] = {"Adam": Adam, "SGD": SGD}


def get(opt: Any) -> Any:
    """An optimizer from a name ("adam", "sgd", case-insensitive) or an instance."""
    if isinstance(opt, str):
        key = opt.strip().lower()
        if key == "adam":
            return Adam()
        if key == "sgd":
            return SGD()
        raise ValueError(
            f"compile: unknown optimizer {opt!r}; valid names are "
            f"{', '.join(NAMES)}, or pass an instance such as rc.Adam(lr=1e-3)"
        )
    if isinstance(opt, type):
        raise TypeError(
            f"compile: pass an optimizer instance ({opt.__name__}(lr=...)), not the class"
        )
    if hasattr(opt, "step") and hasattr(opt, "add_params"):
        return opt
    raise TypeError(
        f"compile: optimizer must be a name or an optimizer instance "
        f"(with add_params and step), got {type(opt).__name__}"
    )


def savable(opt: Any) -> bool:
    """True when ``model.save`` can store ``opt``'s class, hyperparameters and state."""
    return OPTIMIZERS.get(type(opt).__name__) is type(opt)


def from_config(cls_name: Any, hyper: Any) -> Optimizer:
    """A fresh optimizer of a saved class with saved hyperparameters; every value's type
    is checked against the class's defaults (ValueError/TypeError otherwise)."""
    if not isinstance(cls_name, str) or cls_name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer class {cls_name!r}")
    cls = OPTIMIZERS[cls_name]
    defaults = cls().hyperparameters()
    if not isinstance(hyper, dict) or set(hyper) != set(defaults):
        raise ValueError(f"{cls_name}: hyperparameters must be exactly {sorted(defaults)}")
    for k, v in hyper.items():
        if isinstance(defaults[k], bool):
            ok = isinstance(v, bool)
        else:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not ok:
            raise TypeError(f"{cls_name}: hyperparameter {k} has a bad value {v!r}")
    return cls(**hyper)


__all__ = ["NAMES", "OPTIMIZERS", "SGD", "Adam", "from_config", "get", "savable"]
