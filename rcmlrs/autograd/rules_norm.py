"""Backward rules of ``rc.batch_norm`` and ``rc.layer_norm`` (rcmlrs/normalization.py).

Each calls the fused backward kernel of csrc/norm.c that the rc.nn layers call too, with
the mean and inverse standard deviation the forward kept: one pass of column sums (dbeta,
dgamma) and one pass for dx. The gradients of ``gamma`` and ``beta`` come back in their
own shapes.
"""

from __future__ import annotations

from rcmlrs import _norm
from rcmlrs.autograd.registry import register


def _shaped(d, like, need):
    return (d if d.shape == like.shape else d.reshape(like.shape)) if need else None


@register(
    "batch_norm",
    formula="dbeta = sum_rows g, dgamma = sum_rows g*x_hat, dx = gamma*istd*(g - mean_rows g "
    "- x_hat*mean_rows(g*x_hat)) (training; else gamma*istd*g, dmoving_mean = -gamma*istd*dbeta, "
    "dmoving_variance = -gamma*istd^2*dgamma/2)",
)
def _batch_norm(g, out, inputs, attrs, needs):
    x, gamma, beta = inputs[:3]
    istd = attrs["istd"]
    dx, dgamma, dbeta = _norm._bn_backward(
        x, g, attrs["mean"], istd, gamma, attrs["training"], bool(needs[0])
    )
    grads = (dx, _shaped(dgamma, gamma, needs[1]), _shaped(dbeta, beta, needs[2]))
    if len(inputs) == 3:  # training: the moving statistics are not inputs
        return grads
    # inference, y = (x - mm) * istd * gamma + beta with istd = (mv + eps)^-1/2:
    # dmm = -gamma istd sum(g) = -gamma istd dbeta,
    # dmv = -1/2 gamma istd^2 sum(g x_hat) = -1/2 gamma istd^2 dgamma
    mm, mv = inputs[3:]
    k = gamma.reshape(istd.shape) * istd
    dmm = -(k * dbeta) if needs[3] else None
    dmv = (k * istd * dgamma) * -0.5 if needs[4] else None
    return (*grads, _shaped(dmm, mm, needs[3]), _shaped(dmv, mv, needs[4]))


@register(
    "layer_norm",
    formula="dbeta = sum_rows g, dgamma = sum_rows g*x_hat, dx = istd*(a - mean_cols a "
    "- x_hat*mean_cols(a*x_hat)), a = g*gamma",
)
def _layer_norm(g, out, inputs, attrs, needs):
    x, gamma, beta = inputs
    dx, dgamma, dbeta = _norm._ln_backward(
        x, g, attrs["mean"], attrs["istd"], gamma, bool(needs[0])
    )
    return dx, _shaped(dgamma, gamma, needs[1]), _shaped(dbeta, beta, needs[2])
