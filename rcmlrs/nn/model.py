"""Sequential: a stack of layers trained with mini-batches (Keras-style API).

One training step is plain to read: gather a batch (one kernel), run every layer's
``forward``, take loss value and gradient in one fused call, run every ``backward`` in
reverse, then ``optimizer.step(grads)``. No per-sample Python loop anywhere.

The model talks to its layers only through the ``Layer`` protocol (layers/base.py), to
the data through batches.py (NumPy in and out), and leaves files to saving.py.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import rcmlrs
from rcmlrs import _layers as _L
from rcmlrs import losses as _losses
from rcmlrs._tensor import RamTensor, RCMLRSError, ShapeError
from rcmlrs.nn import batches as _b
from rcmlrs.nn import optimizers as _optim
from rcmlrs.nn.layers.base import Layer, Shape, as_batch
from rcmlrs.nn.progress import History, Progress
from rcmlrs.nn.seeding import MASK64, Seeds, draw_seed, layer_seed, shuffle_seed

if TYPE_CHECKING:
    import os

    import numpy as np

_METRICS = {"accuracy": "accuracy", "acc": "accuracy", "mse": "mse", "mae": "mae"}


class NonFiniteLossError(RCMLRSError, ArithmeticError):
    """The training loss became NaN or infinite; the message names epoch and batch."""


def _check_int(v: object, name: str, lo: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ValueError(f"{what}: {name} must be an int >= {lo}, got {v!r}")
    return v


class Sequential:
    """A linear stack of layers. ``Sequential([Dense(64, "relu"), Dense(10)])`` or
    ``.add(layer)``; then ``compile``, ``fit``, ``evaluate``, ``predict``, ``save``."""

    def __init__(self, layers: list[Layer] | None = None, name: str = "sequential") -> None:
        self.name = name
        self.layers: list[Layer] = []
        self.built = False
        self.input_shape: Shape | None = None  # per sample
        self.optimizer: Any = None  # rc.Adam, rc.SGD or any object with add_params and step
        self.loss: _losses.Loss | None = None
        self.metrics: list[str] = []
        # the fit random streams: base seed and epochs drawn from it (saved with the model)
        self.seed: int | None = None
        self.epoch = 0
        self._opt_attached = False
        self._fused = False
        self._loss_fn: Any = None
        self._logits_out = False
        self._accepted: set[Shape] = set()
        for layer in layers or ():
            self.add(layer)

    # ------------------------------------------------------------------ structure
    def add(self, layer: Layer) -> Sequential:
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add: expected a layer (an rc.nn.Layer such as Dense, RNN, "
                f"LSTM, Dropout, Flatten), got {type(layer).__name__}"
            )
        if self.built:
            raise RuntimeError("Sequential.add: the model is already built; add layers first")
        if layer.name is None:
            k = sum(1 for other in self.layers if other.kind == layer.kind)
            layer.name = layer.kind if k == 0 else f"{layer.kind}_{k}"
        self.layers.append(layer)
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
        if self.optimizer is not None:
            self._attach_optimizer()
        self._configure_output()
        return self

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

    def _output_shape_for(self, sample: Shape) -> Shape:
        shape = sample
        for layer in self.layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    @property
    def params(self) -> list[RamTensor]:
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self) -> list[RamTensor]:
        return [g for layer in self.layers for g in layer.grads]

    @property
    def weights(self) -> list[RamTensor]:
        """Every parameter tensor, layer by layer (the live tensors, not copies)."""
        return self.params

    def get_weights(self) -> list[RamTensor]:
        return [p.copy() for p in self.params]

    def set_weights(self, weights: list[Any]) -> None:
        weights = list(weights)
        n = sum(len(layer.params) for layer in self.layers)
        if len(weights) != n:
            raise ValueError(f"set_weights: got {len(weights)} tensors, the model has {n}")
        i = 0
        for layer in self.layers:
            k = len(layer.params)
            layer.set_weights(weights[i : i + k])
            i += k

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def summary(self) -> str:
        """A table of layers, per-sample output shapes and parameter counts."""
        if not self.built and self._declared_input_shape() is not None:
            self.build(self._declared_input_shape())  # type: ignore[arg-type]
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
        frozen = sum(layer.count_params() for layer in self.layers if not layer.trainable)
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
        return f"Sequential([{inner}])"

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer: Any = "adam",
        loss: Any = "mse",
        metrics: Any = (),
    ) -> Sequential:
        """Choose the optimizer (a name, "adam" or "sgd", or an instance such as
        ``rc.Adam(lr=1e-3)``), the loss (a name: "mse", "mae", "cross_entropy",
        "binary_cross_entropy" or a Keras alias; an ``rc.losses.Loss`` instance or class)
        and metrics ("accuracy", "mse", "mae")."""
        opt = _optim.get(optimizer)
        loss_obj = _losses.get(loss)
        if getattr(loss_obj, "reduction", "mean") == "none":
            raise ValueError(
                "compile: a loss with reduction='none' gives a tensor of terms, not one "
                "number to train on; use 'mean' or 'sum'"
            )
        if isinstance(metrics, str):
            metrics = (metrics,)
        names = []
        for m in metrics or ():
            if not isinstance(m, str) or m.strip().lower() not in _METRICS:
                raise ValueError(
                    f"compile: unknown metric {m!r}; valid names are "
                    f"{', '.join(sorted(set(_METRICS.values())))}"
                )
            names.append(_METRICS[m.strip().lower()])
        self.optimizer, self.loss, self.metrics = opt, loss_obj, names
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
        raise ShapeError(
            f"{what}: the model expects samples of shape {self.input_shape}, got x of "
            f"shape {arr.shape} ({samples.shape[0]} samples of shape {sample})"
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

    # ------------------------------------------------------------------ forward
    def _forward(self, x: RamTensor, training: bool) -> RamTensor:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

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

    def _loss_input(self, out: RamTensor) -> RamTensor:
        return self.layers[-1].logits if self._fused else out

    def _step(self) -> None:
        grads: list[RamTensor | None] = []
        for layer in self.layers:
            if layer.trainable:
                grads.extend(layer.grads)
            else:
                grads.extend([None] * len(layer.params))
        self.optimizer.step(grads)

    def __call__(self, x: Any, training: bool = False) -> RamTensor:
        """The forward pass on an engine-layout batch (a RamTensor), returning one."""
        return self._forward(as_batch(x), training)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        x: Any,
        y: Any,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        seed: int | None = None,
        verbose: int = 1,
    ) -> History:
        """Train with mini-batches; returns a ``History``.

        ``seed`` fixes the initial weights (when the model is not built yet) and the
        random streams of training (the sample order of each epoch, dropout masks). The
        model remembers how many epochs it has drawn from its stream (``model.epoch``,
        saved with it), so a second ``fit`` (or one after ``load_model``) continues the
        stream: 2 epochs, save, load, 2 more epochs gives the weights of 4 epochs straight.
        A ``seed`` different from the current stream's starts a new stream; without any
        seed the first one comes from the global generator (``rc.seed``)."""
        import numpy as np

        if self.loss is None:
            raise RuntimeError("fit: call compile(optimizer, loss) first")
        _check_int(epochs, "epochs", 0, "fit")
        _check_int(batch_size, "batch_size", 1, "fit")
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
        if not self.built and self._declared_input_shape() is not None:
            self.build(self._declared_input_shape(), seed)  # type: ignore[arg-type]
        xa, sample, targets = self._prepare(x, y, "fit")
        n = xa.shape[0]
        if n == 0:
            raise ValueError("fit: x has no samples")
        if not self.built:
            self.build(sample, seed)
        self._attach_optimizer()
        n_train = n - int(math.floor(n * validation_split))
        if n_train < 1:
            raise ValueError(f"fit: validation_split={validation_split} leaves no training samples")
        val = None
        if validation_data is not None:
            vx, vsample, vt = self._prepare(
                validation_data[0], validation_data[1], "fit (validation_data)"
            )
            val = (vx, vsample, vt, np.arange(vx.shape[0], dtype=np.int64))
        elif n_train < n:
            val = (xa, sample, targets, np.arange(n_train, n, dtype=np.int64))
        # the random streams: continue this model's, or start the one ``seed`` names
        if seed is not None and (int(seed) & MASK64) != self.seed:
            self.seed, self.epoch = int(seed) & MASK64, 0
        elif self.seed is None:
            self.seed, self.epoch = draw_seed(), 0
        base = self.seed

        gather_x = _b.gatherer(xa, self._layout_for(sample))
        nb = (n_train + batch_size - 1) // batch_size
        history = History({"epochs": epochs, "steps": nb, "batch_size": batch_size})
        order = np.arange(n_train, dtype=np.int64)
        layers, last = self.layers, self.layers[-1]
        loss_vg = self._loss_fn.value_and_grad
        fused, labels = self._fused, targets.are_labels
        want_acc = "accuracy" in self.metrics
        extra_names = [m for m in self.metrics if m != "accuracy"]
        thr = 0.0 if self._logits_out else 0.5
        forward, backward, step = self._forward, self._backward, self._step
        out_rows = self._rows_per_sample(sample)
        for epoch in range(epochs):
            e = self.epoch
            for i, layer in enumerate(layers):
                layer.reseed(layer_seed(base, i, e))
            if shuffle:
                u = rcmlrs.random((n_train,), seed=shuffle_seed(base, e)).numpy().reshape(-1)
                order = np.argsort(u, kind="stable").astype(np.int64)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            bar = Progress(nb) if verbose else None
            tot_loss, correct, seen = 0.0, 0, 0
            extra = dict.fromkeys(extra_names, 0.0)
            for bi in range(nb):
                s = bi * batch_size
                c = min(batch_size, n_train - s)
                xb = gather_x(order, s, c)
                actual = targets.batch(order, s, c)
                out = forward(xb, True)
                lin = last.logits if fused else out
                loss, grad = loss_vg(actual, lin)
                if not math.isfinite(loss):
                    raise NonFiniteLossError(
                        f"fit: the loss became {loss} at epoch {epoch + 1}/{epochs}, batch "
                        f"{bi + 1}/{nb} (samples {s}..{s + c - 1} of this epoch's order); "
                        f"check the inputs for NaN/inf or lower the learning rate"
                    )
                backward(grad)
                step()
                tot_loss += loss * c
                seen += c
                if want_acc or extra:
                    yb = targets.batch_tensor(order, s, c) if labels else actual
                    if want_acc:
                        correct += _L._nn_count_correct(lin, yb, labels, thr)
                    for m in extra:
                        extra[m] += self._metric_sum(m, out, yb, labels)
                if bar is not None and bar.due():
                    bar.update(bi + 1, self._logs(tot_loss, seen, out_rows, correct, extra))
            self.epoch += 1
            logs = self._logs(tot_loss, seen, out_rows, correct, extra)
            if val is not None:
                vlogs = self._evaluate_arrays(*val, max(batch_size, 256))
                logs.update({"val_" + k: v for k, v in vlogs.items()})
            history.append(epoch, logs)
            if bar is not None:
                bar.finish(logs)
        return history

    def _rows_per_sample(self, sample: Shape) -> int:
        """Output rows one sample contributes (timesteps of a sequence output)."""
        out = self._output_shape_for(sample)
        return math.prod(out[:-1]) if len(out) > 1 else 1

    def _logs(
        self,
        tot_loss: float,
        seen: int,
        rows_per_sample: int,
        correct: int,
        extra: dict[str, float],
    ) -> dict[str, float]:
        units = self.layers[-1].output_shape[-1]  # type: ignore[index]
        rows = seen * rows_per_sample
        logs = {"loss": tot_loss / max(seen, 1)}
        if "accuracy" in self.metrics:
            logs["accuracy"] = correct / max(rows, 1)
        for m, v in extra.items():
            logs[m] = v / max(rows * units, 1)
        return logs

    @staticmethod
    def _metric_sum(m: str, out: RamTensor, yb: RamTensor, labels: bool) -> float:
        if labels:
            return float("nan")
        fn = _losses.mse_loss if m == "mse" else _losses.mae_loss
        return fn(yb, out) * out.size

    # ------------------------------------------------------------------ evaluate
    def _evaluate_arrays(
        self,
        xa: np.ndarray,
        sample: Shape,
        targets: _b.Targets,
        order: np.ndarray,
        batch_size: int,
    ) -> dict[str, float]:
        n = order.shape[0]
        gather_x = _b.gatherer(xa, self._layout_for(sample))
        labels = targets.are_labels
        tot, correct, seen = 0.0, 0, 0
        extra = {m: 0.0 for m in self.metrics if m != "accuracy"}
        thr = 0.0 if self._logits_out else 0.5
        for s in range(0, n, batch_size):
            c = min(batch_size, n - s)
            out = self._forward(gather_x(order, s, c), False)
            lin = self._loss_input(out)
            actual = targets.batch(order, s, c)
            loss, _ = self._loss_fn.value_and_grad(actual, lin)
            tot += loss * c
            seen += c
            yb = targets.batch_tensor(order, s, c) if labels else actual
            if "accuracy" in self.metrics:
                correct += _L._nn_count_correct(lin, yb, labels, thr)
            for m in extra:
                extra[m] += self._metric_sum(m, out, yb, labels)
        return self._logs(tot, seen, self._rows_per_sample(sample), correct, extra)

    def evaluate(self, x: Any, y: Any, batch_size: int = 256, verbose: int = 0) -> dict[str, float]:
        """Loss and metrics over (x, y) as a dict, e.g. {"loss": 0.08, "accuracy": 0.97}."""
        import numpy as np

        if self.loss is None:
            raise RuntimeError("evaluate: call compile(optimizer, loss) first")
        _check_int(batch_size, "batch_size", 1, "evaluate")
        if not self.built:
            raise RuntimeError("evaluate: the model is not built; fit it (or call build) first")
        xa, sample, targets = self._prepare(x, y, "evaluate")
        if xa.shape[0] == 0:
            raise ValueError("evaluate: x has no samples")
        order = np.arange(xa.shape[0], dtype=np.int64)
        logs = self._evaluate_arrays(xa, sample, targets, order, batch_size)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs

    # ------------------------------------------------------------------ predict
    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """Model outputs for x as a NumPy float32 array, samples first: ``(n, units)``,
        or ``(n, timesteps, units)`` for sequence outputs. Runs in batches with
        training=False."""
        import numpy as np

        _check_int(batch_size, "batch_size", 1, "predict")
        if not self.built:
            raise RuntimeError("predict: the model is not built; fit it (or call build) first")
        xa, sample = self._samples(x, "predict")
        n = xa.shape[0]
        out_sample = self._output_shape_for(sample)
        result = np.empty((n, *out_sample), dtype=np.float32)
        gather_x = _b.gatherer(xa, self._layout_for(sample))
        order = np.arange(n, dtype=np.int64)
        for s in range(0, n, batch_size):
            c = min(batch_size, n - s)
            out = self._forward(gather_x(order, s, c), False)
            result[s : s + c] = _b.from_engine(out, out_sample, c)
        return result

    # ------------------------------------------------------------------ save / load
    def get_config(self) -> dict[str, Any]:
        from rcmlrs.nn import saving

        return saving.model_config(self)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write architecture, weights, optimizer (class, hyperparameters, state) and the
        training position to one binary container (safetensors-compatible). Atomic.
        ``rc.nn.load_model`` gives a model that predicts bit for bit the same and
        resumes training exactly."""
        from rcmlrs.nn import saving

        saving.save_model(self, path)


__all__ = ["History", "NonFiniteLossError", "Sequential"]
