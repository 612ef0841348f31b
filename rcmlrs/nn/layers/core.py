"""Layers without weights: Dropout and Flatten."""

from __future__ import annotations

import math
from typing import Any

from rcmlrs import _layers as _L
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn.layers.base import Layer, Shape, as_batch
from rcmlrs.nn.seeding import draw_seed


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the inputs during training and scales the rest by
    1 / (1 - rate) (inverted dropout); the identity at inference. Masks come from the
    counter-based generator: ``fit`` hands the layer a seed per epoch (``reseed``), so a
    seed reproduces them, and a resumed run draws the same masks.
    ``rate`` is a probability in [0, 1); the output has the input's shape."""

    kind = "dropout"
    cache_attrs = ("_mask",)

    def __init__(
        self,
        rate: float,
        name: str | None = None,
        trainable: bool = True,
        input_shape: Any = None,
    ) -> None:
        super().__init__(name, trainable, input_shape)
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not 0 <= rate < 1  # also rejects NaN
        ):
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self._seed: int | None = None
        self._offset = 0
        self._mask: RamTensor | None = None

    def input_layout(self, input_shape: Shape) -> str | None:
        """None: Dropout takes any layout, so the next layer chooses."""
        return None  # any: the next layer decides

    def reseed(self, seed: int) -> None:
        self._seed, self._offset = seed, 0

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """In training, ``x`` times a fresh mask of its shape (0 with probability ``rate``, else
        1 / (1 - rate)); at inference, or with ``rate`` 0, ``x`` itself."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        if self._seed is None:  # used by hand, outside fit
            self._seed = draw_seed()
        y, self._mask = _L._nn_dropout(x, self.rate, self._seed, self._offset)
        self._offset += x.size
        return y

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """dL/dx, of the gradient's shape: the gradient times the last forward's mask (the gradient
        itself when that call drew none)."""
        grad = as_batch(grad)
        return grad if self._mask is None else grad * self._mask

    def get_config(self) -> dict[str, Any]:
        """``rate``, ``name`` and ``trainable``."""
        cfg = super().get_config()
        cfg["rate"] = self.rate
        return cfg


class Flatten(Layer):
    """Per-sample flatten to ``(features,)``: a time-major batch (T, B, F) becomes
    (1, B, T * F) (each sample's steps in order), an image batch (B, H * W, C) becomes
    (1, B, H * W * C) in (H, W, C) order; flat batches pass through unchanged. As the
    first layer it takes samples of any shape, gathered flat."""

    kind = "flatten"
    uses_sample_axes = True
    cache_attrs = ("_shape", "_flat")

    def __init__(
        self, input_shape: Any = None, name: str | None = None, trainable: bool = True
    ) -> None:
        super().__init__(name, trainable, input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """``(prod(input_shape),)``; ShapeError when the timestep count is None."""
        for d in input_shape:
            if d is None:
                raise ShapeError("Flatten: needs a fixed number of timesteps")
        return (math.prod(int(d) for d in input_shape),)

    def input_layout(self, input_shape: Shape) -> str | None:
        """Always "rows": as the first layer it takes every sample flattened in C order."""
        return "rows"

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """A ``(1, batch, features)`` batch from a time-major ``x`` ``(T, batch, f)``
        (features = T * f, each sample's steps in order) or an image batch ``(batch, H * W, C)``
        (features = H * W * C); a flat ``(1, batch, f)`` ``x`` is returned as it is."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        self._shape = x.shape
        L, R, C = x.shape
        self._flat = L == 1 and (C == self.output_shape[0] if self.output_shape else True)
        if self._flat:  # already (1, B, F)
            return x
        if len(self.input_shape or ()) == 3:  # images (B, H*W, C): samples are contiguous
            return x.reshape((1, L, R * C))
        return _L._nn_swap01(x).reshape((1, R, L * C))  # time-major (T, B, F)

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """dL/dx in the last input's shape (``(T, batch, f)``, ``(batch, H * W, C)`` or flat) from
        dL/dy ``(1, batch, features)``: forward's reordering undone."""
        grad = as_batch(grad)
        L, R, C = self._shape
        if self._flat:
            return grad.reshape((1, R, C))
        if len(self.input_shape or ()) == 3:
            return grad.reshape((L, R, C))
        return _L._nn_swap01(grad.reshape((R, L, C)))


__all__ = ["Dropout", "Flatten"]
