# Type stubs for rcmlrs._conv (private: the convolution kernels behind rc.conv1d/conv2d
# and rc.nn's Conv1D/Conv2D). act is an id of the one activation table (_act_id).
from rcmlrs._tensor import RamTensor

def _conv_out(size: int, k: int, s: int, same: bool, axis: str = ...) -> tuple[int, int]: ...
def _conv_forward(
    x: RamTensor,
    w: RamTensor,
    b: RamTensor | None,
    H: int,
    W: int,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    same: bool,
    time_major: bool,
    act: int,
    param: float,
) -> tuple[RamTensor, RamTensor]: ...
def _conv_backward(
    x: RamTensor,
    w: RamTensor,
    z: RamTensor,
    y: RamTensor,
    grad: RamTensor,
    dw: RamTensor,
    db: RamTensor | None,
    H: int,
    W: int,
    kh: int,
    kw: int,
    sh: int,
    sw: int,
    same: bool,
    time_major: bool,
    act: int,
    param: float,
    need_dx: bool,
) -> RamTensor | None: ...
