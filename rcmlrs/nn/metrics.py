"""Metrics for ``compile(metrics=[...])``: names, ``Metric`` objects or functions.

Every metric is a ``Metric`` (Keras's protocol): ``reset_state()``, ``update_state(y_true,
y_pred)`` on one batch, ``result()`` for everything seen since the reset. ``fit`` resets
them each epoch and logs ``result()``; ``evaluate`` over its whole data.

What a metric sees: ``y_pred`` rows ``(rows, units)`` (a sequence output gives one row
per sample and step); ``y_true`` integer labels ``(rows,)`` or targets ``(rows, units)``.
A classification metric reads classes from them: with one unit, ``y_pred > threshold``
(0.5 on probabilities; ``fit`` passes 0 when the model's loss takes logits) against
``y_true > 0.5``; with several units, the argmax (of ``y_pred``; of ``y_true`` when it is
one-hot). The model hands classification metrics what the loss takes (the logits of a
softmax/sigmoid layer: the same argmax and, at threshold 0, the same decisions), and
regression metrics (mse, mae, r2) and functions the model's output.

How each is computed over an epoch:

- ``accuracy``, ``top_k_accuracy``, ``mse``, ``mae``: sums over the batches divided by
  the count (exactly the value over the epoch's predictions).
- ``precision``, ``recall``, ``f1``: from the epoch's confusion matrix (summed over the
  batches: exact); binary (pos label 1) with one unit, else macro over the classes that
  occur in y_true or y_pred (scikit-learn's ``average="macro"``; 0/0 counts as 0; F1 is
  the mean of the per-class F1s).
- ``auc``: ROC AUC of one unit over the epoch's stored scores: the exact trapezoid over
  the distinct thresholds (tied scores form one step, as scikit-learn's
  ``roc_auc_score``); NaN when the epoch holds only one class.
- ``r2``: over the epoch's stored targets and outputs, ``1 - SS_res / SS_tot`` per output
  unit, averaged (scikit-learn's ``r2_score``, ``uniform_average``; an output with
  SS_tot = 0 counts 1 if predicted exactly, else 0).
- a function ``fn(y_true, y_pred) -> float or per-row values`` (NumPy in): the mean of
  its values, weighted by the rows of each batch (Keras's ``MeanMetricWrapper``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rcmlrs import _layers as _L
from rcmlrs import losses as _losses
from rcmlrs._tensor import RamTensor

if TYPE_CHECKING:
    import numpy as np


def _rows(a: Any) -> np.ndarray:
    """``a`` as float64 rows (rows, units)."""
    import numpy as np

    arr = a.numpy() if isinstance(a, RamTensor) else np.asarray(a)
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim <= 1:
        return arr.reshape(-1, 1)
    return arr.reshape(-1, arr.shape[-1])


def _truth(y_true: Any, rows: int) -> np.ndarray:
    """``y_true`` as labels (rows,) when it holds one value per row, else rows."""
    t = _rows(y_true)
    return t.reshape(-1) if t.size == rows else t


class Metric:
    """Base of the metrics: subclass it with ``reset_state``, ``update_state`` and
    ``result`` (and a ``name``) to pass your own to ``compile``."""

    name: str = "metric"
    uses_logits: ClassVar[bool] = True  # classification: reads what the loss takes
    stores_predictions: ClassVar[bool] = False  # result() costs O(rows seen): AUC, R2
    threshold: float = 0.5

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            if not isinstance(name, str) or not name:
                raise TypeError(f"{type(self).__name__}: name must be a non-empty str")
            self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        """Forget everything seen."""

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        """Take one batch (NumPy arrays or tensors; see the module docstring): ``y_pred``
        as ``(rows, units)`` and ``y_true`` as labels ``(rows,)`` or targets ``(rows, units)``."""
        raise NotImplementedError

    def result(self) -> float:
        """The metric over everything seen since ``reset_state``, as a float; subclasses
        define it."""
        raise NotImplementedError

    def update_from_batch(
        self, out: RamTensor, lin: RamTensor, yb: RamTensor, labels: bool, thr: float
    ) -> None:
        """What the model calls: one engine batch (``lin`` what the loss took, ``thr`` the
        decision threshold on it, ``yb`` the targets, or labels as floats). ``thr`` is 0 when
        ``lin`` holds logits and 0.5 when it holds probabilities in [0, 1]; ``out`` and ``lin``
        are the output batch in its engine layout, read as ``(rows, units)``."""
        keep = self.threshold
        self.threshold = thr if self.uses_logits else 0.5
        try:
            self.update_state(yb, lin if self.uses_logits else out)
        finally:
            self.threshold = keep

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a dict (here ``name``)."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _classes(y_true: Any, y_pred: Any, thr: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(true classes, predicted classes, units) as int arrays (see the module docstring)."""
    import numpy as np

    p = _rows(y_pred)
    n, units = p.shape
    t = _truth(y_true, n)
    if units == 1:
        pred = (p[:, 0] > thr).astype(np.int64)
        true = (t.reshape(-1) > 0.5).astype(np.int64)
        return true, pred, 2
    pred = np.argmax(p, axis=1) if n else np.zeros(0, np.int64)
    if t.ndim == 1:
        true = t.astype(np.int64)
    else:
        true = np.argmax(t, axis=1) if n else np.zeros(0, np.int64)
    if true.size and (true.min() < 0 or true.max() >= units):
        raise ValueError(f"metrics: a label is out of range for {units} output units")
    return true, pred, units


class _Mean(Metric):
    """A sum over the batches divided by a count."""

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class Accuracy(_Mean):
    """The fraction of rows whose predicted class is the true one.

    The result is a fraction in [0, 1], not a percentage."""

    name = "accuracy"

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        true, pred, _ = _classes(y_true, y_pred, self.threshold)
        self.total += float((true == pred).sum())
        self.count += true.shape[0]

    def update_from_batch(
        self, out: RamTensor, lin: RamTensor, yb: RamTensor, labels: bool, thr: float
    ) -> None:  # the counting kernel
        self.total += _L._nn_count_correct(lin, yb, labels, thr)
        self.count += lin.size // max(lin.cols, 1)


class TopKAccuracy(_Mean):
    """The fraction of rows whose true class has fewer than ``k`` scores above its own
    (ties count in favour, as ``tf.math.in_top_k``); needs several output units."""

    name = "top_k_accuracy"

    def __init__(self, k: int = 5, name: str | None = None) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be an int >= 1, got {k!r}")
        self.k = k
        super().__init__(name)

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        import numpy as np

        p = _rows(y_pred)
        n, units = p.shape
        if units < 2:
            raise ValueError("top_k_accuracy: needs a multi-class output (>= 2 units)")
        true, _, _ = _classes(y_true, p, 0.5)
        own = p[np.arange(n), true]
        above = (p > own[:, None]).sum(axis=1)
        self.total += float((above < self.k).sum())
        self.count += n

    def get_config(self) -> dict[str, Any]:
        """``k`` and ``name``."""
        return {"k": self.k, **super().get_config()}


class MeanSquaredError(_Mean):
    """The mean of (y_pred - y_true)^2 over every element of the epoch."""

    name = "mse"
    uses_logits = False

    def _elementwise(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return (p - t) ** 2

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        p = _rows(y_pred)
        t = _rows(y_true).reshape(p.shape)
        self.total += float(self._elementwise(t, p).sum())
        self.count += p.size

    def update_from_batch(
        self, out: RamTensor, lin: RamTensor, yb: RamTensor, labels: bool, thr: float
    ) -> None:  # the loss kernel (NaN against labels: there is no target vector)
        self.total += float("nan") if labels else self._kernel(yb, out) * out.size
        self.count += out.size

    def _kernel(self, yb: RamTensor, out: RamTensor) -> float:
        return float(_losses.mse_loss(yb, out))


class MeanAbsoluteError(MeanSquaredError):
    """The mean of |y_pred - y_true| over every element of the epoch."""

    name = "mae"

    def _kernel(self, yb: RamTensor, out: RamTensor) -> float:
        return float(_losses.mae_loss(yb, out))

    def _elementwise(self, t: np.ndarray, p: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.abs(p - t)


class _Confusion(Metric):
    """Keeps the epoch's confusion matrix (true class x predicted class)."""

    def reset_state(self) -> None:
        self.cm: np.ndarray | None = None

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        import numpy as np

        true, pred, k = _classes(y_true, y_pred, self.threshold)
        self.binary = _rows(y_pred).shape[1] == 1
        cm = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
        self.cm = cm if self.cm is None or self.cm.shape != cm.shape else self.cm + cm

    def _per_class(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(tp, fp, fn) of the classes the result averages over (class 1 when binary)."""
        import numpy as np

        if self.cm is None:
            return None
        cm = self.cm
        tp = np.diag(cm).astype(np.float64)
        fp = cm.sum(axis=0) - tp
        fn = cm.sum(axis=1) - tp
        if self.binary:
            return tp[1:], fp[1:], fn[1:]
        seen = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
        return tp[seen], fp[seen], fn[seen]

    def _score(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def result(self) -> float:
        import numpy as np

        parts = self._per_class()
        if parts is None or parts[0].size == 0:
            return 0.0
        return float(np.mean(self._score(*parts)))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


class Precision(_Confusion):
    """tp / (tp + fp): binary (one unit) or macro.

    The result is a fraction in [0, 1]; see the module docstring for the threshold."""

    name = "precision"

    def _score(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
        return _ratio(tp, tp + fp)


class Recall(_Confusion):
    """tp / (tp + fn): binary (one unit) or macro.

    The result is a fraction in [0, 1]; see the module docstring for the threshold."""

    name = "recall"

    def _score(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
        return _ratio(tp, tp + fn)


class F1Score(_Confusion):
    """2 tp / (2 tp + fp + fn): binary (one unit) or the macro mean of per-class F1s.

    The result is a fraction in [0, 1]; see the module docstring for the threshold."""

    name = "f1"

    def _score(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
        return _ratio(2 * tp, 2 * tp + fp + fn)


class AUC(Metric):
    """ROC AUC of a one-unit output over the epoch's scores (ties as scikit-learn).

    ``y_pred`` has shape ``(rows, 1)`` (logits or probabilities: only their order
    counts) and the result is in [0, 1]."""

    name = "auc"
    stores_predictions = True

    def reset_state(self) -> None:
        self._t: list[np.ndarray] = []
        self._s: list[np.ndarray] = []

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        p = _rows(y_pred)
        if p.shape[1] != 1:
            raise ValueError(f"auc: binary only (one output unit), got {p.shape[1]} units")
        self._s.append(p[:, 0].copy())
        self._t.append(_truth(y_true, p.shape[0]).reshape(-1) > 0.5)

    def result(self) -> float:
        """The ROC AUC of every score stored since ``reset_state`` (see ``roc_auc``); NaN before the
        first batch or when only one class was seen."""
        import numpy as np

        if not self._s:
            return math.nan
        s, t = np.concatenate(self._s), np.concatenate(self._t)
        return roc_auc(t, s)


def roc_auc(y_true: Any, score: Any) -> float:
    """ROC AUC of binary ``y_true`` for ``score``: the trapezoid over the ROC points of
    the distinct scores, high to low (tied scores form one diagonal step); NaN when only
    one class is present. ``y_true`` and ``score`` are flattened to ``(n,)``; the result
    is in [0, 1]."""
    import numpy as np

    t = np.asarray(y_true, dtype=bool).reshape(-1)
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    pos = int(t.sum())
    neg = t.size - pos
    if pos == 0 or neg == 0:
        return math.nan
    order = np.argsort(-s, kind="mergesort")
    s, t = s[order], t[order]
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]  # the end of each run of ties
    tps = np.cumsum(t)[last].astype(np.float64)
    fps = (last + 1) - tps
    tpr = np.r_[0.0, tps / pos]
    fpr = np.r_[0.0, fps / neg]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


class R2Score(Metric):
    """Coefficient of determination over the epoch's stored targets and outputs.

    Targets and outputs are read as ``(rows, units)``; the result is unitless, at most 1."""

    name = "r2"
    uses_logits = False
    stores_predictions = True

    def reset_state(self) -> None:
        self._t: list[np.ndarray] = []
        self._p: list[np.ndarray] = []

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        p = _rows(y_pred)
        self._p.append(p)
        self._t.append(_rows(y_true).reshape(p.shape))

    def update_from_batch(
        self, out: RamTensor, lin: RamTensor, yb: RamTensor, labels: bool, thr: float
    ) -> None:
        if labels:
            raise ValueError("r2: needs target values, not class labels")
        self.update_state(yb, out)

    def result(self) -> float:
        """R^2 = 1 - SS_res / SS_tot of each output column over the stored rows, averaged over the
        columns (a constant target column scores 1 when fitted exactly, else 0); NaN before the
        first batch."""
        import numpy as np

        if not self._p:
            return math.nan
        t, p = np.concatenate(self._t), np.concatenate(self._p)
        ss_res = ((t - p) ** 2).sum(axis=0)
        ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
        ok = ss_tot != 0
        r2 = np.where(ss_res == 0, 1.0, 0.0)
        r2[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
        return float(r2.mean())


class MeanMetricWrapper(_Mean):
    """A function ``fn(y_true, y_pred)`` (NumPy in; a float or per-row values out)
    averaged over the rows seen; the model passes its output as ``y_pred``."""

    uses_logits = False

    def __init__(self, fn: Callable[[Any, Any], Any], name: str | None = None) -> None:
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", None) or "metric")

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        import numpy as np

        p = _rows(y_pred)
        n = p.shape[0]
        t = _rows(y_true)
        t = t.reshape(p.shape) if t.size == p.size else t.reshape(-1)  # targets or labels
        v = np.asarray(self.fn(t, p), dtype=np.float64)
        self.total += float(v.mean()) * n if v.size else 0.0
        self.count += n


_BY_NAME: dict[str, Callable[[], Metric]] = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "top_k_accuracy": TopKAccuracy,
    "top_k_categorical_accuracy": TopKAccuracy,
    "precision": Precision,
    "recall": Recall,
    "f1": F1Score,
    "f1_score": F1Score,
    "auc": AUC,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "r2": R2Score,
    "r2_score": R2Score,
}
NAMES = ("accuracy", "top_k_accuracy", "precision", "recall", "f1", "auc", "mse", "mae", "r2")
CLASSES: dict[str, type[Metric]] = {
    c.__name__: c
    for c in (
        Accuracy,
        TopKAccuracy,
        Precision,
        Recall,
        F1Score,
        AUC,
        MeanSquaredError,
        MeanAbsoluteError,
        R2Score,
    )
}


def get(metric: Any) -> Metric:
    """A fresh ``Metric`` for a name (case-insensitive; Keras aliases), a ``Metric``
    (copied, state reset), a ``{"class", "config"}`` description (``serialize``) or a
    function ``fn(y_true, y_pred)``."""
    if isinstance(metric, Metric):
        m = copy.deepcopy(metric)
        m.reset_state()
        return m
    if isinstance(metric, str):
        key = metric.strip().lower()
        if key not in _BY_NAME:
            raise ValueError(f"unknown metric {metric!r}; valid names are {', '.join(NAMES)}")
        return _BY_NAME[key]()
    if isinstance(metric, dict):
        if set(metric) - {"class", "config"} or metric.get("class") not in CLASSES:
            raise ValueError(
                f"metric description must be {{'class': one of {sorted(CLASSES)}, "
                f"'config': {{...}}}}, got {metric!r}"
            )
        config = metric.get("config", {})
        if not isinstance(config, dict):
            raise TypeError(f"metric config must be a dict, got {config!r}")
        return CLASSES[metric["class"]](**config)
    if callable(metric):
        return MeanMetricWrapper(metric)
    raise TypeError(
        f"a metric must be a name, an rc.nn.metrics.Metric or a function "
        f"(y_true, y_pred) -> float, got {type(metric).__name__}"
    )


def serialize(metric: Metric) -> str | dict[str, Any] | None:
    """A built-in metric's name (default settings) or ``{"class", "config"}``; None for
    one ``model.save`` cannot store (a function, a user class)."""
    cls = type(metric)
    if cls not in CLASSES.values():
        return None
    cfg = metric.get_config()
    if cfg == cls().get_config():
        return cls.name
    return {"class": cls.__name__, "config": cfg}


__all__ = [
    "AUC",
    "CLASSES",
    "NAMES",
    "Accuracy",
    "F1Score",
    "MeanAbsoluteError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "Precision",
    "R2Score",
    "Recall",
    "TopKAccuracy",
    "get",
    "roc_auc",
    "serialize",
]
