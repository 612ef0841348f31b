# Type stubs for rcmlrs._train (private: losses and optimizer steps behind
# rcmlrs.losses and rcmlrs.optim).
from typing import Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from rcmlrs._tensor import RamTensor, _TensorLike

_Labels: TypeAlias = npt.NDArray[np.int64]

# losses and optimizer steps. The loss helpers return (value, gradient),
# each None unless asked for.
@overload
def _elem_loss(
    kind: int,
    actual: _TensorLike,
    predicted: _TensorLike,
    want_value: Literal[True],
    want_grad: Literal[False],
    what: str,
) -> tuple[float, None]: ...
@overload
def _elem_loss(
    kind: int,
    actual: _TensorLike,
    predicted: _TensorLike,
    want_value: Literal[False],
    want_grad: Literal[True],
    what: str,
) -> tuple[None, RamTensor]: ...
@overload
def _elem_loss(
    kind: int,
    actual: _TensorLike,
    predicted: _TensorLike,
    want_value: Literal[True],
    want_grad: Literal[True],
    what: str,
) -> tuple[float, RamTensor]: ...
@overload
def _elem_loss(
    kind: int,
    actual: _TensorLike,
    predicted: _TensorLike,
    want_value: bool,
    want_grad: bool,
    what: str,
) -> tuple[float | None, RamTensor | None]: ...
@overload
def _xent(
    logits: _TensorLike,
    target: _TensorLike | None,
    labels: _Labels | None,
    want_value: Literal[True],
    want_grad: Literal[False],
    what: str,
) -> tuple[float, None]: ...
@overload
def _xent(
    logits: _TensorLike,
    target: _TensorLike | None,
    labels: _Labels | None,
    want_value: Literal[False],
    want_grad: Literal[True],
    what: str,
) -> tuple[None, RamTensor]: ...
@overload
def _xent(
    logits: _TensorLike,
    target: _TensorLike | None,
    labels: _Labels | None,
    want_value: Literal[True],
    want_grad: Literal[True],
    what: str,
) -> tuple[float, RamTensor]: ...
@overload
def _xent(
    logits: _TensorLike,
    target: _TensorLike | None,
    labels: _Labels | None,
    want_value: bool,
    want_grad: bool,
    what: str,
) -> tuple[float | None, RamTensor | None]: ...
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
