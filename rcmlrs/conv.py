"""Convolutions on the engine layouts: ``rc.conv2d`` over image batches ``(B, H*W, C)``,
``rc.conv1d`` over time-major batches ``(T, B, C)``; ``rc.conv_output_size`` gives the
output size.

Both run the one pair of C kernels (csrc/conv.c: an im2col block per chunk of output rows
times the kernel through the packed GEMM) that rc.nn's ``Conv2D`` / ``Conv1D`` layers use,
so a layer's output equals the function's bit for bit, and both record themselves on an
active ``rc.autograd`` tape (rules in rcmlrs/autograd/rules_conv.py, which call the same
backward kernel as the layers). Padding follows Keras/TF: "valid" (no padding) or "same"
(output ``ceil(in / stride)``, total padding ``max((out - 1) * stride + k - in, 0)``, the
smaller half before). Dilation is 1.
"""

from __future__ import annotations

from typing import Any

from rcmlrs import _conv
from rcmlrs._tensor import RamTensor, _act_id, _get_tape

_LINEAR = _act_id("linear")


def _pair(v: Any, name: str, what: str) -> tuple[int, int]:
    """An int or a pair of ints (height, width) as a pair; TypeError otherwise."""
    if isinstance(v, (tuple, list)) and len(v) == 2:
        a, b = v
    else:
        a = b = v
    for d in (a, b):
        if isinstance(d, bool) or not isinstance(d, int):
            raise TypeError(f"{what}: {name} must be an int or a pair of ints, got {v!r}")
    return int(a), int(b)


def _one(v: Any, name: str, what: str) -> int:
    """An int (or a 1-tuple of one); TypeError otherwise."""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{what}: {name} must be an int, got {v!r}")
    return int(v)


def _same(padding: Any, what: str) -> bool:
    """True for "same", False for "valid" (case-insensitive); ValueError otherwise."""
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in ("valid", "same"):
        raise ValueError(f'{what}: padding must be "valid" or "same", got {padding!r}')
    return p == "same"


def _positive(v: tuple[int, ...], name: str, what: str) -> None:
    if any(d < 1 for d in v):
        raise ValueError(f"{what}: {name} must be >= 1, got {v if len(v) > 1 else v[0]}")


def conv_output_size(
    size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
) -> int | tuple[int, int]:
    """The output length of a convolution (or pooling window) along each spatial axis:
    ``size`` an int (a Conv1D's timesteps) gives an int, ``(H, W)`` gives ``(Ho, Wo)``.
    "valid": ``(size - k) // stride + 1``; "same": ``ceil(size / stride)``. Raises
    ShapeError when a "valid" kernel is larger than the input, ValueError for a size,
    kernel or stride below 1."""
    same = _same(padding, "conv_output_size")
    if isinstance(size, (tuple, list)):
        (h, w) = _pair(size, "size", "conv_output_size")
        kh, kw = _pair(kernel_size, "kernel_size", "conv_output_size")
        sh, sw = _pair(strides, "strides", "conv_output_size")
        return (
            _conv._conv_out(h, kh, sh, same, "height")[0],
            _conv._conv_out(w, kw, sw, same, "width")[0],
        )
    n = _one(size, "size", "conv_output_size")
    k = _one(kernel_size, "kernel_size", "conv_output_size")
    s = _one(strides, "strides", "conv_output_size")
    return _conv._conv_out(n, k, s, same, "input")[0]


def _record(name: str, z: RamTensor, x: RamTensor, kernel: RamTensor, bias: Any, attrs: dict):
    tape = _get_tape()
    if tape is not None:
        inputs = (x, kernel) if bias is None else (x, kernel, bias)
        tape.record(name, z, inputs, attrs, None)


def conv2d(
    x: RamTensor,
    kernel: RamTensor,
    input_hw: tuple[int, int],
    kernel_size: int | tuple[int, int],
    strides: int | tuple[int, int] = 1,
    padding: str = "valid",
    bias: RamTensor | None = None,
) -> RamTensor:
    """2-D convolution (cross-correlation, as torch and Keras compute it) of a batch of
    images ``x`` ``(B, H*W, C)`` (pixel (i, j) is row i*W + j, channels along the row;
    ``input_hw`` = (H, W)) with ``kernel`` ``(1, kh*kw*C, F)`` (rows in (kh, kw, C) order,
    Keras's layout with a leading 1), plus ``bias`` (F values) when given. Returns
    ``(B, Ho*Wo, F)`` (sizes from ``conv_output_size``). ``kernel_size``/``strides``: an int
    or (height, width); padding "valid" or "same". Recorded by an active tape."""
    what = "conv2d"
    hw = _pair(input_hw, "input_hw", what)
    ks = _pair(kernel_size, "kernel_size", what)
    st = _pair(strides, "strides", what)
    _positive(ks, "kernel_size", what)
    _positive(st, "strides", what)
    same = _same(padding, what)
    z, _ = _conv._conv_forward(
        x, kernel, bias, hw[0], hw[1], ks[0], ks[1], st[0], st[1], same, False, _LINEAR, 0.0
    )
    _record(
        "conv2d",
        z,
        x,
        kernel,
        bias,
        {"input_hw": hw, "kernel_size": ks, "strides": st, "same": same, "time_major": False},
    )
    return z


def conv1d(
    x: RamTensor,
    kernel: RamTensor,
    kernel_size: int,
    strides: int = 1,
    padding: str = "valid",
    bias: RamTensor | None = None,
) -> RamTensor:
    """1-D convolution over time of a time-major batch ``x`` ``(T, B, C)`` with ``kernel``
    ``(1, k*C, F)`` (rows in (k, C) order), plus ``bias`` (F values) when given. Returns
    the time-major ``(To, B, F)`` (``To`` from ``conv_output_size``); padding "valid" or
    "same". Recorded by an active tape."""
    what = "conv1d"
    k = _one(kernel_size, "kernel_size", what)
    s = _one(strides, "strides", what)
    _positive((k,), "kernel_size", what)
    _positive((s,), "strides", what)
    same = _same(padding, what)
    z, _ = _conv._conv_forward(x, kernel, bias, 0, 0, k, 1, s, 1, same, True, _LINEAR, 0.0)
    _record(
        "conv1d",
        z,
        x,
        kernel,
        bias,
        {
            "input_hw": (0, 0),
            "kernel_size": (k, 1),
            "strides": (s, 1),
            "same": same,
            "time_major": True,
        },
    )
    return z


__all__ = ["conv1d", "conv2d", "conv_output_size"]
