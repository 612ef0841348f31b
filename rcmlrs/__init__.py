"""rcmlrs: a small, transparent and fast machine-learning framework.

Tensors are rank-3 float32 ``(layers, rows, cols)`` buffers whose arithmetic runs in C
kernels (SIMD-dispatched, threaded, deterministic). ``import rcmlrs as rc``.
"""

from rcmlrs._tensor import (
    FormatError,
    RamTensor,
    RCMLRSError,
    Shape,
    ShapeError,
    concat,
    from_numpy,
    full,
    get_num_threads,
    ones,
    randn,
    random,
    seed,
    set_num_threads,
    tensor,
    zeros,
)
from rcmlrs._version import __version__
from rcmlrs.io import load_state_binary, load_state_json, save_tensors_binary, save_tensors_json
from rcmlrs.runtime import get_include, show_config

__all__ = [
    "FormatError",
    "RCMLRSError",
    "RamTensor",
    "Shape",
    "ShapeError",
    "__version__",
    "concat",
    "from_numpy",
    "full",
    "get_include",
    "get_num_threads",
    "load_state_binary",
    "load_state_json",
    "ones",
    "randn",
    "random",
    "save_tensors_binary",
    "save_tensors_json",
    "seed",
    "set_num_threads",
    "show_config",
    "tensor",
    "zeros",
]
