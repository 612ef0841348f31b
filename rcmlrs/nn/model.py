"""Sequential: a stack of layers trained with mini-batches (Keras-style API).

One training step is plain to read: gather a batch (one kernel), run every layer's
``forward``, take loss value and gradient in one fused call, run every ``backward``
in reverse, then ``optimizer.step(grads)``. No per-sample Python loop anywhere.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

import rcmlrs
from rcmlrs import _layers as _T
from rcmlrs._tensor import RamTensor, RCMLRSError, ShapeError
from rcmlrs.nn import losses as _losses
from rcmlrs.nn import optimizers as _optim
from rcmlrs.nn.layers import (
    LAYERS,
    LSTM,
    RNN,
    Dense,
    Dropout,
    Flatten,
    Layer,
    _mix,
    _Seeds,
    draw_seed,
)

MODEL_FORMAT = "rcmlrs.nn.Sequential"
MODEL_FORMAT_VERSION = 1
_METRICS = {"accuracy": "accuracy", "acc": "accuracy", "mse": "mse", "mae": "mae"}


class NonFiniteLossError(RCMLRSError, ArithmeticError):
    """The training loss became NaN or infinite; the message names epoch and batch."""


class History:
    """What ``fit`` returns: ``history`` maps "loss", metric names and their "val_"
    twins to one value per epoch; ``epoch`` lists the epoch indices."""

    def __init__(self, params=None) -> None:
        self.history: dict = {}
        self.epoch: list = []
        self.params = params or {}

    def _append(self, epoch, logs):
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self):
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


class _Progress:
    """A Keras-style progress line per epoch:
    ``45/45 [==============================] - 0s 4ms/step - loss: 0.1234 - accuracy: 0.97``.
    Redrawn in place at most ~20 times a second on a terminal; one final line otherwise."""

    WIDTH = 30

    def __init__(self, total, stream=None):
        self.total = total
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def _line(self, done, logs, now):
        frac = done / self.total if self.total else 1.0
        filled = int(self.WIDTH * frac)
        if done < self.total:
            bar = "=" * max(filled - 1, 0) + ">" + "." * (self.WIDTH - filled)
        else:
            bar = "=" * self.WIDTH
        elapsed = now - self.start
        w = len(str(self.total))
        if done < self.total:
            eta = elapsed / max(done, 1) * (self.total - done)
            timing = f"ETA: {eta:.0f}s"
        else:
            per = elapsed / max(done, 1)
            per_s = f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"
            timing = f"{elapsed:.0f}s {per_s}"
        parts = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
        return f"{done:>{w}}/{self.total} [{bar}] - {timing}" + (f" - {parts}" if parts else "")

    def due(self) -> bool:
        """True when a redraw is due (a terminal, and 50 ms since the last one)."""
        return self.tty and time.perf_counter() - self.last_draw >= 0.05

    def update(self, done, logs):
        now = time.perf_counter()
        self.last_draw = now
        self.stream.write("\r" + self._line(done, logs, now))
        self.stream.flush()

    def finish(self, logs):
        line = self._line(self.total, logs, time.perf_counter())
        self.stream.write(("\r" if self.tty else "") + line + "\n")
        self.stream.flush()


def _to_array(a, what):
    import numpy as np

    if isinstance(a, RamTensor):
        return a.numpy()
    try:
        arr = np.asarray(a)
    except Exception as e:  # noqa: BLE001 - report any conversion failure the same way
        raise TypeError(f"{what}: cannot convert {type(a).__name__} to an array: {e}") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{what}: expected numbers, got an array of dtype {arr.dtype}")
    return arr


class Sequential:
    """A linear stack of layers. ``Sequential([Dense(64, "relu"), Dense(10)])`` or
    ``.add(layer)``; then ``compile``, ``fit``, ``evaluate``, ``predict``, ``save``."""

    def __init__(self, layers=None, name="sequential") -> None:
        self.name = name
        self.layers: list[Layer] = []
        self.built = False
        self.input_shape = None
        self.optimizer: Any = None  # rc.Adam, rc.SGD or any object with add_params and step
        self.loss: _losses.Loss | None = None
        self.metrics: list[str] = []
        self._compile_config: dict[str, Any] | None = None
        self._seq_input = False
        for layer in layers or ():
            self.add(layer)

    # ------------------------------------------------------------------ structure
    def add(self, layer: Layer) -> Sequential:
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add: expected a layer (Dense, RNN, LSTM, Dropout, "
                f"Flatten), got {type(layer).__name__}"
            )
        if self.built:
            raise RuntimeError("Sequential.add: the model is already built; add layers first")
        counts: dict = {}
        for existing in self.layers:
            counts[existing.kind] = counts.get(existing.kind, 0) + 1
        if layer.name is None:
            k = counts.get(layer.kind, 0)
            layer.name = layer.kind if k == 0 else f"{layer.kind}_{k}"
        self.layers.append(layer)
        return self

    def build(self, input_shape, seed=None):
        """Create every layer's weights for per-sample ``input_shape`` ((features,) or
        (timesteps, features)); ``seed`` makes the initial weights reproducible."""
        if not self.layers:
            raise ValueError("Sequential: the model has no layers")
        shape = tuple(None if d is None else int(d) for d in input_shape)
        seeds = _Seeds(seed)
        self.input_shape = shape
        self._seq_input = len(shape) == 2 and not isinstance(self.layers[0], Flatten)
        for i, layer in enumerate(self.layers):
            layer._need_dx = i > 0
            shape = layer.build(shape, seeds)
        self.built = True
        self._base_seed = seeds.base
        if self.optimizer is not None:
            self._attach_optimizer()
        self._configure_output()
        return self

    def _declared_input_shape(self):
        first = self.layers[0] if self.layers else None
        return getattr(first, "_declared_input", None)

    @property
    def params(self):
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self):
        return [g for layer in self.layers for g in layer.grads]

    @property
    def weights(self):
        """Every parameter tensor, layer by layer (the live tensors, not copies)."""
        return self.params

    def get_weights(self):
        return [p.copy() for p in self.params]

    def set_weights(self, weights):
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
            self.build(self._declared_input_shape())
        rule, thick = "_" * 65, "=" * 65
        lines = [
            f'Model: "{self.name}"',
            rule,
            f"{' Layer (type)':<29}{'Output Shape':<26}{'Param #':>10}",
            thick,
        ]
        for i, layer in enumerate(self.layers):
            shape = (
                "(None, " + ", ".join(str(d) for d in layer.output_shape) + ")"
                if layer.built
                else "?"
            )
            lines.append(
                f" {layer.name + ' (' + type(layer).__name__ + ')':<28}{shape:<26}"
                f"{layer.count_params() if layer.built else '?':>10}"
            )
            lines.append(rule if i < len(self.layers) - 1 else thick)
        total = self.count_params() if self.built else 0
        lines += [
            f"Total params: {total:,}",
            f"Trainable params: {total:,}",
            "Non-trainable params: 0",
        ]
        if not self.built:
            lines.append("(not built yet: call fit, build(input_shape) or give input_shape)")
        return "\n".join(lines)

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}])"

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="adam", loss="mse", metrics=()) -> Sequential:
        """Choose the optimizer (a name, "adam" or "sgd", or an instance such as
        ``rc.Adam(lr=1e-3)``), the loss ("mse", "mae", "cross_entropy",
        "binary_cross_entropy") and metrics ("accuracy", "mse", "mae")."""
        opt_name = optimizer.strip().lower() if isinstance(optimizer, str) else None
        self.optimizer = _optim.get(optimizer)
        self.loss = _losses.get(loss)
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
        self.metrics = names
        self._compile_config = {
            "optimizer": opt_name,
            "loss": self.loss.name,
            "metrics": list(self.metrics),
        }
        self._opt_attached = False
        self._configure_output()
        if self.built:
            self._attach_optimizer()
        return self

    def _attach_optimizer(self):
        if getattr(self, "_opt_attached", False):
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

    def _configure_output(self):
        """Decide whether the loss takes the last layer's pre-activation (softmax +
        cross-entropy, sigmoid + binary cross-entropy): then the gradient is fused."""
        for layer in self.layers:
            if isinstance(layer, Dense):
                layer._fused_output = False
        self._fused = False
        last = self.layers[-1] if self.layers else None
        if self.loss is None or not isinstance(last, Dense):
            self._from_logits = self.loss is not None and self.loss.name == "cross_entropy"
            return
        if self.loss.name == "cross_entropy":
            if last.activation == "softmax":
                last._fused_output = self._fused = True
            elif last.activation != "linear":
                raise ValueError(
                    f"compile: cross_entropy needs a last layer with softmax or "
                    f"no activation (logits), got {last.activation!r}"
                )
            self._from_logits = True
        elif self.loss.name == "binary_cross_entropy":
            if last.activation == "sigmoid":
                last._fused_output = self._fused = True
            self._from_logits = self._fused
        else:
            self._from_logits = False

    # ------------------------------------------------------------------ data
    def _prepare_x(self, x, what):
        """x as a float32 tensor of samples plus its per-sample shape."""
        import numpy as np

        if isinstance(x, RamTensor):
            arr = x.numpy()
            recurrent = isinstance(self._first_compute_layer(), (RNN, LSTM))
            if arr.shape[0] == 1 and not recurrent:
                arr = arr[0]
        else:
            arr = _to_array(x, what)
        if arr.ndim < 2:
            raise ShapeError(
                f"{what}: x must be (samples, features) or (samples, timesteps, "
                f"features), got shape {arr.shape}"
            )
        if arr.ndim > 3:
            if not isinstance(self.layers[0], Flatten):
                raise ShapeError(
                    f"{what}: x of shape {arr.shape} has more than 3 dims; start "
                    f"the model with Flatten()"
                )
            arr = arr.reshape(arr.shape[0], arr.shape[1], -1)
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        return arr

    def _first_compute_layer(self):
        for layer in self.layers:
            if not isinstance(layer, Dropout):
                return layer
        return None

    def _check_x(self, arr, what):
        sample = tuple(arr.shape[1:])
        if not self.built:
            first = self._first_compute_layer()
            if isinstance(first, (RNN, LSTM)) and len(sample) != 2:
                raise ShapeError(
                    f"{what}: {type(first).__name__} expects x of shape (samples, "
                    f"timesteps, features), got {arr.shape}"
                )
            return sample
        want = self.input_shape
        if isinstance(self.layers[0], Flatten):
            ok = math.prod(sample) == math.prod(d for d in want if d is not None)
        elif len(sample) != len(want):
            ok = False
        elif len(sample) == 2:
            ok = sample[1] == want[1]  # any number of timesteps
        else:
            ok = sample == want
        if not ok:
            raise ShapeError(
                f"{what}: the model expects samples of shape {want}, got x of "
                f"shape {arr.shape} (samples of shape {sample})"
            )
        return sample

    def _output_is_seq(self):
        return len(self.layers[-1].output_shape) == 2

    def _prepare_y(self, y, n, what):
        """Targets as float32 (samples, ...) plus whether they are class labels."""
        import numpy as np

        arr = _to_array(y, what)
        if isinstance(y, RamTensor) and n != 1 and arr.shape[0] == 1:
            if arr.shape[1] == n:  # (1, samples, k): the tensor form of (samples, k)
                arr = arr[0]
            elif arr.shape[1] == 1 and arr.shape[2] == n:  # a promoted 1-D vector
                arr = arr.reshape(n)
        if arr.ndim == 0 or arr.shape[0] != n:
            got = "a scalar" if arr.ndim == 0 else f"{arr.shape[0]} samples"
            raise ShapeError(f"{what}: x has {n} samples but y has {got} (y shape {arr.shape})")
        out_shape = self.layers[-1].output_shape
        units = out_shape[-1]
        seq = len(out_shape) == 2
        labels = False
        full = (n,) + tuple(out_shape)
        if self.loss is not None and self.loss.name == "cross_entropy":
            if units < 2:
                raise ValueError(
                    "cross_entropy needs at least 2 output units (one per class); "
                    "use binary_cross_entropy with 1 sigmoid unit"
                )
            label_shape = (n, out_shape[0]) if seq else (n,)
            if arr.shape == label_shape or arr.shape == label_shape + (1,):
                labels = True
                if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                    raise ValueError(f"{what}: cross_entropy labels must be integer class indices")
                lo, hi = (arr.min(), arr.max()) if arr.size else (0, 0)
                if lo < 0 or hi >= units:
                    bad = lo if lo < 0 else hi
                    raise ValueError(
                        f"{what}: label {int(bad)} is out of range: the model has "
                        f"{units} output units, so labels must be in 0..{units - 1}"
                    )
                arr = arr.reshape(label_shape + (1,))
            elif arr.shape != full:
                raise ShapeError(
                    f"{what}: y of shape {arr.shape} fits neither integer labels "
                    f"{label_shape} nor one-hot targets {full}"
                )
        else:
            if arr.shape != full:
                if arr.size == math.prod(full) and units == 1:
                    arr = arr.reshape(full)
                else:
                    raise ShapeError(
                        f"{what}: y of shape {arr.shape} does not match the "
                        f"model's output shape {full}"
                    )
        return np.ascontiguousarray(arr, dtype=np.float32), labels

    def _gather(self, t, arr, idx, start, count, seq):
        if seq:
            return _T._nn_gather_seq(t, idx, start, count)
        return _T._nn_gather_rows(t, math.prod(arr.shape[1:]), idx, start, count)

    @staticmethod
    def _as_tensor(arr):
        if arr.ndim == 2:
            return rcmlrs.from_numpy(arr.reshape(1, arr.shape[0], arr.shape[1]))
        if arr.ndim == 1:
            return rcmlrs.from_numpy(arr.reshape(1, arr.shape[0], 1))
        return rcmlrs.from_numpy(arr)

    # ------------------------------------------------------------------ forward
    def _forward(self, x, training):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def _loss_input(self, out):
        return self.layers[-1]._z if self._fused else out

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        x,
        y,
        epochs=1,
        batch_size=32,
        validation_data=None,
        shuffle=True,
        seed=None,
        verbose=1,
    ) -> History:
        """Train with mini-batches; returns a ``History``. ``seed`` fixes the initial
        weights (when the model is not built yet), the shuffling and the dropout masks."""
        import numpy as np

        if self.loss is None:
            raise RuntimeError("fit: call compile(optimizer, loss) first")
        for name, v, lo in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"fit: {name} must be an int >= {lo}, got {v!r}")
        xa = self._prepare_x(x, "fit")
        n = xa.shape[0]
        if n == 0:
            raise ValueError("fit: x has no samples")
        sample = self._check_x(xa, "fit")
        if not self.built:
            self.build(sample, seed)
        self._attach_optimizer()
        ya, labels = self._prepare_y(y, n, "fit")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("fit: validation_data must be a tuple (x_val, y_val)")
            vx = self._prepare_x(validation_data[0], "fit (validation_data)")
            self._check_x(vx, "fit (validation_data)")
            vy, vlabels = self._prepare_y(validation_data[1], vx.shape[0], "fit (validation_data)")
        # shuffling and dropout streams: from ``seed``, else from the global generator
        # (so rc.seed(n) before fit reproduces a run)
        base = draw_seed() if seed is None else int(seed)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dropout):
                layer.reseed(_mix(base, 1000 + i))
        xt, yt = self._as_tensor(xa), self._as_tensor(ya)
        seq_in, seq_out = self._seq_input, self._output_is_seq()
        nb = (n + batch_size - 1) // batch_size
        history = History({"epochs": epochs, "steps": nb, "batch_size": batch_size})
        order = np.arange(n, dtype=np.int64)
        loss_fn, from_logits, params_grads = self.loss, self._from_logits, self.grads
        step = self.optimizer.step
        want_acc = "accuracy" in self.metrics
        thr = 0.0 if (self._fused and self.loss.name == "binary_cross_entropy") else 0.5
        for epoch in range(epochs):
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            if shuffle:
                u = rcmlrs.random((n,), seed=_mix(base, epoch)).numpy().reshape(-1)
                order = np.argsort(u, kind="stable").astype(np.int64)
            bar = _Progress(nb) if verbose else None
            tot_loss = 0.0
            correct = 0
            extra = {m: 0.0 for m in self.metrics if m != "accuracy"}
            seen = 0
            for bi in range(nb):
                s = bi * batch_size
                c = min(batch_size, n - s)
                xb = self._gather(xt, xa, order, s, c, seq_in)
                yb = self._gather(yt, ya, order, s, c, seq_out)
                out = self._forward(xb, True)
                lin = self._loss_input(out)
                loss, grad = loss_fn(lin, yb, labels, from_logits)
                if not math.isfinite(loss):
                    raise NonFiniteLossError(
                        f"fit: the loss became {loss} at epoch {epoch + 1}/{epochs}, batch "
                        f"{bi + 1}/{nb} (samples {s}..{s + c - 1} of this epoch's order); "
                        f"check the inputs for NaN/inf or lower the learning rate"
                    )
                self._backward(grad)
                step(params_grads)
                tot_loss += loss * c
                seen += c
                if want_acc:
                    correct += _T._nn_count_correct(lin, yb, labels, thr)
                for m in extra:
                    extra[m] += self._metric_sum(m, out, yb, labels)
                if bar is not None and bar.due():
                    bar.update(
                        bi + 1, self._logs(tot_loss, seen, correct, extra, want_acc, yb, out)
                    )
            logs = self._logs(tot_loss, seen, correct, extra, want_acc, yb, out)
            if validation_data is not None:
                vlogs = self._evaluate_arrays(vx, vy, vlabels, max(batch_size, 256))
                logs.update({"val_" + k: v for k, v in vlogs.items()})
            history._append(epoch, logs)
            if bar is not None:
                bar.finish(logs)
        return history

    def _rows_per_sample(self, out):
        return out.layers if self._output_is_seq() else 1

    def _logs(self, tot_loss, seen, correct, extra, want_acc, yb, out):
        logs = {"loss": tot_loss / max(seen, 1)}
        rows = seen * self._rows_per_sample(out)
        if want_acc:
            logs["accuracy"] = correct / max(rows, 1)
        units = self.layers[-1].output_shape[-1]
        for m, v in extra.items():
            logs[m] = v / max(rows * units, 1)
        return logs

    def _metric_sum(self, m, out, yb, labels):
        if labels:
            return float("nan")
        val, _ = _losses.Loss(m)(out, yb, False, False, want_grad=False)
        return val * out.size

    # ------------------------------------------------------------------ evaluate
    def _evaluate_arrays(self, xa, ya, labels, batch_size):
        import numpy as np

        n = xa.shape[0]
        xt, yt = self._as_tensor(xa), self._as_tensor(ya)
        order = np.arange(n, dtype=np.int64)
        seq_in, seq_out = self._seq_input, self._output_is_seq()
        tot, correct, seen = 0.0, 0, 0
        extra = {m: 0.0 for m in self.metrics if m != "accuracy"}
        thr = 0.0 if (self._fused and self.loss.name == "binary_cross_entropy") else 0.5
        out = None
        for s in range(0, n, batch_size):
            c = min(batch_size, n - s)
            xb = self._gather(xt, xa, order, s, c, seq_in)
            yb = self._gather(yt, ya, order, s, c, seq_out)
            out = self._forward(xb, False)
            lin = self._loss_input(out)
            loss, _ = self.loss(lin, yb, labels, self._from_logits, want_grad=False)
            tot += loss * c
            seen += c
            if "accuracy" in self.metrics:
                correct += _T._nn_count_correct(lin, yb, labels, thr)
            for m in extra:
                extra[m] += self._metric_sum(m, out, yb, labels)
        return self._logs(tot, seen, correct, extra, "accuracy" in self.metrics, None, out)

    def evaluate(self, x, y, batch_size=256, verbose=0) -> dict[str, float]:
        """Loss and metrics over (x, y) as a dict, e.g. {"loss": 0.08, "accuracy": 0.97}."""
        if self.loss is None:
            raise RuntimeError("evaluate: call compile(optimizer, loss) first")
        if not self.built:
            raise RuntimeError("evaluate: the model is not built; fit it (or call build) first")
        xa = self._prepare_x(x, "evaluate")
        self._check_x(xa, "evaluate")
        ya, labels = self._prepare_y(y, xa.shape[0], "evaluate")
        logs = self._evaluate_arrays(xa, ya, labels, int(batch_size))
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return logs

    # ------------------------------------------------------------------ predict
    def predict(self, x, batch_size=256) -> RamTensor:
        """Model outputs for x: a RamTensor (1, samples, units), or (samples, timesteps,
        units) for sequence outputs. Runs in batches with training=False."""
        import numpy as np

        if not self.built:
            raise RuntimeError("predict: the model is not built; fit it (or call build) first")
        xa = self._prepare_x(x, "predict")
        self._check_x(xa, "predict")
        n = xa.shape[0]
        xt = self._as_tensor(xa)
        order = np.arange(n, dtype=np.int64)
        seq_out = self._output_is_seq()
        parts = []
        for s in range(0, max(n, 1), int(batch_size)):
            c = min(int(batch_size), n - s)
            xb = self._gather(xt, xa, order, s, c, self._seq_input)
            out = self._forward(xb, False)
            parts.append(_T._nn_swap01(out) if seq_out else out)
        if len(parts) == 1:
            return parts[0] if parts[0].size or not seq_out else parts[0]
        return rcmlrs.concat(parts, axis=0 if seq_out else 1)

    def __call__(self, x, training=False):
        return self._forward(x if isinstance(x, RamTensor) else rcmlrs.tensor(x), training)

    # ------------------------------------------------------------------ save / load
    def get_config(self) -> dict:
        return {
            "format": MODEL_FORMAT,
            "version": MODEL_FORMAT_VERSION,
            "name": self.name,
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "layers": [
                {"class": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
            "compile": self._compile_config,
        }

    def save(self, path) -> None:
        """Write architecture (metadata) and weights to one binary container
        (safetensors-compatible; see rc.save_tensors_binary). Atomic."""
        if not self.built:
            raise RuntimeError("save: the model is not built; fit it (or call build) first")
        meta = {"rcmlrs_model": json.dumps(self.get_config(), separators=(",", ":"))}
        rcmlrs.save_tensors_binary(path, self.params, metadata=meta)


def load_model(path, compile=True):
    """Rebuild a model written by ``Sequential.save``; predictions match bit for bit."""
    from rcmlrs.io import load_binary_with_metadata

    tensors, meta = load_binary_with_metadata(path)
    raw = meta.get("rcmlrs_model")
    if raw is None:
        raise rcmlrs.FormatError(
            f"load_model: {path!r} holds tensors but no rc.nn model "
            f"architecture (was it written by model.save?)"
        )
    try:
        cfg = json.loads(raw)
        if cfg.get("format") != MODEL_FORMAT:
            raise ValueError("not a Sequential model")
        if int(cfg.get("version", 0)) > MODEL_FORMAT_VERSION:
            raise ValueError(f"model format version {cfg['version']} is newer than this rcmlrs")
        model = Sequential(name=cfg.get("name", "sequential"))
        for spec in cfg["layers"]:
            cls = LAYERS[spec["class"]]
            model.add(cls(**spec["config"]))
        input_shape = cfg["input_shape"]
    except (ValueError, KeyError, TypeError) as e:
        raise rcmlrs.FormatError(f"load_model: bad model description in {path!r}: {e}") from None
    comp = cfg.get("compile")
    if compile and comp:
        model.compile(
            optimizer=comp.get("optimizer") or "adam",
            loss=comp["loss"],
            metrics=comp.get("metrics") or (),
        )
    model.build(tuple(input_shape), seed=0)
    if len(tensors) != len(model.params):
        raise rcmlrs.FormatError(
            f"load_model: {path!r} has {len(tensors)} tensors, the "
            f"architecture needs {len(model.params)}"
        )
    for p, t in zip(model.params, tensors, strict=True):
        if p.shape != t.shape:
            raise rcmlrs.FormatError(
                f"load_model: tensor of shape {t.shape} where the architecture needs {p.shape}"
            )
    model.set_weights(tensors)
    return model


__all__ = ["History", "NonFiniteLossError", "Sequential", "load_model"]
