"""The NumPy-shaped boundary of rc.nn: samples-first arrays in, engine batches inside.

Users hand over samples first, in their natural rank: ``(n, features)``, ``(n, T,
features)``, ``(n, H, W, C)``; a RamTensor is read through its NumPy view under the same
rules (so ``(1, n, f)`` can be n samples of f features: ``readings`` lists the meanings a
shape can have, the model picks the first that fits it). Inside, a batch of samples is a
rank-3 tensor in one of three layouts, chosen by the per-sample rank (or, for the model's
input, by its first layer):

- ``"rows"``: ``(1, batch, prod(sample))``, each sample flattened in C order;
- ``"time_major"``: ``(T, batch, f)`` for samples ``(T, f)``: one time step is one matrix;
- ``"images"``: ``(batch, H * W, C)`` for samples ``(H, W, C)``.

Gathering a shuffled batch is one kernel call (``_nn_gather_rows`` / ``_nn_gather_seq``);
``Targets`` prepares labels once per call (an int64 array) so that a batch costs one
fancy index, not a conversion.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import rcmlrs
from rcmlrs import _layers as _L
from rcmlrs._tensor import RamTensor, ShapeError

if TYPE_CHECKING:
    import numpy as np

Shape = tuple[Any, ...]
Gather = Callable[["np.ndarray", int, int], RamTensor]


def layout_of(rank: int) -> str:
    """The engine layout of a batch of samples of rank ``rank`` (outputs, targets)."""
    return "rows" if rank == 1 else "time_major" if rank == 2 else "images"


def to_array(a: Any, what: str) -> np.ndarray:
    """``a`` as a NumPy array of numbers (a RamTensor through its view, no copy)."""
    import numpy as np

    if isinstance(a, RamTensor):
        return a.numpy()
    try:
        arr = np.asarray(a)
    except Exception as e:  # noqa: BLE001 - report any conversion failure the same way
        raise TypeError(f"{what}: cannot convert {type(a).__name__} to an array: {e}") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{what}: expected numbers, got an array of dtype {arr.dtype}")
    return arr


def readings(arr: np.ndarray, what: str) -> list[tuple[np.ndarray, Shape]]:
    """The ways to read ``arr`` as samples, best first: ``(samples, sample shape)``.

    ``(n, f)`` and ``(n, H, W, C)`` have one reading; ``(L, R, C)`` is L samples of
    ``(R, C)``, or, when L is 1, R samples of C features (the tensor form of ``(n, f)``)."""
    if arr.ndim < 2 or arr.ndim > 4:
        raise ShapeError(
            f"{what}: x must be (samples, features), (samples, timesteps, features) or "
            f"(samples, height, width, channels), got shape {arr.shape}"
        )
    out = [(arr, tuple(arr.shape[1:]))]
    if arr.ndim == 3 and arr.shape[0] == 1:
        out.append((arr[0], (arr.shape[2],)))
    return out


def as_float32(arr: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.ascontiguousarray(arr, dtype=np.float32)


def gatherer(arr: np.ndarray, layout: str) -> Gather:
    """A function ``(order, start, count) -> engine batch`` over the float32 C-contiguous
    samples ``arr`` (n, *sample)."""
    n = arr.shape[0]
    sample = arr.shape[1:]
    if layout == "time_major":
        if len(sample) != 2:
            raise ShapeError(f"time-major batches need samples (T, f), got {tuple(sample)}")
        src = rcmlrs.from_numpy(arr)

        def seq(order: np.ndarray, start: int, count: int) -> RamTensor:
            return _L._nn_gather_seq(src, order, start, count)

        return seq
    row = math.prod(sample)
    flat = rcmlrs.from_numpy(arr.reshape(1, n, row))
    if layout == "images":
        if len(sample) != 3:
            raise ShapeError(f"image batches need samples (H, W, C), got {tuple(sample)}")
        hw, c = sample[0] * sample[1], sample[2]

        def images(order: np.ndarray, start: int, count: int) -> RamTensor:
            return _L._nn_gather_rows(flat, row, order, start, count).reshape((count, hw, c))

        return images

    def rows(order: np.ndarray, start: int, count: int) -> RamTensor:
        return _L._nn_gather_rows(flat, row, order, start, count)

    return rows


def from_engine(t: RamTensor, sample: Shape, count: int) -> np.ndarray:
    """An engine batch of ``count`` samples of shape ``sample`` as a samples-first view."""
    import numpy as np

    a = t.numpy()
    if len(sample) == 2:
        return np.swapaxes(a, 0, 1)
    return a.reshape((count, *sample))


class Targets:
    """Targets of one fit/evaluate call, ready to be cut into batches.

    Either dense float32 targets of the model's output shape, or (for cross-entropy)
    integer class labels, one per sample (or per sample and step for sequence outputs):
    ``batch`` returns what the loss takes as ``actual`` (an int64 array in the engine's
    row order, or a tensor), ``batch_tensor`` the same as a float tensor (for the
    accuracy kernel)."""

    def __init__(
        self,
        y: Any,
        n: int,
        out_shape: Shape,
        labels_allowed: bool,
        what: str,
    ) -> None:
        import numpy as np

        arr = to_array(y, what)
        if isinstance(y, RamTensor) and n != 1 and arr.shape[0] == 1:
            if arr.shape[1] == n:  # (1, samples, k): the tensor form of (samples, k)
                arr = arr[0]
            elif arr.shape[1] == 1 and arr.shape[2] == n:  # a promoted 1-D vector
                arr = arr.reshape(n)
        if arr.ndim == 0 or arr.shape[0] != n:
            got = "a scalar" if arr.ndim == 0 else f"{arr.shape[0]} samples"
            raise ShapeError(f"{what}: x has {n} samples but y has {got} (y shape {arr.shape})")
        out_shape = tuple(out_shape)
        units = out_shape[-1]
        seq = len(out_shape) == 2
        full = (n, *out_shape)
        self.out_shape = out_shape
        self.labels: np.ndarray | None = None
        self.dense: np.ndarray | None = None
        label_shape = (n, out_shape[0]) if seq else (n,)
        if labels_allowed and arr.shape in (label_shape, label_shape + (1,)):
            if units < 2:
                raise ValueError(
                    "cross_entropy needs at least 2 output units (one per class); "
                    "use binary_cross_entropy with 1 sigmoid unit"
                )
            if arr.dtype.kind == "f" and (
                not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))
            ):
                raise ValueError(f"{what}: cross_entropy labels must be integer class indices")
            lo, hi = (arr.min(), arr.max()) if arr.size else (0, 0)
            if lo < 0 or hi >= units:
                bad = lo if lo < 0 else hi
                raise ValueError(
                    f"{what}: label {int(bad)} is out of range: the model has "
                    f"{units} output units, so labels must be in 0..{units - 1}"
                )
            self.labels = np.ascontiguousarray(arr.reshape(label_shape), dtype=np.int64)
            self._float = as_float32(self.labels.reshape(label_shape + (1,)))
            self._gather = gatherer(self._float, layout_of(len(out_shape)))
            self._seq = seq
            return
        if arr.shape != full:
            if arr.size == math.prod(full) and units == 1:
                arr = arr.reshape(full)
            elif labels_allowed:
                raise ShapeError(
                    f"{what}: y of shape {arr.shape} fits neither integer labels "
                    f"{label_shape} nor one-hot targets {full}"
                )
            else:
                raise ShapeError(
                    f"{what}: y of shape {arr.shape} does not match the model's output shape {full}"
                )
        self.dense = as_float32(arr)
        self._gather = gatherer(self.dense, layout_of(len(out_shape)))

    @property
    def are_labels(self) -> bool:
        return self.labels is not None

    def batch(self, order: np.ndarray, start: int, count: int) -> Any:
        """The loss's ``actual`` for samples ``order[start:start + count]``."""
        lab = self.labels
        if lab is None:
            return self._gather(order, start, count)
        b = lab[order[start : start + count]]
        return b.T.ravel() if self._seq else b  # time-major rows: step by step

    def batch_tensor(self, order: np.ndarray, start: int, count: int) -> RamTensor:
        """The same targets as a float tensor (labels as (rows, 1))."""
        return self._gather(order, start, count)


__all__ = [
    "Targets",
    "as_float32",
    "from_engine",
    "gatherer",
    "layout_of",
    "readings",
    "to_array",
]
