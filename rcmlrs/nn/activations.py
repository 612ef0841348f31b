"""Activation names accepted by rc.nn layers.

The names, their aliases and the kernel ids all come from the one table of the tensor
API (``rcmlrs._tensor._act_id``); this module only lists which activations a layer
accepts and words the error message.
"""

from __future__ import annotations

from collections.abc import Iterable

from rcmlrs import _tensor as _T

# what a Dense layer accepts, canonical spelling first (aliases resolve through _act_id)
NAMES = (
    "linear",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "swish",
    "gelu",
    "gelu_erf",
    "softmax",
)
LEAKY_SLOPE = 0.01  # the slope of leaky_relu, as the tensor method's default


def _canonical_by_id() -> dict[int, str]:
    out: dict[int, str] = {}
    for n in NAMES:
        try:
            out.setdefault(_T._act_id(n), n)
        except ValueError:  # a kernel table without this activation
            pass
    return out


_BY_ID = _canonical_by_id()


def act_id(name: str) -> int:
    """The kernel id of a canonical name."""
    return _T._act_id(name)


def canonical(name: object, what: str = "activation", allowed: Iterable[str] = NAMES) -> str:
    """The canonical activation name for ``name`` (None -> "linear"; aliases such as
    "silu" or "lrelu" resolve through the tensor API's table), or ValueError listing
    the valid names."""
    if name is not None and not isinstance(name, str):
        raise TypeError(
            f"{what}: activation must be a name (str) or None, got {type(name).__name__}"
        )
    valid = tuple(allowed)
    key = None
    try:
        key = _BY_ID.get(_T._act_id(name if name is None else name.strip()))
    except ValueError:
        pass
    if key is None or key not in valid:
        raise ValueError(
            f"{what}: unknown activation {name!r}; valid names are "
            f"{', '.join(valid)} (or None), case-insensitive"
        )
    return key


__all__ = ["LEAKY_SLOPE", "NAMES", "act_id", "canonical"]
