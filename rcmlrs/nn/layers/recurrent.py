"""Recurrent layers: Elman RNN and LSTM, time-major, one fused kernel each way (BPTT)."""

from __future__ import annotations

from typing import Any

import rcmlrs
from rcmlrs import _layers as _L
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn import activations as _act
from rcmlrs.nn.layers.base import Layer, Shape, as_batch, check_bool, check_units
from rcmlrs.nn.seeding import Seeds


class _Recurrent(Layer):
    """Input (time, batch, features) time-major; output the last state (1, batch, units),
    or every state (time, batch, units) with ``return_sequences``."""

    uses_sample_axes = True
    _hs: RamTensor  # every hidden state of the last forward call

    def __init__(
        self,
        units: int,
        return_sequences: bool,
        input_shape: Any,
        name: str | None,
        trainable: bool,
    ) -> None:
        super().__init__(name, trainable, input_shape)
        what = type(self).__name__
        self.units = check_units(units, what)
        self.return_sequences = check_bool(return_sequences, "return_sequences", what)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 2:
            raise ShapeError(
                f"{type(self).__name__}: per-sample input shape must be "
                f"(timesteps, features), got {tuple(input_shape)}"
            )
        if self.return_sequences:
            return (input_shape[0], self.units)
        return (self.units,)

    def input_layout(self, input_shape: Shape) -> str | None:
        return "time_major"

    def _build_from(self, x: RamTensor, seeds: Seeds | None = None) -> None:
        self.build((x.layers, x.cols), seeds if seeds is not None else Seeds())

    GATES = 1  # gate blocks side by side in each weight (LSTM: 4)

    def weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]]:
        self.compute_output_shape(input_shape)
        i, g = int(input_shape[-1]), self.GATES * self.units
        return [(1, i, g), (1, self.units, g), (1, 1, g)]

    def _add_weights(
        self, input_shape: Shape, seeds: Seeds | None
    ) -> tuple[RamTensor, RamTensor, RamTensor]:
        """The input kernel (Glorot), the recurrent kernel (orthogonal) and the bias
        (zeros), in that order."""
        seeds = seeds if seeds is not None else Seeds()
        k, r, b = self.weight_shapes(input_shape)
        return (
            self.add_weight(k, "glorot_uniform", seeds),
            self.add_weight(r, "orthogonal", seeds),
            self.add_weight(b, "zeros", seeds),
        )

    def _check_input(self, x: RamTensor) -> None:
        if x.cols != self.params[0].rows:
            raise ShapeError(
                f"{self.name or type(self).__name__}: expected {self.params[0].rows} "
                f"features per time step, got input of shape {x.shape}"
            )

    def _take_input(self, x: Any) -> RamTensor:
        """x as a time-major batch (building the layer on first use), checked and kept
        for backward."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        self._check_input(x)
        self._x = x
        return x

    def _outputs(self, hs: RamTensor) -> RamTensor:
        return hs if self.return_sequences else hs[hs.layers - 1]

    def _grad_states(self, g: Any) -> RamTensor:
        """dL/dh_t for every step as a fresh (T, B, H) tensor (the kernel overwrites it)."""
        grad: RamTensor = as_batch(g)
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
        last: RamTensor = grad.reshape((1, B, H))
        if T == 1:
            return last
        out: RamTensor = rcmlrs.concat([rcmlrs.zeros((T - 1, B, H)), last], axis=0)
        return out

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg.update(units=self.units, return_sequences=self.return_sequences)
        return cfg


class RNN(_Recurrent):
    """Elman RNN: ``h_t = act(x_t Wx + h_{t-1} Wh + b)``, zero initial state; Glorot
    Wx, orthogonal Wh, zero b."""

    kind = "rnn"
    cache_attrs = ("_x", "_hs")
    ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")

    def __init__(
        self,
        units: int,
        activation: str | None = "tanh",
        return_sequences: bool = False,
        input_shape: Any = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(units, return_sequences, input_shape, name, trainable)
        self.activation = _act.canonical(activation, "RNN", self.ACTIVATIONS)
        self._act = _act.act_id(self.activation)

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        out = super().build(input_shape, seeds)
        self.Wx, self.Wh, self.b = self._add_weights(input_shape, seeds)
        self.dWx, self.dWh, self.db = self.grads
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        x = self._take_input(x)
        self._hs = _L._nn_rnn_forward(x, self.Wx, self.Wh, self.b, self._act)
        return self._outputs(self._hs)

    def backward(self, grad: RamTensor) -> RamTensor | None:
        dhs = self._grad_states(grad)
        return _L._nn_rnn_backward(
            self._act,
            self._x,
            self.Wx,
            self.Wh,
            self._hs,
            dhs,
            self.dWx,
            self.dWh,
            self.db,
            self.compute_input_grad,
        )

    def get_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg["activation"] = self.activation
        return cfg


class LSTM(_Recurrent):
    """LSTM with gates [i, f, g, o] (torch order): ``c_t = f c_{t-1} + i g``,
    ``h_t = o tanh(c_t)``; W (1, in, 4 units) Glorot, U (1, units, 4 units) orthogonal,
    b zero except the forget gate's 1."""

    kind = "lstm"
    cache_attrs = ("_x", "_G", "_cs", "_hs")

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        input_shape: Any = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(units, return_sequences, input_shape, name, trainable)

    GATES = 4

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        out = super().build(input_shape, seeds)
        self.W, self.U, self.b = self._add_weights(input_shape, seeds)
        if seeds is None or seeds.initialize:  # forget gate bias 1: remember by default
            H = self.units
            self.b.numpy()[0, 0, H : 2 * H] = 1.0
        self.dW, self.dU, self.db = self.grads
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        x = self._take_input(x)
        self._G, self._cs, self._hs = _L._nn_lstm_forward(x, self.W, self.U, self.b)
        return self._outputs(self._hs)

    def backward(self, grad: RamTensor) -> RamTensor | None:
        dhs = self._grad_states(grad)
        return _L._nn_lstm_backward(
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
            self.compute_input_grad,
        )


__all__ = ["LSTM", "RNN"]
