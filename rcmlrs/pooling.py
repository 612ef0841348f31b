"""2-D pooling on engine image batches: ``rc.max_pool2d``, ``rc.avg_pool2d``,
``rc.global_avg_pool2d``.

An image batch is the rank-3 RamTensor ``(B, H*W, C)``: image b is the contiguous
``(H*W, C)`` matrix, pixel (i, j) at row ``i*W + j``, channels along the row (what rc.nn
builds from ``(n, H, W, C)`` arrays). The spatial size travels as ``input_hw = (H, W)``.
Every function records itself on an active ``rc.autograd.Tape``; its rule
(rcmlrs/autograd/rules_pool.py) calls the same backward kernel as the rc.nn pooling
layers, so the function, the layer and the tape agree bit for bit.
"""

from __future__ import annotations

from typing import Any

import rcmlrs
from rcmlrs import _pool as _P
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.autograd.tape import record

# (H, W, ph, pw, sh, sw, same): the arguments of the kernels after _pool2d_forward's x
Geometry = tuple[int, int, int, int, int, int, bool]


def _pair(v: Any, name: str, what: str) -> tuple[int, int]:
    """An int or a pair of ints as ``(rows, cols)``; TypeError otherwise."""
    if isinstance(v, (tuple, list)) and len(v) == 2:
        items = tuple(v)
    else:
        items = (v, v)
    for d in items:
        if isinstance(d, bool) or not isinstance(d, int):
            raise TypeError(f"{what}: {name} must be an int or a pair of ints, got {v!r}")
    return int(items[0]), int(items[1])


def pool_geometry(
    input_hw: Any, pool_size: Any, strides: Any, padding: Any, what: str
) -> tuple[Geometry, tuple[int, int]]:
    """Check the pooling arguments: ``((H, W, ph, pw, sh, sw, same), (Ho, Wo))``.
    ``strides`` None means ``pool_size``; ``padding`` "valid" or "same" (any case).
    TypeError / ValueError / ShapeError name the argument at fault."""
    H, W = _pair(input_hw, "input_hw", what)
    ph, pw = _pair(pool_size, "pool_size", what)
    sh, sw = (ph, pw) if strides is None else _pair(strides, "strides", what)
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{what}: padding must be 'valid' or 'same', got {padding!r}")
    same = padding.lower() == "same"
    Ho, Wo, _, _ = _P._pool2d_geometry(H, W, ph, pw, sh, sw, same, what)
    return (H, W, ph, pw, sh, sw, same), (Ho, Wo)


def _as_images(x: Any, what: str) -> RamTensor:
    """``x`` as a RamTensor; a rank-4 array gets a ShapeError saying how to reshape it."""
    if isinstance(x, RamTensor):
        return x
    ndim = getattr(x, "ndim", None)
    if ndim == 4:
        raise ShapeError(
            f"{what}: got a rank-4 array of shape {tuple(x.shape)}; image batches are "
            f"(batch, H*W, channels): reshape it with x.reshape(batch, H*W, channels)"
        )
    t: RamTensor = rcmlrs.tensor(x)
    return t


def _check_images(x: Any, H: int, W: int, what: str) -> RamTensor:
    t = _as_images(x, what)
    if t.rows != H * W:
        raise ShapeError(
            f"{what}: input of shape {t.shape} is not a batch of {H}x{W} images "
            f"(expected (batch, {H * W}, channels))"
        )
    return t


def _run(
    mode: int, name: str, x: Any, input_hw: Any, pool_size: Any, strides: Any, padding: Any
) -> RamTensor:
    geom, _ = pool_geometry(input_hw, pool_size, strides, padding, name)
    x = _check_images(x, geom[0], geom[1], name)
    out = _P._pool2d_forward(x, mode, *geom, name)
    record(name, out, (x,), {"mode": mode, "geometry": geom})
    return out


def max_pool2d(
    x: Any,
    input_hw: Any,
    pool_size: Any = 2,
    strides: Any = None,
    padding: str = "valid",
) -> RamTensor:
    """Max pooling of the image batch ``x`` ``(B, H*W, C)`` (``input_hw = (H, W)``) with a
    ``pool_size`` window (an int or ``(rows, cols)``) moved by ``strides`` (default: the
    window) -> ``(B, Ho*Wo, C)``. "valid": ``Ho = (H - ph) // sh + 1``; "same" (Keras/TF):
    ``Ho = ceil(H / sh)``, the padding never chosen. Ties go to the first element in
    (row, col) order, as in torch; a NaN in a window wins. Differentiable on a tape: the
    gradient goes to that first maximum."""
    return _run(_P.POOL_MAX, "max_pool2d", x, input_hw, pool_size, strides, padding)


def avg_pool2d(
    x: Any,
    input_hw: Any,
    pool_size: Any = 2,
    strides: Any = None,
    padding: str = "valid",
) -> RamTensor:
    """Average pooling of ``x`` ``(B, H*W, C)`` -> ``(B, Ho*Wo, C)``, arguments as in
    ``max_pool2d``. With "same" padding each output averages only the valid (unpadded)
    elements of its window (Keras/TF; torch ``count_include_pad=False``). Differentiable
    on a tape: each output's gradient is spread evenly over those elements."""
    return _run(_P.POOL_AVG, "avg_pool2d", x, input_hw, pool_size, strides, padding)


def global_avg_pool2d(x: Any) -> RamTensor:
    """The mean over all pixels of each image of ``x`` ``(B, H*W, C)`` -> ``(1, B, C)``, a
    rows batch (one row of C channel means per image): average pooling whose window is the
    whole image. Differentiable on a tape."""
    x = _as_images(x, "global_avg_pool2d")
    if x.rows == 0:
        raise ShapeError(
            f"global_avg_pool2d: the images have no pixels (input shape {x.shape}); "
            f"expected (batch, H*W, channels) with H*W >= 1"
        )
    geom: Geometry = (x.rows, 1, x.rows, 1, 1, 1, False)
    out = _P._pool2d_forward(x, _P.POOL_AVG, *geom, "global_avg_pool2d")
    out = out.reshape((1, x.layers, x.cols))
    record("global_avg_pool2d", out, (x,), {"mode": _P.POOL_AVG, "geometry": geom})
    return out


__all__ = ["avg_pool2d", "global_avg_pool2d", "max_pool2d", "pool_geometry"]
