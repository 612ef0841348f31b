"""Loss objects used by ``Sequential.compile``: a thin adapter over the one Loss
hierarchy, :mod:`rcmlrs.losses` (no loss math here).

``loss(pred, target, labels, from_logits)`` returns ``(mean loss, d loss / d pred)``.
Cross-entropy takes logits; when the model's last layer ends in sigmoid, binary
cross-entropy takes the logits too (``from_logits``), so the gradient that flows back is
``(sigmoid(z) - y) / n``: one pass.
"""

from __future__ import annotations

import numpy as np

from rcmlrs import losses as _losses

NAMES = ("cross_entropy", "mse", "mae", "binary_cross_entropy")


class Loss:
    """A named loss: ``loss(pred, target, labels, from_logits)`` -> (value, grad)."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, pred, target, labels=False, from_logits=True, want_grad=True):
        if self.name == "cross_entropy":
            obj = _losses.CrossEntropy()
            if labels:
                target = np.asarray(target).reshape(-1).astype(np.int64)
        elif self.name == "binary_cross_entropy":
            obj = _losses.BinaryCrossEntropy(from_logits=from_logits)
        else:
            obj = _losses.get(self.name)
        return obj.value_and_grad_(target, pred, True, want_grad)

    def __repr__(self):
        return f"Loss({self.name!r})"


def get(name) -> Loss:
    if isinstance(name, Loss):
        return name
    obj = _losses.get(name)
    return Loss(obj.name)
