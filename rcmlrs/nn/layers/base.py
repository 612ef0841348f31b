"""The ``Layer`` protocol: everything ``Sequential`` knows about a layer.

A layer works on *engine batches*, rank-3 RamTensors, and describes itself with
*per-sample shapes* (no batch axis). A batch of samples of shape

- ``(features,)`` is ``(1, batch, features)``              layout ``"rows"``
- ``(timesteps, features)`` is time-major ``(T, batch, f)`` layout ``"time_major"``
- ``(H, W, C)`` is ``(batch, H * W, C)``                    layout ``"images"``

(``"rows"`` of a sample of any rank is the sample flattened in C order.)

What the model calls, and nothing else:

``build(input_shape, seeds)``
    create the weights with ``add_weight`` (call ``super().build`` first); afterwards
    ``input_shape``, ``output_shape``, ``params`` and ``grads`` are set.
``compute_output_shape(input_shape)``
    the per-sample output shape; raises ShapeError for an input it cannot take.
``weight_shapes(input_shape)``
    the shapes ``build`` will create, without allocating (``load_model`` checks a file's
    tensors against them first); None when unknown.
``input_layout(input_shape)``
    the engine layout the layer wants a batch of such samples in, when it is the first
    layer (None: it does not care, ask the next layer).
``forward(x, training)`` / ``backward(grad)``
    ``backward`` writes ``grads`` (or rebinds them: the model reads ``grads`` after every
    call) and returns dL/dx, or may return None when ``compute_input_grad`` is False
    (the model sets that on its first layer).
``reseed(seed)``
    called before every training epoch with a seed of its own (Dropout draws its masks
    from it); the default ignores it.
``output_activation``, ``logits``, ``backward_from_logits(grad)``
    the loss may take over the output activation: when ``output_activation`` is
    "softmax" (with cross-entropy) or "sigmoid" (with binary cross-entropy) the model
    reads ``logits`` (the pre-activation) after ``forward`` and calls
    ``backward_from_logits(dL/dlogits)`` instead of ``backward``.
``trainable``, ``params``, ``grads``, ``get_weights``/``set_weights``, ``count_params``
    a layer with ``trainable = False`` keeps its weights: the optimizer skips them.
``non_trainable_weights``
    state that ``forward`` keeps up to date but no gradient touches (BatchNormalization's
    moving statistics): ``add_weight(..., trainable=False)`` puts a tensor there instead of
    in ``params``, so the optimizer, the regularizers and the tape never see it, while
    ``weights``, ``get_weights``/``set_weights`` (after the params, Keras's order),
    ``count_params`` and ``model.save``/``load_model`` include it.
    ``non_trainable_weight_shapes(input_shape)`` lists their shapes as ``weight_shapes``
    does the params'.
``uses_sample_axes``
    True when the layer gives meaning to the leading per-sample axes (time steps, pixels),
    as RNN, LSTM and Flatten do. A model with no such layer refuses samples of rank >= 2:
    an ``(n, T, f)`` array fed to a plain MLP is a mistake, not a sequence.
``regularization_loss()``, ``regularization_penalty()``, ``add_regularization_grads()``
    the penalties of the weights ``add_weight`` got a ``regularizer`` for (nothing to
    write: ``fit`` adds the value to the loss and the gradient to ``grads`` after
    ``backward``; a tape step records ``regularization_penalty`` instead).
``get_config()`` / ``from_config(config)``
    JSON-able constructor arguments, so ``model.save`` can rebuild the layer.
``cache_attrs``
    the names of the attributes ``forward`` sets and ``backward`` reads (the per-call
    state: Dense's input, pre-activation and output). A tape saves them with each call
    and puts them back for that call's backward, so one layer may run several times under
    one tape (weight sharing). Without them such a second call makes the first call's
    gradient raise RuntimeError (never a silently wrong gradient).

A subclass that defines ``forward`` and ``backward`` (with ``add_weight`` in ``build``)
trains in ``Sequential`` with no change anywhere else. A subclass that defines only
``forward`` (with tensor ops) trains too: its backward comes from ``rc.autograd``.

Under an active ``rc.autograd.Tape`` calling a layer (``layer(x, training)``, the path
every model uses) records it as ONE op whose gradient is the layer's own ``backward``
(bit for bit what ``fit`` computes), unless the layer defines no ``backward``: then its
tensor ops record themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import rcmlrs
from rcmlrs import _tensor
from rcmlrs._tensor import RamTensor, ShapeError
from rcmlrs.autograd.tape import record
from rcmlrs.nn import initializers, regularizers
from rcmlrs.nn.seeding import Seeds

Shape = tuple[Any, ...]  # a per-sample shape; a timestep count may be None


def as_batch(x: Any) -> RamTensor:
    """``x`` as a RamTensor (no copy when it already is one)."""
    return x if isinstance(x, RamTensor) else rcmlrs.tensor(x)


def check_units(units: object, what: str, name: str = "units") -> int:
    """``units`` (a layer's width argument, called ``name`` in the message) as a positive int."""
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units < 2**31:
        raise ValueError(f"{what}: {name} must be a positive int, got {units!r}")
    return units


def check_bool(v: object, name: str, what: str) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"{what}: {name} must be True or False, got {v!r}")
    return v


def check_initializer(init: Any, name: str, what: str) -> Any:
    """An initializer argument as a layer keeps it: a (valid) name, or an object (a
    ``{"class", "config"}`` description becomes the object)."""
    try:
        if isinstance(init, dict):
            return initializers.get(init)
        if isinstance(init, str):
            initializers.get(init)  # validates the name
            return init
    except (TypeError, ValueError) as e:
        raise type(e)(f"{what}: {name}: {e}") from None
    if callable(init):
        return init
    raise TypeError(
        f"{what}: {name} must be a name, an rc.nn.initializers object or a function "
        f"(shape, seed) -> RamTensor, got {type(init).__name__}"
    )


def check_regularizer(reg: object, name: str, what: str) -> regularizers.Regularizer | None:
    try:
        return regularizers.get(reg)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{what}: {name}: {e}") from None


def weight_options_config(layer: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """The initializer/regularizer attributes of ``layer`` named in ``defaults`` that differ
    from their defaults, serialized for ``get_config``."""
    cfg: dict[str, Any] = {}
    for key, default in defaults.items():
        v = getattr(layer, key)
        if key.endswith("_regularizer"):
            if v is not None:
                cfg[key] = regularizers.serialize(v)
        elif not (isinstance(v, str) and v == default):
            cfg[key] = initializers.serialize(v)
    return cfg


def check_name(name: object, what: str) -> str | None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"{what}: name must be a str or None, got {type(name).__name__}")
    return name


def check_input_shape(shape: object, what: str) -> Shape | None:
    """A declared per-sample ``input_shape`` (positive ints; a timestep count may be None)."""
    if shape is None:
        return None
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not 1 <= len(shape) <= 3:
        raise ValueError(f"{what}: input_shape must be a tuple of 1 to 3 dims, got {shape!r}")
    for i, d in enumerate(shape):
        if d is None and i == 0 and len(shape) == 2:
            continue
        if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d < 2**31:
            raise ValueError(
                f"{what}: input_shape must hold positive ints (None only for the number "
                f"of timesteps), got {tuple(shape)!r}"
            )
    return tuple(shape)


class BuildContext:
    """What a model's build pass hands the layers it calls: the seeds of their initial
    weights, and a list of ``(layer, output)`` of every call (see ``building``)."""

    def __init__(self, seeds: Seeds) -> None:
        self.seeds = seeds
        self.outputs: list[tuple[Layer, RamTensor]] = []


_BUILDING: list[BuildContext] = []


@contextmanager
def building(seeds: Seeds) -> Iterator[BuildContext]:
    """Inside, a layer called before it is built builds from ``seeds`` (a subclassed
    model's first call builds its layers in call order, reproducibly)."""
    ctx = BuildContext(seeds)
    _BUILDING.append(ctx)
    try:
        yield ctx
    finally:
        _BUILDING.pop()


def has_backward(layer: Layer) -> bool:
    """True when ``layer`` defines its own ``backward`` (else the tape differentiates
    its ``forward``)."""
    return type(layer).backward is not Layer.backward


class Layer:
    """Base class of rc.nn layers; see the module docstring for the protocol."""

    kind: ClassVar[str] = "layer"  # stem of the default name ("dense", "dense_1", ...)
    uses_sample_axes: ClassVar[bool] = False
    cache_attrs: ClassVar[tuple[str, ...]] = ()  # per-call state (see the module docstring)

    def __init__(
        self, name: str | None = None, trainable: bool = True, input_shape: Any = None
    ) -> None:
        what = type(self).__name__
        self.name = check_name(name, what)
        self.trainable = check_bool(trainable, "trainable", what)
        self.declared_input_shape = check_input_shape(input_shape, what)
        self.params: list[RamTensor] = []
        self.grads: list[RamTensor] = []
        self.non_trainable_weights: list[RamTensor] = []
        self.built = False
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self.compute_input_grad = True
        self._tape_calls = 0  # calls through __call__ (a stale tape entry detects it)

    # ------------------------------------------------------------------ shapes
    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The per-sample output shape (no batch axis) for the per-sample ``input_shape``; here the
        input shape unchanged. Raises ShapeError for an input the layer cannot take."""
        return tuple(input_shape)

    def weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]] | None:
        """Shapes of the params ``build`` creates for ``input_shape``; None if unknown."""
        return [] if type(self).build is Layer.build else None

    def non_trainable_weight_shapes(self, input_shape: Shape) -> list[tuple[int, int, int]] | None:
        """Shapes of the non-trainable weights ``build`` creates for ``input_shape`` (after
        the params in ``get_weights``); none here. A layer that calls
        ``add_weight(..., trainable=False)`` overrides it (None: unknown until built)."""
        return []

    def input_layout(self, input_shape: Shape) -> str | None:
        """The engine layout the layer wants as the first layer: "rows" for ``(features,)`` samples
        (batch ``(1, batch, features)``), "time_major" for ``(T, f)`` (``(T, batch, f)``), "images"
        for ``(H, W, C)`` (``(batch, H * W, C)``); None lets the next layer choose."""
        n = len(input_shape)
        return "rows" if n == 1 else "time_major" if n == 2 else "images"

    # ------------------------------------------------------------------ building
    def build(self, input_shape: Shape, seeds: Seeds | None = None) -> Shape:
        """Record the shapes (subclasses call this first, then ``add_weight``).

        ``input_shape`` is per sample (no batch axis), as in ``compute_output_shape``."""
        input_shape = tuple(input_shape)
        self.output_shape = tuple(self.compute_output_shape(input_shape))
        self.input_shape = input_shape
        self.params, self.grads = [], []
        self.non_trainable_weights = []
        self._regularizers: list[tuple[int, regularizers.Regularizer]] = []
        self.built = True
        return self.output_shape

    def add_weight(
        self,
        shape: Sequence[int],
        initializer: str | initializers.Initializer | dict[str, Any] = "glorot_uniform",
        seeds: Seeds | None = None,
        regularizer: Any = None,
        trainable: bool = True,
        receptive_field: int = 1,
    ) -> RamTensor:
        """A new parameter of ``shape`` (1-3 dims, right-aligned to rank 3) with its
        gradient buffer, appended to ``params``/``grads``; ``regularizer`` (an
        ``rc.nn.regularizers`` object or name) penalizes it in training.
        ``trainable=False``: a non-trainable weight instead (state such as moving
        statistics), appended to ``non_trainable_weights``, with no gradient buffer.
        ``receptive_field``: the kernel positions (kh * kw) a convolution kernel's rows
        span, so fan-based initializers count Keras's fan_out (kh * kw * filters)."""
        dims = tuple(int(d) for d in shape)
        full = (1,) * (3 - len(dims)) + dims
        if len(full) != 3:
            raise ShapeError(f"add_weight: shape must have 1 to 3 dims, got {tuple(shape)}")
        trainable = check_bool(trainable, "trainable", "add_weight")
        if not trainable and regularizer is not None:
            raise ValueError("add_weight: a non-trainable weight takes no regularizer")
        seeds = seeds if seeds is not None else Seeds()
        seed = seeds.next()
        if seeds.initialize:
            with initializers.receptive_field(receptive_field):
                w = initializers.get(initializer)(full, seed)
        else:
            w = rcmlrs.zeros(full)
        if not trainable:
            if getattr(self, "non_trainable_weights", None) is None:
                self.non_trainable_weights = []
            self.non_trainable_weights.append(w)
            return w
        self.params.append(w)
        self.grads.append(rcmlrs.zeros(full))
        reg = regularizers.get(regularizer)
        if reg is not None:
            if getattr(self, "_regularizers", None) is None:
                self._regularizers = []
            self._regularizers.append((len(self.params) - 1, reg))
        return w

    # ------------------------------------------------------------------ penalties
    def _penalized(self) -> list[tuple[int, regularizers.Regularizer]]:
        """(param index, regularizer) pairs that count now (none when frozen)."""
        regs = getattr(self, "_regularizers", None)
        return list(regs) if regs and self.trainable else []

    def regularization_loss(self) -> float:
        """The sum of this layer's weight penalties (0.0 without regularizers, or when the
        layer is frozen)."""
        return sum(reg(self.params[i]) for i, reg in self._penalized())

    def regularization_penalty(self) -> RamTensor | None:
        """The same sum as a (1, 1, 1) tensor of tensor ops (an active tape records it),
        or None when nothing is penalized."""
        out: RamTensor | None = None
        for i, reg in self._penalized():
            p = reg.penalty(self.params[i])
            out = p if out is None else out + p
        return out

    def add_regularization_grads(self) -> None:
        """Add each penalty's gradient to its weight's gradient in ``grads`` (in place;
        ``fit`` calls it after ``backward``)."""
        for i, reg in self._penalized():
            g = self.grads[i]
            g += reg.gradient(self.params[i])

    def _build_from(self, x: RamTensor, seeds: Seeds | None = None) -> None:
        """Build from a first engine batch when used by hand (rows or time-major)."""
        shape = (x.cols,) if x.layers == 1 else (x.layers, x.cols)
        self.build(shape, seeds if seeds is not None else Seeds())

    # ------------------------------------------------------------------ compute
    def forward(self, x: RamTensor, training: bool = False) -> RamTensor:
        """The output batch for the engine batch ``x`` (a rank-3 RamTensor in the layouts of the
        module docstring), keeping what ``backward`` needs; ``training`` turns on training-only
        behaviour (Dropout's masks). Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """From dL/d(output) (the last output's shape): write ``grads`` and return dL/dx (the last
        input's shape), or None when ``compute_input_grad`` is False. Subclasses define it; without
        it the gradient comes from ``rc.autograd``."""
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, x: Any, training: bool = False) -> RamTensor:
        """``forward`` (building the layer first if needed); under an active tape the
        layer is recorded as one op (see the module docstring)."""
        x = as_batch(x)
        ctx = _BUILDING[-1] if _BUILDING else None
        if not self.built:
            self._build_from(x, ctx.seeds if ctx is not None else None)
        self._tape_calls = getattr(self, "_tape_calls", 0) + 1
        if _tensor._get_tape() is None or not has_backward(self):
            out = self.forward(x, training)
        else:
            out = self._recorded(x, training, False)[0]
        if ctx is not None:
            ctx.outputs.append((self, out))
        return out

    def call_with_logits(self, x: Any, training: bool = False) -> tuple[RamTensor, RamTensor]:
        """``(output, logits)`` of one forward call; an active tape records the logits
        as one op whose gradient is ``backward_from_logits`` (a model whose loss takes
        over the output activation uses it for its last layer)."""
        x = as_batch(x)
        self._tape_calls = getattr(self, "_tape_calls", 0) + 1
        if _tensor._get_tape() is None:
            out = self.forward(x, training)
            return out, self.logits
        return self._recorded(x, training, True)

    def _recorded(
        self, x: RamTensor, training: bool, from_logits: bool
    ) -> tuple[RamTensor, RamTensor]:
        """Forward with recording paused, then one tape entry ``(x, *params) -> out``
        (or the logits) whose rule is this call's ``backward``."""
        rec = _tensor._get_tape()
        _tensor._set_tape(None)  # what autograd.pause does, without the object
        try:
            out = self.forward(x, training)
        finally:
            _tensor._set_tape(rec)
        res = self.logits if from_logits else out
        if res is x:  # the identity (Dropout at inference, a flat Flatten): no op at all
            return out, res
        params = self.params
        saved = tuple(getattr(self, a, None) for a in self.cache_attrs)
        calls = self._tape_calls

        def rule(g: RamTensor, needs: tuple[bool, ...]) -> tuple[RamTensor | None, ...]:
            return self._tape_backward(g, needs, saved, calls, from_logits)

        name = type(self).__name__ + (".logits" if from_logits else "")
        record(name, res, (x, *params), {"layer": self.name}, backward=rule)
        return out, res

    def _tape_backward(
        self,
        g: RamTensor,
        needs: tuple[bool, ...],
        saved: tuple[Any, ...],
        calls: int,
        from_logits: bool,
    ) -> tuple[RamTensor | None, ...]:
        """The rule of one recorded call: this layer's backward on that call's state, the
        input gradient and copies of ``grads`` (the next backward overwrites them)."""
        names = self.cache_attrs
        current: tuple[Any, ...] = ()
        if names:
            current = tuple(getattr(self, a, None) for a in names)
            for a, v in zip(names, saved, strict=True):
                setattr(self, a, v)
        elif self._tape_calls != calls:
            raise RuntimeError(
                f"{self.name or type(self).__name__}: this layer ran again after the call "
                f"the tape recorded, and its backward only keeps the state of its last "
                f"forward; use one layer instance per call, or list the attributes its "
                f"forward sets in cache_attrs so that the tape can keep them per call"
            )
        keep = self.compute_input_grad
        self.compute_input_grad = bool(needs[0])
        try:
            dx = self.backward_from_logits(g) if from_logits else self.backward(g)
        finally:
            self.compute_input_grad = keep
            for a, v in zip(names, current, strict=False):
                setattr(self, a, v)
        if needs[0] and dx is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward returned None although the input "
                f"gradient was asked for (compute_input_grad was True)"
            )
        grads = self.grads
        if len(grads) != len(self.params):
            raise RuntimeError(
                f"{type(self).__name__}: backward left {len(grads)} gradients for "
                f"{len(self.params)} params"
            )
        return (
            dx if needs[0] else None,
            *(gr.copy() if n else None for gr, n in zip(grads, needs[1:], strict=True)),
        )

    def reseed(self, seed: int) -> None:
        """Called by ``fit`` before every epoch; layers without randomness ignore it."""

    @property
    def output_activation(self) -> str | None:
        """The activation name the loss may take over (see the module docstring):
        "softmax" with cross-entropy, "sigmoid" with binary cross-entropy; None here."""
        return None

    @property
    def logits(self) -> RamTensor:
        """The pre-activation of the last ``forward`` call, which the loss reads when it takes over
        ``output_activation``; NotImplementedError here."""
        raise NotImplementedError(f"{type(self).__name__} has no logits")

    def backward_from_logits(self, grad: RamTensor) -> RamTensor | None:
        """``backward`` from dL/dlogits, skipping the output activation's derivative (the loss took
        it over); returns dL/dx as ``backward`` does. NotImplementedError here."""
        raise NotImplementedError(f"{type(self).__name__} cannot skip its activation")

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[RamTensor]:
        """``params`` then ``non_trainable_weights`` (the live tensors, Keras's order)."""
        return [*self.params, *getattr(self, "non_trainable_weights", ())]

    def count_params(self) -> int:
        """The number of scalar weights, the summed sizes of ``weights`` (frozen and
        non-trainable ones included)."""
        return sum(p.size for p in self.weights)

    def count_trainable_params(self) -> int:
        """The summed sizes of ``params`` when the layer is trainable, else 0."""
        return sum(p.size for p in self.params) if self.trainable else 0

    def get_weights(self) -> list[RamTensor]:
        """Copies of ``weights`` in order: the params, then the non-trainable weights
        (RamTensors of their shapes)."""
        return [p.copy() for p in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Copy ``weights`` (tensors or arrays of the sizes of ``get_weights``' tensors, in
        that order) into the params and non-trainable weights."""
        weights = list(weights)
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(
                f"{self.name}: set_weights got {len(weights)} tensors, the layer has {len(mine)}"
            )
        new = [as_batch(w) for w in weights]
        for p, w in zip(mine, new, strict=True):
            if w.size != p.size:
                raise ShapeError(
                    f"{self.name}: set_weights: weight of shape {w.shape} does not "
                    f"fit parameter of shape {p.shape}"
                )
        for p, w in zip(mine, new, strict=True):
            p.numpy().reshape(-1)[:] = w.numpy().reshape(-1)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The JSON-able constructor arguments (here ``name`` and ``trainable``) that
        ``from_config`` and ``model.save`` use."""
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """A new, unbuilt layer from a ``get_config`` dict: ``cls(**config)``."""
        return cls(**config)

    def __repr__(self) -> str:
        cfg = self.get_config()
        parts = [f"{k}={v!r}" for k, v in cfg.items() if k not in ("name", "trainable")]
        if cfg.get("trainable") is False:
            parts.append("trainable=False")
        return f"{type(self).__name__}({', '.join(parts)})"


class ActivatedOutput:
    """For a layer whose output is ``act(z)`` of a kept pre-activation ``z`` (Dense, Conv):
    ``backward`` runs the layer's ``_backward(grad, act_id)`` with its own activation, and
    the loss may take the activation over (``output_activation``, ``logits``,
    ``backward_from_logits``: the same ``_backward`` with the linear id). The layer sets
    ``activation`` (canonical name), ``_act``, ``_linear`` and, in forward, ``_z``."""

    activation: str
    _act: int
    _linear: int
    _z: RamTensor

    def _backward(self, grad: Any, act: int) -> RamTensor | None:
        raise NotImplementedError

    def backward(self, grad: RamTensor) -> RamTensor | None:
        """From dL/dy (the output's shape): write the weight gradients and return dL/dx (the
        input's shape; None when ``compute_input_grad`` is False)."""
        return self._backward(grad, self._act)

    @property
    def output_activation(self) -> str | None:
        """The layer's canonical activation name ("linear" without one); the loss takes over
        "softmax" and "sigmoid"."""
        return self.activation

    @property
    def logits(self) -> RamTensor:
        """The pre-activation of the last forward call (``x @ W + b``, ``conv(x, W) + b``)."""
        return self._z

    def backward_from_logits(self, grad: RamTensor) -> RamTensor | None:
        """Backward from dL/d(pre-activation), skipping the activation's derivative (the
        loss took the logits: softmax + cross-entropy, sigmoid + binary cross-entropy)."""
        return self._backward(grad, self._linear)


__all__ = [
    "ActivatedOutput",
    "BuildContext",
    "Layer",
    "Shape",
    "as_batch",
    "building",
    "check_units",
    "has_backward",
]
