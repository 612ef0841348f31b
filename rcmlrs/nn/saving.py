"""``model.save`` and ``load_model``: one binary container (safetensors-compatible).

The file holds the tensors ``[weights of every layer, in order] + [optimizer state
tensors]`` (a layer's weights: its params, then its non-trainable weights such as
BatchNormalization's moving statistics, as ``model.weights``; a model without
non-trainable weights writes exactly what version 2 always wrote) and, in the header's
metadata under ``rcmlrs_model``, a JSON description::

    {"format": "rcmlrs.nn.Sequential", "version": 2, "name": ..., "input_shape": [...],
     "layers": [{"class": "Dense", "config": {...}}, ...],
     "compile": {"loss": {"name": "cross_entropy"}, "metrics": [...],
                 "optimizer": {"class": "Adam", "config": {hyperparameters}}},
     "optimizer_state": {"t": 90, "params": [{"step": 90, "m": {"tensor": 6}, ...}, ...]},
     "training": {"seed": 12345, "epoch": 2}}

``{"tensor": i}`` refers to the i-th tensor of the file. ``training`` is where the fit
random streams stand (see seeding.py), so a loaded model resumes training bit for bit.
A loss given as a Python function (``compile(loss=fn)``) is saved as
``{"function": fn.__name__}``: ``load_model(path, custom_objects={name: fn})`` compiles
the model with it again; without it the model loads uncompiled (with a warning), as when
the optimizer could not be saved.

``save_weights``/``load_weights`` (``Model.save_weights``): the weights alone, in order,
with ``{"format": "rcmlrs.nn.weights", "version": 1, "names": [...]}`` under
``rcmlrs_weights`` (what a subclassed ``Model``, whose ``call`` is code, can save).

Loading trusts nothing: every field's type and range is checked, every parameter shape
is derived from the architecture and compared with the file's tensors *before* any layer
is built, and any inconsistency raises ``rc.FormatError`` (never another exception).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import TYPE_CHECKING, Any

import rcmlrs
from rcmlrs import losses as _losses
from rcmlrs._tensor import FormatError, RamTensor
from rcmlrs.nn import metrics as _metrics
from rcmlrs.nn import optimizers as _optim
from rcmlrs.nn.layers import LAYERS
from rcmlrs.nn.layers.base import Layer, check_input_shape
from rcmlrs.nn.seeding import MASK64, Seeds

if TYPE_CHECKING:
    from rcmlrs.nn.model import Model, Sequential

MODEL_FORMAT = "rcmlrs.nn.Sequential"
MODEL_FORMAT_VERSION = 2  # 1: no optimizer state, no training position
META_KEY = "rcmlrs_model"
WEIGHTS_FORMAT = "rcmlrs.nn.weights"
WEIGHTS_KEY = "rcmlrs_weights"
MAX_LAYERS = 100_000

# what a malformed description may raise while it is checked or turned into objects;
# each becomes a FormatError
_BAD_CONFIG = (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError)


# ===================================================================== saving


def _loss_config(loss: Any) -> dict[str, Any] | None:
    cfg = loss.get_config() if hasattr(loss, "get_config") else {"name": loss.name}
    return dict(cfg)


def _loss_is_function(loss: Any) -> bool:
    from rcmlrs.nn.autodiff import FunctionLoss

    return isinstance(loss, FunctionLoss)


def _metric_specs(model: Model) -> list[Any]:
    """The compiled metrics as names or descriptions; a function or user metric cannot
    be stored: it is left out, with a warning."""
    specs = []
    for m in getattr(model, "_metric_objs", ()):
        spec = _metrics.serialize(m)
        if spec is None:
            warnings.warn(
                f"save: the metric {m.name!r} is a function or a user class, which "
                f"model.save cannot store; the loaded model is compiled without it",
                stacklevel=4,
            )
            continue
        specs.append(spec)
    return specs


def model_config(model: Sequential) -> dict[str, Any]:
    """The JSON-able description of ``model`` (without optimizer state)."""
    comp = None
    if model.loss is not None:
        opt = model.optimizer
        comp = {
            "loss": _loss_config(model.loss),
            "metrics": _metric_specs(model),
            "optimizer": (
                {"class": type(opt).__name__, "config": _optim.config(opt)}
                if _optim.savable(opt)
                else None
            ),
        }
    return {
        "format": MODEL_FORMAT,
        "version": MODEL_FORMAT_VERSION,
        "name": model.name,
        "input_shape": list(model.input_shape) if model.input_shape else None,
        "layers": [
            {"class": type(layer).__name__, "config": layer.get_config()} for layer in model.layers
        ],
        "compile": comp,
        "training": {"seed": model.seed, "epoch": model.epoch},
    }


def save_model(model: Sequential, path: str | os.PathLike[str]) -> None:
    if not model.built:
        raise RuntimeError("save: the model is not built; fit it (or call build) first")
    cfg = model_config(model)
    tensors: list[RamTensor] = list(model.weights)
    opt = model.optimizer
    if _loss_is_function(model.loss):
        name = model.loss.name  # type: ignore[union-attr]
        warnings.warn(
            f"save: the loss is the Python function {name!r}, which model.save cannot "
            f"store; the weights and optimizer are saved, and load_model returns the model "
            f"compiled only with custom_objects={{{name!r}: {name}}} (else uncompiled)",
            stacklevel=3,
        )
    if opt is not None and not _optim.savable(opt):
        warnings.warn(
            f"save: the optimizer {type(opt).__name__} is not one model.save can store "
            f"({sorted(_optim.OPTIMIZERS)}); the weights are saved, the optimizer and its "
            f"state are not, and load_model will return the model uncompiled",
            stacklevel=3,
        )
    if opt is not None and _optim.savable(opt) and list(opt.params):
        sd = opt.state_dict()
        states = []
        for st in sd["state"]:
            enc: dict[str, Any] = {}
            for k, v in st.items():
                if isinstance(v, RamTensor):
                    enc[k] = {"tensor": len(tensors)}
                    tensors.append(v)
                else:
                    enc[k] = v
            states.append(enc)
        cfg["optimizer_state"] = {"t": sd["t"], "params": states}
    meta = {META_KEY: json.dumps(cfg, separators=(",", ":"), allow_nan=False)}
    rcmlrs.save_tensors_binary(path, tensors, metadata=meta)


# ===================================================================== loading


def _fail(msg: str) -> FormatError:
    return FormatError(msg)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(v: object, lo: int, hi: int, what: str) -> int:
    if not _is_int(v) or not lo <= v <= hi:  # type: ignore[operator]
        raise ValueError(f"{what} must be an int in [{lo}, {hi}], got {_short(v)}")
    return v  # type: ignore[return-value]


def _short(v: object, limit: int = 60) -> str:
    try:
        s = repr(v)
    except (ValueError, RecursionError):
        s = f"<{type(v).__name__}>"
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _dict(v: object, what: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise TypeError(f"{what} must be an object, got {_short(v)}")
    if allowed is not None and not set(v) <= allowed:
        raise ValueError(f"{what} has unknown keys {sorted(set(v) - allowed)[:5]}")
    return v


def _shape3(w: Any) -> tuple[int, int, int]:
    a, b, c = (int(d) for d in w)
    return (a, b, c)


def _layer_from_spec(spec: object, i: int, registry: dict[str, type[Layer]]) -> Layer:
    what = f"layer {i}"
    spec = _dict(spec, what, {"class", "config"})
    name, config = spec.get("class"), spec.get("config", {})
    if not isinstance(name, str) or name not in registry:
        raise ValueError(f"{what}: unknown layer class {_short(name)}")
    config = _dict(config, f"{what} config")
    return registry[name].from_config(dict(config))


def _loss_from(spec: object, custom: dict[str, Any]) -> _losses.Loss | None:
    """The saved loss; None for a function loss that ``custom`` does not name."""
    if isinstance(spec, str):  # version 1
        spec = {"name": spec}
    spec = _dict(spec, "compile loss")
    if "function" in spec:
        _dict(spec, "compile loss", {"function"})
        fname = spec["function"]
        if not isinstance(fname, str):
            raise TypeError(f"compile loss function must be a name, got {_short(fname)}")
        fn = custom.get(fname)
        if fn is None:
            return None
        from rcmlrs.nn.autodiff import get_loss

        return get_loss(fn)
    name = spec.get("name")
    if not isinstance(name, str):
        raise TypeError(f"compile loss name must be a str, got {_short(name)}")
    extra = {k: v for k, v in spec.items() if k != "name"}
    for k, v in extra.items():
        if not isinstance(v, (bool, int, float, str)) or v is None:
            raise TypeError(f"compile loss option {_short(k)} has a bad value {_short(v)}")
    if name in custom:
        return _losses.get(custom[name](**extra) if extra else custom[name])
    loss = _losses.get(name)
    return type(loss)(**extra) if extra else loss


def _optimizer_from(spec: object, version: int) -> Any:
    """The saved optimizer, or None when the file says its optimizer could not be saved
    (a class rcmlrs does not know): the model then loads uncompiled, never with a
    different optimizer than the one it was trained with."""
    if version >= 2 and spec is None:
        return None
    if spec is None or isinstance(spec, str):  # version 1: a name or nothing
        return _optim.get(spec or "adam")
    spec = _dict(spec, "compile optimizer", {"class", "config"})
    return _optim.from_config(spec.get("class"), spec.get("config"))


class _Ref:
    """A reference to the file's tensor ``index`` (optimizer state)."""

    def __init__(self, index: int) -> None:
        self.index = index


class _Plan:
    """A checked model description: layers (not built), shapes, compile and state."""

    def __init__(self, cfg: object, tensors: list[RamTensor], custom: dict[str, Any]):
        cfg = _dict(
            cfg,
            "model description",
            {
                "format",
                "version",
                "name",
                "input_shape",
                "layers",
                "compile",
                "optimizer_state",
                "training",
            },
        )
        if cfg.get("format") != MODEL_FORMAT:
            raise ValueError(f"format is {_short(cfg.get('format'))}, not {MODEL_FORMAT}")
        self.version = _int_in(cfg.get("version"), 1, 10**6, "version")
        if self.version > MODEL_FORMAT_VERSION:
            raise ValueError(
                f"model format version {self.version} is newer than this rcmlrs "
                f"(reads up to {MODEL_FORMAT_VERSION})"
            )
        name = cfg.get("name", "sequential")
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {_short(name)}")
        self.name = name
        shape = check_input_shape(cfg.get("input_shape"), "input_shape")
        if shape is None:
            raise ValueError("input_shape is missing")
        self.input_shape = shape
        specs = cfg.get("layers")
        if not isinstance(specs, list) or not 1 <= len(specs) <= MAX_LAYERS:
            raise ValueError(f"layers must be a list of 1 to {MAX_LAYERS} layers")
        registry = dict(LAYERS)
        for k, v in custom.items():
            if isinstance(v, type) and issubclass(v, Layer):
                registry[k] = v
        self.layers = [_layer_from_spec(s, i, registry) for i, s in enumerate(specs)]

        # every parameter shape, derived from the description alone; the file's weights are
        # each layer's params then its non-trainable weights (weight_shapes: all of them)
        self.param_shapes: list[tuple[int, int, int]] | None = []
        self.weight_shapes: list[tuple[int, int, int]] | None = []
        sample: tuple[Any, ...] = shape
        for i, layer in enumerate(self.layers):
            ws = layer.weight_shapes(sample)
            nts = layer.non_trainable_weight_shapes(sample)
            if ws is None or nts is None:  # a user layer that cannot say: checked after building
                self.param_shapes = self.weight_shapes = None
            elif self.param_shapes is not None and self.weight_shapes is not None:
                ps = [_shape3(w) for w in ws]
                self.param_shapes += ps
                self.weight_shapes += ps + [_shape3(w) for w in nts]
            sample = tuple(layer.compute_output_shape(sample))
            if not all(d is None or _is_int(d) for d in sample):
                raise ValueError(f"layer {i} gives a bad output shape {_short(sample)}")
        n_params = len(self.param_shapes) if self.param_shapes is not None else None
        n_weights = len(self.weight_shapes) if self.weight_shapes is not None else None

        # compile: loss, metrics, optimizer
        comp = cfg.get("compile")
        self.loss: _losses.Loss | None = None
        self.metrics: list[str] = []
        self.optimizer: Any = None
        self.lost_loss: str | None = None  # a function loss custom_objects does not name
        if comp is not None:
            comp = _dict(comp, "compile", {"loss", "metrics", "optimizer"})
            self.loss = _loss_from(comp.get("loss"), custom)
            if self.loss is None:
                self.lost_loss = str(comp["loss"]["function"])
            metrics = comp.get("metrics", [])
            if not isinstance(metrics, list) or not all(
                isinstance(m, (str, dict)) for m in metrics
            ):
                raise ValueError(
                    f"compile metrics must be a list of names ({', '.join(_metrics.NAMES)}) "
                    f"or {{'class', 'config'}} descriptions"
                )
            for m in metrics:
                _metrics.get(m)  # checks the name or description
            self.metrics = list(metrics)
            self.optimizer = _optimizer_from(comp.get("optimizer"), self.version)

        # optimizer state: per parameter, ints, None, finite floats (Nadam's mu_product) or
        # {"tensor": i} of that param's shape
        self.opt_state: dict[str, Any] | None = None
        used: set[int] = set()
        st = cfg.get("optimizer_state")
        if st is not None:
            st = _dict(st, "optimizer_state", {"t", "params"})
            if self.optimizer is None or not _optim.savable(self.optimizer):
                raise ValueError("optimizer_state without a saved optimizer")
            t = _int_in(st.get("t"), 0, 2**62, "optimizer_state t")
            per = st.get("params")
            if not isinstance(per, list) or (n_params is not None and len(per) != n_params):
                raise ValueError("optimizer_state params must list one state per parameter")
            states = []
            for i, enc in enumerate(per):
                enc = _dict(enc, f"optimizer_state {i}")
                dec: dict[str, Any] = {}
                for k, v in enc.items():
                    if v is None or _is_int(v):
                        if v is not None and not 0 <= v <= 2**62:
                            raise ValueError(f"optimizer_state {i} {k} is out of range")
                        dec[k] = v
                        continue
                    if isinstance(v, float):
                        if not math.isfinite(v):
                            raise ValueError(f"optimizer_state {i} {k} is not finite")
                        dec[k] = v
                        continue
                    ref = _dict(v, f"optimizer_state {i} {k}", {"tensor"})
                    j = _int_in(ref.get("tensor"), 0, len(tensors) - 1, "tensor index")
                    if j in used or (n_weights is not None and j < n_weights):
                        raise ValueError(
                            f"tensor {j} is a weight or another state's, not "
                            f"optimizer state {i} {_short(k)}"
                        )
                    want = self.param_shapes[i] if self.param_shapes is not None else None
                    if want is not None and tensors[j].shape != want:
                        raise ValueError(
                            f"optimizer state tensor {j} has shape {tensors[j].shape}, "
                            f"its parameter {want}"
                        )
                    used.add(j)
                    dec[k] = _Ref(j)
                states.append(dec)
            self.opt_state = {"t": t, "params": states}

        # the tensors: weights first (shapes as derived), then exactly the state tensors
        if n_weights is not None:
            if len(tensors) != n_weights + len(used):
                raise ValueError(
                    f"the file has {len(tensors)} tensors, the architecture needs "
                    f"{n_weights} weights and {len(used)} optimizer state tensors"
                )
            for i, (want, got) in enumerate(zip(self.weight_shapes or [], tensors, strict=False)):
                if got.shape != want:
                    raise ValueError(
                        f"tensor {i} has shape {got.shape} where the architecture needs {want}"
                    )
        self.n_state = len(used)

        tr = cfg.get("training")
        self.seed: int | None = None
        self.epoch = 0
        if tr is not None:
            tr = _dict(tr, "training", {"seed", "epoch"})
            seed = tr.get("seed")
            self.seed = None if seed is None else _int_in(seed, 0, MASK64, "training seed")
            self.epoch = _int_in(tr.get("epoch", 0), 0, 2**62, "training epoch")


def model_from_parts(
    tensors: list[RamTensor],
    meta: dict[str, str],
    where: str,
    compile: bool = True,
    custom_objects: dict[str, Any] | None = None,
) -> Sequential:
    """The model described by a container's ``tensors`` and metadata (FormatError if
    anything does not fit)."""
    from rcmlrs.nn.model import Sequential

    raw = meta.get(META_KEY)
    if raw is None:
        raise _fail(
            f"load_model: {where} holds tensors but no rc.nn model architecture "
            f"(was it written by model.save?)"
        )
    try:
        cfg = json.loads(raw, parse_constant=_reject_constant)
        plan = _Plan(cfg, tensors, dict(custom_objects or {}))
        model = Sequential(plan.layers, name=plan.name)
        model._build(plan.input_shape, Seeds(0, initialize=False))
        weights = model.weights
        n = len(weights)
        # compared again after building (a user layer's shapes may be unknown before, or
        # misdeclared)
        if len(tensors) != n + plan.n_state or any(
            p.shape != t.shape for p, t in zip(weights, tensors, strict=False)
        ):
            raise ValueError("the tensors do not fit the architecture")
        model.set_weights(tensors[:n])
        if compile and plan.lost_loss is not None:
            warnings.warn(
                f"load_model: {where} was trained with the loss function "
                f"{plan.lost_loss!r}, which model.save cannot store; the model is loaded "
                f"uncompiled: pass custom_objects={{{plan.lost_loss!r}: fn}} to load it "
                f"compiled, or call compile(optimizer, loss) before fit",
                stacklevel=3,
            )
        elif compile and plan.loss is not None and plan.optimizer is None:
            warnings.warn(
                f"load_model: {where} was trained with an optimizer that model.save cannot "
                f"store (not one of {sorted(_optim.OPTIMIZERS)}); the model is loaded "
                f"uncompiled: call compile(optimizer, loss) before fit",
                stacklevel=3,
            )
        elif compile and plan.loss is not None:
            model.compile(plan.optimizer, plan.loss, plan.metrics)
            if plan.opt_state is not None:
                opt = model.optimizer
                opt.load_state_dict(
                    {
                        "type": type(opt).__name__,
                        "t": plan.opt_state["t"],
                        "hyper": opt.hyperparameters(),
                        "state": [
                            {k: tensors[v.index] if isinstance(v, _Ref) else v for k, v in st}
                            for st in (enc.items() for enc in plan.opt_state["params"])
                        ],
                    }
                )
        model.seed, model.epoch = plan.seed, plan.epoch
    except FormatError:
        raise
    except _BAD_CONFIG as e:
        raise _fail(f"load_model: bad model description in {where}: {e}") from None
    return model


def load_model(
    path: str | os.PathLike[str],
    compile: bool = True,
    custom_objects: dict[str, Any] | None = None,
) -> Sequential:
    """Rebuild a model written by ``Sequential.save``: same predictions bit for bit, and
    (with ``compile``) the same optimizer and state, so training resumes exactly.
    ``custom_objects`` maps class names to user Layer (or Loss) classes. A damaged or
    hostile file raises ``rc.FormatError``."""
    from rcmlrs import io

    load: Any = io.load_binary_with_metadata
    tensors, meta = load(path)
    return model_from_parts(tensors, meta, repr(os.fspath(path)), compile, custom_objects)


# ===================================================================== weights only


def save_weights(model: Model, path: str | os.PathLike[str]) -> None:
    """The weights of ``model`` (built; ``model.weights``: each layer's params, then its
    non-trainable weights), in order, named ``layer/index``.

    Each keeps its rank-3 ``(layers, rows, cols)`` shape in the file."""
    names = [f"{layer.name}/{i}" for layer in model.layers for i in range(len(layer.weights))]
    desc = {"format": WEIGHTS_FORMAT, "version": 1, "names": names}
    meta = {WEIGHTS_KEY: json.dumps(desc, separators=(",", ":"))}
    rcmlrs.save_tensors_binary(path, list(model.weights), metadata=meta)


def load_weights(path: str | os.PathLike[str]) -> list[RamTensor]:
    """The tensors of a file written by ``save_weights`` (FormatError for anything else).

    They come back as rank-3 float32 RamTensors of the saved shapes, in the saved order."""
    from rcmlrs import io

    load: Any = io.load_binary_with_metadata
    tensors, meta = load(path)
    where = repr(os.fspath(path))
    raw = meta.get(WEIGHTS_KEY)
    if raw is None:
        raise _fail(
            f"load_weights: {where} holds no weights written by save_weights"
            + (" (it is a whole model: use rc.nn.load_model)" if META_KEY in meta else "")
        )
    try:
        desc = _dict(json.loads(raw, parse_constant=_reject_constant), "weights description")
        if desc.get("format") != WEIGHTS_FORMAT:
            raise ValueError(f"format is {_short(desc.get('format'))}, not {WEIGHTS_FORMAT}")
        _int_in(desc.get("version"), 1, 1, "version")
        names = desc.get("names")
        if not isinstance(names, list) or len(names) != len(tensors):
            raise ValueError("names must list one name per tensor")
    except _BAD_CONFIG as e:
        raise _fail(f"load_weights: bad weights description in {where}: {e}") from None
    return tensors


__all__ = [
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "load_model",
    "load_weights",
    "model_from_parts",
    "save_model",
    "save_weights",
]
