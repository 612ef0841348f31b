"""Loss functions: values, derivatives and fused value-and-gradient objects.

Argument order is the original crate's: ``(actual, predicted)``. Every loss is the MEAN
(over all elements, or over rows for cross-entropy) and every derivative is
d(loss)/d(predicted) of that mean. Each pair is one fused C pass: the kernels compute the
value (accumulated in double, deterministic for any thread count) and write the gradient
in the same sweep over memory.

Formulas (n elements, N rows, p = predicted, a = actual, z = logits):

- ``mse``: mean((p - a)^2); grad (2/n)(p - a).
- ``mae``: mean(|p - a|); grad sign(p - a)/n (0 where equal).
- ``binary_cross_entropy``: mean(-(a log p + (1 - a) log(1 - p))) with both logs clamped
  at -100 as in PyTorch, so p = 0 or 1 stays finite; grad (p - a)/max(p(1 - p), 1e-12)/n.
  ``p`` should lie in [0, 1] (apply a sigmoid first); outside it the value is NaN. This
  clamp is THE binary cross-entropy policy of rcmlrs: rc.nn, rc.losses and autograd use it
  (no Keras-style eps clip of p anywhere).
- ``binary_cross_entropy_with_logits``: the same loss of p = sigmoid(z), computed from the
  logits z as mean(max(z, 0) - z a + log1p(e^-|z|)) (stable, no clamp needed); grad
  (sigmoid(z) - a)/n.
- ``cross_entropy``: from logits, mean over rows of logsumexp(z_r) - z_r[label]
  (max-shifted, stable for any finite logits); ``actual`` is one-hot / a distribution of
  the logits' shape, or integer class labels, one per row. grad (softmax(z) - a)/N.

For networks, ``get(name)`` returns a loss object whose ``value_and_grad(actual,
predicted)`` gives ``(float, RamTensor)`` in one pass.
"""

from __future__ import annotations

from rcmlrs import _tensor, _train
from rcmlrs._tensor import RamTensor, ShapeError

__all__ = [
    "MSE",
    "MAE",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Loss",
    "binary_cross_entropy",
    "binary_cross_entropy_deriv",
    "binary_cross_entropy_with_logits",
    "cross_entropy_deriv",
    "cross_entropy_loss",
    "get",
    "mae_deriv",
    "mae_loss",
    "mse_deriv",
    "mse_loss",
]

_MSE, _MAE, _BCE, _BCE_LOGITS = 0, 1, 2, 3


# ------------------------------------------------------------------ functions


def mse_loss(actual, predicted) -> float:
    """Mean squared error ``mean((predicted - actual)^2)``."""
    return _train._elem_loss(_MSE, actual, predicted, True, False, "mse_loss")[0]


def mse_deriv(actual, predicted) -> RamTensor:
    """d mse_loss / d predicted = ``2 (predicted - actual) / n``."""
    return _train._elem_loss(_MSE, actual, predicted, False, True, "mse_deriv")[1]


def mae_loss(actual, predicted) -> float:
    """Mean absolute error ``mean(|predicted - actual|)``."""
    return _train._elem_loss(_MAE, actual, predicted, True, False, "mae_loss")[0]


def mae_deriv(actual, predicted) -> RamTensor:
    """d mae_loss / d predicted = ``sign(predicted - actual) / n`` (0 where equal)."""
    return _train._elem_loss(_MAE, actual, predicted, False, True, "mae_deriv")[1]


def binary_cross_entropy(actual, predicted) -> float:
    """Mean binary cross-entropy of probabilities ``predicted`` in [0, 1] against targets
    ``actual`` (logs clamped at -100, so saturated predictions stay finite)."""
    return _train._elem_loss(_BCE, actual, predicted, True, False, "binary_cross_entropy")[0]


def binary_cross_entropy_deriv(actual, predicted) -> RamTensor:
    """d binary_cross_entropy / d predicted = ``(p - a) / max(p (1 - p), 1e-12) / n``."""
    return _train._elem_loss(_BCE, actual, predicted, False, True, "binary_cross_entropy_deriv")[1]


def binary_cross_entropy_with_logits(actual, logits) -> float:
    """Mean binary cross-entropy of ``sigmoid(logits)`` against targets ``actual``, from the
    logits (stable for any finite logits): ``mean(max(z, 0) - z a + log1p(e^-|z|))``."""
    return _train._elem_loss(
        _BCE_LOGITS, actual, logits, True, False, "binary_cross_entropy_with_logits"
    )[0]


def cross_entropy_loss(actual, logits) -> float:
    """Softmax cross-entropy from ``logits`` (rows = samples, cols = classes; all layers'
    rows count), mean over rows. ``actual``: one-hot (or class probabilities) of the
    logits' shape, or integer class labels, one per row (list, NumPy array or tensor)."""
    logits, target, labels = _split_target(actual, logits, "cross_entropy_loss")
    return _train._xent(logits, target, labels, True, False, "cross_entropy_loss")[0]


def cross_entropy_deriv(actual, logits) -> RamTensor:
    """d cross_entropy_loss / d logits = ``(softmax(logits) - onehot(actual)) / rows``."""
    logits, target, labels = _split_target(actual, logits, "cross_entropy_deriv")
    return _train._xent(logits, target, labels, False, True, "cross_entropy_deriv")[1]


def _split_target(actual, logits, what):
    """(logits tensor, target tensor, None) for one-hot targets or (logits tensor, None,
    int64 labels) for class labels.

    A target whose promoted shape equals the logits' shape is one-hot (or a distribution);
    anything else must be integer labels, one per row: L*R of them, or R (repeated over
    the L layers)."""
    import numpy as np

    if not isinstance(logits, RamTensor):
        logits = _tensor.tensor(logits)
    L, R, C = logits.shape
    rows = L * R
    if isinstance(actual, RamTensor):
        if actual.shape == logits.shape:
            return logits, actual, None
        arr = np.asarray(actual).reshape(-1)
        shape = actual.shape
    else:
        if isinstance(actual, (str, bytes, dict, set)) or actual is None:
            raise TypeError(
                f"{what}: actual must be labels or a one-hot tensor, got {type(actual).__name__}"
            )
        arr = np.asarray(actual)
        shape = arr.shape
        if arr.dtype.kind not in "iuf":
            raise TypeError(
                f"{what}: actual must be numbers (labels or one-hot), got dtype {arr.dtype}"
            )
        if arr.ndim <= 3 and (1,) * (3 - arr.ndim) + shape == logits.shape:
            return logits, _tensor.tensor(arr), None  # one-hot / distribution of the logits' shape
        arr = arr.reshape(-1)
    if arr.size not in (rows, R):
        raise ShapeError(
            f"{what}: actual of shape {shape} is neither one-hot of the logits' "
            f"shape {logits.shape} nor one label per row ({rows} labels)"
        )
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{what}: label {arr[i].item()!r} (row {i}) is not an integer class index"
            )
    # signed integers go straight to the kernel wrapper, which checks the range (and names
    # the bad label) in C speed; floats and unsigned values are checked here before the
    # cast so that no out-of-range value can wrap into range
    if arr.dtype.kind != "i" and arr.size:
        bad = (arr < 0) | (arr >= C)
        if bad.any():
            i = int(np.argmax(bad))
            v = arr[i].item()
            raise ValueError(
                f"{what}: label {int(v)} (row {i}) is out of range for {C} classes "
                f"(valid: 0..{C - 1})"
            )
    labels = np.ascontiguousarray(arr, dtype=np.int64)
    if labels.size != rows:  # R labels shared by every layer
        labels = np.ascontiguousarray(np.tile(labels, L))
    return logits, None, labels


# -------------------------------------------------------------------- objects


class Loss:
    """A loss as an object: ``loss(actual, predicted)`` is the value,
    ``loss.grad(actual, predicted)`` the derivative w.r.t. predicted, and
    ``loss.value_and_grad(actual, predicted)`` both from one fused pass."""

    name = "loss"

    def __call__(self, actual, predicted) -> float:
        return self.value_and_grad_(actual, predicted, True, False)[0]

    def value(self, actual, predicted) -> float:
        return self.value_and_grad_(actual, predicted, True, False)[0]

    def grad(self, actual, predicted) -> RamTensor:
        return self.value_and_grad_(actual, predicted, False, True)[1]

    deriv = grad

    def value_and_grad(self, actual, predicted):
        """``(loss, d loss / d predicted)`` in one pass over memory."""
        return self.value_and_grad_(actual, predicted, True, True)

    def value_and_grad_(self, actual, predicted, want_value, want_grad):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"

    def get_config(self) -> dict:
        return {"name": self.name}


class _ElementLoss(Loss):
    kind = -1

    def value_and_grad_(self, actual, predicted, want_value, want_grad):
        return _train._elem_loss(self.kind, actual, predicted, want_value, want_grad, self.name)


class MSE(_ElementLoss):
    """Mean squared error."""

    name = "mse"
    kind = _MSE


class MAE(_ElementLoss):
    """Mean absolute error."""

    name = "mae"
    kind = _MAE


class BinaryCrossEntropy(_ElementLoss):
    """Binary cross-entropy of probabilities (clamped logs, finite at 0 and 1), or with
    ``from_logits=True`` of ``sigmoid(predicted)`` computed from the logits (stable; the
    gradient is then ``(sigmoid(z) - a) / n``, what a sigmoid output layer fuses with)."""

    name = "binary_cross_entropy"

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)
        self.kind = _BCE_LOGITS if self.from_logits else _BCE

    def __repr__(self):
        return f"BinaryCrossEntropy(from_logits={self.from_logits})"

    def get_config(self) -> dict:
        return {"name": self.name, "from_logits": self.from_logits}


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits; targets one-hot or integer labels per row."""

    name = "cross_entropy"

    def value_and_grad_(self, actual, predicted, want_value, want_grad):
        logits, target, labels = _split_target(actual, predicted, self.name)
        return _train._xent(logits, target, labels, want_value, want_grad, self.name)


_REGISTRY = {
    "mse": MSE,
    "mean_squared_error": MSE,
    "mae": MAE,
    "mean_absolute_error": MAE,
    "cross_entropy": CrossEntropy,
    "crossentropy": CrossEntropy,
    "categorical_crossentropy": CrossEntropy,
    "sparse_categorical_crossentropy": CrossEntropy,
    "ce": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "binary_crossentropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy,
}


def get(loss) -> Loss:
    """A loss object from a name (``"mse"``, ``"mae"``, ``"cross_entropy"``,
    ``"binary_cross_entropy"``, case-insensitive, a few Keras aliases) or a Loss."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if not isinstance(loss, str):
        raise TypeError(f"losses.get: expected a loss name or Loss, got {type(loss).__name__}")
    key = loss.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return _REGISTRY[key]()
    except KeyError:
        names = ", ".join(sorted({c.name for c in _REGISTRY.values()}))
        raise ValueError(f"losses.get: unknown loss {loss!r} (known: {names})") from None
