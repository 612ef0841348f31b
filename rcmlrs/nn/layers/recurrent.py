"""Recurrent layers: Elman RNN and LSTM, time-major, one fused kernel each way (BPTT)."""

from __future__ import annotations

from typing import Any

import rcmlrs
from rcmlrs import _layers as _L
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn import activations as _act
from rcmlrs.nn.layers.base import (
    Layer,
    Shape,
    as_batch,
    check_bool,
    check_initializer,
    check_regularizer,
    check_units,
    weight_options_config,
)
from rcmlrs.nn.seeding import Seeds
from rcmlrs.sequence import state_grads

_DEFAULTS = {
    "kernel_initializer": "glorot_uniform",
    "recurrent_initializer": "orthogonal",
    "bias_initializer": "zeros",
    "kernel_regularizer": None,
    "recurrent_regularizer": None,
    "bias_regularizer": None,
}


class _Recurrent(Layer):
    """Input (time, batch, features) time-major; output the last state (1, batch, units),
    or every state (time, batch, units) with ``return_sequences``.

    Keyword options (Keras's names and defaults): ``use_bias``; ``kernel_initializer``
    (Glorot uniform), ``recurrent_initializer`` (orthogonal), ``bias_initializer``
    (zeros): names, ``rc.nn.initializers`` objects or functions ``(shape, seed)``;
    ``kernel_regularizer``, ``recurrent_regularizer``, ``bias_regularizer``
    (``rc.nn.regularizers``). Without a bias the weights are ``[kernel, recurrent]`` and
    the kernels get a constant zero bias that is no param."""

    uses_sample_axes = True
    _hs: RamTensor  # every hidden state of the last forward call

    def __init__(
        self,
        units: int,
        return_sequences: bool,
        input_shape: Any,
        name: str | None,
        trainable: bool,
        options: dict[str, Any],
    ) -> None:
        super().__init__(name, trainable, input_shape)
        what = type(self).__name__
        self.units = check_units(units, what)
        self.return_sequences = check_bool(return_sequences, "return_sequences", what)
        self.use_bias = check_bool(options["use_bias"], "use_bias", what)
        o = options
        self.kernel_initializer = check_initializer(
            o["kernel_initializer"], "kernel_initializer", what
        )
        self.recurrent_initializer = check_initializer(
            o["recurrent_initializer"], "recurrent_initializer", what
        )
        self.bias_initializer = check_initializer(o["bias_initializer"], "bias_initializer", what)
        self.kernel_regularizer = check_regularizer(
            o["kernel_regularizer"], "kernel_regularizer", what
        )
        self.recurrent_regularizer = check_regularizer(
            o["recurrent_regularizer"], "recurrent_regularizer", what
        )
        self.bias_regularizer = check_regularizer(o["bias_regularizer"], "bias_regularizer", what)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """``(timesteps, units)`` with ``return_sequences``, else ``(units,)``, for
        ``(timesteps, features)`` samples; ShapeError for any other rank."""
        if len(input_shape) != 2:
            raise ShapeError(
                f"{type(self).__name__}: per-sample input shape must be "
                f"(timesteps, features), got {tuple(input_shape)}"
            )
        if self.return_sequences:
            return (input_shape[0], self.units)
        return (self.units,)

    def input_layout(self, input_shape: Shape) -> str | None:
        """Always "time_major": the batch is ``(T, batch, features)``."""
        return "time_major"

    def _build_from(self, x: RamTensor, seeds: Seeds | None = None) -> None:
        self.build((x.layers, x.cols), seeds if seeds is not None else Seeds())

    GATES = 1  # gate blocks side by side in each weight (LSTM: 4)

    def weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]]:
        self.compute_output_shape(input_shape)
        i, g = int(input_shape[-1]), self.GATES * self.units
        shapes = [(1, i, g), (1, self.units, g)]
        return shapes + [(1, 1, g)] if self.use_bias else shapes

    def _add_weights(
        self, input_shape: Shape, seeds: Seeds | None
    ) -> tuple[RamTensor, RamTensor, RamTensor]:
        """The input kernel, the recurrent kernel and the bias, in that order, from their
        initializers (the bias a constant zero tensor, no param, without ``use_bias``)."""
        seeds = seeds if seeds is not None else Seeds()
        g = self.GATES * self.units
        k, r = self.weight_shapes(input_shape)[:2]
        kernel = self.add_weight(k, self.kernel_initializer, seeds, self.kernel_regularizer)
        rec = self.add_weight(r, self.recurrent_initializer, seeds, self.recurrent_regularizer)
        if self.use_bias:
            b = self.add_weight((1, 1, g), self.bias_initializer, seeds, self.bias_regularizer)
        else:
            b = rcmlrs.zeros((1, 1, g))
        return kernel, rec, b

    def _bias_grad(self) -> RamTensor:
        """The bias's gradient buffer (a scratch one nobody reads without ``use_bias``)."""
        if self.use_bias:
            return self.grads[2]
        return rcmlrs.zeros((1, 1, self.GATES * self.units))

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
        return state_grads(
            g, self._hs.shape, self.return_sequences, f"{type(self).__name__}.backward"
        )

    def get_config(self) -> dict[str, Any]:
        """``units``, ``return_sequences`` and the options that differ from their defaults
        (``use_bias``, initializers, regularizers), plus ``name`` and ``trainable``."""
        cfg = super().get_config()
        cfg.update(units=self.units, return_sequences=self.return_sequences)
        if not self.use_bias:
            cfg["use_bias"] = False
        cfg.update(weight_options_config(self, _DEFAULTS))
        return cfg


class RNN(_Recurrent):
    """Elman RNN: ``h_t = act(x_t Wx + h_{t-1} Wh + b)``, zero initial state; Glorot
    Wx, orthogonal Wh, zero b by default (the options: ``_Recurrent``).
    Samples ``(timesteps, features)`` give ``(units,)``, or ``(timesteps, units)`` with
    ``return_sequences``."""

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
        *,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
    ) -> None:
        options = {
            "use_bias": use_bias,
            "kernel_initializer": kernel_initializer,
            "recurrent_initializer": recurrent_initializer,
            "bias_initializer": bias_initializer,
            "kernel_regularizer": kernel_regularizer,
            "recurrent_regularizer": recurrent_regularizer,
            "bias_regularizer": bias_regularizer,
        }
        super().__init__(units, return_sequences, input_shape, name, trainable, options)
        self.activation = _act.canonical(activation, "RNN", self.ACTIVATIONS)
        self._act = _act.act_id(self.activation)

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        out = super().build(input_shape, seeds)
        self.Wx, self.Wh, self.b = self._add_weights(input_shape, seeds)
        self.dWx, self.dWh = self.grads[:2]
        self.db = self._bias_grad()
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """Run the recurrence over ``x`` ``(T, batch, in)``: every state ``(T, batch, units)`` with
        ``return_sequences``, else the last one ``(1, batch, units)``; keeps the states for
        ``backward``."""
        x = self._take_input(x)
        self._hs = _L._nn_rnn_forward(x, self.Wx, self.Wh, self.b, self._act)
        return self._outputs(self._hs)

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """Backpropagation through time from dL/d(output) (the output's shape): write dWx
        ``(1, in, units)``, dWh ``(1, units, units)`` and db ``(1, 1, units)`` and return dL/dx
        ``(T, batch, in)`` (None when ``compute_input_grad`` is False)."""
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
        """``activation`` and the recurrent options (``units``, ``return_sequences``, non-default
        initializers and regularizers, ``use_bias``), plus ``name`` and ``trainable``."""
        cfg = super().get_config()
        cfg["activation"] = self.activation
        return cfg


class LSTM(_Recurrent):
    """LSTM with gates [i, f, g, o] (torch order): ``c_t = f c_{t-1} + i g``,
    ``h_t = o tanh(c_t)``; W (1, in, 4 units) Glorot, U (1, units, 4 units) orthogonal,
    b zero except the forget gate's 1 by default (the options: ``_Recurrent``;
    ``unit_forget_bias``, Keras's, sets the forget gate's bias to 1 whatever
    ``bias_initializer`` gives).
    Samples ``(timesteps, features)`` give ``(units,)``, or ``(timesteps, units)`` with
    ``return_sequences``."""

    kind = "lstm"
    cache_attrs = ("_x", "_G", "_cs", "_hs")

    def __init__(
        self,
        units: int,
        return_sequences: bool = False,
        input_shape: Any = None,
        name: str | None = None,
        trainable: bool = True,
        *,
        use_bias: bool = True,
        unit_forget_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
    ) -> None:
        options = {
            "use_bias": use_bias,
            "kernel_initializer": kernel_initializer,
            "recurrent_initializer": recurrent_initializer,
            "bias_initializer": bias_initializer,
            "kernel_regularizer": kernel_regularizer,
            "recurrent_regularizer": recurrent_regularizer,
            "bias_regularizer": bias_regularizer,
        }
        super().__init__(units, return_sequences, input_shape, name, trainable, options)
        self.unit_forget_bias = check_bool(unit_forget_bias, "unit_forget_bias", "LSTM")

    GATES = 4

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        out = super().build(input_shape, seeds)
        self.W, self.U, self.b = self._add_weights(input_shape, seeds)
        init = seeds is None or seeds.initialize
        if self.use_bias and self.unit_forget_bias and init:  # remember by default
            H = self.units
            self.b.numpy()[0, 0, H : 2 * H] = 1.0
        self.dW, self.dU = self.grads[:2]
        self.db = self._bias_grad()
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """Run the LSTM over ``x`` ``(T, batch, in)``: every h_t ``(T, batch, units)`` with
        ``return_sequences``, else the last one ``(1, batch, units)``; keeps the gates and the cell
        and hidden states for ``backward``."""
        x = self._take_input(x)
        self._G, self._cs, self._hs = _L._nn_lstm_forward(x, self.W, self.U, self.b)
        return self._outputs(self._hs)

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """Backpropagation through time from dL/d(output) (the output's shape): write dW
        ``(1, in, 4 units)``, dU ``(1, units, 4 units)`` and db ``(1, 1, 4 units)`` and return dL/dx
        ``(T, batch, in)`` (None when ``compute_input_grad`` is False)."""
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

    def get_config(self) -> dict[str, Any]:
        """The recurrent options (``units``, ``return_sequences``, non-default initializers and
        regularizers, ``use_bias``), ``unit_forget_bias`` when False, plus ``name`` and
        ``trainable``."""
        cfg = super().get_config()
        if not self.unit_forget_bias:
            cfg["unit_forget_bias"] = False
        return cfg


__all__ = ["LSTM", "RNN"]
