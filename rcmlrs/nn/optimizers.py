"""Optimizers for ``Sequential.compile``: names map to the library's fused optimizers
(``rc.Adam``, ``rc.SGD``, ``rc.RMSprop``, ``rc.Adagrad``, ``rc.Nadam`` from rcmlrs.optim,
with their default hyperparameters); any object with ``add_params(params)`` and
``step(grads)`` works as an instance. ``OPTIMIZERS`` lists the classes ``model.save``
can store with their state (and ``load_model`` rebuild); a learning-rate schedule from
``rc.optim.schedules`` is stored as ``{"schedule": class name, "config": {...}}``."""

from __future__ import annotations

from typing import Any

from rcmlrs.optim import SGD, Adagrad, Adam, Nadam, Optimizer, RMSprop, schedules

OPTIMIZERS: dict[str, type[Optimizer]] = {
    "Adam": Adam,
    "SGD": SGD,
    "RMSprop": RMSprop,
    "Adagrad": Adagrad,
    "Nadam": Nadam,
}
_BY_NAME: dict[str, type[Optimizer]] = {name.lower(): cls for name, cls in OPTIMIZERS.items()}
NAMES = tuple(_BY_NAME)


def get(opt: Any) -> Any:
    """An optimizer from a name ("adam", "sgd", "rmsprop", "adagrad", "nadam",
    case-insensitive) or an instance."""
    if isinstance(opt, str):
        key = opt.strip().lower()
        if key in _BY_NAME:
            return _BY_NAME[key]()
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
    """True when ``model.save`` can store ``opt``'s class, hyperparameters and state (a
    learning-rate schedule included, when it is one of ``rc.optim.schedules``)."""
    if OPTIMIZERS.get(type(opt).__name__) is not type(opt):
        return False
    sched = opt.hyperparameters()["lr"]
    return not callable(sched) or schedules.SCHEDULES.get(type(sched).__name__) is type(sched)


def config(opt: Any) -> dict[str, Any]:
    """``opt``'s hyperparameters as JSON-able values (a schedule as its config)."""
    hyper = dict(opt.hyperparameters())
    lr = hyper["lr"]
    if callable(lr):
        hyper["lr"] = {"schedule": type(lr).__name__, "config": lr.get_config()}
    return hyper


def from_config(cls_name: Any, hyper: Any) -> Optimizer:
    """A fresh optimizer of a saved class with saved hyperparameters; every value's type
    is checked against the class's defaults (ValueError/TypeError otherwise)."""
    if not isinstance(cls_name, str) or cls_name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer class {cls_name!r}")
    cls = OPTIMIZERS[cls_name]
    defaults = cls().hyperparameters()
    optional = {"clipnorm", "clipvalue"}  # absent from files written before they existed
    if (
        not isinstance(hyper, dict)
        or not set(hyper) <= set(defaults)
        or not set(defaults) - optional <= set(hyper)
    ):
        raise ValueError(f"{cls_name}: hyperparameters must be exactly {sorted(defaults)}")
    hyper = dict(hyper)
    for k, v in hyper.items():
        if k == "lr" and isinstance(v, dict):
            if set(v) != {"schedule", "config"}:
                raise ValueError(f"{cls_name}: lr schedule must be {{'schedule', 'config'}}")
            hyper[k] = schedules.from_config(v["schedule"], v["config"])
            continue
        if isinstance(defaults[k], bool):
            ok = isinstance(v, bool)
        else:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
            ok = ok or (k in optional and v is None)
        if not ok:
            raise TypeError(f"{cls_name}: hyperparameter {k} has a bad value {v!r}")
    return cls(**hyper)


__all__ = [
    "NAMES",
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "Nadam",
    "RMSprop",
    "config",
    "from_config",
    "get",
    "savable",
]
