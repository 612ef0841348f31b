"""Backward rules of ``rc.conv2d`` and ``rc.conv1d`` (rcmlrs/conv.py).

Both call the convolution's one backward kernel (csrc/conv.c), the same call the rc.nn
``Conv2D`` / ``Conv1D`` layers make, so a tape's gradients equal the layers' bit for bit:
dW = im2col(x)^T g, db = g summed over every output pixel, dx = col2im(g W^T).
"""

from __future__ import annotations

import rcmlrs
from rcmlrs import _conv
from rcmlrs._tensor import _act_id
from rcmlrs.autograd.registry import register

_LINEAR = _act_id("linear")


def _conv_rule(g, out, inputs, attrs, needs):
    x, kernel = inputs[0], inputs[1]
    has_bias = len(inputs) > 2
    dw = rcmlrs.zeros(kernel.shape)
    db = rcmlrs.zeros(inputs[2].shape) if has_bias else None
    (H, W), (kh, kw), (sh, sw) = attrs["input_hw"], attrs["kernel_size"], attrs["strides"]
    dx = _conv._conv_backward(
        x,
        kernel,
        out,
        out,
        g,
        dw,
        db,
        H,
        W,
        kh,
        kw,
        sh,
        sw,
        attrs["same"],
        attrs["time_major"],
        _LINEAR,
        0.0,
        bool(needs[0]),
    )
    grads = [dx if needs[0] else None, dw if needs[1] else None]
    if has_bias:
        grads.append(db if needs[2] else None)
    return tuple(grads)


register("conv2d", formula="dW = im2col(x)^T g; db = sum g over pixels; dx = col2im(g W^T)")(
    _conv_rule
)
register("conv1d", formula="dW = im2col(x)^T g; db = sum g over steps; dx = col2im(g W^T)")(
    _conv_rule
)
