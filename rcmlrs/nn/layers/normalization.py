"""``BatchNormalization`` and ``LayerNormalization``: normalize along the last axis.

Both take any engine layout (rows, time-major sequences, images): the last axis of every
sample holds the channels (features), so the engine batch ``(L, R, C)`` is read as the
``(L*R, C)`` matrix of its rows. They call the kernels of ``rc.batch_norm`` /
``rc.layer_norm`` (rcmlrs/_norm.pyx, csrc/norm.c): a layer's output and gradients equal
the functions' and the tape's bit for bit.
"""

from __future__ import annotations

from typing import Any

import rcmlrs
from rcmlrs import _norm
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn.layers.base import (
    Layer,
    Shape,
    as_batch,
    check_bool,
    check_initializer,
    weight_options_config,
)
from rcmlrs.nn.seeding import Seeds
from rcmlrs.normalization import check_epsilon, check_momentum


def _channels(layer: Layer, input_shape: Shape) -> int:
    what = type(layer).__name__
    if not input_shape or not isinstance(input_shape[-1], int) or input_shape[-1] < 1:
        raise ShapeError(
            f"{what}: per-sample input shape must end with the channel (feature) count, "
            f"got {tuple(input_shape)}"
        )
    return int(input_shape[-1])


def _check_batch(layer: Layer, x: RamTensor, c: int) -> None:
    if x.cols != c:
        raise ShapeError(
            f"{layer.name or type(layer).__name__}: built for {c} channels (the last axis), "
            f"got a batch of shape {x.shape}"
        )


class _AffineNorm(Layer):
    """What both layers share: per-channel gamma (``scale``) and beta (``center``)."""

    _DEFAULTS: dict[str, Any] = {"beta_initializer": "zeros", "gamma_initializer": "ones"}

    def __init__(
        self,
        epsilon: float,
        center: bool,
        scale: bool,
        beta_initializer: Any,
        gamma_initializer: Any,
        name: str | None,
        trainable: bool,
        input_shape: Any,
    ) -> None:
        super().__init__(name, trainable, input_shape)
        what = type(self).__name__
        self.epsilon = check_epsilon(epsilon, what)
        self.center = check_bool(center, "center", what)
        self.scale = check_bool(scale, "scale", what)
        self.beta_initializer = check_initializer(beta_initializer, "beta_initializer", what)
        self.gamma_initializer = check_initializer(gamma_initializer, "gamma_initializer", what)

    def input_layout(self, input_shape: Shape) -> str | None:
        """The natural layout of the samples' rank ("rows", "time_major", "images"): each
        keeps the channels on the last axis of the engine batch, which is all the layer
        needs. Not None: a following Flatten would ask for flattened rows, whose last
        axis is no longer the channels."""
        return super().input_layout(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The input shape (per sample); its last axis is the channel count."""
        _channels(self, input_shape)
        return tuple(input_shape)

    def weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]]:
        """``[gamma (1, 1, C)]`` if ``scale``, then ``[beta (1, 1, C)]`` if ``center``."""
        c = _channels(self, input_shape)
        return [(1, 1, c)] * (int(self.scale) + int(self.center))

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        """gamma and beta ``(1, 1, C)`` (those that ``scale`` / ``center`` ask for); a
        constant 1 / 0 takes the place of a missing one."""
        out = super().build(input_shape, seeds)
        seeds = seeds if seeds is not None else Seeds()
        c = _channels(self, input_shape)
        self.gamma = (
            self.add_weight((1, 1, c), self.gamma_initializer, seeds)
            if self.scale
            else rcmlrs.ones((1, 1, c))
        )
        self.beta = (
            self.add_weight((1, 1, c), self.beta_initializer, seeds)
            if self.center
            else rcmlrs.zeros((1, 1, c))
        )
        return out

    def _set_grads(self, dgamma: RamTensor, dbeta: RamTensor) -> None:
        self.grads = [g for g, on in ((dgamma, self.scale), (dbeta, self.center)) if on]

    def _affine_config(self) -> dict[str, Any]:
        cfg = super().get_config()
        cfg["epsilon"] = self.epsilon
        if not self.center:
            cfg["center"] = False
        if not self.scale:
            cfg["scale"] = False
        cfg.update(weight_options_config(self, self._DEFAULTS))
        return cfg


class BatchNormalization(_AffineNorm):
    """``y = gamma * (x - mean) / sqrt(var + epsilon) + beta`` per channel (the last axis),
    Keras ``BatchNormalization(axis=-1)``.

    Training (``fit``, ``forward(x, training=True)``) uses the batch's mean and biased
    variance over all its rows (every sample, time step or pixel) and updates the moving
    statistics: ``moving = moving * momentum + batch * (1 - momentum)`` (the biased batch
    variance, as Keras 3). Inference (``predict``, ``evaluate``) and a frozen layer
    (``trainable=False``, as in Keras) use the moving statistics. ``get_weights()`` is
    ``[gamma, beta, moving_mean, moving_variance]``, each ``(1, 1, C)`` (gamma only with
    ``scale``, beta only with ``center``); the moving statistics are non-trainable
    weights: saved with the model, never touched by the optimizer. ``momentum`` in
    [0, 1], ``epsilon`` > 0."""

    kind = "batch_normalization"
    cache_attrs = ("_x", "_mean", "_istd", "_batch_stats")
    _DEFAULTS: dict[str, Any] = {
        "beta_initializer": "zeros",
        "gamma_initializer": "ones",
        "moving_mean_initializer": "zeros",
        "moving_variance_initializer": "ones",
    }

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        name: str | None = None,
        trainable: bool = True,
        input_shape: Any = None,
    ) -> None:
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            name,
            trainable,
            input_shape,
        )
        what = "BatchNormalization"
        self.momentum = check_momentum(momentum, what)
        self.moving_mean_initializer = check_initializer(
            moving_mean_initializer, "moving_mean_initializer", what
        )
        self.moving_variance_initializer = check_initializer(
            moving_variance_initializer, "moving_variance_initializer", what
        )

    def non_trainable_weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]]:
        """``[moving_mean, moving_variance]``, each ``(1, 1, C)``."""
        c = _channels(self, input_shape)
        return [(1, 1, c), (1, 1, c)]

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        """gamma, beta (trainable) and moving_mean, moving_variance (non-trainable), each
        ``(1, 1, C)``."""
        out = super().build(input_shape, seeds)
        seeds = seeds if seeds is not None else Seeds()
        c = _channels(self, input_shape)
        self.moving_mean = self.add_weight(
            (1, 1, c), self.moving_mean_initializer, seeds, trainable=False
        )
        self.moving_variance = self.add_weight(
            (1, 1, c), self.moving_variance_initializer, seeds, trainable=False
        )
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """The normalized batch, ``x``'s shape ``(L, R, C)``. With ``training`` (and the
        layer trainable) the batch statistics normalize and the moving ones are updated in
        place; otherwise the moving statistics normalize."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        _check_batch(self, x, self.gamma.cols)
        batch_stats = bool(training) and self.trainable
        y, mean, _var, istd = _norm._bn_forward(
            x,
            self.gamma,
            self.beta,
            self.moving_mean,
            self.moving_variance,
            batch_stats,
            self.momentum,
            self.epsilon,
        )
        self._x, self._mean, self._istd, self._batch_stats = x, mean, istd, batch_stats
        return y

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """From dL/dy (``x``'s shape): dgamma and dbeta ``(1, 1, C)`` into ``grads`` and
        dL/dx (through the batch statistics when they normalized), or None when
        ``compute_input_grad`` is False."""
        dx, dgamma, dbeta = _norm._bn_backward(
            self._x,
            as_batch(grad),
            self._mean,
            self._istd,
            self.gamma,
            self._batch_stats,
            self.compute_input_grad,
        )
        self._set_grads(dgamma, dbeta)
        return dx

    def get_config(self) -> dict[str, Any]:
        """``momentum``, ``epsilon`` and the options that differ from their defaults, plus
        ``name`` and ``trainable``."""
        cfg = self._affine_config()
        cfg["momentum"] = self.momentum
        return cfg


class LayerNormalization(_AffineNorm):
    """``y = gamma * (x - mean) / sqrt(var + epsilon) + beta`` with mean and biased
    variance over the last axis of each sample row (each feature vector, time step or
    pixel), gamma and beta per feature: Keras ``LayerNormalization(axis=-1)``.
    ``get_weights()`` is ``[gamma, beta]``, each ``(1, 1, C)`` (gamma only with ``scale``,
    beta only with ``center``). Training and inference compute the same; ``epsilon`` > 0."""

    kind = "layer_normalization"
    cache_attrs = ("_x", "_mean", "_istd")

    def __init__(
        self,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        name: str | None = None,
        trainable: bool = True,
        input_shape: Any = None,
    ) -> None:
        super().__init__(
            epsilon,
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            name,
            trainable,
            input_shape,
        )

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """The normalized batch, ``x``'s shape ``(L, R, C)``; keeps each row's mean and
        inverse standard deviation for ``backward``."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        _check_batch(self, x, self.gamma.cols)
        y, mean, istd = _norm._ln_forward(x, self.gamma, self.beta, self.epsilon)
        self._x, self._mean, self._istd = x, mean, istd
        return y

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """From dL/dy (``x``'s shape): dgamma and dbeta ``(1, 1, C)`` into ``grads`` and
        dL/dx, or None when ``compute_input_grad`` is False."""
        dx, dgamma, dbeta = _norm._ln_backward(
            self._x, as_batch(grad), self._mean, self._istd, self.gamma, self.compute_input_grad
        )
        self._set_grads(dgamma, dbeta)
        return dx

    def get_config(self) -> dict[str, Any]:
        """``epsilon`` and the options that differ from their defaults, plus ``name`` and
        ``trainable``."""
        return self._affine_config()


__all__ = ["BatchNormalization", "LayerNormalization"]
