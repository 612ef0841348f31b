"""Loss objects used by ``Sequential.compile``: value and gradient in one fused call.

``loss(pred, target, labels)`` returns ``(mean loss, d loss / d pred)``. Cross-entropy
takes logits (softmax is applied inside, stably); when the model's last layer ends in
softmax (or sigmoid for binary cross-entropy) the model hands over the pre-activation,
so the gradient that flows back is ``(softmax(z) - y) / batch``: one pass, no Jacobian.
"""

from __future__ import annotations

from rcmlrs import _tensor as _T

_KINDS = {"cross_entropy": 0, "mse": 1, "mae": 2, "binary_cross_entropy": 3}
_ALIASES = {
    "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "crossentropy": "cross_entropy",
    "categorical_cross_entropy": "cross_entropy",
    "ce": "cross_entropy",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "binary_crossentropy": "binary_cross_entropy",
    "bce": "binary_cross_entropy",
}
NAMES = tuple(_KINDS)


class Loss:
    """A named loss: ``loss(pred, target, labels, from_logits)`` -> (value, grad)."""

    def __init__(self, name: str):
        self.name = name
        self.kind = _KINDS[name]

    def __call__(self, pred, target, labels=False, from_logits=True, want_grad=True):
        kind = self.kind
        if kind == 3 and not from_logits:
            kind = 4
        return _T._nn_loss(kind, pred, target, labels, want_grad)

    def __repr__(self):
        return f"Loss({self.name!r})"


def get(name) -> Loss:
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str):
        raise TypeError(f"compile: loss must be a name (str), got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _KINDS:
        raise ValueError(f"compile: unknown loss {name!r}; valid names are {', '.join(NAMES)}")
    return Loss(key)
