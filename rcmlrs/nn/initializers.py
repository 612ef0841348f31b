"""Weight initializers by name, Keras's definitions.

Each is a function ``(shape, seed) -> RamTensor`` for a weight of shape ``(1, fan_in,
fan_out)`` (a kernel maps ``fan_in`` inputs to ``fan_out`` outputs); the same seed gives
the same tensor on every platform. ``get(name)`` looks one up; a callable passes through.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import rcmlrs
from rcmlrs._tensor import RamTensor

Initializer = Callable[[tuple[int, int, int], int], RamTensor]
"""The type of an initializer: ``(shape, seed) -> RamTensor`` of that ``(1, fan_in,
fan_out)`` shape."""


def _fans(shape: tuple[int, int, int]) -> tuple[int, int]:
    return max(int(shape[1]), 1), max(int(shape[2]), 1)


def zeros(shape: tuple[int, int, int], seed: int = 0) -> RamTensor:
    """All zeros of ``shape`` (``seed`` is ignored); Keras's default bias initializer."""
    return rcmlrs.zeros(shape)


def ones(shape: tuple[int, int, int], seed: int = 0) -> RamTensor:
    """All ones of ``shape`` (``seed`` is ignored)."""
    return rcmlrs.ones(shape)


def _uniform(shape: tuple[int, int, int], limit: float, seed: int) -> RamTensor:
    return rcmlrs.random(shape, -limit, limit, seed=seed)


def _normal(shape: tuple[int, int, int], std: float, seed: int) -> RamTensor:
    # Keras draws from a normal truncated at 2 std; a plain normal clipped there keeps
    # the same support with a slightly larger spread, without rejection sampling
    return rcmlrs.randn(shape, std=std, seed=seed).clip(-2.0 * std, 2.0 * std)


def glorot_uniform(shape: tuple[int, int, int], seed: int) -> RamTensor:
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""
    fi, fo = _fans(shape)
    return _uniform(shape, math.sqrt(6.0 / (fi + fo)), seed)


def glorot_normal(shape: tuple[int, int, int], seed: int) -> RamTensor:
    """N(0, s) clipped at 2 s, s = sqrt(2 / (fan_in + fan_out))."""
    fi, fo = _fans(shape)
    return _normal(shape, math.sqrt(2.0 / (fi + fo)), seed)


def he_uniform(shape: tuple[int, int, int], seed: int) -> RamTensor:
    """U(-l, l), l = sqrt(6 / fan_in); for relu layers."""
    fi, _ = _fans(shape)
    return _uniform(shape, math.sqrt(6.0 / fi), seed)


def he_normal(shape: tuple[int, int, int], seed: int) -> RamTensor:
    """N(0, s) clipped at 2 s, s = sqrt(2 / fan_in); for relu layers."""
    fi, _ = _fans(shape)
    return _normal(shape, math.sqrt(2.0 / fi), seed)


def lecun_uniform(shape: tuple[int, int, int], seed: int) -> RamTensor:
    """U(-l, l), l = sqrt(3 / fan_in)."""
    fi, _ = _fans(shape)
    return _uniform(shape, math.sqrt(3.0 / fi), seed)


def lecun_normal(shape: tuple[int, int, int], seed: int) -> RamTensor:
    """N(0, s) clipped at 2 s, s = sqrt(1 / fan_in)."""
    fi, _ = _fans(shape)
    return _normal(shape, math.sqrt(1.0 / fi), seed)


def orthogonal(shape: tuple[int, int, int], seed: int) -> RamTensor:
    """A (1, rows, cols) matrix with orthonormal rows (or columns, if rows > cols): QR of
    a seeded normal matrix with the signs fixed, as Keras and torch do."""
    import numpy as np

    rows, cols = int(shape[1]), int(shape[2])
    big, small = max(rows, cols), min(rows, cols)
    a = rcmlrs.randn((big, small), seed=seed).numpy()[0].astype(np.float64)
    q, r = np.linalg.qr(a)
    d = np.sign(np.diag(r))
    d[d == 0] = 1.0
    q = q * d
    if rows < cols:
        q = q.T
    return rcmlrs.tensor(np.ascontiguousarray(q, dtype=np.float32).reshape(1, rows, cols))


_BY_NAME: dict[str, Initializer] = {
    "zeros": zeros,
    "ones": ones,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}
NAMES = tuple(_BY_NAME)


def get(init: str | Initializer) -> Initializer:
    """The initializer called ``init`` (case-insensitive), or ``init`` if callable."""
    if callable(init):
        return init
    if not isinstance(init, str):
        raise TypeError(f"initializer must be a name or a callable, got {type(init).__name__}")
    try:
        return _BY_NAME[init.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown initializer {init!r}; valid names are {', '.join(NAMES)}"
        ) from None


__all__ = [
    "NAMES",
    "Initializer",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "zeros",
]
