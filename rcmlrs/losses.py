"""Loss functions: values, derivatives and fused value-and-gradient objects.

Argument order is the original crate's: ``(actual, predicted)``. By default every loss is
the MEAN (over all elements, or over rows for cross-entropy and nll) and every derivative
is d(loss)/d(predicted) of that mean. Each pair is one fused C pass: the kernels compute
the value (accumulated in double, deterministic for any thread count) and write the
gradient in the same sweep over memory.

Formulas (n elements, N rows, p = predicted, a = actual, z = logits):

- ``mse``: mean((p - a)^2); grad (2/n)(p - a).
- ``mae``: ``mean(|p - a|)``; grad sign(p - a)/n (0 where equal).
- ``binary_cross_entropy``: mean(-(a log p + (1 - a) log(1 - p))) with both logs clamped
  at -100 as in PyTorch, so p = 0 or 1 stays finite; grad (p - a)/max(p(1 - p), 1e-12)/n.
  ``p`` should lie in [0, 1] (apply a sigmoid first); outside it the value is NaN. This
  clamp is THE binary cross-entropy policy of rcmlrs: rc.nn, rc.losses and autograd use it
  (no Keras-style eps clip of p anywhere).
- ``binary_cross_entropy_with_logits``: the same loss of p = sigmoid(z), computed from the
  logits z as ``mean(max(z, 0) - z a + log1p(e^-|z|))`` (stable, no clamp needed); grad
  (sigmoid(z) - a)/n.
- ``cross_entropy``: from logits, mean over rows of logsumexp(z_r) - z_r[label]
  (max-shifted, stable for any finite logits); ``actual`` is one-hot / a distribution of
  the logits' shape, or integer class labels, one per row. grad (softmax(z) - a)/N.
- ``nll``: from log-probabilities lp (e.g. ``z.log_softmax()``), mean over rows of
  -lp_r[label]; ``actual`` integer class labels, one per row. grad -onehot(label)/N.

Options (every function, derivative and Loss object; torch.nn.functional semantics):

- ``reduction="mean" | "sum" | "none"``: "none" gives the loss of every element (mse, mae,
  the binary cross-entropies: a tensor of ``predicted``'s shape) or of every row
  (cross-entropy, nll: an (layers, rows, 1) tensor), and the derivative is that of their
  sum (each term's derivative). The default "mean" gives the same bits as before options.
- ``weight=``: per-SAMPLE weights for mse, mae and the binary cross-entropies (one per row,
  broadcast over the columns, as Keras's ``sample_weight`` and torch's BCE ``weight`` of
  shape (N, 1); also accepted: one per element, and R weights shared by every layer) and
  for cross-entropy (one per row). Per-CLASS weights for nll (one per class, torch's
  ``nll_loss(weight=)``). Each term is multiplied by its weight. The weighted "mean":
  elementwise losses divide by the element COUNT (sum(w l) / n, what torch's weighted
  binary_cross_entropy and Keras's sample_weight give); cross-entropy and nll divide by the
  sum of the weights (sum(w_r l_r) / sum(w_r), torch's weighted cross_entropy/nll_loss;
  for nll w_r = weight[label_r]). Weights of 1 change no bit.
- ``label_smoothing=eps`` in [0, 1] (cross-entropy): the target becomes (1 - eps) t +
  eps / C, as torch's ``cross_entropy(label_smoothing=)``, for labels and one-hot alike.

The module functions return a Python float ("mean", "sum") or a RamTensor ("none").
For networks, ``get(name)`` returns a loss object whose ``value_and_grad(actual,
predicted)`` gives ``(float, RamTensor)`` in one pass; calling the object gives the loss as
a (1, 1, 1) RamTensor (the terms for "none"), which an active autograd tape records.
"""

from __future__ import annotations

from rcmlrs import _tensor, _train
from rcmlrs._tensor import RamTensor, ShapeError, _get_tape

__all__ = [
    "MSE",
    "MAE",
    "NLL",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Loss",
    "binary_cross_entropy",
    "binary_cross_entropy_deriv",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_deriv",
    "cross_entropy_deriv",
    "cross_entropy_loss",
    "get",
    "mae_deriv",
    "mae_loss",
    "mse_deriv",
    "mse_loss",
    "nll_deriv",
    "nll_loss",
]

_MSE, _MAE, _BCE, _BCE_LOGITS = 0, 1, 2, 3
_REDUCTIONS = {"mean": 0, "sum": 1, "none": 2}  # rcml_reduction_t


# ------------------------------------------------------------------ options


def _reduction(reduction, what) -> int:
    """The kernels' code of a reduction name (ValueError naming it otherwise)."""
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{what}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return _REDUCTIONS[reduction]


def _label_smoothing(eps, what) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise TypeError(f"{what}: label_smoothing must be a number, got {type(eps).__name__}")
    eps = float(eps)
    if not 0.0 <= eps <= 1.0:  # NaN fails too
        raise ValueError(f"{what}: label_smoothing must be in [0, 1], got {eps!r}")
    return eps


def _weight_values(weight, what):
    """weight as a flat float32 NumPy array (a tensor, array, list or number)."""
    import numpy as np

    if isinstance(weight, (str, bytes, dict, set)):
        raise TypeError(f"{what}: weight must be numbers, got {type(weight).__name__}")
    arr = np.asarray(weight)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{what}: weight must be numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32).reshape(-1), arr.shape


def _shape_of(x):
    """x's shape after the promotion rule (without copying a RamTensor)."""
    if isinstance(x, RamTensor):
        return x.shape
    import numpy as np

    shape = np.shape(x)
    return (1,) * (3 - len(shape)) + tuple(shape) if len(shape) <= 3 else tuple(shape)


def _per_row(w, wshape, L, R, what, expect):
    """Weights given per row: L*R of them, or R shared by every layer."""
    import numpy as np

    if w.size == L * R:
        return w
    if w.size == R:
        return np.tile(w, L)
    raise ShapeError(f"{what}: weight of shape {tuple(wshape)} does not match {expect}")


def _element_weights(weight, predicted, what):
    """One float32 weight per element of predicted: per-row weights (L*R, or R shared by
    the layers) repeated over the columns, or one per element."""
    import numpy as np

    w, wshape = _weight_values(weight, what)
    L, R, C = _shape_of(predicted)[-3:]
    if w.size == L * R * C and w.size not in (L * R, R):
        return w
    w = _per_row(
        w,
        wshape,
        L,
        R,
        what,
        f"predicted of shape {(L, R, C)}: one per row ({L * R}) or one per element ({L * R * C})",
    )
    return np.ascontiguousarray(np.repeat(w, C)) if C != 1 else w


def _elem(kind, actual, predicted, weight, reduction, want_value, want_grad, what):
    code = _reduction(reduction, what)
    w = None
    if weight is not None:
        if not isinstance(predicted, RamTensor):
            predicted = _tensor.tensor(predicted)
        w = _element_weights(weight, predicted, what)
    return _train._elem_loss(kind, actual, predicted, want_value, want_grad, what, w, code)


def _xent(actual, logits, weight, reduction, label_smoothing, want_value, want_grad, what):
    code = _reduction(reduction, what)
    eps = _label_smoothing(label_smoothing, what)
    logits, target, labels = _split_target(actual, logits, what)
    w = None
    if weight is not None:
        L, R, _ = logits.shape
        w, wshape = _weight_values(weight, what)
        w = _per_row(
            w, wshape, L, R, what, f"logits of shape {logits.shape}: one per row ({L * R})"
        )
    return _train._xent(logits, target, labels, want_value, want_grad, what, w, code, eps)


def _nll(actual, log_probs, weight, reduction, want_value, want_grad, what):
    code = _reduction(reduction, what)
    log_probs, _, labels = _split_target(actual, log_probs, what, onehot=False)
    w = None
    if weight is not None:
        C = log_probs.shape[2]
        w, wshape = _weight_values(weight, what)
        if w.size != C:
            raise ShapeError(
                f"{what}: weight of shape {tuple(wshape)} does not match log_probs of shape "
                f"{log_probs.shape}: one per class ({C})"
            )
    return _train._nll(log_probs, labels, want_value, want_grad, what, w, code)


# ------------------------------------------------------------------ functions


def mse_loss(actual, predicted, *, weight=None, reduction="mean"):
    """Mean squared error ``mean((predicted - actual)^2)`` (a float; the terms as a tensor
    for ``reduction="none"``; ``weight``: per row, see the module notes).
    ``actual`` and ``predicted`` are (L, R, C) tensors (or arrays) of the same shape; the "none"
    terms have that shape too."""
    return _elem(_MSE, actual, predicted, weight, reduction, True, False, "mse_loss")[0]


def mse_deriv(actual, predicted, *, weight=None, reduction="mean") -> RamTensor:
    """d mse_loss / d predicted = ``2 (predicted - actual) / n`` (times the weights).
    Returns a RamTensor of ``predicted``'s (L, R, C) shape."""
    return _elem(_MSE, actual, predicted, weight, reduction, False, True, "mse_deriv")[1]


def mae_loss(actual, predicted, *, weight=None, reduction="mean"):
    """Mean absolute error ``mean(|predicted - actual|)``.
    ``actual`` and ``predicted`` are (L, R, C) of the same shape; returns a float (the terms as a
    tensor of that shape for ``reduction="none"``)."""
    return _elem(_MAE, actual, predicted, weight, reduction, True, False, "mae_loss")[0]


def mae_deriv(actual, predicted, *, weight=None, reduction="mean") -> RamTensor:
    """d mae_loss / d predicted = ``sign(predicted - actual) / n`` (0 where equal).
    Returns a RamTensor of ``predicted``'s (L, R, C) shape."""
    return _elem(_MAE, actual, predicted, weight, reduction, False, True, "mae_deriv")[1]


def binary_cross_entropy(actual, predicted, *, weight=None, reduction="mean"):
    """Mean binary cross-entropy of probabilities ``predicted`` in [0, 1] against targets
    ``actual`` (logs clamped at -100, so saturated predictions stay finite).
    ``actual`` and ``predicted`` are (L, R, C) of the same shape; returns a float in nats (the
    terms as a tensor of that shape for ``reduction="none"``)."""
    return _elem(_BCE, actual, predicted, weight, reduction, True, False, "binary_cross_entropy")[0]


def binary_cross_entropy_deriv(actual, predicted, *, weight=None, reduction="mean") -> RamTensor:
    """d binary_cross_entropy / d predicted = ``(p - a) / max(p (1 - p), 1e-12) / n``.
    Returns a RamTensor of ``predicted``'s (L, R, C) shape."""
    what = "binary_cross_entropy_deriv"
    return _elem(_BCE, actual, predicted, weight, reduction, False, True, what)[1]


def binary_cross_entropy_with_logits(actual, logits, *, weight=None, reduction="mean"):
    """Mean binary cross-entropy of ``sigmoid(logits)`` against targets ``actual``, from the
    logits (stable for any finite logits): ``mean(max(z, 0) - z a + log1p(e^-|z|))``.
    ``actual`` (targets in [0, 1]) and ``logits`` are (L, R, C) of the same shape; returns a
    float in nats (the terms of that shape for "none")."""
    what = "binary_cross_entropy_with_logits"
    return _elem(_BCE_LOGITS, actual, logits, weight, reduction, True, False, what)[0]


def binary_cross_entropy_with_logits_deriv(
    actual, logits, *, weight=None, reduction="mean"
) -> RamTensor:
    """d binary_cross_entropy_with_logits / d logits = ``(sigmoid(z) - a) / n``.
    Returns a RamTensor of ``logits``' (L, R, C) shape."""
    what = "binary_cross_entropy_with_logits_deriv"
    return _elem(_BCE_LOGITS, actual, logits, weight, reduction, False, True, what)[1]


def cross_entropy_loss(actual, logits, *, weight=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from ``logits`` (rows = samples, cols = classes; all layers'
    rows count), mean over rows. ``actual``: one-hot (or class probabilities) of the
    logits' shape, or integer class labels, one per row (list, NumPy array or tensor).
    ``weight``: one per row (weighted mean sum(w l) / sum(w)); ``label_smoothing``: torch's.
    Shapes: logits (L, R, C) with C classes, labels L * R ints; returns a float in nats, or the
    (L, R, 1) per-row terms for ``reduction="none"``."""
    what = "cross_entropy_loss"
    return _xent(actual, logits, weight, reduction, label_smoothing, True, False, what)[0]


def cross_entropy_deriv(
    actual, logits, *, weight=None, reduction="mean", label_smoothing=0.0
) -> RamTensor:
    """d cross_entropy_loss / d logits = ``(softmax(logits) - onehot(actual)) / rows``.
    Returns a RamTensor of ``logits``' (L, R, C) shape."""
    what = "cross_entropy_deriv"
    return _xent(actual, logits, weight, reduction, label_smoothing, False, True, what)[1]


def nll_loss(actual, log_probs, weight=None, reduction="mean"):
    """Negative log-likelihood ``mean(-log_probs[row, label])`` (torch's nll_loss; feed it
    ``logits.log_softmax()``). ``actual``: integer class labels, one per row. ``weight``:
    one per CLASS, as torch's; the weighted mean is sum(w[y] l) / sum(w[y]).
    Shapes: log_probs (L, R, C) with C classes, labels L * R ints; returns a float, or the (L, R,
    1) per-row terms for ``reduction="none"``."""
    return _nll(actual, log_probs, weight, reduction, True, False, "nll_loss")[0]


def nll_deriv(actual, log_probs, weight=None, reduction="mean") -> RamTensor:
    """d nll_loss / d log_probs: ``-w[label] / sum(w[y])`` at each row's label, 0 elsewhere.
    Returns a RamTensor of ``log_probs``' (L, R, C) shape."""
    return _nll(actual, log_probs, weight, reduction, False, True, "nll_deriv")[1]


def _split_target(actual, logits, what, onehot=True):
    """(logits tensor, target tensor, None) for one-hot targets or (logits tensor, None,
    int64 labels) for class labels.

    A target whose promoted shape equals the logits' shape is one-hot (or a distribution;
    only when ``onehot``); anything else must be integer labels, one per row: L*R of them,
    or R (repeated over the L layers)."""
    import numpy as np

    if not isinstance(logits, RamTensor):
        logits = _tensor.tensor(logits)
    L, R, C = logits.shape
    rows = L * R
    if isinstance(actual, RamTensor):
        if onehot and actual.shape == logits.shape:
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
        if onehot and arr.ndim <= 3 and (1,) * (3 - arr.ndim) + shape == logits.shape:
            return logits, _tensor.tensor(arr), None  # one-hot / distribution of the logits' shape
        arr = arr.reshape(-1)
    if arr.size not in (rows, R):
        raise ShapeError(
            f"{what}: actual of shape {shape} is neither one-hot of the logits' "
            f"shape {logits.shape} nor one label per row ({rows} labels)"
            if onehot
            else f"{what}: actual of shape {shape} is not one label per row of "
            f"log_probs of shape {logits.shape} ({rows} labels)"
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
    """A loss as an object: ``loss(actual, predicted)`` is the value as a RamTensor ((1, 1,
    1), or the terms for ``reduction="none"``; ``float(t)`` gives the number) that an
    active autograd tape records, ``loss.value(...)`` the value as a float,
    ``loss.grad(actual, predicted)`` the derivative w.r.t. predicted, and
    ``loss.value_and_grad(actual, predicted)`` both from one fused pass. Every method
    takes ``weight=`` (see the module notes: per sample, per class for NLL)."""

    name = "loss"
    reduction = "mean"
    takes_labels = False  # whether ``actual`` may be integer class labels (rc.nn reads it)

    def __init__(self, reduction: str = "mean") -> None:
        _reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def __call__(self, actual, predicted, weight=None) -> RamTensor:
        tape = _get_tape()
        if tape is None:
            value = self._run(actual, predicted, weight, True, False)[0]
            return value if isinstance(value, RamTensor) else _tensor.full((1, 1, 1), value)
        # on a tape: value and gradient from the one fused pass (what training wants)
        value, grad = self._run(actual, predicted, weight, True, True)
        out = value if isinstance(value, RamTensor) else _tensor.full((1, 1, 1), value)
        tape.record(self.name, out, (actual, predicted), {"loss": self}, backward=self._rule(grad))
        return out

    def _rule(self, grad: RamTensor):
        """The tape's backward of one call: the loss's own fused gradient (the terms'
        derivatives for "none") times the incoming gradient g (elementwise for "none")."""

        def backward(g: RamTensor, needs: tuple[bool, ...]) -> tuple:
            if needs[0]:
                raise NotImplementedError(
                    f"Tape.gradient: {self!r} has no gradient with respect to actual "
                    f"(the targets); compute the targets outside the tape or under "
                    f"rc.autograd.pause()"
                )
            if g.size == 1 and float(g) == 1.0:
                return (None, grad)  # the seed 1: the gradient itself, bit for bit
            return (None, grad * g)

        return backward

    def value(self, actual, predicted, weight=None):
        """The loss of ``predicted`` against ``actual`` (tensors of the same shape, or
        integer labels one per row for the label losses): a Python float for the "mean"
        and "sum" reductions, a RamTensor of the terms for "none"."""
        return self._run(actual, predicted, weight, True, False)[0]

    def grad(self, actual, predicted, weight=None) -> RamTensor:
        """d loss / d predicted: a RamTensor of ``predicted``'s shape (``deriv`` is the
        same method, the original crate's name)."""
        return self._run(actual, predicted, weight, False, True)[1]

    deriv = grad

    def value_and_grad(self, actual, predicted, weight=None):
        """``(loss, d loss / d predicted)`` in one pass over memory.
        Returns ``(float, RamTensor of predicted's shape)``; for ``reduction="none"`` the value
        is a RamTensor of the terms."""
        return self._run(actual, predicted, weight, True, True)

    def _run(self, actual, predicted, weight, want_value, want_grad):
        if weight is None:  # subclasses written before weights keep working
            return self.value_and_grad_(actual, predicted, want_value, want_grad)
        return self.value_and_grad_(actual, predicted, want_value, want_grad, weight=weight)

    def value_and_grad_(self, actual, predicted, want_value, want_grad, weight=None):
        """The fused kernel call a subclass provides: ``(value or None, grad or None)``,
        computing only what ``want_value`` / ``want_grad`` ask for (``value`` as in
        ``value``, ``grad`` a RamTensor of ``predicted``'s shape)."""
        raise NotImplementedError

    def _options(self) -> dict:
        """The constructor options that differ from their defaults."""
        return {"reduction": self.reduction} if self.reduction != "mean" else {}

    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({opts})"

    def get_config(self) -> dict:
        """JSON-able ``{"name": ..., <options that differ from the defaults>}``;
        ``model.save`` stores it and ``rc.nn.load_model`` rebuilds the loss from it."""
        return {"name": self.name, **self._options()}


class _ElementLoss(Loss):
    kind = -1

    def value_and_grad_(self, actual, predicted, want_value, want_grad, weight=None):
        return _elem(
            self.kind, actual, predicted, weight, self.reduction, want_value, want_grad, self.name
        )


class MSE(_ElementLoss):
    """Mean squared error.
    ``predicted`` and ``actual``: (L, R, C) of the same shape."""

    name = "mse"
    kind = _MSE


class MAE(_ElementLoss):
    """Mean absolute error.
    ``predicted`` and ``actual``: (L, R, C) of the same shape."""

    name = "mae"
    kind = _MAE


class BinaryCrossEntropy(_ElementLoss):
    """Binary cross-entropy of probabilities (clamped logs, finite at 0 and 1), or with
    ``from_logits=True`` of ``sigmoid(predicted)`` computed from the logits (stable; the
    gradient is then ``(sigmoid(z) - a) / n``, what a sigmoid output layer fuses with).
    ``predicted`` and ``actual``: (L, R, C) of the same shape, probabilities in [0, 1] (or
    logits)."""

    name = "binary_cross_entropy"

    def __init__(self, from_logits: bool = False, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self.kind = _BCE_LOGITS if self.from_logits else _BCE

    def _options(self) -> dict:
        return {"from_logits": self.from_logits, **super()._options()}


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits; targets one-hot or integer labels per row;
    ``label_smoothing`` as torch's; ``weight=`` one per row (mean sum(w l) / sum(w)).
    ``predicted``: (L, R, C) logits, C classes; ``actual``: the same shape or L * R integer
    labels."""

    name = "cross_entropy"
    takes_labels = True

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.label_smoothing = _label_smoothing(label_smoothing, type(self).__name__)

    def value_and_grad_(self, actual, predicted, want_value, want_grad, weight=None):
        return _xent(
            actual,
            predicted,
            weight,
            self.reduction,
            self.label_smoothing,
            want_value,
            want_grad,
            self.name,
        )

    def _options(self) -> dict:
        opts = super()._options()
        if self.label_smoothing != 0.0:
            opts["label_smoothing"] = self.label_smoothing
        return opts


class NLL(Loss):
    """Negative log-likelihood of log-probabilities (torch's nll_loss) at integer labels,
    one per row; ``weight=`` one per CLASS (mean sum(w[y] l) / sum(w[y])).
    ``predicted``: (L, R, C) log-probabilities, C classes; ``actual``: L * R integer labels."""

    name = "nll"
    takes_labels = True

    def value_and_grad_(self, actual, predicted, want_value, want_grad, weight=None):
        return _nll(actual, predicted, weight, self.reduction, want_value, want_grad, self.name)


_REGISTRY: dict[str, type[Loss]] = {
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
    "nll": NLL,
    "nll_loss": NLL,
    "negative_log_likelihood": NLL,
}


def get(loss) -> Loss:
    """A loss object from a name (``"mse"``, ``"mae"``, ``"cross_entropy"``,
    ``"binary_cross_entropy"``, ``"nll"``, case-insensitive, a few Keras aliases) or a
    Loss."""
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
