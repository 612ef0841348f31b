"""Seeds for rc.nn: initial weights, shuffling and dropout, all from one base seed.

Every random stream of a model is a SplitMix64 derivation of one 64-bit base seed, keyed
by a *tag* first, so streams of different purposes can never coincide:

- initial weights: ``Seeds(base).next()`` hands out ``mix(mix(base, INIT), k)``, k = 1, 2, ...
- the shuffle of epoch ``e``: ``shuffle_seed(base, e) = mix(mix(base, SHUFFLE), e)``
- layer ``i``'s stream in epoch ``e`` (dropout masks):
  ``layer_seed(base, i, e) = mix(mix(mix(base, LAYER), i), e)``

Each epoch's streams depend only on ``(base, epoch)``, so a model saved after epoch ``e``
and trained on from there draws exactly the numbers an uninterrupted run draws.
"""

from __future__ import annotations

import rcmlrs

MASK64 = (1 << 64) - 1

# first-level keys: one per purpose, never reused
INIT, SHUFFLE, LAYER = 1, 2, 3


def mix(seed: int, k: int) -> int:
    """A well-spread sub-seed for stream ``k`` of ``seed`` (SplitMix64 finaliser)."""
    z = (seed + (k + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def draw_seed() -> int:
    """A 48-bit seed from the global generator (so ``rc.seed(n)`` controls it)."""
    u = rcmlrs.random((2,)).numpy().ravel()
    return int(u[0] * 16777216.0) * 16777216 + int(u[1] * 16777216.0)


def base_seed(seed: int | None) -> int:
    """``seed`` reduced to 64 bits, or a fresh one from the global generator."""
    return draw_seed() if seed is None else int(seed) & MASK64


def shuffle_seed(base: int, epoch: int) -> int:
    """Seed of the sample order of epoch ``epoch``."""
    return mix(mix(base, SHUFFLE), epoch)


def layer_seed(base: int, index: int, epoch: int) -> int:
    """Seed handed to layer ``index`` (its ``reseed``) before epoch ``epoch``."""
    return mix(mix(mix(base, LAYER), index), epoch)


class Seeds:
    """Independent sub-seeds of one base seed for initial weights, in a fixed order.

    ``initialize=False`` tells ``Layer.add_weight`` to skip the random initialisation
    (zeros instead): ``load_model`` uses it, since the file's weights replace them."""

    def __init__(self, seed: int | None = None, initialize: bool = True) -> None:
        self.base = base_seed(seed)
        self.k = 0
        self.initialize = initialize

    def next(self) -> int:
        self.k += 1
        return mix(mix(self.base, INIT), self.k)


__all__ = [
    "MASK64",
    "Seeds",
    "base_seed",
    "draw_seed",
    "layer_seed",
    "mix",
    "shuffle_seed",
]
