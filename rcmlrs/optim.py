"""Optimizers that update parameters in place, one fused C pass per tensor.

``Adam`` (with L2 ``weight_decay``, ``decoupled_weight_decay=True`` for AdamW, and
``amsgrad``) and ``SGD`` (momentum, dampening, nesterov, weight_decay) follow the
arithmetic of ``torch.optim.Adam`` / ``AdamW`` / ``SGD`` step for step: the same bias
correction and eps placement, the same first-step momentum buffer. Each parameter keeps
its own step count (a parameter added later starts its bias correction afresh, as in
torch). Usage::

    opt = rc.Adam(model_params, lr=1e-3)
    opt.step(grads)          # grads aligned with params; None skips a parameter
    ckpt = opt.state_dict()  # exact copy of the state; load_state_dict(ckpt) resumes

``adam_update`` is the low-level single-tensor step for custom training loops.
"""

from __future__ import annotations

import math

from rcmlrs import _tensor, _train
from rcmlrs._tensor import RamTensor, ShapeError

__all__ = ["SGD", "Adam", "Optimizer", "adam_update"]


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

    def __init__(self, params=None) -> None:
        self.params: list = []
        self.state: list = []
        self.t = 0
        if params is not None:
            self.add_params(params)

    # ------------------------------------------------------------------ params
    def add_params(self, params) -> None:
        """Add one RamTensor or an iterable of them; each gets fresh state."""
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
        None entry skips that parameter this step). Increments ``t``."""
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
        for p, g, st in zip(self.params, grads, self.state, strict=True):
            if g is not None:
                self._update(p, g, st, what)
        self.t += 1

    def _update(self, p, g, st, what) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------- checkpoints
    def hyperparameters(self) -> dict:
        return {k: getattr(self, k) for k in self._hyper_names}

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
                    fresh[k] = v
            new_states.append(fresh)
        t = d["t"]
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"{name}.load_state_dict: bad step counter t={t!r}")
        self._set_hyper(dict(d["hyper"]))  # validates like the constructor
        self.state = new_states
        self.t = t

    def _set_hyper(self, hyper: dict) -> None:
        raise NotImplementedError

    def _check_hyper_names(self, h: dict) -> str:
        """Reject keys the optimizer does not know; returns the class name for messages."""
        what = type(self).__name__
        unknown = set(h) - set(self._hyper_names)
        if unknown:
            raise ValueError(f"{what}: unknown hyperparameters {sorted(unknown)}")
        return what

    def __repr__(self):
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp}, params={len(self.params)}, t={self.t})"


class Adam(Optimizer):
    """Adam as ``torch.optim.Adam``: ``m = lerp(m, g, 1 - beta1)``,
    ``v = beta2 v + (1 - beta2) g^2``, ``p -= lr/(1 - beta1^t) * m / (sqrt(v)/sqrt(1 -
    beta2^t) + eps)``. ``weight_decay`` adds ``wd * p`` to the gradient (L2), or with
    ``decoupled_weight_decay=True`` scales ``p *= 1 - lr * wd`` first (AdamW).
    ``amsgrad`` normalises by the running maximum of ``v``. One fused pass per tensor."""

    _hyper_names = (
        "lr",
        "beta1",
        "beta2",
        "eps",
        "weight_decay",
        "decoupled_weight_decay",
        "amsgrad",
    )

    def __init__(
        self,
        params=None,
        lr=1e-3,
        beta1=0.9,
        beta2=0.999,
        eps=1e-8,
        weight_decay=0.0,
        decoupled_weight_decay=False,
        amsgrad=False,
    ) -> None:
        self._set_hyper(
            dict(
                lr=lr,
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
        lr = _nonneg(h["lr"], "lr", what)
        beta1 = _beta(h["beta1"], "beta1", what)
        beta2 = _beta(h["beta2"], "beta2", what)
        eps = _positive(h["eps"], "eps", what)
        wd = _nonneg(h["weight_decay"], "weight_decay", what)
        amsgrad = bool(h["amsgrad"])
        if getattr(self, "params", None) and amsgrad != getattr(self, "amsgrad", amsgrad):
            raise ValueError(f"{what}: cannot switch amsgrad on a running optimizer")
        self.lr, self.beta1, self.beta2, self.eps, self.weight_decay = lr, beta1, beta2, eps, wd
        self.decoupled_weight_decay = bool(h["decoupled_weight_decay"])
        self.amsgrad = amsgrad

    def _new_state(self, p) -> dict:
        st = {"step": 0, "m": _tensor.zeros(p.shape), "v": _tensor.zeros(p.shape)}
        if self.amsgrad:
            st["vmax"] = _tensor.zeros(p.shape)
        return st

    def _update(self, p, g, st, what) -> None:
        step = st["step"] + 1
        _train._adam_step(
            p,
            g,
            st["m"],
            st["v"],
            st.get("vmax"),
            step,
            self.lr,
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
    direction is ``g + momentum * buf`` (nesterov) or ``buf``; ``p -= lr * direction``."""

    _hyper_names = ("lr", "momentum", "nesterov", "weight_decay", "dampening")

    def __init__(
        self, params=None, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0
    ) -> None:
        self._set_hyper(
            dict(
                lr=lr,
                momentum=momentum,
                nesterov=nesterov,
                weight_decay=weight_decay,
                dampening=dampening,
            )
        )
        super().__init__(params)

    def _set_hyper(self, h: dict) -> None:
        what = self._check_hyper_names(h)
        lr = _nonneg(h["lr"], "lr", what)
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
        self.lr, self.momentum, self.weight_decay, self.dampening = lr, momentum, wd, dampening
        self.nesterov = nesterov

    def _new_state(self, p) -> dict:
        # the momentum buffer is created on the first step, as in torch
        return {"step": 0, "momentum_buffer": None}

    def _update(self, p, g, st, what) -> None:
        buf = st["momentum_buffer"]
        first = False
        if self.momentum != 0.0 and buf is None:
            buf = _train._empty_like(p)  # fully written by the first step
            first = True
        _train._sgd_step(
            p,
            g,
            buf if self.momentum != 0.0 else None,
            self.lr,
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
