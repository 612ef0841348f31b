"""Dense: ``y = act(x @ W + b)``, one fused kernel each way."""

from __future__ import annotations

from typing import Any

from rcmlrs import _layers as _L
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn import activations as _act
from rcmlrs.nn.layers.base import (
    ActivatedOutput,
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

_DEFAULTS = {
    "kernel_initializer": "glorot_uniform",
    "bias_initializer": "zeros",
    "kernel_regularizer": None,
    "bias_regularizer": None,
}


class Dense(ActivatedOutput, Layer):
    """Fully connected: ``y = act(x @ W + b)`` with W ``(1, in, units)`` shared by every
    row of the batch (and every time step of a time-major one), b ``(1, 1, units)``.
    Computes with the tensor API's kernels: the output equals ``(x @ W + b).<act>()``
    bit for bit; with ``use_bias=False`` there is no b (no param: ``get_weights`` is
    ``[W]``) and the output equals ``(x @ W).<act>()`` bit for bit.

    Initial W from ``kernel_initializer`` (Glorot uniform), b from ``bias_initializer``
    (zeros): a name, an ``rc.nn.initializers`` object or a function ``(shape, seed)``.
    ``kernel_regularizer`` / ``bias_regularizer`` (``rc.nn.regularizers.L1/L2/L1L2``)
    add their penalty to the training loss and its gradient to W's / b's.
    Samples ``(features,)`` give ``(units,)``, ``(timesteps, features)`` give ``(timesteps,
    units)``."""

    kind = "dense"
    cache_attrs = ("_x", "_z", "_y")

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        input_shape: Any = None,
        input_dim: int | None = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if input_dim is not None:
            input_shape = (input_dim,)
        super().__init__(name, trainable, input_shape)
        self.units = check_units(units, "Dense")
        self.activation = _act.canonical(activation, "Dense")
        self.use_bias = check_bool(use_bias, "use_bias", "Dense")
        self.kernel_initializer = check_initializer(
            kernel_initializer, "kernel_initializer", "Dense"
        )
        self.bias_initializer = check_initializer(bias_initializer, "bias_initializer", "Dense")
        self.kernel_regularizer = check_regularizer(
            kernel_regularizer, "kernel_regularizer", "Dense"
        )
        self.bias_regularizer = check_regularizer(bias_regularizer, "bias_regularizer", "Dense")
        self._act = _act.act_id(self.activation)
        self._linear = _act.act_id("linear")
        self._slope = _act.LEAKY_SLOPE

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """``(units,)`` for ``(features,)`` samples, ``(timesteps, units)`` for
        ``(timesteps, features)`` ones; ShapeError for any other rank (add Flatten first)."""
        if len(input_shape) not in (1, 2):
            raise ShapeError(
                f"Dense: per-sample input shape must be (features,) or "
                f"(timesteps, features), got {tuple(input_shape)}; add Flatten() first"
            )
        return tuple(input_shape[:-1]) + (self.units,)

    def weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]]:
        self.compute_output_shape(input_shape)
        shapes = [(1, int(input_shape[-1]), self.units)]
        return shapes + [(1, 1, self.units)] if self.use_bias else shapes

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        out = super().build(input_shape, seeds)
        seeds = seeds if seeds is not None else Seeds()
        w_shape = self.weight_shapes(input_shape)[0]
        self.W = self.add_weight(w_shape, self.kernel_initializer, seeds, self.kernel_regularizer)
        self.dW = self.grads[-1]
        self.b: RamTensor | None = None
        self.db: RamTensor | None = None
        if self.use_bias:
            self.b = self.add_weight(
                (1, 1, self.units), self.bias_initializer, seeds, self.bias_regularizer
            )
            self.db = self.grads[-1]
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """``act(x @ W + b)``: ``(L, batch, units)`` from ``x`` ``(L, batch, in)`` (L = 1, or the
        time steps of a time-major batch); keeps x, the pre-activation and the output for
        ``backward``."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        if x.cols != self.W.rows:
            raise ShapeError(
                f"{self.name or 'Dense'}: expected {self.W.rows} input features, "
                f"got input of shape {x.shape}"
            )
        self._x = x
        self._z, self._y = _L._nn_dense_forward(x, self.W, self.b, self._act, self._slope)
        return self._y

    def _backward(self, grad: Any, act: int) -> RamTensor | None:
        return _L._nn_dense_backward(
            self._x,
            self.W,
            self._z,
            self._y,
            as_batch(grad),
            self.dW,
            self.db,
            act,
            self._slope,
            self.compute_input_grad,
        )

    def get_config(self) -> dict[str, Any]:
        """``units``, ``activation`` and the options that differ from their defaults (``use_bias``,
        initializers, regularizers), plus ``name`` and ``trainable``."""
        cfg = super().get_config()
        cfg.update(units=self.units, activation=self.activation)
        if not self.use_bias:
            cfg["use_bias"] = False
        cfg.update(weight_options_config(self, _DEFAULTS))
        return cfg


__all__ = ["Dense"]
