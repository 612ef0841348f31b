"""Backward rules of 2-D pooling (rcmlrs/pooling.py): each calls the pooling backward
kernel (rcmlrs._pool._pool2d_backward, csrc/pool_body.h) that the rc.nn pooling layers
use, so a tape's gradient equals the layer's bit for bit."""

from __future__ import annotations

from rcmlrs import _pool
from rcmlrs.autograd.registry import register


def _pool_rule(g, out, inputs, attrs, needs):
    if not needs[0]:
        return (None,)
    x = inputs[0]
    return (_pool._pool2d_backward(x, g, attrs["mode"], *attrs["geometry"]),)


register("max_pool2d", formula="dx = g sent to the first maximum of each window")(_pool_rule)
register("avg_pool2d", formula="dx = g / count spread over each window's valid elements")(
    _pool_rule
)
register("global_avg_pool2d", formula="dx = g / (H*W) at every pixel")(_pool_rule)
