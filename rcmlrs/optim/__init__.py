"""Optimizers that update parameters in place, one fused C pass per tensor.

``Adam`` (with L2 ``weight_decay``, ``decoupled_weight_decay=True`` for AdamW, and
``amsgrad``), ``SGD`` (momentum, dampening, nesterov, weight_decay), ``RMSprop``
(alpha, momentum, centered), ``Adagrad`` (lr_decay, initial_accumulator_value) and
``Nadam`` (momentum_decay) follow the arithmetic and defaults of the ``torch.optim``
class of the same name step for step: the same bias correction and eps placement, the
same first-step momentum buffer. Each parameter keeps its own step count (a parameter
added later starts its bias correction afresh, as in torch). Usage::

    opt = rc.Adam(model_params, lr=1e-3)
    opt.step(grads)          # grads aligned with params; None skips a parameter
    ckpt = opt.state_dict()  # exact copy of the state; load_state_dict(ckpt) resumes

Every optimizer also takes ``learning_rate=`` (an alias of ``lr``), ``clipnorm=`` and
``clipvalue=`` (Keras's per-tensor gradient clipping, applied in that order to a copy of
each gradient). ``lr`` is live: it is read at every step, so a callback may assign
``opt.lr = 0.01``; ``lr`` may also be a schedule, a callable ``schedule(t) -> lr`` of the
number of steps taken so far (``rc.optim.schedules``), evaluated once per step.

``adam_update`` is the low-level single-tensor step for custom training loops.
"""

from __future__ import annotations

import math
from typing import Any

from rcmlrs import _tensor, _train
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.optim import schedules

__all__ = ["SGD", "Adagrad", "Adam", "Nadam", "Optimizer", "RMSprop", "adam_update", "schedules"]


# ----------------------------------------------------------------- validation


def _number(v, name: str, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
        raise TypeError(f"{what}: {name} must be a number, got {type(v).__name__}")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{what}: {name} must be a number, got {type(v).__name__}") from None


def _nonneg(v, name: str, what: str) -> float:
    f = _number(v, name, what)
    if not f >= 0.0 or math.isinf(f):  # also rejects NaN
        raise ValueError(f"{what}: {name} must be a finite number >= 0, got {v!r}")
    return f


def _beta(v, name: str, what: str) -> float:
    f = _number(v, name, what)
    if not 0.0 <= f < 1.0:
        raise ValueError(f"{what}: {name} must be in [0, 1), got {v!r}")
    return f


def _positive(v, name: str, what: str) -> float:
    f = _number(v, name, what)
    if not f > 0.0 or math.isinf(f):
        raise ValueError(f"{what}: {name} must be a finite number > 0, got {v!r}")
    return f


def _step_count(step, what: str) -> int:
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise TypeError(f"{what}: step must be an int, got {type(step).__name__}")
    s = step.__index__()
    if s < 1 or s > 2**62:
        raise ValueError(f"{what}: step must be >= 1 (the step number after incrementing), got {s}")
    return s


class _DefaultLR(float):
    """A constructor's default ``lr``: tells ``lr=`` given from left out, so that
    ``lr`` together with ``learning_rate`` is refused even when ``lr`` equals the default."""

    __slots__ = ()

    def __repr__(self) -> str:
        return float.__repr__(self)


# each constructor's default lr (module-level, so that a default is one shared object)
_LR_1E_3 = _DefaultLR(1e-3)
_LR_1E_2 = _DefaultLR(0.01)
_LR_2E_3 = _DefaultLR(2e-3)


def _pick_lr(lr, learning_rate, what: str):
    if learning_rate is None:
        return float(lr) if isinstance(lr, _DefaultLR) else lr
    if not isinstance(lr, _DefaultLR):
        raise TypeError(f"{what}: got both lr and learning_rate (one is an alias of the other)")
    return learning_rate


def _learning_rate(v, what: str):
    """A valid learning rate: a finite number >= 0, or a schedule (a callable of the step)."""
    if callable(v) and not isinstance(v, (int, float)):
        return v
    return _nonneg(v, "lr", what)


def _clip_option(v, name: str, what: str):
    if v is None:
        return None
    return _positive(v, name, what)


# --------------------------------------------------------------------- low level


def adam_update(
    param,
    grad,
    m,
    v,
    step,
    lr=1e-3,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    weight_decay=0.0,
    vmax=None,
    decoupled_weight_decay=False,
):
    """One fused Adam step on one tensor, in place: updates ``param``, ``m``, ``v`` (and
    ``vmax`` for AMSGrad). ``step`` is this step's number, starting at 1 (bias
    correction ``1 - beta^step``). ``weight_decay`` is L2 (added to the gradient) unless
    ``decoupled_weight_decay`` (AdamW: ``param *= 1 - lr * weight_decay``)."""
    what = "adam_update"
    s = _step_count(step, what)
    _train._adam_step(
        param,
        grad,
        m,
        v,
        vmax,
        s,
        _nonneg(lr, "lr", what),
        _beta(beta1, "beta1", what),
        _beta(beta2, "beta2", what),
        _positive(eps, "eps", what),
        _nonneg(weight_decay, "weight_decay", what),
        bool(decoupled_weight_decay),
        what,
    )


# ----------------------------------------------------------------------- classes


class Optimizer:
    """Base class: holds ``params`` (RamTensors updated in place), per-parameter state,
    and the step counter ``t`` (number of ``step`` calls)."""

    _hyper_names: tuple = ()
    _lr: Any = 0.0
    clipnorm: float | None = None
    clipvalue: float | None = None

    def __init__(self, params=None) -> None:
        self.params: list = []
        self.state: list = []
        self.t = 0
        if params is not None:
            self.add_params(params)

    # ------------------------------------------------------------ learning rate
    @property
    def lr(self) -> float:
        """The learning rate of the next step: the number set, or the schedule evaluated
        at ``t`` (the number of steps taken). Assign a number or a schedule to change it
        (a callback's way in); it is read at every step.
        A float >= 0: the step size per ``step`` call (not per epoch)."""
        sched = self._lr
        if callable(sched):
            return self._scheduled(sched, self.t)
        return sched  # type: ignore[return-value]

    @lr.setter
    def lr(self, value) -> None:
        self._lr = _learning_rate(value, type(self).__name__)

    @property
    def learning_rate(self) -> float:
        """Alias of ``lr`` (Keras's name)."""
        return self.lr

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.lr = value

    @property
    def schedule(self):
        """The learning-rate schedule given as ``lr``, or None for a constant rate."""
        return self._lr if callable(self._lr) else None

    def _scheduled(self, sched, t: int) -> float:
        v = sched(t)
        try:
            return _nonneg(v, "lr", f"{type(self).__name__}: the schedule {sched!r} at step {t}")
        except TypeError:
            raise TypeError(
                f"{type(self).__name__}: the schedule {sched!r} returned "
                f"{type(v).__name__} at step {t}, not a number"
            ) from None

    def _set_common(self, h: dict, what: str) -> None:
        """lr, clipnorm and clipvalue, shared by every optimizer (clip* may be absent
        from a state_dict written before they existed)."""
        self._lr = _learning_rate(h["lr"], what)
        self.clipnorm = _clip_option(h.get("clipnorm"), "clipnorm", what)
        self.clipvalue = _clip_option(h.get("clipvalue"), "clipvalue", what)

    def _clip(self, g):
        """A clipped copy of gradient ``g`` (or g itself when nothing changes): scaled by
        clipnorm / ||g|| when its L2 norm (summed in double) exceeds clipnorm, then each
        element clipped to [-clipvalue, clipvalue]."""
        if self.clipnorm is not None:
            norm = math.sqrt(_train._sumsq(g))
            if norm > self.clipnorm:
                g = g.scale(self.clipnorm / norm)
        if self.clipvalue is not None:
            g = g.clip(-self.clipvalue, self.clipvalue)
        return g

    # ------------------------------------------------------------------ params
    def add_params(self, params) -> None:
        """Add one RamTensor or an iterable of them; each gets fresh state.
        Each parameter is an (L, R, C) RamTensor; its state tensors take the same shape."""
        if isinstance(params, RamTensor):
            params = [params]
        try:
            params = list(params)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__}.add_params: expected a RamTensor or an "
                f"iterable of them, got {type(params).__name__}"
            ) from None
        known = {id(p) for p in self.params}
        for i, p in enumerate(params):
            if not isinstance(p, RamTensor):
                raise TypeError(
                    f"{type(self).__name__}.add_params: param {i} is a "
                    f"{type(p).__name__}, not a RamTensor (params are updated "
                    f"in place)"
                )
            if id(p) in known:
                raise ValueError(
                    f"{type(self).__name__}.add_params: param {i} of shape "
                    f"{p.shape} is already registered"
                )
            known.add(id(p))
        for p in params:
            self.params.append(p)
            self.state.append(self._new_state(p))

    def _new_state(self, p) -> dict:
        raise NotImplementedError

    # -------------------------------------------------------------------- step
    def step(self, grads) -> None:
        """Update every parameter in place from ``grads`` (aligned with ``params``; a
        None entry skips that parameter this step) at the learning rate ``lr`` (a schedule
        is evaluated once, at ``t``), each gradient clipped first when ``clipnorm`` /
        ``clipvalue`` are set (the caller's gradients are not changed). Increments ``t``.
        Each gradient is a RamTensor (or array) of its parameter's (L, R, C) shape; ``lr`` is the
        step size of one ``step`` call (not per epoch)."""
        name = type(self).__name__
        if isinstance(grads, RamTensor):
            grads = [grads]
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(
                f"{name}.step: got {len(grads)} gradients for {len(self.params)} parameters"
            )
        # check every shape first so a bad list leaves all parameters untouched
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if g is None:
                continue
            shp = g.shape if isinstance(g, RamTensor) else None
            if shp is None:
                grads[i] = g = _tensor.tensor(g)
                shp = g.shape
            if shp != p.shape:
                raise ShapeError(
                    f"{name}.step: gradient {i} has shape {shp} but its "
                    f"parameter has shape {p.shape}"
                )
        what = f"{name}.step"
        lr = self.lr  # once per step: a schedule is evaluated at t
        if self.clipnorm is not None or self.clipvalue is not None:
            grads = [None if g is None else self._clip(g) for g in grads]
        for p, g, st in zip(self.params, grads, self.state, strict=True):
            if g is not None:
                self._update(p, g, st, lr, what)
        self.t += 1

    def _update(self, p, g, st, lr: float, what: str) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------- checkpoints
    def hyperparameters(self) -> dict:
        """The constructor's arguments as set now (``lr``: the number, or the schedule)."""
        h = {k: getattr(self, k) for k in self._hyper_names}
        h["lr"] = self._lr
        return h

    def state_dict(self) -> dict:
        """A deep copy of the optimizer's state: type, hyperparameters, ``t`` and one
        dict per parameter (step count and state tensors). Parameters are not included
        (save them with the model)."""
        return {
            "type": type(self).__name__,
            "t": self.t,
            "hyper": self.hyperparameters(),
            "state": [
                {k: (v.copy() if isinstance(v, RamTensor) else v) for k, v in st.items()}
                for st in self.state
            ],
        }

    def load_state_dict(self, d) -> None:
        """Restore a ``state_dict()`` taken from an optimizer of the same type over
        parameters of the same shapes; later steps then continue bit for bit."""
        name = type(self).__name__
        if not isinstance(d, dict) or not {"type", "t", "hyper", "state"} <= d.keys():
            raise ValueError(f"{name}.load_state_dict: not an optimizer state_dict")
        if d["type"] != name:
            raise ValueError(f"{name}.load_state_dict: state_dict is for {d['type']}")
        states = list(d["state"])
        if len(states) != len(self.params):
            raise ValueError(
                f"{name}.load_state_dict: state_dict has {len(states)} parameter "
                f"states but the optimizer has {len(self.params)} parameters"
            )
        new_states = []
        for i, (p, st) in enumerate(zip(self.params, states, strict=True)):
            fresh = self._new_state(p)
            if set(st) != set(fresh):
                raise ValueError(
                    f"{name}.load_state_dict: state {i} has keys {sorted(st)}, "
                    f"expected {sorted(fresh)}"
                )
            for k, v in st.items():
                if isinstance(fresh[k], RamTensor) or (fresh[k] is None and v is not None):
                    if not isinstance(v, RamTensor):
                        raise TypeError(
                            f"{name}.load_state_dict: state {i} {k!r} must be a "
                            f"RamTensor, got {type(v).__name__}"
                        )
                    if v.shape != p.shape:
                        raise ShapeError(
                            f"{name}.load_state_dict: state {i} {k!r} has shape "
                            f"{v.shape} but its parameter has shape {p.shape}"
                        )
                    fresh[k] = v.copy()
                elif k == "step":
                    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                        raise ValueError(
                            f"{name}.load_state_dict: state {i} has a bad step count {v!r}"
                        )
                    fresh[k] = v
                else:
                    fresh[k] = self._check_scalar_state(k, v, f"{name}.load_state_dict: state {i}")
            new_states.append(fresh)
        t = d["t"]
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"{name}.load_state_dict: bad step counter t={t!r}")
        self._set_hyper(dict(d["hyper"]))  # validates like the constructor
        self.state = new_states
        self.t = t

    def _check_scalar_state(self, k: str, v, what: str):
        """A per-parameter state value that is not a tensor or the step count."""
        return v

    def _set_hyper(self, hyper: dict) -> None:
        raise NotImplementedError

    def _check_hyper_names(self, h: dict) -> str:
        """Reject keys the optimizer does not know; returns the class name for messages."""
        what = type(self).__name__
        unknown = set(h) - set(self._hyper_names)
        if unknown:
            raise ValueError(f"{what}: unknown hyperparameters {sorted(unknown)}")
        missing = set(self._hyper_names) - set(h) - {"clipnorm", "clipvalue"}
        if missing:
            raise ValueError(f"{what}: missing hyperparameters {sorted(missing)}")
        return what

    def __repr__(self):
        hp = ", ".join(
            f"{k}={v!r}"
            for k, v in self.hyperparameters().items()
            if not (k in ("clipnorm", "clipvalue") and v is None)
        )
        return f"{type(self).__name__}({hp}, params={len(self.params)}, t={self.t})"


class Adam(Optimizer):
    """Adam as ``torch.optim.Adam``: ``m = lerp(m, g, 1 - beta1)``,
    ``v = beta2 v + (1 - beta2) g^2``, ``p -= lr/(1 - beta1^t) * m / (sqrt(v)/sqrt(1 -
    beta2^t) + eps)``. ``weight_decay`` adds ``wd * p`` to the gradient (L2), or with
    ``decoupled_weight_decay=True`` scales ``p *= 1 - lr * wd`` first (AdamW).
    ``amsgrad`` normalises by the running maximum of ``v``. One fused pass per tensor.
    ``lr`` is the step size per step; ``beta1`` and ``beta2`` are unitless decay rates in
    [0, 1); ``eps`` is in gradient units."""

    _hyper_names = (
        "lr",
        "beta1",
        "beta2",
        "eps",
        "weight_decay",
        "decoupled_weight_decay",
        "amsgrad",
        "clipnorm",
        "clipvalue",
    )

    def __init__(
        self,
        params=None,
        lr=_LR_1E_3,
        beta1=0.9,
        beta2=0.999,
        eps=1e-8,
        weight_decay=0.0,
        decoupled_weight_decay=False,
        amsgrad=False,
        *,
        learning_rate=None,
        clipnorm=None,
        clipvalue=None,
    ) -> None:
        self._set_hyper(
            dict(
                lr=_pick_lr(lr, learning_rate, "Adam"),
                clipnorm=clipnorm,
                clipvalue=clipvalue,
                beta1=beta1,
                beta2=beta2,
                eps=eps,
                weight_decay=weight_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                amsgrad=amsgrad,
            )
        )
        super().__init__(params)

    def _set_hyper(self, h: dict) -> None:
        what = self._check_hyper_names(h)
        beta1 = _beta(h["beta1"], "beta1", what)
        beta2 = _beta(h["beta2"], "beta2", what)
        eps = _positive(h["eps"], "eps", what)
        wd = _nonneg(h["weight_decay"], "weight_decay", what)
        amsgrad = bool(h["amsgrad"])
        if getattr(self, "params", None) and amsgrad != getattr(self, "amsgrad", amsgrad):
            raise ValueError(f"{what}: cannot switch amsgrad on a running optimizer")
        self._set_common(h, what)
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, wd
        self.decoupled_weight_decay = bool(h["decoupled_weight_decay"])
        self.amsgrad = amsgrad

    def _new_state(self, p) -> dict:
        st = {"step": 0, "m": _tensor.zeros(p.shape), "v": _tensor.zeros(p.shape)}
        if self.amsgrad:
            st["vmax"] = _tensor.zeros(p.shape)
        return st

    def _update(self, p, g, st, lr, what) -> None:
        step = st["step"] + 1
        _train._adam_step(
            p,
            g,
            st["m"],
            st["v"],
            st.get("vmax"),
            step,
            lr,
            self.beta1,
            self.beta2,
            self.eps,
            self.weight_decay,
            self.decoupled_weight_decay,
            what,
        )
        st["step"] = step  # only once the update went through


class SGD(Optimizer):
    """SGD as ``torch.optim.SGD``: ``g += wd * p``; with momentum, ``buf = g`` on the
    first step, then ``buf = momentum * buf + (1 - dampening) * g``, and the update
    direction is ``g + momentum * buf`` (nesterov) or ``buf``; ``p -= lr * direction``.
    ``lr`` is the step size per step; ``momentum`` and ``dampening`` are unitless fractions."""

    _hyper_names = (
        "lr",
        "momentum",
        "nesterov",
        "weight_decay",
        "dampening",
        "clipnorm",
        "clipvalue",
    )

    def __init__(
        self,
        params=None,
        lr=_LR_1E_2,
        momentum=0.0,
        nesterov=False,
        weight_decay=0.0,
        dampening=0.0,
        *,
        learning_rate=None,
        clipnorm=None,
        clipvalue=None,
    ) -> None:
        self._set_hyper(
            dict(
                lr=_pick_lr(lr, learning_rate, "SGD"),
                clipnorm=clipnorm,
                clipvalue=clipvalue,
                momentum=momentum,
                nesterov=nesterov,
                weight_decay=weight_decay,
                dampening=dampening,
            )
        )
        super().__init__(params)

    def _set_hyper(self, h: dict) -> None:
        what = self._check_hyper_names(h)
        momentum = _nonneg(h["momentum"], "momentum", what)
        wd = _nonneg(h["weight_decay"], "weight_decay", what)
        dampening = _number(h["dampening"], "dampening", what)
        if not 0.0 <= dampening <= 1.0:
            raise ValueError(f"{what}: dampening must be in [0, 1], got {h['dampening']!r}")
        nesterov = bool(h["nesterov"])
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError(
                f"{what}: nesterov needs momentum > 0 and dampening 0 "
                f"(got momentum={h['momentum']!r}, dampening={h['dampening']!r})"
            )
        self._set_common(h, what)
        self.momentum, self.weight_decay, self.dampening = momentum, wd, dampening
        self.nesterov = nesterov

    def _new_state(self, p) -> dict:
        # the momentum buffer is created on the first step, as in torch
        return {"step": 0, "momentum_buffer": None}

    def _update(self, p, g, st, lr, what) -> None:
        buf = st["momentum_buffer"]
        first = False
        if self.momentum != 0.0 and buf is None:
            buf = _train._empty_like(p)  # fully written by the first step
            first = True
        _train._sgd_step(
            p,
            g,
            buf if self.momentum != 0.0 else None,
            lr,
            self.momentum,
            self.dampening,
            self.weight_decay,
            self.nesterov,
            first,
            what,
        )
        if first:  # kept only once the kernel has filled it
            st["momentum_buffer"] = buf
        st["step"] += 1


class RMSprop(Optimizer):
    """RMSprop as ``torch.optim.RMSprop``: ``g += wd * p``;
    ``sq = alpha sq + (1 - alpha) g^2``; ``avg = sqrt(sq) + eps``, or with ``centered``
    ``avg = sqrt(sq - ga^2) + eps`` where ``ga = lerp(ga, g, 1 - alpha)``; with
    ``momentum > 0`` ``buf = momentum buf + g / avg`` and ``p -= lr buf``, else
    ``p -= lr g / avg``. ``alpha`` is in [0, 1]. One fused pass per tensor.
    ``lr`` is the step size per step; ``eps`` is in gradient units."""

    _hyper_names = (
        "lr",
        "alpha",
        "eps",
        "weight_decay",
        "momentum",
        "centered",
        "clipnorm",
        "clipvalue",
    )
    momentum: float = 0.0
    centered: bool = False

    def __init__(
        self,
        params=None,
        lr=_LR_1E_2,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        *,
        learning_rate=None,
        clipnorm=None,
        clipvalue=None,
    ) -> None:
        self._set_hyper(
            dict(
                lr=_pick_lr(lr, learning_rate, "RMSprop"),
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                clipnorm=clipnorm,
                clipvalue=clipvalue,
            )
        )
        super().__init__(params)

    def _set_hyper(self, h: dict) -> None:
        what = self._check_hyper_names(h)
        alpha = _number(h["alpha"], "alpha", what)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"{what}: alpha must be in [0, 1], got {h['alpha']!r}")
        eps = _positive(h["eps"], "eps", what)
        wd = _nonneg(h["weight_decay"], "weight_decay", what)
        momentum = _nonneg(h["momentum"], "momentum", what)
        centered = bool(h["centered"])
        if getattr(self, "params", None):
            if centered != self.centered:
                raise ValueError(f"{what}: cannot switch centered on a running optimizer")
            if (momentum > 0.0) != (self.momentum > 0.0):
                raise ValueError(
                    f"{what}: cannot switch momentum on or off on a running optimizer "
                    f"(its momentum buffers exist only with momentum > 0)"
                )
        self._set_common(h, what)
        self.alpha, self.eps, self.weight_decay, self.momentum = alpha, eps, wd, momentum
        self.centered = centered

    def _new_state(self, p) -> dict:
        st = {"step": 0, "square_avg": _tensor.zeros(p.shape)}
        if self.momentum > 0.0:
            st["momentum_buffer"] = _tensor.zeros(p.shape)
        if self.centered:
            st["grad_avg"] = _tensor.zeros(p.shape)
        return st

    def _update(self, p, g, st, lr, what) -> None:
        _train._rmsprop_step(
            p,
            g,
            st["square_avg"],
            st.get("grad_avg"),
            st.get("momentum_buffer"),
            lr,
            self.alpha,
            self.eps,
            self.weight_decay,
            self.momentum,
            what,
        )
        st["step"] += 1


class Adagrad(Optimizer):
    """Adagrad as ``torch.optim.Adagrad``: ``g += wd * p``; ``sum += g^2`` (``sum``
    starts at ``initial_accumulator_value``); ``p -= clr g / (sqrt(sum) + eps)`` with
    ``clr = lr / (1 + (step - 1) lr_decay)`` (``step``: this parameter's step number,
    from 1). One fused pass per tensor.
    ``lr`` is the step size per step; ``lr_decay`` is per step; ``eps`` is in gradient units."""

    _hyper_names = (
        "lr",
        "lr_decay",
        "weight_decay",
        "initial_accumulator_value",
        "eps",
        "clipnorm",
        "clipvalue",
    )

    def __init__(
        self,
        params=None,
        lr=_LR_1E_2,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        *,
        learning_rate=None,
        clipnorm=None,
        clipvalue=None,
    ) -> None:
        self._set_hyper(
            dict(
                lr=_pick_lr(lr, learning_rate, "Adagrad"),
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
                clipnorm=clipnorm,
                clipvalue=clipvalue,
            )
        )
        super().__init__(params)

    def _set_hyper(self, h: dict) -> None:
        what = self._check_hyper_names(h)
        lr_decay = _nonneg(h["lr_decay"], "lr_decay", what)
        wd = _nonneg(h["weight_decay"], "weight_decay", what)
        init = _nonneg(h["initial_accumulator_value"], "initial_accumulator_value", what)
        eps = _positive(h["eps"], "eps", what)
        self._set_common(h, what)
        self.lr_decay, self.weight_decay, self.eps = lr_decay, wd, eps
        self.initial_accumulator_value = init

    def _new_state(self, p) -> dict:
        return {"step": 0, "sum": _tensor.full(p.shape, self.initial_accumulator_value)}

    def _update(self, p, g, st, lr, what) -> None:
        step = st["step"] + 1
        _train._adagrad_step(
            p, g, st["sum"], step, lr, self.lr_decay, self.eps, self.weight_decay, what
        )
        st["step"] = step


class Nadam(Optimizer):
    """NAdam as ``torch.optim.NAdam``: Adam's moments (``m = lerp(m, g, 1 - beta1)``,
    ``v = beta2 v + (1 - beta2) g^2``) with Nesterov momentum through the momentum cache
    ``mu_t = beta1 (1 - 0.5 * 0.96^(t momentum_decay))`` and its running product
    (kept per parameter, in float32 as torch does):
    ``p -= lr (1 - mu_t) / (1 - prod) g / den + lr mu_{t+1} / (1 - prod mu_{t+1}) m / den``,
    ``den = sqrt(v / (1 - beta2^t)) + eps``. ``weight_decay`` is L2, or decoupled
    (``p *= 1 - lr wd``, NAdamW) with ``decoupled_weight_decay=True``. One fused pass per
    tensor.
    ``lr`` is the step size per step; ``beta1`` and ``beta2`` are unitless decay rates in
    [0, 1); ``eps`` is in gradient units."""

    _hyper_names = (
        "lr",
        "beta1",
        "beta2",
        "eps",
        "weight_decay",
        "momentum_decay",
        "decoupled_weight_decay",
        "clipnorm",
        "clipvalue",
    )

    def __init__(
        self,
        params=None,
        lr=_LR_2E_3,
        beta1=0.9,
        beta2=0.999,
        eps=1e-8,
        weight_decay=0.0,
        momentum_decay=4e-3,
        decoupled_weight_decay=False,
        *,
        learning_rate=None,
        clipnorm=None,
        clipvalue=None,
    ) -> None:
        self._set_hyper(
            dict(
                lr=_pick_lr(lr, learning_rate, "Nadam"),
                beta1=beta1,
                beta2=beta2,
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                clipnorm=clipnorm,
                clipvalue=clipvalue,
            )
        )
        super().__init__(params)

    def _set_hyper(self, h: dict) -> None:
        what = self._check_hyper_names(h)
        beta1 = _beta(h["beta1"], "beta1", what)
        beta2 = _beta(h["beta2"], "beta2", what)
        eps = _positive(h["eps"], "eps", what)
        wd = _nonneg(h["weight_decay"], "weight_decay", what)
        md = _nonneg(h["momentum_decay"], "momentum_decay", what)
        self._set_common(h, what)
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, wd
        self.momentum_decay = md
        self.decoupled_weight_decay = bool(h["decoupled_weight_decay"])

    def _new_state(self, p) -> dict:
        return {
            "step": 0,
            "m": _tensor.zeros(p.shape),
            "v": _tensor.zeros(p.shape),
            "mu_product": 1.0,
        }

    def _check_scalar_state(self, k, v, what):
        if k == "mu_product":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ValueError(f"{what} has a bad mu_product {v!r} (a number in [0, 1])")
            return float(v)
        return v

    def _update(self, p, g, st, lr, what) -> None:
        step = st["step"] + 1
        st["mu_product"] = _train._nadam_step(
            p,
            g,
            st["m"],
            st["v"],
            step,
            st["mu_product"],
            lr,
            self.beta1,
            self.beta2,
            self.eps,
            self.weight_decay,
            self.momentum_decay,
            self.decoupled_weight_decay,
            what,
        )
        st["step"] = step
