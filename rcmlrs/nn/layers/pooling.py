"""Pooling layers: MaxPool2D, AveragePooling2D and GlobalAveragePooling2D.

They take image batches ``(batch, H*W, C)`` (samples ``(H, W, C)``) and call the kernels of
``rc.max_pool2d`` / ``rc.avg_pool2d`` / ``rc.global_avg_pool2d`` (rcmlrs/pooling.py,
csrc/pool_body.h), so a layer's output and input gradient equal the functions' (and an
autograd tape's) bit for bit. They have no weights.
"""

from __future__ import annotations

import math
from typing import Any

from rcmlrs import _pool as _P
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn.layers.base import Layer, Shape, as_batch
from rcmlrs.nn.seeding import Seeds
from rcmlrs.pooling import Geometry, _pair, pool_geometry


def _image_shape(input_shape: Shape, what: str) -> tuple[int, int, int]:
    """``(H, W, C)`` of a per-sample image shape; ShapeError for any other rank."""
    if len(input_shape) != 3 or any(d is None for d in input_shape):
        hint = (
            " (a grayscale (n, H, W) array needs a channel axis: x[..., None])"
            if len(input_shape) == 2
            else ""
        )
        raise ShapeError(
            f"{what}: per-sample input shape must be (height, width, channels), got "
            f"{tuple(input_shape)}{hint}"
        )
    H, W, C = (int(d) for d in input_shape)
    return H, W, C


class _ImageLayer(Layer):
    """Shared by the pooling layers: images in, built from ``(H, W, C)`` samples."""

    uses_sample_axes = True
    cache_attrs = ("_x",)
    _hwc: tuple[int, int, int]  # (H, W, C) of the samples, set by build
    _geom: Geometry  # the kernels' arguments after x, set by build

    def input_layout(self, input_shape: Shape) -> str | None:
        """Always "images": the batch is ``(batch, H*W, C)``."""
        return "images"

    def _build_from(self, x: RamTensor, seeds: Seeds | None = None) -> None:
        """Used by hand on an image batch: the declared ``input_shape``, else square
        images of ``x.rows`` pixels; ShapeError when neither says what (H, W) is."""
        shape = self.declared_input_shape
        if shape is None:
            side = math.isqrt(x.rows)
            if side * side != x.rows:
                raise ShapeError(
                    f"{type(self).__name__}: cannot tell the image size of a batch of shape "
                    f"{x.shape} (rows are pixels); pass input_shape=(height, width, channels)"
                )
            shape = (side, side, x.cols)
        self.build(shape, seeds if seeds is not None else Seeds())

    def _check_input(self, x: RamTensor) -> None:
        H, W, C = self._hwc
        if x.rows != H * W or x.cols != C:
            raise ShapeError(
                f"{self.name or type(self).__name__}: expected a batch of {H}x{W} images with "
                f"{C} channels, shape (batch, {H * W}, {C}), got {x.shape}"
            )


class _Pool2D(_ImageLayer):
    """Max or average pooling over ``pool_size`` windows moved by ``strides``."""

    MODE = _P.POOL_MAX

    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        input_shape: Any = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        super().__init__(name, trainable, input_shape)
        what = type(self).__name__
        self.pool_size = _pair(pool_size, "pool_size", what)
        self.strides = self.pool_size if strides is None else _pair(strides, "strides", what)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{what}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding.lower()
        for name_, v in (("pool_size", self.pool_size), ("strides", self.strides)):
            if min(v) < 1:
                raise ValueError(f"{what}: {name_} must be positive, got {v}")

    def _geometry(self, input_shape: Shape) -> tuple[Geometry, tuple[int, int], int]:
        what = self.name or type(self).__name__
        H, W, C = _image_shape(input_shape, what)
        geom, hw = pool_geometry((H, W), self.pool_size, self.strides, self.padding, what)
        return geom, hw, C

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """``(Ho, Wo, C)`` for ``(H, W, C)`` samples: "valid" ``Ho = (H - ph) // sh + 1``,
        "same" ``Ho = ceil(H / sh)``. ShapeError for another rank or a window larger than a
        "valid" image."""
        _, (Ho, Wo), C = self._geometry(input_shape)
        return (Ho, Wo, C)

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        out = super().build(input_shape, seeds)
        self._geom, _, C = self._geometry(input_shape)
        self._hwc = (self._geom[0], self._geom[1], C)
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """``(batch, Ho*Wo, C)`` from the image batch ``x`` ``(batch, H*W, C)``; keeps x for
        ``backward``."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        self._check_input(x)
        self._x = x
        return _P._pool2d_forward(x, self.MODE, *self._geom, self.name or type(self).__name__)

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """dL/dx ``(batch, H*W, C)`` from dL/dy ``(batch, Ho*Wo, C)`` (None when
        ``compute_input_grad`` is False)."""
        if not self.compute_input_grad:
            return None
        return _P._pool2d_backward(
            self._x, as_batch(grad), self.MODE, *self._geom, self.name or type(self).__name__
        )

    def get_config(self) -> dict[str, Any]:
        """``pool_size``, ``strides`` and ``padding`` (plus ``name`` and ``trainable``)."""
        cfg = super().get_config()
        cfg.update(pool_size=list(self.pool_size), strides=list(self.strides), padding=self.padding)
        return cfg


class MaxPool2D(_Pool2D):
    """Max pooling of ``(H, W, C)`` samples to ``(Ho, Wo, C)``: each output is the maximum
    of a ``pool_size`` window (an int or ``(rows, cols)``, default 2) moved by ``strides``
    (default: the window), per channel. ``padding`` "valid" (windows inside the image) or
    "same" (Keras/TF: ``Ho = ceil(H / sh)``, padding never chosen). Ties go to the first
    element in (row, col) order, as in torch; the gradient flows to that element only.
    Equals ``rc.max_pool2d`` bit for bit. Alias: MaxPooling2D."""

    kind = "max_pooling2d"
    MODE = _P.POOL_MAX


class AveragePooling2D(_Pool2D):
    """Average pooling of ``(H, W, C)`` samples to ``(Ho, Wo, C)``, arguments as in
    MaxPool2D. With "same" padding each output averages only the valid (unpadded) elements
    of its window (Keras/TF; torch ``count_include_pad=False``). Equals ``rc.avg_pool2d``
    bit for bit. Alias: AvgPool2D."""

    kind = "average_pooling2d"
    MODE = _P.POOL_AVG


class GlobalAveragePooling2D(_ImageLayer):
    """The mean over all pixels of each channel: ``(H, W, C)`` samples give ``(C,)`` (a rows
    batch ``(1, batch, C)``), so a Dense layer can follow directly. Equals
    ``rc.global_avg_pool2d`` bit for bit."""

    kind = "global_average_pooling2d"

    def __init__(
        self, input_shape: Any = None, name: str | None = None, trainable: bool = True
    ) -> None:
        super().__init__(name, trainable, input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """``(C,)`` for ``(H, W, C)`` samples; ShapeError for another rank."""
        _, _, C = _image_shape(input_shape, self.name or type(self).__name__)
        return (C,)

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        out = super().build(input_shape, seeds)
        self._hwc = _image_shape(input_shape, self.name or type(self).__name__)
        n = self._hwc[0] * self._hwc[1]
        self._geom = (n, 1, n, 1, 1, 1, False)
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """``(1, batch, C)``, the channel means of each image of ``x`` ``(batch, H*W, C)``."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        self._check_input(x)
        self._x = x
        y = _P._pool2d_forward(x, _P.POOL_AVG, *self._geom, "GlobalAveragePooling2D")
        return y.reshape((1, x.layers, x.cols))

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """dL/dx ``(batch, H*W, C)`` from dL/dy ``(1, batch, C)``: each channel's gradient
        divided by H*W at every pixel (None when ``compute_input_grad`` is False)."""
        if not self.compute_input_grad:
            return None
        return _P._pool2d_backward(
            self._x, as_batch(grad), _P.POOL_AVG, *self._geom, "GlobalAveragePooling2D"
        )


MaxPooling2D = MaxPool2D
AvgPool2D = AveragePooling2D

__all__ = [
    "AveragePooling2D",
    "AvgPool2D",
    "GlobalAveragePooling2D",
    "MaxPool2D",
    "MaxPooling2D",
]
