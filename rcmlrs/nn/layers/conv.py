"""Conv2D over image batches and Conv1D over time-major sequences: one fused kernel each
way (csrc/conv.c), the same calls as ``rc.conv2d`` / ``rc.conv1d``."""

from __future__ import annotations

from typing import Any

from rcmlrs import _conv
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.conv import _one, _pair, _positive, _same, conv_output_size
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


class _Conv(ActivatedOutput, Layer):
    """What Conv1D and Conv2D share: the weights, forward/backward through
    ``rcmlrs._conv`` and the config. Subclasses set ``_time_major`` and the geometry
    (``_ks``, ``_st`` pairs, ``_hw`` from the built input shape)."""

    uses_sample_axes = True
    cache_attrs = ("_x", "_z", "_y")
    _time_major = False
    _ks: tuple[int, int]  # kernel (height, width); (k, 1) for Conv1D
    _st: tuple[int, int]  # strides, likewise
    kernel_size: Any  # as the user gave it (normalized): a pair, or Conv1D's int
    strides: Any

    def _init_common(
        self,
        what: str,
        filters: int,
        padding: str,
        activation: str | None,
        use_bias: bool,
        kernel_initializer: Any,
        bias_initializer: Any,
        kernel_regularizer: Any,
        bias_regularizer: Any,
    ) -> None:
        self.filters = check_units(filters, what, "filters")
        self.padding = "same" if _same(padding, what) else "valid"
        self.activation = _act.canonical(activation, what)
        self.use_bias = check_bool(use_bias, "use_bias", what)
        self.kernel_initializer = check_initializer(kernel_initializer, "kernel_initializer", what)
        self.bias_initializer = check_initializer(bias_initializer, "bias_initializer", what)
        self.kernel_regularizer = check_regularizer(kernel_regularizer, "kernel_regularizer", what)
        self.bias_regularizer = check_regularizer(bias_regularizer, "bias_regularizer", what)
        self._act = _act.act_id(self.activation)
        self._linear = _act.act_id("linear")
        self._slope = _act.LEAKY_SLOPE

    def _channels(self, input_shape: Shape) -> int:
        return int(input_shape[-1])

    def weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]]:
        """``[(1, kh*kw*C, filters), (1, 1, filters)]`` (no bias without ``use_bias``)."""
        self.compute_output_shape(input_shape)
        k = self._ks[0] * self._ks[1] * self._channels(input_shape)
        shapes = [(1, k, self.filters)]
        return shapes + [(1, 1, self.filters)] if self.use_bias else shapes

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        out = super().build(input_shape, seeds)
        seeds = seeds if seeds is not None else Seeds()
        w_shape = self.weight_shapes(input_shape)[0]
        self.W = self.add_weight(
            w_shape,
            self.kernel_initializer,
            seeds,
            self.kernel_regularizer,
            receptive_field=self._ks[0] * self._ks[1],
        )
        self.dW = self.grads[-1]
        self.b: RamTensor | None = None
        self.db: RamTensor | None = None
        if self.use_bias:
            self.b = self.add_weight(
                (1, 1, self.filters), self.bias_initializer, seeds, self.bias_regularizer
            )
            self.db = self.grads[-1]
        return out

    def _geometry(self) -> tuple[int, int, int, int, int, int, bool, bool]:
        hw = self._hw()
        return (
            hw[0],
            hw[1],
            self._ks[0],
            self._ks[1],
            self._st[0],
            self._st[1],
            self.padding == "same",
            self._time_major,
        )

    def _hw(self) -> tuple[int, int]:
        return (0, 0)

    def _check_input(self, x: RamTensor) -> None:
        raise NotImplementedError

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """``act(conv(x, W) + b)`` in the layer's engine layout; keeps x, the
        pre-activation and the output for ``backward``."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        self._check_input(x)
        self._x = x
        self._z, self._y = _conv._conv_forward(
            x, self.W, self.b, *self._geometry(), self._act, self._slope
        )
        return self._y

    def _backward(self, grad: Any, act: int) -> RamTensor | None:
        return _conv._conv_backward(
            self._x,
            self.W,
            self._z,
            self._y,
            as_batch(grad),
            self.dW,
            self.db,
            *self._geometry(),
            act,
            self._slope,
            self.compute_input_grad,
        )

    def get_config(self) -> dict[str, Any]:
        """``filters``, ``kernel_size``, ``strides``, ``padding``, ``activation`` and the
        options that differ from their defaults, plus ``name`` and ``trainable``."""
        cfg = super().get_config()
        cfg.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            activation=self.activation,
        )
        if not self.use_bias:
            cfg["use_bias"] = False
        cfg.update(weight_options_config(self, _DEFAULTS))
        return cfg


class Conv2D(_Conv):
    """2-D convolution (cross-correlation, as Keras and torch compute it) of image samples
    ``(H, W, C)`` -> ``(Ho, Wo, filters)``: ``y = act(conv(x, W) + b)`` with W
    ``(1, kh*kw*C, filters)`` (rows in (kh, kw, C) order, Keras's kernel with a leading 1)
    and b ``(1, 1, filters)``. Engine batches are images ``(B, H*W, C)``. ``kernel_size`` and
    ``strides``: an int or (height, width); ``padding`` "valid" or "same" (Keras/TF:
    ``Ho = ceil(H / stride)``); dilation 1. The output equals ``rc.conv2d(x, W, (H, W), ...,
    bias=b).<act>()`` bit for bit. Initializers and regularizers as in Dense."""

    kind = "conv2d"

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        strides: int | tuple[int, int] = 1,
        padding: str = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        input_shape: Any = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name, trainable, input_shape)
        self._ks = _pair(kernel_size, "kernel_size", "Conv2D")
        self._st = _pair(strides, "strides", "Conv2D")
        _positive(self._ks, "kernel_size", "Conv2D")
        _positive(self._st, "strides", "Conv2D")
        self.kernel_size = self._ks
        self.strides = self._st
        self._init_common(
            "Conv2D",
            filters,
            padding,
            activation,
            use_bias,
            kernel_initializer,
            bias_initializer,
            kernel_regularizer,
            bias_regularizer,
        )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """``(Ho, Wo, filters)`` for ``(H, W, C)`` samples; ShapeError for any other rank
        (``(H, W)`` images need a channel axis: ``x[..., None]``) and for a kernel larger
        than a "valid" image."""
        name = self.name or "Conv2D"
        shape = tuple(input_shape)
        if len(shape) == 2:
            raise ShapeError(
                f"{name}: samples of shape {shape} have no channel axis; Conv2D takes "
                f"(H, W, channels) images: add one with x[..., None] (x of shape (n, H, W) "
                f"-> (n, H, W, 1))"
            )
        if len(shape) != 3 or any(d is None for d in shape):
            raise ShapeError(
                f"{name}: per-sample input shape must be (H, W, channels), got {shape}"
            )
        try:
            out = conv_output_size(shape[:2], self._ks, self._st, self.padding)
        except (ShapeError, ValueError) as e:
            raise type(e)(f"{name}: input {shape}: {e}") from None
        assert isinstance(out, tuple)
        return (out[0], out[1], self.filters)

    def input_layout(self, input_shape: Shape) -> str | None:
        """Always "images": a batch of ``(H, W, C)`` samples is ``(batch, H*W, C)``."""
        return "images"

    def _build_from(self, x: RamTensor, seeds: Seeds | None = None) -> None:
        """Build by hand from an image batch ``(B, H*W, C)``: (H, W) come from
        ``input_shape`` (the batch alone does not tell them)."""
        shape = self.declared_input_shape
        if shape is None or len(shape) != 3:
            raise ShapeError(
                f"{self.name or 'Conv2D'}: an image batch {x.shape} does not say its height "
                f"and width; give the layer input_shape=(H, W, channels)"
            )
        self.build(shape, seeds if seeds is not None else Seeds())

    def _hw(self) -> tuple[int, int]:
        shape = self.input_shape or (0, 0)
        return int(shape[0]), int(shape[1])

    def _check_input(self, x: RamTensor) -> None:
        h, w, c = (int(d) for d in self.input_shape or (0, 0, 0))
        if x.rows != h * w or x.cols != c:
            raise ShapeError(
                f"{self.name or 'Conv2D'}: expected a batch of {h}x{w} images with {c} "
                f"channels, (batch, {h * w}, {c}), got {x.shape}"
            )


class Conv1D(_Conv):
    """1-D convolution over time of sequence samples ``(T, C)`` -> ``(To, filters)``:
    ``y = act(conv(x, W) + b)`` with W ``(1, k*C, filters)`` (rows in (k, C) order) and b
    ``(1, 1, filters)``. Engine batches are time-major ``(T, B, C)`` in and ``(To, B,
    filters)`` out, so it chains with RNN/LSTM/GRU/Dense. ``padding`` "valid" or "same"
    (``To = ceil(T / stride)``); dilation 1. The output equals ``rc.conv1d(x, W, k, ...,
    bias=b).<act>()`` bit for bit. Initializers and regularizers as in Dense."""

    kind = "conv1d"
    _time_major = True

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        strides: int = 1,
        padding: str = "valid",
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        input_shape: Any = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name, trainable, input_shape)
        k = _one(kernel_size, "kernel_size", "Conv1D")
        s = _one(strides, "strides", "Conv1D")
        _positive((k,), "kernel_size", "Conv1D")
        _positive((s,), "strides", "Conv1D")
        self.kernel_size = k
        self.strides = s
        self._ks = (k, 1)
        self._st = (s, 1)
        self._init_common(
            "Conv1D",
            filters,
            padding,
            activation,
            use_bias,
            kernel_initializer,
            bias_initializer,
            kernel_regularizer,
            bias_regularizer,
        )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """``(To, filters)`` for ``(timesteps, channels)`` samples (``To`` None when the
        timesteps are); ShapeError for any other rank and for a kernel longer than a
        "valid" sequence."""
        name = self.name or "Conv1D"
        shape = tuple(input_shape)
        if len(shape) != 2 or shape[1] is None:
            raise ShapeError(
                f"{name}: per-sample input shape must be (timesteps, channels), got {shape}"
                + ("; add a channel axis with x[..., None]" if len(shape) == 1 else "")
            )
        if shape[0] is None:
            return (None, self.filters)
        try:
            to = conv_output_size(int(shape[0]), self.kernel_size, self.strides, self.padding)
        except (ShapeError, ValueError) as e:
            raise type(e)(f"{name}: input {shape}: {e}") from None
        return (to, self.filters)

    def input_layout(self, input_shape: Shape) -> str | None:
        """Always "time_major": a batch of ``(T, C)`` samples is ``(T, batch, C)``."""
        return "time_major"

    def _build_from(self, x: RamTensor, seeds: Seeds | None = None) -> None:
        """Build by hand from a time-major batch ``(T, B, C)``."""
        self.build((None, x.cols), seeds if seeds is not None else Seeds())

    def _check_input(self, x: RamTensor) -> None:
        c = int((self.input_shape or (0,))[-1])
        if x.cols != c:
            raise ShapeError(
                f"{self.name or 'Conv1D'}: expected {c} input channels (time-major "
                f"(T, batch, {c})), got input of shape {x.shape}"
            )
        if x.layers < self.kernel_size and self.padding == "valid":
            raise ShapeError(
                f"{self.name or 'Conv1D'}: kernel size {self.kernel_size} is longer than "
                f"the {x.layers} timesteps of input {x.shape} with padding='valid'"
            )


__all__ = ["Conv1D", "Conv2D"]
