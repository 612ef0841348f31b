"""Preprocessing layers: ``Normalization``, a fitted ``StandardScaler`` inside the model.

A scaler used as the model's first layer is saved by ``model.save`` with the model (its
statistics are in the layer's config) and applied by ``predict`` to raw inputs.
"""

from __future__ import annotations

from typing import Any

import rcmlrs
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn.layers.base import Layer, Shape, as_batch


class Normalization(Layer):
    """``y = (x - mean) / scale`` per feature (the last axis of every sample: features,
    the features of each time step, the channels of each pixel), with fixed statistics
    and no trainable weights. ``mean`` and ``scale`` are lists of ``f`` numbers in the
    data's units (``scale`` a standard deviation; 1 for a constant feature), as
    ``rc.data.StandardScaler`` computes them: ``Normalization.from_scaler(scaler)``, or
    ``layer.adapt(x_train)`` to fit them here. The statistics are part of ``get_config``,
    so ``model.save`` stores them (load with
    ``load_model(path, custom_objects={"Normalization": Normalization})`` until the layer
    is in ``rc.nn.layers.LAYERS``)."""

    kind = "normalization"

    def __init__(
        self,
        mean: Any = None,
        scale: Any = None,
        name: str | None = None,
        trainable: bool = True,
        input_shape: Any = None,
    ) -> None:
        super().__init__(name, trainable, input_shape)
        self.mean: list[float] | None = None
        self.scale: list[float] | None = None
        if (mean is None) != (scale is None):
            raise ValueError("Normalization: give both mean and scale, or neither (then adapt)")
        if mean is not None:
            self._set(mean, scale)

    def _set(self, mean: Any, scale: Any) -> None:
        import numpy as np

        m = np.asarray(mean, dtype=np.float64).reshape(-1)
        s = np.asarray(scale, dtype=np.float64).reshape(-1)
        if m.shape != s.shape or m.size == 0:
            raise ShapeError(
                f"Normalization: mean and scale need one value per feature, got "
                f"{m.size} and {s.size}"
            )
        if not (np.isfinite(m).all() and np.isfinite(s).all() and (s > 0).all()):
            raise ValueError("Normalization: mean must be finite and scale finite and > 0")
        self.mean, self.scale = [float(v) for v in m], [float(v) for v in s]
        f = m.size
        self._mean_t = rcmlrs.tensor(m.astype(np.float32).reshape(1, 1, f))
        self._scale_t = rcmlrs.tensor(s.astype(np.float32).reshape(1, 1, f))

    @classmethod
    def from_scaler(cls, scaler: Any, **kwargs: Any) -> Normalization:
        """The layer applying a fitted ``rc.data.StandardScaler`` (its ``with_mean`` /
        ``with_std`` flags respected)."""
        n = getattr(scaler, "n_features_in_", None)
        if n is None:
            raise ValueError("Normalization.from_scaler: the scaler is not fitted")
        mean = scaler.mean_ if scaler.with_mean and scaler.mean_ is not None else [0.0] * n
        scale = scaler.scale_ if scaler.scale_ is not None else [1.0] * n
        return cls(mean, scale, **kwargs)

    def adapt(self, x: Any) -> Normalization:
        """Fit the statistics on samples ``x`` (``(n, f)``, ``(n, T, f)``, ``(n, H, W, C)``)
        with ``rc.data.StandardScaler`` (float64); returns the layer."""
        from rcmlrs.data import StandardScaler

        sc = StandardScaler().fit(x)
        assert sc.mean_ is not None and sc.scale_ is not None
        self._set(sc.mean_, sc.scale_)
        return self

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The input shape (per sample); its last axis must hold the fitted features."""
        if self.mean is None:
            raise ValueError("Normalization: no statistics; call adapt(x_train) first")
        if not input_shape or input_shape[-1] != len(self.mean):
            raise ShapeError(
                f"Normalization: fitted on {len(self.mean)} features, got samples of "
                f"shape {tuple(input_shape)}"
            )
        return tuple(input_shape)

    def input_layout(self, input_shape: Shape) -> str | None:
        """None: any layout keeps the features on the last axis; the next layer decides."""
        return None

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """``(x - mean) / scale`` on an engine batch whose last axis is the features.
        The output has ``x``'s shape; its values are in units of ``scale`` (standard deviations)."""
        x = as_batch(x)
        if self.mean is None:
            raise ValueError("Normalization: no statistics; call adapt(x_train) first")
        if not self.built:
            self._build_from(x)
        if x.cols != len(self.mean):
            raise ShapeError(
                f"Normalization: fitted on {len(self.mean)} features, got a batch of shape "
                f"{x.shape}"
            )
        return (x - self._mean_t) / self._scale_t

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """dL/dx = dL/dy / scale (the statistics are constants).
        ``grad`` and the result have the last input's shape."""
        return as_batch(grad) / self._scale_t

    def get_config(self) -> dict[str, Any]:
        """Name, trainable and the statistics (lists of Python floats, exact in JSON)."""
        cfg = super().get_config()
        cfg["mean"], cfg["scale"] = self.mean, self.scale
        return cfg


__all__ = ["Normalization"]
