"""Optimizer lookup for ``Sequential.compile``: names map to the library's fused
optimizers (``rc.Adam``, ``rc.SGD`` from rcmlrs.optim); any object with
``add_params(params)`` and ``step(grads)`` works as an instance."""

from __future__ import annotations

from rcmlrs.optim import SGD, Adam

NAMES = ("adam", "sgd")


def get(opt):
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


__all__ = ["NAMES", "SGD", "Adam", "get"]
