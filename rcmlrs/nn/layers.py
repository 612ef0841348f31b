"""Layers of rc.nn. Each has ``forward(x, training)`` and ``backward(grad)``, keeps what
its backward needs, and exposes ``params`` and ``grads`` (RamTensors, aligned).

Batches are rank-3 tensors: ``(1, batch, features)`` for flat data and time-major
``(time, batch, features)`` for sequences, so one time step is one contiguous matrix.
A layer's ``forward`` returns a new tensor; ``grads`` are overwritten by each
``backward`` (the optimizer holds the same tensor objects).
"""

from __future__ import annotations

import math
from typing import Any, cast

import rcmlrs
from rcmlrs import _layers as _T
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn import activations as _act

_MASK64 = (1 << 64) - 1


def _mix(seed: int, k: int) -> int:
    """A well-spread sub-seed for stream ``k`` of ``seed`` (SplitMix64 finaliser)."""
    z = (seed + (k + 1) * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def draw_seed() -> int:
    """A 48-bit seed from the global generator (so ``rc.seed(n)`` controls it)."""
    u = rcmlrs.random((2,)).numpy().ravel()
    return int(u[0] * 16777216.0) * 16777216 + int(u[1] * 16777216.0)


class _Seeds:
    """Hands out independent sub-seeds of one base seed, in a fixed order."""

    def __init__(self, seed=None):
        self.base = draw_seed() if seed is None else int(seed) & _MASK64
        self.k = 0

    def next(self) -> int:
        self.k += 1
        return _mix(self.base, self.k)


def _as_batch(x, what: str) -> RamTensor:
    if isinstance(x, RamTensor):
        return x
    return rcmlrs.tensor(x)


def glorot_uniform(shape, fan_in: int, fan_out: int, seed: int) -> RamTensor:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rcmlrs.random(shape, -limit, limit, seed=seed)


def orthogonal(rows: int, cols: int, seed: int) -> RamTensor:
    """A (1, rows, cols) matrix with orthonormal rows (or columns, if rows > cols):
    QR of a seeded normal matrix with the signs fixed, as Keras/torch do."""
    import numpy as np

    big, small = max(rows, cols), min(rows, cols)
    a = rcmlrs.randn((big, small), seed=seed).numpy()[0].astype(np.float64)
    q, r = np.linalg.qr(a)
    d = np.sign(np.diag(r))
    d[d == 0] = 1.0
    q = q * d
    if rows < cols:
        q = q.T
    return rcmlrs.tensor(np.ascontiguousarray(q, dtype=np.float32))


def _check_units(units, what):
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        raise ValueError(f"{what}: units must be a positive int, got {units!r}")
    return units


class Layer:
    """Base class: subclasses set ``params``/``grads`` in ``build`` and implement
    ``forward``/``backward``. ``input_shape``/``output_shape`` are per-sample shapes:
    ``(features,)`` or ``(timesteps, features)`` (timesteps may be None)."""

    kind = "layer"

    def __init__(self, name=None) -> None:
        self.name = name
        self.params: list = []
        self.grads: list = []
        self.built = False
        # per-sample shapes: tuples once built (Any: read only after build())
        self.input_shape: Any = None
        self.output_shape: Any = None
        self._need_dx = True  # the model clears this for its first layer

    # -- building
    def build(self, input_shape, seeds=None) -> tuple[Any, ...]:
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True
        return self.output_shape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _build_from(self, x: RamTensor):
        shape = (x.cols,) if x.layers == 1 else (x.layers, x.cols)
        self.build(shape, _Seeds())

    # -- weights
    def count_params(self) -> int:
        return sum(p.size for p in self.params)

    def get_weights(self):
        return [p.copy() for p in self.params]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        if len(weights) != len(self.params):
            raise ValueError(
                f"{self.name}: set_weights got {len(weights)} tensors, the layer "
                f"has {len(self.params)}"
            )
        for p, w in zip(self.params, weights, strict=True):
            w = _as_batch(w, "set_weights")
            if w.size != p.size:
                raise ShapeError(
                    f"{self.name}: set_weights: weight of shape {w.shape} does not "
                    f"fit parameter of shape {p.shape}"
                )
            p.numpy().reshape(-1)[:] = w.numpy().reshape(-1)

    def get_config(self) -> dict:
        return {"name": self.name}

    def forward(self, x, training=False) -> RamTensor:
        raise NotImplementedError

    def backward(self, grad) -> RamTensor | None:
        raise NotImplementedError

    def __call__(self, x, training=False):
        return self.forward(x, training)

    def __repr__(self):
        cfg = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({cfg})"


class Dense(Layer):
    """Fully connected: ``y = act(x @ W + b)`` with W ``(1, in, out)`` shared by every
    layer (time step) of the input, Glorot-uniform W and zero b."""

    kind = "dense"

    def __init__(self, units, activation=None, input_shape=None, input_dim=None, name=None) -> None:
        super().__init__(name)
        self.units = _check_units(units, "Dense")
        self.activation = _act.canonical(activation, "Dense")
        self._code = _act.code(self.activation)
        self._slope = _act.LEAKY_SLOPE
        self._fused_output = False  # set by the model when the loss takes the logits
        self._declared_input = (
            (input_dim,)
            if input_dim is not None
            else (tuple(input_shape) if input_shape is not None else None)
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def build(self, input_shape, seeds=None) -> tuple[Any, ...]:
        input_shape = tuple(input_shape)
        if len(input_shape) not in (1, 2):
            raise ShapeError(
                f"Dense: per-sample input shape must be (features,) or "
                f"(timesteps, features), got {input_shape}; add Flatten() first"
            )
        seeds = seeds or _Seeds()
        fan_in = int(input_shape[-1])
        self.W = glorot_uniform((1, fan_in, self.units), fan_in, self.units, seeds.next())
        self.b = rcmlrs.zeros((1, 1, self.units))
        self.dW = rcmlrs.zeros((1, fan_in, self.units))
        self.db = rcmlrs.zeros((1, 1, self.units))
        self.params = [self.W, self.b]
        self.grads = [self.dW, self.db]
        return super().build(input_shape, seeds)

    def forward(self, x, training=False) -> RamTensor:
        x = _as_batch(x, "Dense")
        if not self.built:
            self._build_from(x)
        if x.cols != self.W.rows:
            raise ShapeError(
                f"{self.name or 'Dense'}: expected {self.W.rows} input features, "
                f"got input of shape {x.shape}"
            )
        self._x = x
        self._z, self._y = _T._nn_dense_forward(x, self.W, self.b, self._code, self._slope)
        return self._y

    @property
    def logits(self):
        """The pre-activation of the last forward call."""
        return self._z

    def backward(self, grad) -> RamTensor | None:
        grad = _as_batch(grad, "Dense.backward")
        code = _act.LINEAR if self._fused_output else self._code
        return _T._nn_dense_backward(
            self._x,
            self.W,
            self._z,
            self._y,
            grad,
            self.dW,
            self.db,
            code,
            self._slope,
            self._need_dx,
        )

    def get_config(self):
        return {"name": self.name, "units": self.units, "activation": self.activation}


class _Recurrent(Layer):
    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ShapeError(
                f"{type(self).__name__}: per-sample input shape must be "
                f"(timesteps, features), got {tuple(input_shape)}"
            )
        if self.return_sequences:
            return (input_shape[0], self.units)
        return (self.units,)

    def _check_input(self, x):
        if x.cols != self.input_size:
            raise ShapeError(
                f"{self.name or type(self).__name__}: expected {self.input_size} "
                f"features per time step, got input of shape {x.shape}"
            )

    def _outputs(self, hs):
        return hs if self.return_sequences else hs[hs.layers - 1]

    def _grad_states(self, grad):
        """dL/dh_t for every step as a fresh (T, B, H) tensor (the kernel overwrites it)."""
        T, B, H = self._hs.shape
        if self.return_sequences:
            if grad.shape != (T, B, H):
                raise ShapeError(
                    f"{type(self).__name__}.backward: gradient of shape "
                    f"{grad.shape}, expected {(T, B, H)}"
                )
            return grad.copy()
        if grad.size != B * H:
            raise ShapeError(
                f"{type(self).__name__}.backward: gradient of shape {grad.shape}, "
                f"expected {(1, B, H)}"
            )
        if T == 1:
            return grad.reshape((1, B, H))
        return rcmlrs.concat([rcmlrs.zeros((T - 1, B, H)), grad.reshape((1, B, H))], axis=0)

    def get_config(self):
        return {"name": self.name, "units": self.units, "return_sequences": self.return_sequences}


class RNN(_Recurrent):
    """Elman RNN: ``h_t = act(x_t Wx + h_{t-1} Wh + b)``, zero initial state; Glorot
    Wx, orthogonal Wh, zero b. Input (time, batch, features) time-major; output the last
    state (1, batch, units) or every state when ``return_sequences``."""

    kind = "rnn"
    _ALLOWED = ("tanh", "sigmoid", "relu", "linear")

    def __init__(
        self, units, activation="tanh", return_sequences=False, input_shape=None, name=None
    ) -> None:
        super().__init__(name)
        self.units = _check_units(units, "RNN")
        self.activation = _act.canonical(activation, "RNN", self._ALLOWED)
        self._code = _act.code(self.activation)
        self.return_sequences = bool(return_sequences)
        self._declared_input = tuple(input_shape) if input_shape is not None else None

    def build(self, input_shape, seeds=None) -> tuple[Any, ...]:
        out = self.compute_output_shape(tuple(input_shape))
        seeds = seeds or _Seeds()
        I, H = int(input_shape[-1]), self.units
        self.input_size = I
        self.Wx = glorot_uniform((1, I, H), I, H, seeds.next())
        self.Wh = orthogonal(H, H, seeds.next())
        self.b = rcmlrs.zeros((1, 1, H))
        self.dWx, self.dWh, self.db = (rcmlrs.zeros(p.shape) for p in (self.Wx, self.Wh, self.b))
        self.params = [self.Wx, self.Wh, self.b]
        self.grads = [self.dWx, self.dWh, self.db]
        super().build(input_shape, seeds)
        return out

    def forward(self, x, training=False) -> RamTensor:
        x = _as_batch(x, "RNN")
        if not self.built:
            self._build_from(x)
        self._check_input(x)
        self._x = x
        self._hs = _T._nn_rnn_forward(x, self.Wx, self.Wh, self.b, self._code)
        return self._outputs(self._hs)

    def backward(self, grad) -> RamTensor | None:
        grad = _as_batch(grad, "RNN.backward")
        dhs = self._grad_states(grad)
        return _T._nn_rnn_backward(
            self._code,
            self._x,
            self.Wx,
            self.Wh,
            self._hs,
            dhs,
            self.dWx,
            self.dWh,
            self.db,
            self._need_dx,
        )

    def get_config(self):
        cfg = super().get_config()
        cfg["activation"] = self.activation
        return cfg


class LSTM(_Recurrent):
    """LSTM with gates [i, f, g, o] (torch order): ``c_t = f c_{t-1} + i g``,
    ``h_t = o tanh(c_t)``; W (1, in, 4 units) Glorot, U (1, units, 4 units) orthogonal,
    b zero except the forget gate's 1."""

    kind = "lstm"

    def __init__(self, units, return_sequences=False, input_shape=None, name=None) -> None:
        super().__init__(name)
        self.units = _check_units(units, "LSTM")
        self.return_sequences = bool(return_sequences)
        self._declared_input = tuple(input_shape) if input_shape is not None else None

    def build(self, input_shape, seeds=None) -> tuple[Any, ...]:
        out = self.compute_output_shape(tuple(input_shape))
        seeds = seeds or _Seeds()
        I, H = int(input_shape[-1]), self.units
        self.input_size = I
        self.W = glorot_uniform((1, I, 4 * H), I, 4 * H, seeds.next())
        self.U = orthogonal(H, 4 * H, seeds.next())
        b = rcmlrs.zeros((1, 1, 4 * H))
        b.numpy()[0, 0, H : 2 * H] = 1.0  # forget gate bias 1: remember by default
        self.b = b
        self.dW, self.dU, self.db = (rcmlrs.zeros(p.shape) for p in (self.W, self.U, self.b))
        self.params = [self.W, self.U, self.b]
        self.grads = [self.dW, self.dU, self.db]
        super().build(input_shape, seeds)
        return out

    def forward(self, x, training=False) -> RamTensor:
        x = _as_batch(x, "LSTM")
        if not self.built:
            self._build_from(x)
        self._check_input(x)
        self._x = x
        self._G, self._cs, self._hs = _T._nn_lstm_forward(x, self.W, self.U, self.b)
        return self._outputs(self._hs)

    def backward(self, grad) -> RamTensor | None:
        grad = _as_batch(grad, "LSTM.backward")
        dhs = self._grad_states(grad)
        return _T._nn_lstm_backward(
            self._x,
            self.W,
            self.U,
            self._G,
            self._cs,
            self._hs,
            dhs,
            self.dW,
            self.dU,
            self.db,
            self._need_dx,
        )


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs during training and scales the rest by
    1 / (1 - rate) (inverted dropout); the identity at inference. Masks come from the
    counter-based generator, so a seed reproduces them."""

    kind = "dropout"

    def __init__(self, rate, name=None) -> None:
        super().__init__(name)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self._seed: int | None = None  # drawn by build()
        self._offset = 0

    def build(self, input_shape, seeds=None) -> tuple[Any, ...]:
        seeds = seeds or _Seeds()
        self._seed = seeds.next()
        self._offset = 0
        return super().build(input_shape, seeds)

    def reseed(self, seed: int):
        self._seed, self._offset = seed, 0

    def forward(self, x, training=False) -> RamTensor:
        x = _as_batch(x, "Dropout")
        if not self.built:
            self._build_from(x)
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        y, self._mask = _T._nn_dropout(x, self.rate, cast(int, self._seed), self._offset)
        self._offset += x.size
        return y

    def backward(self, grad) -> RamTensor | None:
        grad = _as_batch(grad, "Dropout.backward")
        return grad if self._mask is None else grad * self._mask

    def get_config(self):
        return {"name": self.name, "rate": self.rate}


class Flatten(Layer):
    """Per-sample flatten: (time, batch, features) -> (1, batch, time * features);
    flat batches pass through unchanged."""

    kind = "flatten"

    def __init__(self, input_shape=None, name=None) -> None:
        super().__init__(name)
        self._declared_input = tuple(input_shape) if input_shape is not None else None

    def compute_output_shape(self, input_shape):
        n = 1
        for d in input_shape:
            if d is None:
                raise ShapeError("Flatten: needs a fixed number of timesteps")
            n *= int(d)
        return (n,)

    def forward(self, x, training=False) -> RamTensor:
        x = _as_batch(x, "Flatten")
        if not self.built:
            self._build_from(x)
        self._shape = x.shape
        if x.layers == 1:
            return x
        T, B, F = x.shape
        return _T._nn_swap01(x).reshape((1, B, T * F))

    def backward(self, grad) -> RamTensor | None:
        grad = _as_batch(grad, "Flatten.backward")
        T, B, F = self._shape
        if T == 1:
            return grad.reshape((1, B, F))
        return _T._nn_swap01(grad.reshape((B, T, F)))


LAYERS = {"Dense": Dense, "RNN": RNN, "LSTM": LSTM, "Dropout": Dropout, "Flatten": Flatten}
