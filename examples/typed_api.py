"""A small, fully typed use of rcmlrs (checked with `mypy --strict`): the stubs in
rcmlrs/_tensor.pyi give every tensor op a precise type, reductions included."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

import rcmlrs as rc
from rcmlrs import RamTensor


def standardize(x: RamTensor) -> RamTensor:
    """Per-column z-score: the axis reductions return tensors that broadcast back."""
    mean: RamTensor = x.mean(axis=1)
    std: RamTensor = x.std(axis=1)
    return (x - mean) / (std + 1e-6)


def dense(x: RamTensor, w: RamTensor, b: RamTensor) -> RamTensor:
    return (x @ w + b).clip(0.0, float("inf"))  # ReLU from primitives


def main() -> int:
    rc.seed(0)
    x = rc.randn((1, 32, 8), seed=1)
    w = rc.randn((1, 8, 4), std=0.3, seed=2)
    b = rc.zeros((1, 1, 4))
    h = dense(standardize(x), w, b)
    total: float = h.sum()  # no axis: a Python float
    best: int = h.argmax()  # no axis: a flat index
    per_row: npt.NDArray[np.int64] = h.argmax(axis=2)
    layer: RamTensor = h[0]
    value: float = h[0, 1, 2]
    print(
        f"{h.shape} sum={total:.4f} argmax={best} rows={per_row.shape} "
        f"layer={layer.shape} h[0,1,2]={value:.4f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
