# Type stubs for rcmlrs._layers (private: layer kernels behind rc.nn).
from typing import SupportsIndex, TypeAlias

import numpy as np
import numpy.typing as npt

from rcmlrs._tensor import RamTensor

_Labels: TypeAlias = npt.NDArray[np.int64]

# layer kernels behind rc.nn. act is an id of the one activation table (_act_id).
def _nn_dense_forward(
    x: RamTensor, W: RamTensor, b: RamTensor | None, act: int, param: float
) -> tuple[RamTensor, RamTensor]: ...
def _nn_dense_backward(
    x: RamTensor,
    W: RamTensor,
    z: RamTensor,
    y: RamTensor,
    g: RamTensor,
    dW: RamTensor,
    db: RamTensor | None,
    act: int,
    param: float,
    need_dx: bool,
) -> RamTensor | None: ...
def _nn_activation(x: RamTensor, act: int, param: float) -> RamTensor: ...
def _nn_activation_backward(
    z: RamTensor, y: RamTensor, g: RamTensor, act: int, param: float
) -> RamTensor: ...
def _nn_count_correct(
    pred: RamTensor, target: RamTensor, labels: bool, threshold: float
) -> int: ...
def _nn_gather_rows(
    src: RamTensor, row_len: SupportsIndex, idx: _Labels, start: SupportsIndex, count: SupportsIndex
) -> RamTensor: ...
def _nn_gather_seq(
    src: RamTensor, idx: _Labels, start: SupportsIndex, count: SupportsIndex
) -> RamTensor: ...
def _nn_swap01(x: RamTensor) -> RamTensor: ...
def _nn_dropout(
    x: RamTensor, rate: float, seed_: int, offset: int
) -> tuple[RamTensor, RamTensor]: ...
def _nn_rnn_forward(
    x: RamTensor, Wx: RamTensor, Wh: RamTensor, b: RamTensor, act: int
) -> RamTensor: ...
def _nn_rnn_backward(
    act: int,
    x: RamTensor,
    Wx: RamTensor,
    Wh: RamTensor,
    hs: RamTensor,
    dhs: RamTensor,
    dWx: RamTensor,
    dWh: RamTensor,
    db: RamTensor,
    need_dx: bool,
) -> RamTensor | None: ...
def _nn_lstm_forward(
    x: RamTensor, W: RamTensor, U: RamTensor, b: RamTensor
) -> tuple[RamTensor, RamTensor, RamTensor]: ...
def _nn_lstm_backward(
    x: RamTensor,
    W: RamTensor,
    U: RamTensor,
    G: RamTensor,
    Cs: RamTensor,
    Hs: RamTensor,
    dhs: RamTensor,
    dW: RamTensor,
    dU: RamTensor,
    db: RamTensor,
    need_dx: bool,
) -> RamTensor | None: ...
def _nn_gru_forward(
    x: RamTensor, W: RamTensor, U: RamTensor, b: RamTensor
) -> tuple[RamTensor, RamTensor, RamTensor]: ...
def _nn_gru_backward(
    x: RamTensor,
    W: RamTensor,
    U: RamTensor,
    G: RamTensor,
    Gh: RamTensor,
    Hs: RamTensor,
    dhs: RamTensor,
    dW: RamTensor,
    dU: RamTensor,
    db: RamTensor,
    need_dx: bool,
) -> RamTensor | None: ...
