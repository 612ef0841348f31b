# Type stubs for rcmlrs._pool (private: pooling kernels behind rc.max_pool2d & co.).
from rcmlrs._tensor import RamTensor

POOL_MAX: int
POOL_AVG: int

def _pool2d_geometry(
    H: int, W: int, ph: int, pw: int, sh: int, sw: int, same: bool, what: str = "pooling"
) -> tuple[int, int, int, int]: ...
def _pool2d_forward(
    x: RamTensor,
    mode: int,
    H: int,
    W: int,
    ph: int,
    pw: int,
    sh: int,
    sw: int,
    same: bool,
    what: str = "pooling",
) -> RamTensor: ...
def _pool2d_backward(
    x: RamTensor,
    g: RamTensor,
    mode: int,
    H: int,
    W: int,
    ph: int,
    pw: int,
    sh: int,
    sw: int,
    same: bool,
    what: str = "pooling",
) -> RamTensor: ...
