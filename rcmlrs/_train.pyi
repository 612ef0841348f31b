# Type stubs for rcmlrs._train (private: losses and optimizer steps behind
# rcmlrs.losses and rcmlrs.optim).
from typing import Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from rcmlrs._tensor import RamTensor, _TensorLike

_Labels: TypeAlias = npt.NDArray[np.int64]

# losses and optimizer steps. The loss helpers return (value, gradient), each None
# unless asked for; the value is a float, or a RamTensor of the terms for reduction 2
# ("none"). weight: None or a float32 buffer (per element, per row, per class).
_Weight: TypeAlias = npt.NDArray[np.float32] | None

@overload
def _elem_loss(
    kind: int,
    actual: _TensorLike,
    predicted: _TensorLike,
    want_value: Literal[True],
    want_grad: Literal[False],
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
) -> tuple[float | RamTensor, None]: ...
@overload
def _elem_loss(
    kind: int,
    actual: _TensorLike,
    predicted: _TensorLike,
    want_value: Literal[False],
    want_grad: Literal[True],
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
) -> tuple[None, RamTensor]: ...
@overload
def _elem_loss(
    kind: int,
    actual: _TensorLike,
    predicted: _TensorLike,
    want_value: Literal[True],
    want_grad: Literal[True],
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
) -> tuple[float | RamTensor, RamTensor]: ...
@overload
def _elem_loss(
    kind: int,
    actual: _TensorLike,
    predicted: _TensorLike,
    want_value: bool,
    want_grad: bool,
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
) -> tuple[float | RamTensor | None, RamTensor | None]: ...
@overload
def _xent(
    logits: _TensorLike,
    target: _TensorLike | None,
    labels: _Labels | None,
    want_value: Literal[True],
    want_grad: Literal[False],
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
    label_smoothing: float = 0.0,
) -> tuple[float | RamTensor, None]: ...
@overload
def _xent(
    logits: _TensorLike,
    target: _TensorLike | None,
    labels: _Labels | None,
    want_value: Literal[False],
    want_grad: Literal[True],
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
    label_smoothing: float = 0.0,
) -> tuple[None, RamTensor]: ...
@overload
def _xent(
    logits: _TensorLike,
    target: _TensorLike | None,
    labels: _Labels | None,
    want_value: Literal[True],
    want_grad: Literal[True],
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
    label_smoothing: float = 0.0,
) -> tuple[float | RamTensor, RamTensor]: ...
@overload
def _xent(
    logits: _TensorLike,
    target: _TensorLike | None,
    labels: _Labels | None,
    want_value: bool,
    want_grad: bool,
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
    label_smoothing: float = 0.0,
) -> tuple[float | RamTensor | None, RamTensor | None]: ...
def _nll(
    log_probs: _TensorLike,
    labels: _Labels,
    want_value: bool,
    want_grad: bool,
    what: str,
    weight: _Weight = None,
    reduction: int = 0,
) -> tuple[float | RamTensor | None, RamTensor | None]: ...
def _adam_step(
    param: RamTensor,
    grad: _TensorLike,
    m: RamTensor,
    v: RamTensor,
    vmax: RamTensor | None,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled: bool,
    what: str,
) -> None: ...
def _sgd_step(
    param: RamTensor,
    grad: _TensorLike,
    buf: RamTensor | None,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    first: bool,
    what: str,
) -> None: ...
def _empty_like(t: _TensorLike) -> RamTensor: ...
def _rmsprop_step(
    param: RamTensor,
    grad: _TensorLike,
    square_avg: RamTensor,
    grad_avg: RamTensor | None,
    buf: RamTensor | None,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    what: str,
) -> None: ...
def _adagrad_step(
    param: RamTensor,
    grad: _TensorLike,
    state_sum: RamTensor,
    step: int,
    lr: float,
    lr_decay: float,
    eps: float,
    weight_decay: float,
    what: str,
) -> None: ...
def _nadam_step(
    param: RamTensor,
    grad: _TensorLike,
    m: RamTensor,
    v: RamTensor,
    step: int,
    mu_product: float,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    momentum_decay: float,
    decoupled: bool,
    what: str,
) -> float: ...
def _sumsq(t: _TensorLike) -> float: ...
