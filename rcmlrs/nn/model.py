"""Models: ``Model``, the Keras-style base (subclass it, assign layers, write ``call``),
and ``Sequential``, a stack of layers trained with mini-batches.

One ``Sequential`` training step is plain to read: gather a batch (one kernel), run every
layer's ``forward``, take loss value and gradient in one fused call, run every
``backward`` in reverse, then ``optimizer.step(grads)``. No per-sample Python loop
anywhere.

A step that the layers' own backward cannot take runs on an ``rc.autograd.Tape``
instead: one tape per step watches the trainable params, records the forward (each
built-in layer as one fused op, a layer with only ``forward`` as its tensor ops) and the
loss (autodiff.py), ``tape.gradient`` gives the param gradients, the optimizer steps.
A subclassed ``Model`` always trains this way; a ``Sequential`` does when one of its
layers defines no ``backward``.

The models talk to their layers only through the ``Layer`` protocol (layers/base.py), to
the data through batches.py (NumPy in and out), and leave files to saving.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import rcmlrs
from rcmlrs import losses as _losses
from rcmlrs._tensor import RamTensor, RCMLRSError, ShapeError
from rcmlrs.autograd import Tape, pause
from rcmlrs.nn import autodiff
from rcmlrs.nn import batches as _b
from rcmlrs.nn import metrics as _metrics
from rcmlrs.nn import optimizers as _optim
from rcmlrs.nn.layers.base import Layer, Shape, as_batch, building, has_backward
from rcmlrs.nn.progress import History, Progress
from rcmlrs.nn.seeding import MASK64, Seeds, draw_seed, layer_seed, shuffle_seed

if TYPE_CHECKING:
    import os

    import numpy as np


class NonFiniteLossError(RCMLRSError, ArithmeticError):
    """The training loss became NaN or infinite; the message names epoch and batch."""


def _check_int(v: object, name: str, lo: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{what}: {name} must be an int >= {lo}, got {v!r}")
    return v


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _sample_of(batch: RamTensor) -> Shape:
    """The per-sample shape of an engine batch, read as rows or time-major."""
    return (batch.cols,) if batch.layers == 1 else (batch.layers, batch.cols)


def _zero_batch(sample: Shape) -> RamTensor:
    """An engine batch of one sample of zeros of shape ``sample``."""
    sample = tuple(1 if d is None else int(d) for d in sample)
    layout = _b.layout_of(len(sample))
    if layout == "time_major":
        return rcmlrs.zeros((sample[0], 1, sample[1]))
    if layout == "images":
        return rcmlrs.zeros((1, sample[0] * sample[1], sample[2]))
    return rcmlrs.zeros((1, 1, math.prod(sample)))


class _Data:
    """One call's inputs (and targets), ready to be cut into batches: ``gather(order,
    start, count)`` gives an engine batch (a list of them for a model of several
    inputs); ``out_sample`` is the per-sample output shape."""

    __slots__ = ("gather", "n", "out_sample", "targets")

    def __init__(
        self,
        gather: Callable[[np.ndarray, int, int], Any],
        targets: _b.Targets | None,
        n: int,
        out_sample: Shape,
    ) -> None:
        self.gather = gather
        self.targets = targets
        self.n = n
        self.out_sample = tuple(out_sample)


# ---------------------------------------------------------------------- fit's helpers


def _array_batches(
    data: _Data, order: np.ndarray, n_train: int, batch_size: int, weights: np.ndarray | None
) -> Any:
    """One epoch of arrays as ``(gather, targets, order, start, count, weights)``."""
    gather, targets = data.gather, data.targets
    for s in range(0, n_train, batch_size):
        c = min(batch_size, n_train - s)
        yield gather, targets, order, s, c, None if weights is None else weights[order[s : s + c]]


def _sample_weights(
    targets: _b.Targets, sample_weight: Any, class_weight: Any, n: int, what: str
) -> np.ndarray | None:
    """The per-sample float32 weights (n,) of fit's ``sample_weight`` times the
    ``class_weight`` of each sample's class; None when there are none or all are 1 (the
    unweighted path is then taken, bit for bit)."""
    import numpy as np

    w: np.ndarray | None = None
    if sample_weight is not None:
        arr = _b.to_array(sample_weight, f"{what}: sample_weight")
        if arr.shape not in ((n,), (n, 1)):
            raise ShapeError(
                f"{what}: sample_weight must hold one weight per sample, shape ({n},), got "
                f"shape {arr.shape}"
            )
        w = np.ascontiguousarray(arr.reshape(n), dtype=np.float32)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            i = int(np.argmax(~np.isfinite(w) | (w < 0)))
            raise ValueError(
                f"{what}: sample_weight must be finite and >= 0, got {float(w[i])} at sample {i}"
            )
    if class_weight:
        cw = _class_weights(targets, class_weight, what)
        w = cw if w is None else w * cw
    if w is None or bool(np.all(w == 1.0)):
        return None
    return w


def _class_weights(targets: _b.Targets, class_weight: dict[Any, Any], what: str) -> np.ndarray:
    """The weight of each sample's class (classes missing from the dict weigh 1)."""
    import numpy as np

    out_shape = targets.out_shape
    if len(out_shape) != 1:
        raise ValueError(
            f"{what}: class_weight needs one class per sample, but the targets are sequences "
            f"{out_shape}; pass sample_weight instead"
        )
    units = out_shape[0]
    n_classes = units if units >= 2 else 2
    table = np.ones(n_classes, dtype=np.float32)
    for k, v in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"{what}: class_weight keys must be int class indices, got {k!r}")
        if not 0 <= int(k) < n_classes:
            raise ValueError(
                f"{what}: class_weight names class {int(k)}, but the model has {n_classes} "
                f"classes (0..{n_classes - 1})"
            )
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise TypeError(f"{what}: class_weight[{k}] must be a number, got {v!r}")
        if not math.isfinite(float(v)) or float(v) < 0:
            raise ValueError(f"{what}: class_weight[{k}] must be finite and >= 0, got {v!r}")
        table[int(k)] = float(v)
    if targets.labels is not None:
        cls = targets.labels
    else:
        assert targets.dense is not None
        dense = targets.dense
        if units >= 2:
            cls = np.argmax(dense, axis=-1)
        else:
            cls = np.rint(dense.reshape(-1)).astype(np.int64)
            if cls.size and (cls.min() < 0 or cls.max() > 1):
                raise ValueError(
                    f"{what}: class_weight with one output unit needs 0/1 targets, got "
                    f"values that round to {int(cls.min())}..{int(cls.max())}"
                )
    return np.ascontiguousarray(table[cls], dtype=np.float32)


class _WeightedLoss:
    """fit's loss with per-sample weights ``w`` (Keras semantics): the batch loss is
    ``sum_i w_i l_i / batch_size`` (each sample's term is the mean over its elements or
    time steps). mse, mae and the binary cross-entropies give exactly that with
    ``weight=w`` (their weighted mean divides by the element count); cross-entropy's
    divides by ``sum(w)`` (torch), so it runs with reduction "sum" and is divided by the
    row count here. A loss without per-sample weights raises when weights are asked for
    (at once when ``strict``, else at the first weighted batch)."""

    def __init__(self, loss: Any, strict: bool) -> None:
        self.loss = loss
        self.rows = False
        self.error = ""
        if isinstance(loss, (_losses.MSE, _losses.MAE, _losses.BinaryCrossEntropy)):
            return
        if isinstance(loss, _losses.CrossEntropy):
            if loss.reduction == "mean":
                self.loss = _losses.CrossEntropy("sum", loss.label_smoothing)
                self.rows = True
            return
        self.error = (
            f"fit: class_weight and sample_weight need a loss that takes per-sample weights "
            f"(mse, mae, binary_cross_entropy, cross_entropy); {loss!r} does not"
        )
        if strict:
            raise ValueError(self.error)

    def value_and_grad(self, actual: Any, lin: RamTensor, w: Any) -> tuple[float, RamTensor]:
        if self.error:
            raise ValueError(self.error)
        value, grad = self.loss.value_and_grad(actual, lin, weight=w)
        if self.rows:
            rows = float(lin.layers * lin.rows)
            return value / rows, grad / rows
        return value, grad

    def on_tape(self, actual: Any, lin: RamTensor, w: Any) -> RamTensor:
        if self.error:
            raise ValueError(self.error)
        out = self.loss(actual, lin, weight=w)
        return out / float(lin.layers * lin.rows) if self.rows else out


_END = object()  # the end of a batch source's iterator


class _BatchSource:
    """fit's ``x`` when it is a source of ``(x, y[, w])`` batches: one iterator per epoch
    (a function's new iterator, a re-iterable's ``iter``), or one iterator continued across
    epochs (a generator); ``steps`` batches per epoch (None: unknown)."""

    def __init__(self, x: Any, kind: str, steps_per_epoch: int | None) -> None:
        self.x = x
        self.kind = kind  # "function", "iterable", "sequence" or "iterator"
        self.steps_per_epoch = steps_per_epoch
        self.steps: int | None = steps_per_epoch
        if self.steps is None and kind in ("iterable", "sequence"):
            try:
                self.steps = len(x)
            except TypeError:
                self.steps = None
        self._it: Any = None
        self._pending: Any = None  # the first batch, read ahead to build the model

    @staticmethod
    def of(x: Any, y: Any, steps_per_epoch: int | None) -> _BatchSource | None:
        import numpy as np

        if isinstance(x, (np.ndarray, RamTensor, str, bytes)):
            return None
        kind = ""
        if isinstance(x, (list, tuple)):
            if (
                y is None
                and x
                and all(
                    isinstance(b, (tuple, list))
                    and len(b) in (2, 3)
                    and not isinstance(b[0], (int, float, np.number))
                    for b in x
                )
            ):
                kind = "iterable"
        elif hasattr(x, "__next__"):
            kind = "iterator"
        elif hasattr(x, "__len__") and hasattr(x, "__getitem__") and not hasattr(x, "__array__"):
            kind = "sequence"
        elif callable(x):
            kind = "function"
        elif hasattr(x, "__iter__") and not hasattr(x, "__array__"):
            kind = "iterable"
        if not kind:
            return None
        if y is not None:
            raise TypeError(
                "fit: x is a source of (x, y) batches, so y must be None (the targets come "
                "in the batches)"
            )
        return _BatchSource(x, kind, steps_per_epoch)

    def _fresh(self) -> Any:
        if self.kind == "function":
            it = self.x()
            try:
                return iter(it)
            except TypeError:
                raise TypeError(
                    f"fit: x() must return an iterator of (x, y) batches, got {type(it).__name__}"
                ) from None
        if self.kind == "sequence":
            seq = self.x
            return (seq[i] for i in range(len(seq)))
        return iter(self.x)

    @staticmethod
    def _check(batch: Any, k: int) -> tuple[Any, ...]:
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise TypeError(
                f"fit: batch {k} of the source is a {type(batch).__name__}; each batch must be "
                f"a tuple (x, y) or (x, y, sample_weight)"
            )
        return tuple(batch)

    def first(self, epochs: int) -> tuple[Any, ...]:
        """The first batch (read ahead; the first epoch still starts with it)."""
        if self.kind == "iterator" and epochs > 1 and self.steps_per_epoch is None:
            raise ValueError(
                f"fit: x is a generator, which can be read only once, and epochs={epochs}; "
                f"pass steps_per_epoch (batches per epoch), or a function that returns a new "
                f"generator, a list of batches or a Sequence"
            )
        self._it = self._fresh()
        try:
            self._pending = self._check(next(self._it), 0)
        except StopIteration:
            raise ValueError("fit: the source of batches is empty") from None
        return self._pending

    def epoch(self, epoch: int) -> Any:
        """The batches of epoch ``epoch`` (0-based) of this fit."""
        if epoch > 0 and self.kind != "iterator":
            self._it = self._fresh()
        it, limit = self._it, self.steps_per_epoch
        k = 0
        if self._pending is not None:
            batch, self._pending = self._pending, None
            yield batch
            k = 1
        while limit is None or k < limit:
            batch = next(it, _END)
            if batch is _END:
                if limit is not None:
                    raise ValueError(
                        f"fit: the source of batches ran out after {k} of the "
                        f"steps_per_epoch={limit} batches of epoch {epoch + 1}; give fewer "
                        f"steps or a source that yields steps_per_epoch * epochs batches"
                    )
                if k == 0:
                    raise ValueError(f"fit: the source of batches is empty at epoch {epoch + 1}")
                return
            yield self._check(batch, k)
            k += 1

    def epoch_end(self) -> None:
        hook = getattr(self.x, "on_epoch_end", None)
        if self.kind == "sequence" and callable(hook):
            hook()


class Model:
    """The Keras-style base of rc.nn models: subclass it, assign layers as attributes in
    ``__init__`` (tracked in order of assignment; ``model.layers``) and define
    ``call(self, inputs, training=False)`` with those layers and tensor ops::

        class Res(rc.nn.Model):
            def __init__(self):
                super().__init__()
                self.d1 = rc.nn.Dense(32, "tanh")
                self.d2 = rc.nn.Dense(4)

            def call(self, x, training=False):
                return self.d2(self.d1(x)) + x

    ``inputs`` is an engine batch (a rank-3 RamTensor: ``(1, batch, features)`` for
    samples ``(features,)``, time-major ``(T, batch, f)`` for sequences), or a list of
    them when ``fit``/``predict`` get a list of arrays (a model of several inputs). The
    first call builds the layers from the first batch (``fit(seed=...)`` makes their
    weights reproducible). ``compile``, ``fit``, ``evaluate``, ``predict`` and
    ``summary`` work as for ``Sequential``; training runs on ``rc.autograd`` (one tape
    per step), so ``call`` may use any differentiable tensor op. The loss gets ``call``'s
    output: with cross_entropy return logits. ``save_weights``/``load_weights`` store the
    weights (``model.save`` cannot store ``call``'s Python code)."""

    _builds_on_predict = True  # a subclassed model builds on its first batch, as in Keras
    _layers: list[Layer]

    def __init__(self, name: str | None = None) -> None:
        object.__setattr__(self, "_layers", [])
        self.name = name if name is not None else _snake(type(self).__name__)
        self.built = False
        self.input_shape: Any = None  # per sample (a list of them for several inputs)
        self.optimizer: Any = None  # rc.Adam, rc.SGD or any object with add_params and step
        self.loss: _losses.Loss | None = None
        self.metrics: list[str] = []  # the log names of the compiled metrics
        self._metric_objs: list[_metrics.Metric] = []
        # the fit random streams: base seed and epochs drawn from it (saved with the model)
        self.seed: int | None = None
        self.epoch = 0
        self._opt_attached = False
        self._fused = False
        self._loss_fn: Any = None
        self._logits_out = False
        self._output_activation: str | None = None  # of the layer whose output call returns
        self._inputs: list[Shape] = []
        self._out_sample: Shape | None = None
        self._pending_weights: list[RamTensor] | None = None
        self._tape_sources: list[RamTensor] = []
        self._tape_slots: list[int] = []
        self._wloss: Any = None  # fit's loss with sample weights (_WeightedLoss)
        self.stop_training = False  # set True (e.g. by a callback) to end fit early

    # ------------------------------------------------------------------ structure
    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Layer):
            self._track(value)
        elif (
            isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value)
        ):
            for v in value:
                self._track(v)
        object.__setattr__(self, name, value)

    def _track(self, layer: Layer) -> None:
        """Append ``layer`` to ``layers`` (once), naming it after its kind if unnamed."""
        layers = self.__dict__.get("_layers")
        if layers is None:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() in __init__ before "
                f"assigning layers"
            )
        if any(layer is other for other in layers):
            return
        if self.__dict__.get("built"):
            raise RuntimeError(
                f"{type(self).__name__}: the model is already built; assign every layer in __init__"
            )
        if layer.name is None:
            k = sum(1 for other in layers if other.kind == layer.kind)
            layer.name = layer.kind if k == 0 else f"{layer.kind}_{k}"
        layers.append(layer)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers, in order of assignment (of ``add`` for Sequential)."""
        return self._layers

    def call(self, inputs: Any, training: bool = False) -> RamTensor:
        """The forward pass on an engine batch (or a list of them); subclasses define it."""
        raise NotImplementedError(
            f"{type(self).__name__}: subclass rc.nn.Model and define "
            f"call(self, inputs, training=False)"
        )

    def _as_inputs(self, x: Any) -> Any:
        if isinstance(x, (list, tuple)):
            return [as_batch(t) for t in x]
        return as_batch(x)

    def __call__(self, x: Any, training: bool = False) -> RamTensor:
        """The forward pass on an engine-layout batch (a RamTensor; a list of them for
        several inputs), returning a RamTensor; an active tape records it. Builds the
        model on first use."""
        xb = self._as_inputs(x)
        if not self.built:
            self._build_from_batch(xb)
        return self.call(xb, training)

    def _forward(self, x: Any, training: bool) -> RamTensor:
        return self.call(x, training)

    def _forward_logits(self, x: Any, training: bool) -> tuple[RamTensor, RamTensor]:
        """(output, what the loss takes) of one forward call."""
        out = self._forward(x, training)
        return out, out

    def _loss_input(self, out: RamTensor) -> RamTensor:
        return self.layers[-1].logits if self._fused else out

    # ------------------------------------------------------------------ build
    def build(self, input_shape: Any, seed: int | None = None) -> Model:
        """Build the layers for per-sample ``input_shape`` (a list of shapes for several
        inputs) by calling the model on a batch of zeros; ``seed`` makes the weights
        reproducible."""
        multi = isinstance(input_shape, list) and all(
            isinstance(s, (tuple, list)) for s in input_shape
        )
        shapes = [tuple(s) for s in input_shape] if multi else [tuple(input_shape)]
        batches = [_zero_batch(s) for s in shapes]
        self._build_on(batches if multi else batches[0], shapes, seed)
        return self

    def _build_from_batch(self, xb: Any) -> None:
        batches = xb if isinstance(xb, list) else [xb]
        self._build_on(xb, [_sample_of(b) for b in batches], None)

    def _build_on(self, xb: Any, samples: list[Shape], seed: int | None) -> None:
        """Build by one call on the batch ``xb`` (recording paused): every layer builds
        from what reaches it, seeded in call order."""
        if not self.layers:
            raise ValueError(
                f"{type(self).__name__}: the model has no layers; assign them as attributes "
                f"in __init__"
            )
        with building(Seeds(seed)) as ctx, pause():
            out = self.call(xb, training=False)
        if not isinstance(out, RamTensor):
            raise TypeError(
                f"{type(self).__name__}.call must return a RamTensor, got {type(out).__name__}"
            )
        first = xb[0] if isinstance(xb, list) else xb
        count = first.layers if len(samples[0]) == 3 else first.rows  # images: (B, H*W, C)
        L, R, C = out.shape
        if R != count:
            raise ShapeError(
                f"{type(self).__name__}.call: output of shape {out.shape} for a batch of "
                f"{count} samples; the output must be rows (1, batch, units) or "
                f"time-major (T, batch, units)"
            )
        self._out_sample = (C,) if L == 1 else (L, C)
        self._output_activation = next(
            (layer.output_activation for layer, o in ctx.outputs if o is out), None
        )
        self._inputs = [tuple(s) for s in samples]
        self.input_shape = self._inputs[0] if not isinstance(xb, list) else list(self._inputs)
        self.built = True
        self._after_build()

    def _after_build(self) -> None:
        if self.optimizer is not None:
            self._attach_optimizer()
        self._configure_output()
        if self._pending_weights is not None:
            weights, self._pending_weights = self._pending_weights, None
            self._load_weight_list(weights)

    def _declared_input_shape(self) -> Shape | None:
        return None

    def _build_declared(self, what: str) -> None:
        """Build from the first layer's declared ``input_shape`` (Keras builds such a model
        at once), or raise: there are no weights to compute with yet."""
        declared = self._declared_input_shape()
        if declared is None:
            raise RuntimeError(f"{what}: the model is not built; fit it (or call build) first")
        self.build(declared)

    def _output_shape_for(self, sample: Any) -> Shape:
        return tuple(self._out_sample or ())

    # ------------------------------------------------------------------ weights
    @property
    def params(self) -> list[RamTensor]:
        """Every layer's parameter tensors, layer by layer (the live tensors, as ``weights``)."""
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self) -> list[RamTensor]:
        """The gradient buffers of ``params``, in the same order (live tensors that each backward
        pass overwrites)."""
        return [g for layer in self.layers for g in layer.grads]

    @property
    def weights(self) -> list[RamTensor]:
        """Every weight tensor, layer by layer: each layer's params, then its non-trainable
        weights (BatchNormalization's moving statistics), Keras's order (the live tensors,
        not copies)."""
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self) -> list[RamTensor]:
        """Copies of ``weights`` (params and non-trainable weights, layer by layer: what
        ``set_weights`` takes back).

        Each is a rank-3 float32 RamTensor of its weight's ``(layers, rows, cols)`` shape."""
        return [p.copy() for p in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Copy ``weights`` (tensors or arrays, one per weight in ``get_weights`` order) into the
        layers; ValueError for a wrong count, ShapeError for a wrong size."""
        weights = list(weights)
        n = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != n:
            raise ValueError(f"set_weights: got {len(weights)} tensors, the model has {n}")
        i = 0
        for layer in self.layers:
            k = len(layer.weights)
            layer.set_weights(weights[i : i + k])
            i += k

    def count_params(self) -> int:
        """The number of scalar weights over all layers (frozen and non-trainable ones
        included)."""
        return sum(layer.count_params() for layer in self.layers)

    def save_weights(self, path: str | os.PathLike[str]) -> None:
        """Write the weights (``weights``: every layer's params and non-trainable weights, in
        order) to one binary container;
        ``load_weights`` puts them into a model of the same architecture, e.g. a new
        instance of the same Model subclass. Atomic."""
        from rcmlrs.nn import saving

        if not self.built:
            raise RuntimeError("save_weights: the model is not built; fit it (or call build) first")
        saving.save_weights(self, path)

    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Load weights written by ``save_weights``. An unbuilt model keeps them and loads
        them when it is built (by ``build``, its first call, ``fit`` or ``predict``)."""
        from rcmlrs.nn import saving

        weights = saving.load_weights(path)
        if not self.built:
            self._pending_weights = weights
            return
        self._load_weight_list(weights)

    def _load_weight_list(self, weights: list[RamTensor]) -> None:
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(
                f"load_weights: the file holds {len(weights)} tensors, the model has "
                f"{len(params)} weights"
            )
        for i, (p, w) in enumerate(zip(params, weights, strict=True)):
            if p.shape != w.shape:
                raise ShapeError(
                    f"load_weights: tensor {i} has shape {w.shape}, the model's param {p.shape}"
                )
        self.set_weights(weights)

    def summary(self) -> str:
        """A table of layers, per-sample output shapes and parameter counts.

        Shapes have no batch axis; counts are numbers of scalar weights."""
        if not self.built and self._declared_input_shape() is not None:
            self.build(self._declared_input_shape())
        rule, thick = "_" * 65, "=" * 65
        lines = [
            f'Model: "{self.name}"',
            rule,
            f"{' Layer (type)':<29}{'Output Shape':<26}{'Param #':>10}",
            thick,
        ]
        for i, layer in enumerate(self.layers):
            out = layer.output_shape
            shape = "(None, " + ", ".join(str(d) for d in out) + ")" if out else "?"
            count = layer.count_params() if layer.built else "?"
            label = f"{layer.name} ({type(layer).__name__})"
            if not layer.trainable:
                label += " [frozen]"
            lines.append(f" {label:<28}{shape:<26}{count:>10}")
            lines.append(rule if i < len(self.layers) - 1 else thick)
        total = self.count_params() if self.built else 0
        trainable = sum(layer.count_trainable_params() for layer in self.layers)
        frozen = total - trainable if self.built else 0
        lines += [
            f"Total params: {total:,}",
            f"Trainable params: {total - frozen:,}",
            f"Non-trainable params: {frozen:,}",
        ]
        if not self.built:
            lines.append("(not built yet: call fit, build(input_shape) or give input_shape)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"{type(self).__name__}(name={self.name!r}, layers=[{inner}])"

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer: Any = "adam",
        loss: Any = "mse",
        metrics: Any = (),
    ) -> Model:
        """Choose the optimizer (a name: "adam", "sgd", "rmsprop", "adagrad" or "nadam",
        or an instance such as ``rc.Adam(lr=1e-3)``), the loss (a name: "mse", "mae",
        "cross_entropy", "binary_cross_entropy", "nll" or a Keras alias; an
        ``rc.losses.Loss`` instance or class; or a function
        ``(actual, predicted) -> (1, 1, 1) RamTensor`` built from tensor ops,
        differentiated by ``rc.autograd``) and metrics: names ("accuracy",
        "top_k_accuracy", "precision", "recall", "f1", "auc", "mse", "mae", "r2"),
        ``rc.nn.metrics.Metric`` objects or functions ``fn(y_true, y_pred)`` (see
        rc.nn.metrics for how each is computed over an epoch)."""
        opt = _optim.get(optimizer)
        loss_obj = autodiff.get_loss(loss)
        if getattr(loss_obj, "reduction", "mean") == "none":
            raise ValueError(
                "compile: a loss with reduction='none' gives a tensor of terms, not one "
                "number to train on; use 'mean' or 'sum'"
            )
        if isinstance(metrics, (str, _metrics.Metric)) or callable(metrics):
            metrics = (metrics,)
        objs = []
        for m in metrics or ():
            try:
                objs.append(_metrics.get(m))
            except (TypeError, ValueError) as e:
                raise type(e)(f"compile: {e}") from None
        names = [m.name for m in objs]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"compile: metric names must be distinct and not 'loss': {names}")
        self.optimizer, self.loss, self.metrics = opt, loss_obj, names
        self._metric_objs = objs
        self._opt_attached = False
        self._configure_output()
        if self.built:
            self._attach_optimizer()
        return self

    def _attach_optimizer(self) -> None:
        if self._opt_attached:
            return
        held = list(getattr(self.optimizer, "params", None) or ())
        if not held:
            self.optimizer.add_params(self.params)
        elif [id(p) for p in held] != [id(p) for p in self.params]:
            raise ValueError(
                "compile: this optimizer instance already holds other parameters; "
                "give each model its own optimizer"
            )
        self._opt_attached = True

    def _configure_output(self) -> None:
        """The loss takes ``call``'s output as is (logits for cross-entropy)."""
        self._fused = False
        self._logits_out = False
        self._loss_fn = self.loss
        if self.loss is None:
            return
        act = self._output_activation
        if isinstance(self.loss, _losses.CrossEntropy):
            if act not in (None, "linear"):
                raise ValueError(
                    f"compile: cross_entropy takes logits, but {type(self).__name__}.call "
                    f"returns the output of a layer with activation {act!r}; return the "
                    f"layer's output without the activation (the loss applies softmax)"
                )
            self._logits_out = True
        elif isinstance(self.loss, _losses.BinaryCrossEntropy):
            self._logits_out = getattr(self.loss, "from_logits", False)

    # ------------------------------------------------------------------ data
    def _data(
        self, x: Any, y: Any, what: str, build: bool = False, seed: int | None = None
    ) -> _Data:
        """The inputs (one array, or a list of arrays for several inputs) and targets of
        one call; builds the model on the first samples when ``build``."""
        import numpy as np

        multi = (
            isinstance(x, (list, tuple))
            and len(x) > 0
            and all(isinstance(a, (np.ndarray, RamTensor)) for a in x)
        )
        raw = list(x) if multi else [x]
        if self.built and len(raw) != len(self._inputs):
            raise ValueError(
                f"{what}: the model takes {len(self._inputs)} input(s), got {len(raw)}"
            )
        arrays, samples = [], []
        for i, a in enumerate(raw):
            options = _b.readings(_b.to_array(a, what), what)
            pick = options[0]
            if self.built:
                pick = next((o for o in options if o[1] == self._inputs[i]), pick)
            arrays.append(_b.as_float32(pick[0]))
            samples.append(tuple(pick[1]))
        n = arrays[0].shape[0]
        if any(a.shape[0] != n for a in arrays):
            raise ShapeError(
                f"{what}: the inputs hold different numbers of samples: "
                f"{[a.shape[0] for a in arrays]}"
            )
        gathers = [
            _b.gatherer(a, _b.layout_of(len(s))) for a, s in zip(arrays, samples, strict=True)
        ]
        gather: Callable[[np.ndarray, int, int], Any] = gathers[0]
        if multi:

            def gather(order: np.ndarray, start: int, count: int) -> list[RamTensor]:
                return [g(order, start, count) for g in gathers]

        if build and not self.built:
            if n == 0:
                raise ValueError(f"{what}: x has no samples")
            first = np.arange(min(n, 32), dtype=np.int64)
            self._build_on(gather(first, 0, first.shape[0]), samples, seed)
        if not self.built:
            raise RuntimeError(f"{what}: the model is not built; fit it (or call build) first")
        targets = None
        if y is not None:
            labels_ok = bool(getattr(self.loss, "takes_labels", False))
            targets = _b.Targets(y, n, self._out_sample or (), labels_ok, what)
        return _Data(gather, targets, n, self._out_sample or ())

    # ------------------------------------------------------------------ training steps
    def _train_step_fns(self) -> tuple[Callable[..., Any], Callable[[Any], None]]:
        """``(forward, apply)`` of one training step: ``forward(xb, actual)`` gives
        ``(loss, out, lin, state)`` and ``apply(state)`` updates the weights (the model
        checks the loss in between)."""
        self._prepare_tape()
        return self._tape_forward, self._tape_apply

    def _uses_backprop(self) -> bool:
        """True when training runs the layers' own backward, False when it runs the tape
        (always for a subclassed Model)."""
        return False

    def _prepare_tape(self) -> None:
        """The params the tape differentiates (trainable layers) and their optimizer slots."""
        self._tape_sources, self._tape_slots = [], []
        i = 0
        for layer in self.layers:
            for p in layer.params:
                if layer.trainable:
                    self._tape_sources.append(p)
                    self._tape_slots.append(i)
                i += 1

    def _tape_forward(
        self, xb: Any, actual: Any, w: Any = None, penalty: bool = True
    ) -> tuple[float, RamTensor, RamTensor, Any]:
        """One recorded forward pass and loss (plus the weight penalties when ``penalty``):
        ``(loss value, output, loss input, (tape, loss tensor))``."""
        tape = Tape()
        with tape:
            tape.watch(self._tape_sources)
            out, lin = self._forward_logits(xb, True)
            if w is None:
                loss = self._loss_fn(actual, lin)
            else:
                loss = self._wloss.on_tape(actual, lin, w)
            pen = self._regularization_penalty() if penalty else None
            if pen is not None:  # weight penalties: recorded tensor ops on the params
                loss = loss + pen
        return float(loss), out, lin, (tape, loss)

    def _tape_apply(self, state: tuple[Tape, RamTensor]) -> None:
        tape, loss = state
        grads: list[RamTensor | None] = [None] * len(self.params)
        for i, g in zip(self._tape_slots, tape.gradient(loss, self._tape_sources), strict=True):
            grads[i] = g
        self.optimizer.step(grads)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        x: Any,
        y: Any = None,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        seed: int | None = None,
        verbose: int = 1,
        callbacks: Any = None,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        steps_per_epoch: int | None = None,
        micro_batches: int | None = None,
    ) -> History:
        """Train with mini-batches; returns the ``History`` (per-epoch logs).

        ``x``/``y``: samples-first arrays (see the module docstring of batches.py), or ``x``
        a source of batches ``(x, y)`` or ``(x, y, sample_weight)`` with ``y=None``: a
        list of them, a ``Sequence``-style object (``__len__`` and ``__getitem__``; its
        ``on_epoch_end()`` is called after each epoch), a function returning a fresh
        iterator of them (called once per epoch), or an iterator/generator. A generator
        can be read only once: every epoch continues it, so with ``epochs > 1`` give
        ``steps_per_epoch`` (batches per epoch), or pass a list, Sequence or function
        instead; an exhausted source raises ValueError. Batches come in the source's order
        (``shuffle`` applies to arrays only) and may differ in size. Shapes: ``x`` is
        ``(n, features)``, ``(n, timesteps, features)`` or ``(n, H, W, C)``; ``y`` is
        ``(n, units)`` (or ``(n,)`` integer labels for cross-entropy), n samples in both.

        ``validation_split``: the LAST fraction of the samples (taken before shuffling, as
        Keras) is held out and evaluated after each epoch (``val_`` logs);
        ``validation_data=(x_val, y_val)`` takes precedence over it.

        ``sample_weight`` (one weight >= 0 per sample, shape (n,)) and ``class_weight``
        ({class index: weight}; classes not listed weigh 1; the class of a sample is its
        integer label, the argmax of a one-hot target, or the rounded target of a single
        sigmoid unit) scale each sample's loss term and so its gradient; given both, they
        multiply. The batch loss is Keras's: ``sum_i w_i l_i / batch_size`` for every loss
        (the mean over the batch's samples of the weighted terms; NOT torch's weighted
        cross-entropy ``sum w l / sum w``), and the logged "loss" is its mean over the
        epoch's samples. Weights need one of the losses mse, mae, binary_cross_entropy or
        cross_entropy; the validation loss stays unweighted. All-ones weights are no
        weights: training is then bit for bit that without them.

        ``callbacks``: ``rc.nn.callbacks.Callback`` instances (Keras conventions: see
        rc.nn.callbacks); ``model.stop_training = True`` in a hook stops training.

        ``verbose``: 0 silent; 1 a progress line per epoch with the rate (samples/s) and
        the ETA, redrawn in place on a terminal and printed once per epoch otherwise (a
        log file, CI); 2 one line per epoch even on a terminal.

        ``seed`` fixes the initial weights (when the model is not built yet) and the
        random streams of training (the sample order of each epoch, dropout masks). The
        model remembers how many epochs it has drawn from its stream (``model.epoch``,
        saved with it), so a second ``fit`` (or one after ``load_model``) continues the
        stream: 2 epochs, save, load, 2 more epochs gives the weights of 4 epochs straight.
        A ``seed`` different from the current stream's starts a new stream; without any
        seed the first one comes from the global generator (``rc.seed``).

        ``micro_batches=M``: each batch is cut into M micro-batches of fixed boundaries
        whose gradients, weighted by their row counts, are summed as a pairwise tree and
        scaled once (gradient accumulation: the batch's mean-loss gradient up to rounding).
        After ``rc.distributed.init()`` in an MPI job of P processes (``mpiexec -n P``) it
        is required: each process computes a contiguous block of the micro-batches and the
        final weights are bit for bit those of one process with the same M (see
        rc.nn.parallel and docs/DISTRIBUTED.md); only rank 0 prints and runs the callbacks
        that write files, and an exception on one process ends every process with a clear
        message."""
        from rcmlrs.nn import parallel

        return parallel.guarded(
            self._fit,
            x,
            y,
            epochs,
            batch_size,
            validation_data,
            validation_split,
            shuffle,
            seed,
            verbose,
            callbacks,
            class_weight,
            sample_weight,
            steps_per_epoch,
            micro_batches,
        )

    def _fit(
        self,
        x: Any,
        y: Any,
        epochs: int,
        batch_size: int,
        validation_data: tuple[Any, Any] | None,
        validation_split: float,
        shuffle: bool,
        seed: int | None,
        verbose: int,
        callbacks: Any,
        class_weight: dict[int, float] | None,
        sample_weight: Any,
        steps_per_epoch: int | None,
        micro_batches: int | None,
    ) -> History:
        import numpy as np

        from rcmlrs import distributed
        from rcmlrs.nn import callbacks as _cb
        from rcmlrs.nn import parallel

        if self.loss is None:
            raise RuntimeError("fit: call compile(optimizer, loss) first")
        _check_int(epochs, "epochs", 0, "fit")
        _check_int(batch_size, "batch_size", 1, "fit")
        if isinstance(verbose, bool) or not isinstance(verbose, int):
            raise TypeError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"fit: seed must be an int or None, got {seed!r}")
        if isinstance(validation_split, bool) or not (
            isinstance(validation_split, (int, float)) and 0.0 <= validation_split < 1.0
        ):
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
        if validation_data is not None and (
            not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2
        ):
            raise TypeError("fit: validation_data must be a tuple (x_val, y_val)")
        if steps_per_epoch is not None:
            _check_int(steps_per_epoch, "steps_per_epoch", 1, "fit")
        if class_weight is not None and not isinstance(class_weight, dict):
            raise TypeError(
                f"fit: class_weight must be a dict {{class index: weight}}, got "
                f"{type(class_weight).__name__}"
            )
        n_micro = parallel.check_micro_batches(micro_batches)
        cbs = parallel.callbacks_for_rank(_cb.check_callbacks(callbacks))
        if not distributed.is_main():
            verbose = 0  # only rank 0 prints
        source = _BatchSource.of(x, y, steps_per_epoch)
        if source is not None:
            if validation_split:
                raise ValueError(
                    "fit: validation_split needs x and y as arrays (it holds out their last "
                    "samples); with a source of batches pass validation_data=(x_val, y_val)"
                )
            if sample_weight is not None:
                raise ValueError(
                    "fit: with a source of batches give the sample weights in the batches, "
                    "as (x, y, sample_weight) triples"
                )
            first = source.first(epochs)
            data = self._batch_data(first, seed)
            n = n_train = 0
            weights = None
        else:
            if y is None:
                raise TypeError(
                    "fit: y (the targets) is missing; pass fit(x, y), or x as a source of "
                    "(x, y) batches"
                )
            if steps_per_epoch is not None:
                raise ValueError(
                    "fit: steps_per_epoch is for a source of batches (a generator); with "
                    "arrays an epoch is every sample once (set batch_size)"
                )
            data = self._data(x, y, "fit", build=True, seed=seed)
            n = data.n
            if n == 0:
                raise ValueError("fit: x has no samples")
            assert data.targets is not None
            weights = _sample_weights(data.targets, sample_weight, class_weight, n, "fit")
            n_train = n - int(math.floor(n * validation_split))
            if n_train < 1:
                raise ValueError(
                    f"fit: validation_split={validation_split} leaves no training samples"
                )
        self._attach_optimizer()
        strict = sample_weight is not None or class_weight is not None
        self._wloss = _WeightedLoss(self._loss_fn, strict)
        val = None
        if validation_data is not None:
            vdata = self._data(validation_data[0], validation_data[1], "fit (validation_data)")
            val = (vdata, np.arange(vdata.n, dtype=np.int64))
        elif n_train < n:
            val = (data, np.arange(n_train, n, dtype=np.int64))
        # the random streams: continue this model's, or start the one ``seed`` names
        if seed is not None and (int(seed) & MASK64) != self.seed:
            self.seed, self.epoch = int(seed) & MASK64, 0
        elif self.seed is None:
            self.seed, self.epoch = draw_seed(), 0
        micro = None
        if n_micro is not None:
            micro = parallel.MicroBatches(self, n_micro, batch_size)
            micro.sync_start((n_train, n, epochs, shuffle))
        base = self.seed

        nb = (n_train + batch_size - 1) // batch_size if source is None else source.steps
        params = {"epochs": epochs, "steps": nb, "batch_size": batch_size, "verbose": verbose}
        history = History(params)
        cblist = _cb.CallbackList([*cbs, history], self, params)
        per_batch = cblist.per_batch
        order = np.arange(n_train, dtype=np.int64)
        layers = self.layers
        mets = self._fresh_metrics()
        thr = 0.0 if self._logits_out else 0.5
        train_forward, train_apply = self._train_step_fns()
        self.stop_training = False
        logs: dict[str, float] = {}
        cblist.train_begin(logs)
        for epoch in range(epochs):
            e = self.epoch
            for i, layer in enumerate(layers):
                layer.reseed(layer_seed(base, i, e))
            if micro is not None:
                micro.begin_epoch(base, e)
            if source is None:
                if shuffle:
                    u = rcmlrs.random((n_train,), seed=shuffle_seed(base, e)).numpy().reshape(-1)
                    order = np.argsort(u, kind="stable").astype(np.int64)
                batches = _array_batches(data, order, n_train, batch_size, weights)
            else:
                batches = self._source_batches(source, epoch, class_weight, seed)
            cblist.epoch_begin(epoch, {})
            bar = None
            if verbose:
                prefix = f"Epoch {epoch + 1}/{epochs}"
                bar = Progress(nb, prefix=prefix, tty=False if verbose == 2 else None)
                bar.begin()
            tot_loss, seen, bi = 0.0, 0, 0
            for m in mets:
                m.reset_state()
            for bi, batch in enumerate(batches):
                gather, targets, border, s, c, wb = batch
                if per_batch:
                    cblist.batch_begin_(bi, {"batch": bi, "size": c})
                if micro is not None:
                    loss, state = micro.forward(batch, bi)
                elif wb is None:
                    xb, actual = gather(border, s, c), targets.batch(border, s, c)
                    loss, out, lin, state = train_forward(xb, actual)
                else:
                    xb, actual = gather(border, s, c), targets.batch(border, s, c)
                    loss, out, lin, state = train_forward(xb, actual, wb)
                if not math.isfinite(loss):
                    if per_batch:
                        tot_loss += loss * c
                        seen += c
                        cblist.batch_end_(bi, {"batch": bi, "size": c, "loss": tot_loss / seen})
                        if self.stop_training:
                            break
                    raise NonFiniteLossError(
                        f"fit: the loss became {loss} at epoch {epoch + 1}/{epochs}, batch "
                        f"{bi + 1}/{nb if nb is not None else '?'} (samples {s}..{s + c - 1} "
                        f"of this epoch's order); check the inputs for NaN/inf or lower the "
                        f"learning rate (or stop with rc.nn.callbacks.TerminateOnNaN())"
                    )
                (train_apply if micro is None else micro.apply)(state)
                tot_loss += loss * c
                seen += c
                if mets and micro is not None:
                    micro.update_metrics(mets, batch, targets.are_labels, thr)
                elif mets:
                    labels = targets.are_labels
                    yb = targets.batch_tensor(border, s, c) if labels else actual
                    for m in mets:
                        m.update_from_batch(out, lin, yb, labels, thr)
                if bar is not None and bar.due():
                    bar.samples = seen
                    bar.update(bi + 1, self._logs(tot_loss, seen, mets, partial=True))
                if per_batch:
                    cblist.batch_end_(bi, {"batch": bi, "size": c, "loss": tot_loss / seen})
                    if self.stop_training:
                        break
            self.epoch += 1
            logs = self._logs(tot_loss, seen, mets)
            if val is not None:
                vlogs = self._evaluate_data(val[0], val[1], max(batch_size, 256))
                logs.update({"val_" + k: v for k, v in vlogs.items()})
            if bar is not None:
                bar.samples = seen
                bar.finish(logs, bi + 1 if seen else 0)
            if source is not None:
                source.epoch_end()
            cblist.epoch_end(epoch, logs)
            if self.stop_training:
                break
        cblist.train_end(logs)
        return history

    def _batch_data(self, batch: tuple[Any, ...], seed: int | None) -> _Data:
        """One batch ``(x, y[, w])`` of a batch source as a ``_Data`` (builds the model on
        the first)."""
        data = self._data(batch[0], batch[1], "fit (batch)", build=True, seed=seed)
        if data.n == 0:
            raise ValueError("fit: a batch from the source has no samples")
        return data

    def _source_batches(
        self, source: _BatchSource, epoch: int, class_weight: Any, seed: int | None
    ) -> Any:
        """The batches of one epoch of a batch source, as ``_array_batches`` gives them."""
        import numpy as np

        for batch in source.epoch(epoch):
            data = self._batch_data(batch, seed)
            assert data.targets is not None
            sw = batch[2] if len(batch) == 3 else None
            w = _sample_weights(data.targets, sw, class_weight, data.n, "fit (batch)")
            order = np.arange(data.n, dtype=np.int64)
            yield data.gather, data.targets, order, 0, data.n, w

    def _fresh_metrics(self) -> list[_metrics.Metric]:
        return [_metrics.get(m) for m in self._metric_objs]

    @staticmethod
    def _logs(
        tot_loss: float, seen: int, mets: list[_metrics.Metric], partial: bool = False
    ) -> dict[str, float]:
        """Loss and metric results; ``partial`` (a progress redraw mid-epoch) leaves out
        the metrics that store the epoch's predictions (their result's cost grows)."""
        logs = {"loss": tot_loss / max(seen, 1)}
        for m in mets:
            if not (partial and m.stores_predictions):
                logs[m.name] = m.result()
        return logs

    # ------------------------------------------------------------------ weight penalties
    def _regularization_loss(self) -> float:
        return sum(layer.regularization_loss() for layer in self.layers)

    def _regularization_penalty(self) -> RamTensor | None:
        out: RamTensor | None = None
        for layer in self.layers:
            p = layer.regularization_penalty()
            if p is not None:
                out = p if out is None else out + p
        return out

    def _add_regularization_grads(self) -> None:
        for layer in self.layers:
            layer.add_regularization_grads()

    # ------------------------------------------------------------------ evaluate
    def _evaluate_data(self, data: _Data, order: np.ndarray, batch_size: int) -> dict[str, float]:
        n = order.shape[0]
        targets = data.targets
        assert targets is not None
        labels = targets.are_labels
        tot, seen = 0.0, 0
        mets = self._fresh_metrics()
        thr = 0.0 if self._logits_out else 0.5
        for s in range(0, n, batch_size):
            c = min(batch_size, n - s)
            out = self._forward(data.gather(order, s, c), False)
            lin = self._loss_input(out)
            actual = targets.batch(order, s, c)
            tot += self._loss_fn.value(actual, lin) * c
            seen += c
            yb = targets.batch_tensor(order, s, c) if labels else actual
            for m in mets:
                m.update_from_batch(out, lin, yb, labels, thr)
        logs = self._logs(tot, seen, mets)
        logs["loss"] += self._regularization_loss()  # constant over an evaluation
        return logs

    def evaluate(self, x: Any, y: Any, batch_size: int = 256, verbose: int = 0) -> dict[str, float]:
        """Loss and metrics over (x, y) as a dict, e.g. {"loss": 0.08, "accuracy": 0.97}.

        ``x`` and ``y``: samples-first NumPy arrays as for ``fit`` (``(n, features)`` and
        ``(n, units)`` or ``(n,)`` labels); the values are Python floats, the loss in its
        own units and accuracies as fractions in [0, 1]."""
        import numpy as np

        if self.loss is None:
            raise RuntimeError("evaluate: call compile(optimizer, loss) first")
        _check_int(batch_size, "batch_size", 1, "evaluate")
        if not self.built:
            self._build_declared("evaluate")
        data = self._data(x, y, "evaluate")
        if data.n == 0:
            raise ValueError("evaluate: x has no samples")
        logs = self._evaluate_data(data, np.arange(data.n, dtype=np.int64), batch_size)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs

    # ------------------------------------------------------------------ predict
    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """Model outputs for x as a NumPy float32 array, samples first: ``(n, units)``,
        or ``(n, timesteps, units)`` for sequence outputs. Runs in batches with
        training=False. ``x`` is a samples-first array of n samples, as for ``fit``."""
        import numpy as np

        _check_int(batch_size, "batch_size", 1, "predict")
        if not self.built and not self._builds_on_predict:
            self._build_declared("predict")
        data = self._data(x, None, "predict", build=True)
        n = data.n
        result = np.empty((n, *data.out_sample), dtype=np.float32)
        order = np.arange(n, dtype=np.int64)
        for s in range(0, n, batch_size):
            c = min(batch_size, n - s)
            out = self._forward(data.gather(order, s, c), False)
            result[s : s + c] = _b.from_engine(out, data.out_sample, c)
        return result

    # ------------------------------------------------------------------ save / load
    def get_config(self) -> dict[str, Any]:
        """Always NotImplementedError: a subclassed Model's ``call`` is Python code, so it has no
        config; rebuild it with its constructor."""
        raise NotImplementedError(
            f"{type(self).__name__}: a subclassed Model has no config (its call is Python "
            f"code); rebuild it with its constructor"
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """A subclassed Model cannot be saved whole: its ``call`` is Python code, which no
        file format can hold (Keras cannot either). Use ``save_weights`` and
        ``load_weights`` into a new instance."""
        raise NotImplementedError(
            f"save: {type(self).__name__}.call is Python code, which model.save cannot "
            f"store; use model.save_weights(path), then load_weights(path) on a new "
            f"{type(self).__name__}()"
        )


class Sequential(Model):
    """A linear stack of layers. ``Sequential([Dense(64, "relu"), Dense(10)])`` or
    ``.add(layer)``; then ``compile``, ``fit``, ``evaluate``, ``predict``, ``save``.

    Training runs every layer's own ``backward``, or, when a layer defines only
    ``forward``, the whole step on an ``rc.autograd.Tape`` (see the module docstring)."""

    _builds_on_predict = False  # predict needs weights: fit, build or an input_shape first

    def __init__(self, layers: list[Layer] | None = None, name: str = "sequential") -> None:
        super().__init__(name)
        self._accepted: set[Shape] = set()
        for layer in layers or ():
            self.add(layer)

    # ------------------------------------------------------------------ structure
    def add(self, layer: Layer) -> Sequential:
        """Append ``layer`` to the stack and return the model; TypeError for anything but an
        ``rc.nn.Layer``, ValueError for a layer already in it, RuntimeError once the model
        is built."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add: expected a layer (an rc.nn.Layer such as Dense, RNN, "
                f"LSTM, Dropout, Flatten), got {type(layer).__name__}"
            )
        if self.built:
            raise RuntimeError("Sequential.add: the model is already built; add layers first")
        if any(layer is other for other in self.layers):
            raise ValueError(
                f"Sequential.add: layer {layer.name!r} is already in the model; a layer "
                f"instance appears once in a Sequential (share weights in an rc.nn.Model)"
            )
        self._track(layer)
        return self

    def build(self, input_shape: Shape, seed: int | None = None) -> Sequential:
        """Create every layer's weights for per-sample ``input_shape`` ((features,),
        (timesteps, features) or (H, W, C)); ``seed`` makes the weights reproducible."""
        return self._build(input_shape, Seeds(seed))

    def _build(self, input_shape: Shape, seeds: Seeds) -> Sequential:
        if not self.layers:
            raise ValueError("Sequential: the model has no layers")
        shape = tuple(None if d is None else int(d) for d in input_shape)
        self._check_structure(shape, "build")
        self.input_shape = shape
        for i, layer in enumerate(self.layers):
            layer.compute_input_grad = i > 0
            layer.build(shape, seeds)
            out = layer.output_shape
            shape = tuple(out) if out is not None else layer.compute_output_shape(shape)
        self.built = True
        self._accepted = {self.input_shape}
        self._inputs = [self.input_shape]
        self._after_build()
        return self

    def _build_from_batch(self, xb: Any) -> None:
        self.build(self._declared_input_shape() or _sample_of(xb))

    def _as_inputs(self, x: Any) -> Any:
        return as_batch(x)

    def _declared_input_shape(self) -> Shape | None:
        return self.layers[0].declared_input_shape if self.layers else None

    def _check_structure(self, sample: Shape, what: str, x_shape: Any = None) -> None:
        """Samples of rank >= 2 need a layer that reads those axes (see Layer)."""
        if len(sample) >= 2 and not any(layer.uses_sample_axes for layer in self.layers):
            got = f"x of shape {x_shape}, i.e. " if x_shape is not None else ""
            raise ShapeError(
                f"{what}: {got}samples of shape {sample}, but no layer of this model reads "
                f"timesteps or pixels (no RNN, LSTM or Flatten): pass x as (samples, "
                f"features) (a (1, n, features) array or tensor also means n samples) "
                f"or start the model with Flatten()"
            )

    def _layout_for(self, sample: Shape) -> str:
        shape = sample
        for layer in self.layers:
            lay = layer.input_layout(shape)
            if lay is not None:
                return lay
            shape = layer.compute_output_shape(shape)
        return _b.layout_of(len(sample))

    def _output_shape_for(self, sample: Any) -> Shape:
        shape = sample
        for layer in self.layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}])"

    def _configure_output(self) -> None:
        """Decide what the loss takes: softmax + cross-entropy and sigmoid + binary
        cross-entropy hand the loss the last layer's logits (one fused gradient, no
        Jacobian); the layer then runs ``backward_from_logits``."""
        self._fused = False
        self._logits_out = False
        self._loss_fn = self.loss
        if self.loss is None or not self.layers:
            return
        act = self.layers[-1].output_activation
        if isinstance(self.loss, _losses.CrossEntropy):
            if act == "softmax":
                self._fused = True
            elif act not in (None, "linear"):
                raise ValueError(
                    f"compile: cross_entropy needs a last layer with softmax or "
                    f"no activation (logits), got {act!r}"
                )
            self._logits_out = True
        elif isinstance(self.loss, _losses.BinaryCrossEntropy):
            if getattr(self.loss, "from_logits", False):
                self._logits_out = True
            elif act == "sigmoid":
                self._fused = self._logits_out = True
                self._loss_fn = _losses.BinaryCrossEntropy(
                    from_logits=True, reduction=self.loss.reduction
                )

    # ------------------------------------------------------------------ data
    def _samples(self, x: Any, what: str) -> tuple[np.ndarray, Shape]:
        """x as float32 samples-first plus the per-sample shape, read the one way that
        fits the model (see batches.readings)."""
        arr = _b.to_array(x, what)
        options = _b.readings(arr, what)
        if not self.built:
            declared = self._declared_input_shape()
            if declared is None:
                return self._first_buildable(options, arr.shape, what)
            self.build(declared)
        for samples, sample in options:
            if self._accepts(sample):
                return _b.as_float32(samples), sample
        samples, sample = options[0]
        self._check_structure(sample, what, arr.shape)
        expected = tuple(self.input_shape or ())
        hint = ""
        if len(expected) == 3 and expected[-1] == 1 and tuple(sample) == expected[:2]:
            hint = "; add the channel axis with x[..., None] (images are (n, H, W, C))"
        raise ShapeError(
            f"{what}: the model expects samples of shape {self.input_shape}, got x of "
            f"shape {arr.shape} ({samples.shape[0]} samples of shape {sample}){hint}"
        )

    def _first_buildable(
        self, options: list[tuple[np.ndarray, Shape]], x_shape: Any, what: str
    ) -> tuple[np.ndarray, Shape]:
        first_error: Exception | None = None
        for samples, sample in options:
            try:
                self._check_structure(sample, what, x_shape)
                self._output_shape_for(sample)
            except ShapeError as e:
                first_error = first_error or e
                continue
            return _b.as_float32(samples), sample
        assert first_error is not None
        msg = str(first_error)
        raise ShapeError(msg if msg.startswith(what) else f"{what}: {msg}") from None

    def _accepts(self, sample: Shape) -> bool:
        """True when every layer takes ``sample`` with the weights it has (a recurrent
        model takes any number of timesteps)."""
        if sample in self._accepted:
            return True
        if len(sample) >= 2 and not any(layer.uses_sample_axes for layer in self.layers):
            return False
        built = self.input_shape or ()
        if len(sample) >= 2 and len(built) >= 2 and self._layout_for(sample) == "rows":
            # samples flattened on the way in: their axes must be the ones built for
            # (flat (features,) samples of the same size are fine)
            if sample != built:
                return False
        shape = sample
        for layer in self.layers:
            try:
                ws = layer.weight_shapes(shape)
                out = layer.compute_output_shape(shape)
            except (ShapeError, ValueError, TypeError):
                return False
            if ws is not None and [tuple(w) for w in ws] != [p.shape for p in layer.params]:
                return False
            shape = tuple(out)
        self._accepted.add(sample)
        return True

    def _prepare(self, x: Any, y: Any, what: str) -> tuple[np.ndarray, Shape, _b.Targets]:
        if not self.layers:
            raise ValueError(f"{what}: the model has no layers")
        xa, sample = self._samples(x, what)
        labels_ok = bool(getattr(self.loss, "takes_labels", False))
        targets = _b.Targets(y, xa.shape[0], self._output_shape_for(sample), labels_ok, what)
        return xa, sample, targets

    def _data(
        self, x: Any, y: Any, what: str, build: bool = False, seed: int | None = None
    ) -> _Data:
        if build and not self.built and self._declared_input_shape() is not None:
            self.build(self._declared_input_shape(), seed)  # type: ignore[arg-type]
        targets: _b.Targets | None = None
        if y is None:
            xa, sample = self._samples(x, what)
        else:
            xa, sample, targets = self._prepare(x, y, what)
        if build and not self.built:
            if xa.shape[0] == 0:
                raise ValueError(f"{what}: x has no samples")
            self.build(sample, seed)
        gather = _b.gatherer(xa, self._layout_for(sample))
        return _Data(gather, targets, xa.shape[0], self._output_shape_for(sample))

    # ------------------------------------------------------------------ forward
    def call(self, inputs: Any, training: bool = False) -> RamTensor:
        return self._forward(inputs, training)

    def _forward(self, x: RamTensor, training: bool) -> RamTensor:
        for layer in self.layers:
            x = layer(x, training)
        return x

    def _forward_logits(self, x: Any, training: bool) -> tuple[RamTensor, RamTensor]:
        if not self._fused:
            out = self._forward(x, training)
            return out, out
        layers = self.layers
        for layer in layers[:-1]:
            x = layer(x, training)
        return layers[-1].call_with_logits(x, training)

    def _backward(self, grad: RamTensor) -> RamTensor | None:
        layers = self.layers
        g: Any = grad
        if self._fused:
            g = layers[-1].backward_from_logits(grad)
            layers = layers[:-1]
        for layer in reversed(layers):
            g = layer.backward(g)
        out: RamTensor | None = g
        return out

    def _step(self) -> None:
        grads: list[RamTensor | None] = []
        for layer in self.layers:
            if layer.trainable:
                grads.extend(layer.grads)
            else:
                grads.extend([None] * len(layer.params))
        self.optimizer.step(grads)

    def _train_step_fns(self) -> tuple[Callable[..., Any], Callable[[Any], None]]:
        """The layers' own backward when every layer has one; else the tape."""
        self._prepare_tape()
        if self._uses_backprop():
            return self._backprop_forward, self._backprop_apply
        return self._tape_forward, self._tape_apply

    def _uses_backprop(self) -> bool:
        return all(has_backward(layer) for layer in self.layers)

    def _backprop_forward(
        self, xb: RamTensor, actual: Any, w: Any = None
    ) -> tuple[float, Any, Any, Any]:
        loss, out, lin, grad = self._backprop_data_forward(xb, actual, w)
        loss += self._regularization_loss()
        return loss, out, lin, grad

    def _backprop_data_forward(
        self, xb: RamTensor, actual: Any, w: Any = None
    ) -> tuple[float, Any, Any, Any]:
        """The layers' forward pass and the loss without weight penalties: ``(loss value,
        output, loss input, dL/d(loss input))``."""
        out = xb
        for layer in self.layers:  # no tape here: straight to forward (no __call__ cost)
            out = layer.forward(out, True)
        lin = self.layers[-1].logits if self._fused else out
        if w is None:
            loss, grad = self._loss_fn.value_and_grad(actual, lin)
        else:
            loss, grad = self._wloss.value_and_grad(actual, lin, w)
        return loss, out, lin, grad

    def _backprop_apply(self, grad: RamTensor) -> None:
        self._backward(grad)
        self._add_regularization_grads()
        self._step()

    # ------------------------------------------------------------------ save / load
    def get_config(self) -> dict[str, Any]:
        """The JSON-able architecture that ``save`` writes and ``load_model`` rebuilds from:
        name, input shape, each layer's class and config, the compile settings and the
        training position."""
        from rcmlrs.nn import saving

        return saving.model_config(self)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write architecture, weights, optimizer (class, hyperparameters, state) and the
        training position to one binary container (safetensors-compatible). Atomic.
        ``rc.nn.load_model`` gives a model that predicts bit for bit the same and
        resumes training exactly."""
        from rcmlrs.nn import saving

        saving.save_model(self, path)


__all__ = ["History", "Model", "NonFiniteLossError", "Sequential"]
