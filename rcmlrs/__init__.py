"""rcmlrs: a small, transparent and fast machine-learning framework.

Tensors are rank-3 float32 ``(layers, rows, cols)`` buffers whose arithmetic runs in C
kernels (SIMD-dispatched, threaded, deterministic). ``import rcmlrs as rc``.
"""

# ruff: noqa: I001  (order matters: the subpackages at the end build on the names above)
from rcmlrs._tensor import (
    FormatError,
    RamTensor,
    RCMLRSError,
    Shape,
    ShapeError,
    arange,
    concat,
    eye,
    from_dlpack,
    from_numpy,
    full,
    linspace,
    maximum,
    minimum,
    one_hot,
    ones,
    split,
    stack,
    tensor,
    where,
    zeros,
)
from rcmlrs._random import randn, random, seed
from rcmlrs._runtime import get_num_threads, set_num_threads
from rcmlrs._version import __version__
from rcmlrs.io import load_state_binary, load_state_json, save_tensors_binary, save_tensors_json
from rcmlrs import losses, optim
from rcmlrs.losses import (
    binary_cross_entropy,
    binary_cross_entropy_deriv,
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_deriv,
    cross_entropy_deriv,
    cross_entropy_loss,
    mae_deriv,
    mae_loss,
    mse_deriv,
    mse_loss,
    nll_deriv,
    nll_loss,
)
from rcmlrs.optim import SGD, Adagrad, Adam, Nadam, RMSprop, adam_update
from rcmlrs.normalization import batch_norm, layer_norm
from rcmlrs.runtime import get_include, show_config
from rcmlrs.sequence import embedding, gru
from rcmlrs.conv import conv1d, conv2d, conv_output_size
from rcmlrs.pooling import avg_pool2d, global_avg_pool2d, max_pool2d

# subpackages last: they build on everything above
from rcmlrs import autograd, data, distributed, nn  # noqa: E402

__all__ = [
    "Adagrad",
    "Adam",
    "Nadam",
    "RMSprop",
    "SGD",
    "adam_update",
    "batch_norm",
    "layer_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_deriv",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_deriv",
    "cross_entropy_deriv",
    "cross_entropy_loss",
    "losses",
    "mae_deriv",
    "mae_loss",
    "mse_deriv",
    "mse_loss",
    "nll_deriv",
    "nll_loss",
    "optim",
    "FormatError",
    "RCMLRSError",
    "RamTensor",
    "Shape",
    "ShapeError",
    "__version__",
    "arange",
    "concat",
    "conv1d",
    "conv2d",
    "conv_output_size",
    "autograd",
    "data",
    "distributed",
    "eye",
    "from_dlpack",
    "from_numpy",
    "full",
    "get_include",
    "get_num_threads",
    "linspace",
    "load_state_binary",
    "load_state_json",
    "maximum",
    "minimum",
    "nn",
    "one_hot",
    "ones",
    "randn",
    "random",
    "save_tensors_binary",
    "save_tensors_json",
    "seed",
    "set_num_threads",
    "show_config",
    "split",
    "stack",
    "tensor",
    "where",
    "zeros",
    "embedding",
    "gru",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
]
