"""Weight initializers by name, Keras's definitions.

Each is a function ``(shape, seed) -> RamTensor`` for a weight of shape ``(1, fan_in,
fan_out)`` (a kernel maps ``fan_in`` inputs to ``fan_out`` outputs); the same seed gives
the same tensor on every platform. ``get(name)`` looks one up; a callable passes through.

The classes (``GlorotUniform()``, ``Orthogonal(gain=2.0)``, ``RandomNormal(stddev=0.1)``,
``RandomUniform(-0.1, 0.1)``, ``Constant(0.5)``, ...) are the same initializers as objects
with arguments and a ``get_config``: a layer given one saves it with the model
(``serialize``/``get`` turn it into ``{"class": ..., "config": ...}`` and back). An object
built with ``seed=`` draws from that seed every time (Keras); without one it draws from the
layer's seed, as a name does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import rcmlrs
from rcmlrs._tensor import RamTensor

Initializer = Callable[[tuple[int, int, int], int], RamTensor]
"""The type of an initializer: ``(shape, seed) -> RamTensor`` of that ``(1, fan_in,
fan_out)`` shape."""


# A convolution kernel (1, kh*kw*C, F) maps kh*kw*C inputs to F outputs per pixel, but
# each input feeds kh*kw of the outputs' receptive fields: Keras counts fan_out as kh*kw*F.
# Layer.add_weight(receptive_field=kh*kw) sets this while the initializer runs.
_RECEPTIVE_FIELD: ContextVar[int] = ContextVar("rcmlrs_receptive_field", default=1)


@contextmanager
def receptive_field(size: int) -> Iterator[None]:
    """Inside, the fans of a ``(1, K, F)`` kernel are ``(K, size * F)`` (Keras's convolution
    fans, ``size`` = kh * kw); outside, ``(K, F)``."""
    token = _RECEPTIVE_FIELD.set(max(int(size), 1))
    try:
        yield
    finally:
        _RECEPTIVE_FIELD.reset(token)


def _fans(shape: tuple[int, int, int]) -> tuple[int, int]:
    return max(int(shape[1]), 1), max(int(shape[2]) * _RECEPTIVE_FIELD.get(), 1)


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


def orthogonal(shape: tuple[int, int, int], seed: int, gain: float = 1.0) -> RamTensor:
    """A (1, rows, cols) matrix with orthonormal rows (or columns, if rows > cols), times
    ``gain``: Q of the QR of a seeded (max, min) normal matrix with each column's sign
    set so that diag(R) > 0, transposed when rows < cols, as Keras and torch do."""
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
    q = q * float(gain)
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
NAMES = tuple(_BY_NAME) + ("random_normal", "random_uniform")
_SNAKE: dict[str, type[InitializerObject]] = {}  # filled below: names of the arg'd classes


def serialize(init: str | Initializer) -> str | dict[str, Any]:
    """What a layer's config stores: a name as given, ``{"class", "config"}`` for an
    initializer object, a built-in function's name; TypeError for another callable (a
    model holding one cannot be saved: give a name or an initializer object)."""
    if isinstance(init, str):
        return init
    if isinstance(init, InitializerObject) and type(init) in CLASSES.values():
        return {"class": type(init).__name__, "config": init.get_config()}
    name = getattr(init, "__name__", None)
    if isinstance(name, str) and _BY_NAME.get(name) is init:
        return name
    raise TypeError(
        f"initializer {init!r} cannot be saved in a layer config; use a name or an "
        f"rc.nn.initializers object"
    )


class InitializerObject:
    """Base of the initializer classes: ``init(shape, seed)`` gives the tensor; ``seed``
    given to the constructor overrides the layer's. ``shape`` is the rank-3 ``(1, fan_in,
    fan_out)`` of the weight and the tensor has exactly that shape."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"{type(self).__name__}: seed must be an int or None, got {seed!r}")
        self.seed = seed

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        raise NotImplementedError

    def __call__(self, shape: tuple[int, int, int], seed: int = 0) -> RamTensor:
        return self._draw(tuple(shape), seed if self.seed is None else self.seed)  # type: ignore[arg-type]

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as a dict (``seed`` when one was given), for ``from_config``
        and layer configs."""
        return {} if self.seed is None else {"seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InitializerObject:
        """A new initializer from a ``get_config`` dict: ``cls(**config)``."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _num(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {v!r}")
    return float(v)


class GlorotUniform(InitializerObject):
    """U(-l, l), l = sqrt(6 / (fan_in + fan_out))."""

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return glorot_uniform(shape, seed)


class GlorotNormal(InitializerObject):
    """N(0, 2 / (fan_in + fan_out)) clipped at 2 std."""

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return glorot_normal(shape, seed)


class HeUniform(InitializerObject):
    """U(-l, l), l = sqrt(6 / fan_in)."""

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return he_uniform(shape, seed)


class HeNormal(InitializerObject):
    """N(0, 2 / fan_in) clipped at 2 std."""

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return he_normal(shape, seed)


class LecunUniform(InitializerObject):
    """U(-l, l), l = sqrt(3 / fan_in)."""

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return lecun_uniform(shape, seed)


class LecunNormal(InitializerObject):
    """N(0, 1 / fan_in) clipped at 2 std."""

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return lecun_normal(shape, seed)


class Zeros(InitializerObject):
    """All zeros."""

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return zeros(shape, seed)


class Ones(InitializerObject):
    """All ones."""

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return ones(shape, seed)


class Orthogonal(InitializerObject):
    """``gain`` times an orthogonal matrix (see ``orthogonal``)."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = _num(gain, "Orthogonal: gain")

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return orthogonal(shape, seed, self.gain)

    def get_config(self) -> dict[str, Any]:
        """``gain``, and ``seed`` when one was given."""
        return {"gain": self.gain, **super().get_config()}


class RandomNormal(InitializerObject):
    """N(mean, stddev^2), not truncated."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean = _num(mean, "RandomNormal: mean")
        self.stddev = _num(stddev, "RandomNormal: stddev")
        if self.stddev < 0:
            raise ValueError(f"RandomNormal: stddev must be >= 0, got {stddev!r}")

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return rcmlrs.randn(shape, mean=self.mean, std=self.stddev, seed=seed)

    def get_config(self) -> dict[str, Any]:
        """``mean`` and ``stddev``, and ``seed`` when one was given."""
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(InitializerObject):
    """U(minval, maxval)."""

    def __init__(
        self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        self.minval = _num(minval, "RandomUniform: minval")
        self.maxval = _num(maxval, "RandomUniform: maxval")
        if self.maxval < self.minval:
            raise ValueError(f"RandomUniform: maxval {maxval!r} < minval {minval!r}")

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return rcmlrs.random(shape, self.minval, self.maxval, seed=seed)

    def get_config(self) -> dict[str, Any]:
        """``minval`` and ``maxval``, and ``seed`` when one was given."""
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class Constant(InitializerObject):
    """Every entry ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        super().__init__(None)
        self.value = _num(value, "Constant: value")

    def _draw(self, shape: tuple[int, int, int], seed: int) -> RamTensor:
        return rcmlrs.full(shape, self.value)

    def get_config(self) -> dict[str, Any]:
        """``value`` (a Constant takes no seed)."""
        return {"value": self.value}


CLASSES: dict[str, type[InitializerObject]] = {
    c.__name__: c
    for c in (
        GlorotUniform,
        GlorotNormal,
        HeUniform,
        HeNormal,
        LecunUniform,
        LecunNormal,
        Zeros,
        Ones,
        Orthogonal,
        RandomNormal,
        RandomUniform,
        Constant,
    )
}


def get(init: str | Initializer | dict[str, Any]) -> Initializer:
    """The initializer ``init`` names (case-insensitive: "he_normal", or a class name
    such as "HeNormal", "random_normal"), described (``{"class": "RandomNormal",
    "config": {"stddev": 0.1}}``, as ``serialize`` writes) or ``init`` itself if callable."""
    if callable(init):
        return init
    if isinstance(init, dict):
        if set(init) - {"class", "config"} or init.get("class") not in CLASSES:
            raise ValueError(
                f"initializer description must be {{'class': one of {sorted(CLASSES)}, "
                f"'config': {{...}}}}, got {init!r}"
            )
        config = init.get("config", {})
        if not isinstance(config, dict):
            raise TypeError(f"initializer config must be a dict, got {config!r}")
        return CLASSES[init["class"]].from_config(dict(config))
    if not isinstance(init, str):
        raise TypeError(f"initializer must be a name or a callable, got {type(init).__name__}")
    key = init.strip()
    if key in CLASSES:
        return CLASSES[key]()
    if key.lower() in _SNAKE:
        return _SNAKE[key.lower()]()
    try:
        return _BY_NAME[init.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown initializer {init!r}; valid names are {', '.join(NAMES)}"
        ) from None


_SNAKE.update(random_normal=RandomNormal, random_uniform=RandomUniform)

__all__ = [
    "CLASSES",
    "NAMES",
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Initializer",
    "InitializerObject",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "Zeros",
    "get",
    "serialize",
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
