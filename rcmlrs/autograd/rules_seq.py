"""Backward rules of the sequence ops (rcmlrs/sequence.py): ``embedding`` and ``gru``.
Each calls the backward kernel of the matching rc.nn layer (the scatter-add of
csrc/embed.c, the GRU's BPTT in csrc/rnn_body.h), so the tape's gradients equal the
layer's bit for bit."""

from __future__ import annotations

from rcmlrs import _embed
from rcmlrs.autograd.registry import register
from rcmlrs.sequence import _gru_backward


@register("embedding", formula="dtable = zeros with g's rows added at the ids (repeats add)")
def _embedding(g, out, inputs, attrs, needs):
    dtable = _embed._embed_backward(g, attrs["rows"], attrs["input_dim"]) if needs[1] else None
    return None, dtable


@register("gru", formula="dx, dW, dU, db = GRU BPTT(g) (one fused backward)")
def _gru(g, out, inputs, attrs, needs):
    dx, dW, dU, db = _gru_backward(g, inputs, attrs, bool(needs[0]))
    grads = (dx, dW, dU, db)[: len(inputs)]
    return tuple(gr if n else None for gr, n in zip(grads, needs, strict=True))
