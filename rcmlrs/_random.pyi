# Type stubs for rcmlrs._random (the global generator and the random constructors).
from typing import SupportsFloat, SupportsIndex

from rcmlrs._tensor import RamTensor, _ShapeLike

def random(
    shape: _ShapeLike,
    low: SupportsFloat = 0.0,
    high: SupportsFloat = 1.0,
    seed: SupportsIndex | None = None,
) -> RamTensor: ...
def randn(
    shape: _ShapeLike,
    mean: SupportsFloat = 0.0,
    std: SupportsFloat = 1.0,
    seed: SupportsIndex | None = None,
) -> RamTensor: ...
def seed(n: SupportsIndex) -> None: ...
