"""GRU: torch.nn.GRU's gated recurrent unit (Keras ``reset_after=True``), time-major, one
fused kernel each way (BPTT), the same kernels as ``rc.gru``."""

from __future__ import annotations

from typing import Any

import rcmlrs
from rcmlrs import _layers as _L
from rcmlrs._tensor import RamTensor
from rcmlrs.nn.layers.base import Shape
from rcmlrs.nn.layers.recurrent import _Recurrent
from rcmlrs.nn.seeding import Seeds


class GRU(_Recurrent):
    """GRU with gates ordered (z, r, h) (Keras's order) and torch.nn.GRU's equations::

        z = sig(x Wz + b0z + h Uz + b1z)    r = sig(x Wr + b0r + h Ur + b1r)
        n = tanh(x Wh + b0h + r (h Uh + b1h))    h_t = (1 - z) n + z h_{t-1}

    from a zero state. Weights ``[kernel (1, in, 3 units) Glorot uniform, recurrent (1, units,
    3 units) orthogonal, bias (1, 2, 3 units) zeros]`` (bias row 0 the input bias, row 1 the
    recurrent one; without ``use_bias``: ``[kernel, recurrent]``); the options are
    ``_Recurrent``'s. Samples ``(timesteps, features)`` give ``(units,)``, or ``(timesteps,
    units)`` with ``return_sequences``. The output equals ``rc.gru(x, *weights,
    return_sequences)`` bit for bit."""

    kind = "gru"
    cache_attrs = ("_x", "_G", "_Gh", "_hs")
    GATES = 3

    def __init__(
        self,
        units: int,
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

    def weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]]:
        """``[(1, in, 3 units), (1, units, 3 units), (1, 2, 3 units)]`` (no bias without
        ``use_bias``) for ``(timesteps, in)`` samples."""
        shapes = super().weight_shapes(input_shape)
        if self.use_bias:
            shapes[2] = (1, 2, self.GATES * self.units)
        return shapes

    def _add_weights(
        self, input_shape: Shape, seeds: Seeds | None
    ) -> tuple[RamTensor, RamTensor, RamTensor]:
        """The kernel, the recurrent kernel and the two-row bias (a constant zero tensor,
        no param, without ``use_bias``), from their initializers."""
        seeds = seeds if seeds is not None else Seeds()
        k, r = self.weight_shapes(input_shape)[:2]
        kernel = self.add_weight(k, self.kernel_initializer, seeds, self.kernel_regularizer)
        rec = self.add_weight(r, self.recurrent_initializer, seeds, self.recurrent_regularizer)
        b_shape = (1, 2, self.GATES * self.units)
        if self.use_bias:
            b = self.add_weight(b_shape, self.bias_initializer, seeds, self.bias_regularizer)
        else:
            b = rcmlrs.zeros(b_shape)
        return kernel, rec, b

    def _bias_grad(self) -> RamTensor:
        """The bias's gradient buffer (a scratch one nobody reads without ``use_bias``)."""
        if self.use_bias:
            return self.grads[2]
        return rcmlrs.zeros((1, 2, self.GATES * self.units))

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        """Create the weights for ``(timesteps, in)`` samples (see the class docstring);
        returns the per-sample output shape."""
        out = super().build(input_shape, seeds)
        self.W, self.U, self.b = self._add_weights(input_shape, seeds)
        self.dW, self.dU = self.grads[:2]
        self.db = self._bias_grad()
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """Run the GRU over ``x`` ``(T, batch, in)``: every h_t ``(T, batch, units)`` with
        ``return_sequences``, else the last one ``(1, batch, units)``; keeps the gates, the
        recurrent products and the states for ``backward``."""
        x = self._take_input(x)
        self._G, self._Gh, self._hs = _L._nn_gru_forward(x, self.W, self.U, self.b)
        return self._outputs(self._hs)

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """Backpropagation through time from dL/d(output) (the output's shape): write dW
        ``(1, in, 3 units)``, dU ``(1, units, 3 units)`` and db ``(1, 2, 3 units)`` and return
        dL/dx ``(T, batch, in)`` (None when ``compute_input_grad`` is False)."""
        dhs = self._grad_states(grad)
        return _L._nn_gru_backward(
            self._x,
            self.W,
            self.U,
            self._G,
            self._Gh,
            self._hs,
            dhs,
            self.dW,
            self.dU,
            self.db,
            self.compute_input_grad,
        )


__all__ = ["GRU"]
