"""Sequence ops on engine-layout tensors: ``embedding`` (a table lookup) and ``gru`` (a
gated recurrent layer), the math of ``rc.nn.Embedding`` and ``rc.nn.GRU`` without rc.nn.

Both speak the engine layouts: ids ``(1, batch, T)`` (the rows layout of ``(T,)`` samples
of integer ids, exact in float32 below 2^24), sequences time-major ``(T, batch, f)``.
Each records itself on an active ``rc.autograd.Tape`` as one op whose rule
(``rcmlrs.autograd.rules_seq``) runs the same backward kernel as the layer, so the
layer's output and gradients equal the function's bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import rcmlrs
from rcmlrs import _embed, _tensor
from rcmlrs import _layers as _L
from rcmlrs._tensor import RamTensor, ShapeError

__all__ = ["embedding", "embedding_ids", "gru"]


def embedding_ids(ids: Any) -> RamTensor:
    """``ids`` as the rows-layout tensor ``(1, batch, T)`` the embedding kernels read: a
    RamTensor is taken as it is; an array of shape ``(batch, T)`` (or ``(T,)``: one sample)
    of integers (or integral floats) is converted. Values are checked by the kernel."""
    if isinstance(ids, RamTensor):
        return ids
    a = np.asarray(ids)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ShapeError(
            f"embedding: ids must be (batch, timesteps) integers or a (1, batch, timesteps) "
            f"RamTensor, got an array of shape {a.shape}"
        )
    if a.dtype.kind not in "iuf":
        raise TypeError(f"embedding: ids must be integers, got dtype {a.dtype}")
    if a.dtype.kind in "iu" and a.size and (a.min() < 0 or a.max() >= _embed.MAX_INPUT_DIM):
        # out of float32's exact range: name the first bad one before converting
        bad = np.argwhere((a < 0) | (a >= _embed.MAX_INPUT_DIM))[0]
        raise ValueError(
            f"embedding: id {a[tuple(bad)]} at sample {bad[0]}, step {bad[1]} is out of range"
        )
    return rcmlrs.tensor(a.astype(np.float32)[None])


def embedding(ids: Any, table: RamTensor) -> RamTensor:
    """Rows of ``table`` ``(1, input_dim, output_dim)`` picked by ``ids`` (``(1, batch, T)``
    RamTensor, or ``(batch, T)`` integers): the time-major ``(T, batch, output_dim)``
    batch whose step t of sample b is ``table[0, ids[b, t]]``. ValueError names any id that
    is not an integer in ``[0, input_dim)`` with its sample and step. Recorded on an active
    tape (gradient: the table's, a scatter-add; ids get none)."""
    if not isinstance(table, RamTensor):
        raise TypeError(f"embedding: table must be a RamTensor, got {type(table).__name__}")
    ids = embedding_ids(ids)
    rows = _embed._embed_rows(ids, table.rows, table.cols)
    out = _embed._embed_forward(table, rows, ids.cols, ids.rows)
    rec = _tensor._get_tape()
    if rec is not None:
        rec.record("embedding", out, (ids, table), {"rows": rows, "input_dim": table.rows})
    return out


def gru(
    x: RamTensor,
    kernel: RamTensor,
    recurrent: RamTensor,
    bias: RamTensor | None = None,
    return_sequences: bool = True,
) -> RamTensor:
    """The GRU (torch.nn.GRU's equations, Keras ``reset_after=True``; gates (z, r, h)) over
    the time-major ``x`` ``(T, batch, in)`` from a zero state: ``kernel`` ``(1, in, 3 units)``,
    ``recurrent`` ``(1, units, 3 units)``, ``bias`` ``(1, 2, 3 units)`` (input row,
    recurrent row; None: zeros)::

        z = sig(x Wz + b0z + h Uz + b1z)    r = sig(x Wr + b0r + h Ur + b1r)
        n = tanh(x Wh + b0h + r (h Uh + b1h))    h' = (1 - z) n + z h

    Returns every state ``(T, batch, units)``, or the last ``(1, batch, units)`` when
    ``return_sequences`` is False. Recorded on an active tape (one op, fused BPTT)."""
    for name, t in (("x", x), ("kernel", kernel), ("recurrent", recurrent)):
        if not isinstance(t, RamTensor):
            raise TypeError(f"gru: {name} must be a RamTensor, got {type(t).__name__}")
    if x.layers == 0 and not return_sequences:
        raise ShapeError(
            "gru: a sequence of 0 time steps has no last state (pass return_sequences=True "
            "to get the empty sequence of states)"
        )
    b = rcmlrs.zeros((1, 2, recurrent.cols)) if bias is None else bias
    G, Gh, hs = _L._nn_gru_forward(x, kernel, recurrent, b)
    out = hs if return_sequences else hs[hs.layers - 1]
    rec = _tensor._get_tape()
    if rec is not None:
        inputs = (x, kernel, recurrent) if bias is None else (x, kernel, recurrent, bias)
        attrs = {"return_sequences": bool(return_sequences), "state": (G, Gh, hs)}
        rec.record("gru", out, inputs, attrs)
    return out


def state_grads(
    g: Any, hs_shape: tuple[int, int, int], return_sequences: bool, what: str
) -> RamTensor:
    """dL/dh_t for every step as a fresh ``hs_shape`` = ``(T, B, H)`` tensor (the recurrent
    backward kernels overwrite it) from the gradient of a recurrent output: ``(T, B, H)``
    with ``return_sequences``, else the last state's ``(1, B, H)`` (zeros before it).
    ``what`` names the caller in the ShapeError for a gradient of the wrong size."""
    grad: RamTensor = g if isinstance(g, RamTensor) else rcmlrs.tensor(g)
    T, B, H = hs_shape
    want = (T, B, H) if return_sequences else (1, B, H)
    if (return_sequences and grad.shape != want) or grad.size != want[0] * B * H:
        raise ShapeError(f"{what}: gradient of shape {grad.shape}, expected {want}")
    if return_sequences or T == 1:
        return grad.reshape((T, B, H)).copy()
    out: RamTensor = rcmlrs.concat([rcmlrs.zeros((T - 1, B, H)), grad.reshape((1, B, H))], axis=0)
    return out


def _gru_backward(
    g: RamTensor, inputs: tuple, attrs: dict, need_dx: bool
) -> tuple[RamTensor | None, RamTensor, RamTensor, RamTensor]:
    """(dx or None, dkernel, drecurrent, dbias) of one recorded ``gru`` call."""
    x, W, U = inputs[:3]
    G, Gh, hs = attrs["state"]
    b_shape = (1, 2, U.cols)
    dW, dU, db = rcmlrs.zeros(W.shape), rcmlrs.zeros(U.shape), rcmlrs.zeros(b_shape)
    dhs = state_grads(g, hs.shape, attrs["return_sequences"], "gru backward")
    dx = _L._nn_gru_backward(x, W, U, G, Gh, hs, dhs, dW, dU, db, need_dx)
    return dx, dW, dU, db
