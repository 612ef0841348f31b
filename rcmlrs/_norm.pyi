# Type stubs for rcmlrs._norm (private: batch and layer normalization kernels).
from rcmlrs._tensor import RamTensor

def _bn_forward(
    x: RamTensor,
    gamma: RamTensor,
    beta: RamTensor,
    moving_mean: RamTensor | None,
    moving_variance: RamTensor | None,
    training: bool,
    momentum: float,
    epsilon: float,
) -> tuple[RamTensor, RamTensor, RamTensor, RamTensor]: ...
def _bn_backward(
    x: RamTensor,
    g: RamTensor,
    mean: RamTensor,
    istd: RamTensor,
    gamma: RamTensor,
    training: bool,
    need_dx: bool,
) -> tuple[RamTensor | None, RamTensor, RamTensor]: ...
def _ln_forward(
    x: RamTensor, gamma: RamTensor, beta: RamTensor, epsilon: float
) -> tuple[RamTensor, RamTensor, RamTensor]: ...
def _ln_backward(
    x: RamTensor,
    g: RamTensor,
    mean: RamTensor,
    istd: RamTensor,
    gamma: RamTensor,
    need_dx: bool,
) -> tuple[RamTensor | None, RamTensor, RamTensor]: ...
