"""Optimizers for rc.nn: the library's ``rc.Adam``/``rc.SGD`` when present, else these
fused equivalents (same constructor, ``add_params``, ``step(grads)``, ``state_dict``).

Each ``step`` is one kernel pass per parameter tensor with torch.optim's arithmetic.
"""

from __future__ import annotations

import rcmlrs
from rcmlrs import _tensor as _T


def _check_lr(lr, what):
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"{what}: lr must be a positive number, got {lr!r}")
    return float(lr)


class Adam:
    """Adam (torch.optim.Adam arithmetic; ``decoupled_weight_decay=True`` is AdamW)."""

    def __init__(self, params=None, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=0.0, decoupled_weight_decay=False, amsgrad=False):
        self.lr = _check_lr(lr, "Adam")
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Adam: {name} must be in [0, 1), got {b!r}")
        if amsgrad:
            raise ValueError("Adam: amsgrad is not supported by the rc.nn fallback optimizer")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.weight_decay = float(weight_decay)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        self.t = 0
        self.params, self._m, self._v = [], [], []
        if params is not None:
            self.add_params(params)

    def add_params(self, params):
        for p in params:
            self.params.append(p)
            self._m.append(rcmlrs.zeros(p.shape))
            self._v.append(rcmlrs.zeros(p.shape))

    def step(self, grads):
        self.t += 1
        _T._nn_adam(self.params, list(grads), self._m, self._v, float(self.t), self.lr,
                    self.beta1, self.beta2, self.eps, self.weight_decay,
                    self.decoupled_weight_decay)

    def state_dict(self):
        return {"t": self.t, "lr": self.lr, "m": [m.copy() for m in self._m],
                "v": [v.copy() for v in self._v]}

    def load_state_dict(self, d):
        self.t, self.lr = int(d["t"]), float(d["lr"])
        self._m = [rcmlrs.tensor(m) for m in d["m"]]
        self._v = [rcmlrs.tensor(v) for v in d["v"]]

    def __repr__(self):
        return f"Adam(lr={self.lr}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


class SGD:
    """SGD with optional (Nesterov) momentum and L2 weight decay (torch.optim.SGD)."""

    def __init__(self, params=None, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        self.lr = _check_lr(lr, "SGD")
        if momentum < 0:
            raise ValueError(f"SGD: momentum must be >= 0, got {momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.weight_decay = float(weight_decay)
        self.t = 0
        self.params, self._buf = [], []
        if params is not None:
            self.add_params(params)

    def add_params(self, params):
        for p in params:
            self.params.append(p)
            self._buf.append(rcmlrs.zeros(p.shape))

    def step(self, grads):
        _T._nn_sgd(self.params, list(grads), self._buf, self.lr, self.momentum, self.nesterov,
                   self.weight_decay, self.t == 0)
        self.t += 1

    def state_dict(self):
        return {"t": self.t, "lr": self.lr, "buf": [b.copy() for b in self._buf]}

    def load_state_dict(self, d):
        self.t, self.lr = int(d["t"]), float(d["lr"])
        self._buf = [rcmlrs.tensor(b) for b in d["buf"]]

    def __repr__(self):
        return f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov})"


NAMES = ("adam", "sgd")


def get(opt):
    """An optimizer from a name ("adam", "sgd") or an instance with add_params/step."""
    if isinstance(opt, str):
        key = opt.strip().lower()
        if key == "adam":
            return Adam()
        if key == "sgd":
            return SGD()
        raise ValueError(f"compile: unknown optimizer {opt!r}; valid names are "
                         f"{', '.join(NAMES)}, or pass an instance such as rc.Adam(lr=1e-3)")
    if hasattr(opt, "step") and hasattr(opt, "add_params"):
        return opt
    raise TypeError(f"compile: optimizer must be a name or an optimizer instance "
                    f"(with add_params and step), got {type(opt).__name__}")
