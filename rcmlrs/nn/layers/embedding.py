"""Embedding: integer ids -> rows of a trainable table (a gather forward, a deterministic
scatter-add backward), the same kernels as ``rc.embedding``."""

from __future__ import annotations

from typing import Any

import rcmlrs
from rcmlrs import _embed
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.nn.layers.base import (
    Layer,
    Shape,
    as_batch,
    check_initializer,
    check_regularizer,
    weight_options_config,
)
from rcmlrs.nn.seeding import Seeds

_DEFAULTS = {"embeddings_initializer": "uniform", "embeddings_regularizer": None}


def _check_dim(v: object, name: str, limit: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= limit:
        raise ValueError(f"Embedding: {name} must be an int in [1, {limit}], got {v!r}")
    return v


class Embedding(Layer):
    """A lookup table ``embeddings`` ``(1, input_dim, output_dim)``: samples of ``T`` integer
    ids in ``[0, input_dim)`` (shape ``(T,)``; an ``(n, T)`` array in ``fit``/``predict``)
    give ``(T, output_dim)``: step t is row ``ids[t]`` of the table. The batch arrives in
    the rows layout ``(1, batch, T)`` (ids as float32, exact below 2^24) and leaves
    time-major ``(T, batch, output_dim)``, so RNN, LSTM, GRU, Dense and Flatten follow it.

    ``embeddings_initializer`` (Keras's "uniform": U(-0.05, 0.05); or any name, object or
    function of ``rc.nn.initializers``), ``embeddings_regularizer``; ``input_length`` (T)
    is Keras's alias of ``input_shape=(T,)``. An id that is not an integer in
    ``[0, input_dim)`` raises ValueError naming it, its sample and its step. The gradient
    of a repeated id is the sum of its rows' gradients, added in (step, sample) order at
    any thread count; ids get no gradient (zeros when asked for one). The output equals
    ``rc.embedding(ids, embeddings)`` bit for bit."""

    kind = "embedding"
    cache_attrs = ("_rows", "_ids_shape")

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        input_length: int | None = None,
        input_shape: Any = None,
        name: str | None = None,
        trainable: bool = True,
    ) -> None:
        if input_length is not None:
            input_shape = (input_length,)
        super().__init__(name, trainable, input_shape)
        self.input_dim = _check_dim(input_dim, "input_dim", _embed.MAX_INPUT_DIM)
        self.output_dim = _check_dim(output_dim, "output_dim", 2**31 - 1)
        init = embeddings_initializer
        if isinstance(init, str) and init.strip().lower() == "uniform":
            init = "uniform"  # Keras's name of RandomUniform(-0.05, 0.05)
        else:
            init = check_initializer(init, "embeddings_initializer", "Embedding")
        self.embeddings_initializer = init
        self.embeddings_regularizer = check_regularizer(
            embeddings_regularizer, "embeddings_regularizer", "Embedding"
        )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """``(T, output_dim)`` for samples of ``T`` ids ``(T,)``; ShapeError otherwise."""
        if len(input_shape) != 1:
            raise ShapeError(
                f"Embedding: per-sample input must be (timesteps,) integer ids, got "
                f"{tuple(input_shape)}"
            )
        return (input_shape[0], self.output_dim)

    def input_layout(self, input_shape: Shape) -> str | None:
        """Always "rows": the ids of one sample are one row ``(1, batch, T)``."""
        return "rows"

    def weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]]:
        """``[(1, input_dim, output_dim)]``."""
        self.compute_output_shape(input_shape)
        return [(1, self.input_dim, self.output_dim)]

    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        """Create the table; returns ``(T, output_dim)``."""
        out = super().build(input_shape, seeds)
        init = self.embeddings_initializer
        if isinstance(init, str) and init == "uniform":
            init = "random_uniform"
        (shape,) = self.weight_shapes(input_shape)
        self.embeddings = self.add_weight(shape, init, seeds, self.embeddings_regularizer)
        return out

    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """The rows of the table for the ids ``x`` ``(1, batch, T)``: ``(T, batch, output_dim)``;
        keeps the ids' row offsets for ``backward``."""
        x = as_batch(x)
        if not self.built:
            self._build_from(x)
        self._rows = _embed._embed_rows(x, self.input_dim, self.output_dim)
        self._ids_shape = x.shape
        return _embed._embed_forward(self.embeddings, self._rows, x.cols, x.rows)

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """Write d(embeddings) ``(1, input_dim, output_dim)`` from dL/dy ``(T, batch,
        output_dim)``: each step's gradient row added to its id's row. Returns zeros of the
        ids' shape (ids are not differentiable), or None when ``compute_input_grad`` is
        False."""
        grad = as_batch(grad)
        self.grads = [_embed._embed_backward(grad, self._rows, self.input_dim)]
        return rcmlrs.zeros(self._ids_shape) if self.compute_input_grad else None

    def get_config(self) -> dict[str, Any]:
        """``input_dim``, ``output_dim``, a non-default initializer or a regularizer, plus
        ``name`` and ``trainable``."""
        cfg = super().get_config()
        cfg.update(input_dim=self.input_dim, output_dim=self.output_dim)
        cfg.update(weight_options_config(self, _DEFAULTS))
        return cfg


__all__ = ["Embedding"]
