"""Activation names accepted by rc.nn layers (case-insensitive). The ids come from the
one activation table of the tensor API (``rcmlrs._tensor._act_id``)."""

from __future__ import annotations

from rcmlrs._tensor import _act_id

_CODES = {
    name: _act_id(name)
    for name in ("linear", "relu", "leaky_relu", "sigmoid", "tanh", "swish", "gelu", "softmax")
}
LINEAR, RELU, LEAKY_RELU, SIGMOID, TANH, SWISH, GELU, SOFTMAX = _CODES.values()
_ALIASES = {
    "none": "linear",
    "identity": "linear",
    "lrelu": "leaky_relu",
    "leakyrelu": "leaky_relu",
    "silu": "swish",
}

NAMES = tuple(_CODES)
LEAKY_SLOPE = 0.01


def canonical(name, what: str = "activation", allowed=None) -> str:
    """The canonical activation name for ``name`` (None -> "linear"), or ValueError
    listing the valid names."""
    if name is None:
        key = "linear"
    elif isinstance(name, str):
        key = name.strip().lower().replace("-", "_")
        key = _ALIASES.get(key, key)
    else:
        raise TypeError(
            f"{what}: activation must be a name (str) or None, got {type(name).__name__}"
        )
    valid = tuple(allowed) if allowed is not None else NAMES
    if key not in valid:
        raise ValueError(
            f"{what}: unknown activation {name!r}; valid names are "
            f"{', '.join(valid)} (or None), case-insensitive"
        )
    return key


def code(name: str) -> int:
    return _CODES[name]
