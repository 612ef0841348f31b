"""``Tape``: records the RamTensor ops run inside it and walks them backwards.

While a tape is active every differentiable op appends one entry (name, output, inputs,
attributes) to it, but only when one of its inputs is *tracked*: watched with
``tape.watch`` or computed from a watched tensor. The entries are therefore already in
topological order, and ``gradient`` walks them backwards, calling one rule per entry
(``rcmlrs.autograd.registry``), each of which calls the fused kernels of the forward pass.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import rcmlrs
from rcmlrs import _tensor
from rcmlrs._tensor import RamTensor, _TapeCore
from rcmlrs.autograd.registry import FORMULAS, RULES

__all__ = ["Tape", "pause", "record"]


# One recorded op is a plain tuple (cheaper to build than an object, and recording is
# the hot path): (name, out, inputs, attrs, needs, backward, versions); ``needs`` has one
# flag per input (tracked when recorded), ``versions`` each tensor input's in-place
# version counter then (-1 for a number: nothing to check).
_NAME, _OUT, _INPUTS, _ATTRS, _NEEDS, _BACKWARD, _VERSIONS = range(7)


class _Recorder:
    """What ``_tensor._tape`` points at while tapes are active: forwards each op to
    every active tape of the recording thread (innermost last)."""

    def __init__(self) -> None:
        self.tapes: list[Tape] = []

    def record(self, name, out, inputs, attrs=None, backward=None) -> None:
        for t in self.tapes:
            t.record(name, out, inputs, attrs, backward)


_RECORDER = _Recorder()


def _install() -> None:
    # one active tape (the usual case) is called directly, several through the recorder
    tapes = _RECORDER.tapes
    _tensor._set_tape(None if not tapes else tapes[0] if len(tapes) == 1 else _RECORDER)


class pause:
    """Context manager: nothing is recorded inside (rules, fused layers, optimizers)."""

    def __enter__(self) -> None:
        self._saved = _tensor._get_tape()
        _tensor._set_tape(None)

    def __exit__(self, *exc: Any) -> None:
        _tensor._set_tape(self._saved)


def record(name: str, out: Any, inputs: tuple, attrs: dict | None = None, backward=None) -> None:
    """Record one op on the active tapes (no-op without one). For Python code that
    builds an op of its own (a loss, a fused layer); ``backward(g, needs) -> tuple``
    replaces the registry rule for this entry."""
    rec = _tensor._get_tape()
    if rec is not None:
        rec.record(name, out, inputs, attrs, backward)


def _key(t: RamTensor) -> int:
    return id(t)


class Tape(_TapeCore):
    """Records differentiable RamTensor ops for reverse-mode differentiation.

    >>> x = rc.tensor([[1.0, 2.0]])
    >>> with rc.autograd.Tape() as tape:
    ...     tape.watch(x)
    ...     y = (x * x).sum(axis=2)
    >>> tape.gradient(y, [x])[0].tolist()
    [[[2.0, 4.0]]]

    Only ops with a watched input (or an input computed from one) are recorded, so a tape
    costs nothing for the rest of the program. A tape records the ops of the thread that
    entered it. ``gradient`` may be called more than once; it refuses (RuntimeError) when
    a recorded input was modified in place after it was recorded.
    """

    def __init__(self) -> None:
        # _entries, _tracked (id -> tensor, kept alive so ids stay unique) and _thread
        # live in _TapeCore, with the C recording path and the backward walk
        self._watched: list[RamTensor] = []
        self._active = False

    # ---------------------------------------------------------------- recording
    def __enter__(self) -> Tape:
        """Start recording this thread's ops on the tape and return it; RuntimeError when the tape
        is already active."""
        if self._active:
            raise RuntimeError("Tape: this tape is already active")
        self._thread = threading.get_ident()
        self._active = True
        _RECORDER.tapes.append(self)
        _install()
        return self

    def __exit__(self, *exc: Any) -> None:
        """Stop recording; the recorded ops stay for ``gradient``."""
        self._active = False
        if self in _RECORDER.tapes:
            _RECORDER.tapes.remove(self)
        _install()

    def watch(self, *tensors: Any) -> None:
        """Track these tensors (or lists of tensors): ops on them are recorded.

        Tensors of any shape may be watched; they are neither copied nor changed."""
        tracked = self._tracked
        for t in tensors:
            if isinstance(t, (list, tuple)):
                self.watch(*t)
                continue
            if not isinstance(t, RamTensor):
                raise TypeError(f"Tape.watch: expected a RamTensor, got {type(t).__name__}")
            if id(t) not in tracked:
                tracked[id(t)] = t
                self._watched.append(t)

    # ---------------------------------------------------------------- gradients
    def gradient(self, target: RamTensor, sources: Any, output_gradient: Any = None):
        """d(target)/d(source) for each source: a list of RamTensors shaped like the
        sources (a single tensor when ``sources`` is one tensor).

        ``target`` is normally a size-1 tensor (a reduction with axes, a loss object's
        call); for a larger one the gradient is that of its sum, or of
        ``sum(target * output_gradient)`` when ``output_gradient`` is given. A source the
        target does not depend on gets zeros. Sources must have been watched (or computed
        on the tape).
        """
        single = isinstance(sources, RamTensor)
        srcs = [sources] if single else list(sources)
        for i, s in enumerate(srcs):
            if not isinstance(s, RamTensor):
                raise TypeError(
                    f"Tape.gradient: source {i} is a {type(s).__name__}, not a RamTensor"
                )
            if id(s) not in self._tracked:
                raise ValueError(
                    f"Tape.gradient: source {i} (shape {s.shape}) was not watched; call "
                    f"tape.watch(t) before computing with it"
                )
        if not isinstance(target, RamTensor):
            raise TypeError(
                f"Tape.gradient: target must be a RamTensor, got {type(target).__name__} "
                f"(a reduction without an axis returns a float: use sum(axis=...))"
            )
        if output_gradient is None:
            seed = rcmlrs.ones(target.shape)
        else:
            seed = rcmlrs.tensor(output_gradient)
            if seed.shape != target.shape:
                raise rcmlrs.ShapeError(
                    f"Tape.gradient: output_gradient shape {seed.shape} differs from the "
                    f"target's {target.shape}"
                )
        keep = {id(s) for s in srcs}
        if all(id(w) in keep for w in self._watched):
            # every tracked tensor depends on a source: the recorded flags are the plan,
            # and an entry whose output gets no gradient is skipped as it comes
            plan: Any = self._entries[::-1]
        else:  # the entries on a path from a source, with the flags of such inputs only
            plan = [(*e[:_NEEDS], needs, *e[_BACKWARD:]) for e, needs in self._plan(target, srcs)]
        grads: dict[int, RamTensor] = {id(target): seed}
        with pause():
            self._walk(list(plan), grads, keep, RULES)
        return srcs_out(srcs, grads, single)

    def _plan(self, target: RamTensor, srcs: Sequence[RamTensor]):
        """The entries on a path from a source to the target, last first, each with the
        per-input flags of the inputs that lead back to a source."""
        reach = {_key(s) for s in srcs}
        for e in self._entries:  # forward: what depends on a source
            if any(n and _key(x) in reach for x, n in zip(e[_INPUTS], e[_NEEDS], strict=True)):
                reach.add(_key(e[_OUT]))
        plan = []
        wanted = {_key(target)}
        for e in reversed(self._entries):
            if _key(e[_OUT]) not in wanted:
                continue
            needs = tuple(
                bool(n) and _key(x) in reach for x, n in zip(e[_INPUTS], e[_NEEDS], strict=True)
            )
            if not any(needs):
                continue
            plan.append((e, needs))
            for x, n in zip(e[_INPUTS], needs, strict=True):
                if n:
                    wanted.add(_key(x))
        return plan

    # ---------------------------------------------------------------- reading
    def __len__(self) -> int:
        """The number of recorded ops."""
        return len(self._entries)

    @property
    def entries(self) -> list[tuple[str, RamTensor, tuple, dict | None]]:
        """The recorded ops as (name, output, inputs, attrs), in execution order.

        ``output`` and ``inputs`` are the RamTensors themselves, in their own shapes."""
        return [e[:4] for e in self._entries]

    def listing(self, target: RamTensor | None = None, sources: Any = None) -> str:
        """The recorded program as text: the forward ops in order, then the backward
        program (for ``target`` and ``sources`` when given: only the entries a gradient
        would run, with pruned inputs shown as ``_``)."""
        names: dict[int, str] = {}
        for i, w in enumerate(self._watched):
            names[_key(w)] = f"w{i}"

        def nm(x: Any) -> str:
            if not isinstance(x, RamTensor):
                shape = getattr(x, "shape", None)  # an array of targets: its shape, not values
                return f"{type(x).__name__}{tuple(shape)}" if shape is not None else repr(x)
            k = _key(x)
            if k not in names:
                names[k] = f"c{sum(1 for v in names.values() if v.startswith('c'))}"
            return names[k]

        lines = ["forward:"]
        for i, w in enumerate(self._watched):
            lines.append(f"  w{i} = watch {w.shape}")
        for j, (name, out, inputs, attrs, *_) in enumerate(self._entries):
            names[_key(out)] = f"t{j}"
            args = ", ".join(nm(x) for x in inputs)
            lines.append(f"  t{j} = {name}({args}{_fmt_attrs(attrs)}) -> {out.shape}")
        if target is not None:
            srcs = [sources] if isinstance(sources, RamTensor) else list(sources or self._watched)
            plan = self._plan(target, srcs)
            lines.append(f"backward (d{nm(target)} = ones):")
        else:
            plan = [(e, e[_NEEDS]) for e in reversed(self._entries)]
            lines.append("backward:")
        for (name, out, inputs, _, _, backward, _), needs in plan:
            outs = ", ".join(f"d{nm(x)}" if n else "_" for x, n in zip(inputs, needs, strict=True))
            f = FORMULAS.get(name, "") if backward is None else "fused backward"
            lines.append(f"  {outs} += {name}'(d{nm(out)})" + (f"   # {f}" if f else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Tape: {len(self._entries)} ops, {len(self._watched)} watched>"


def _fmt_attrs(attrs: dict | None) -> str:
    if not attrs:
        return ""
    parts = []
    for k, v in attrs.items():
        if k == "act" or v is False or v is None or (isinstance(v, float) and v == 0.0):
            continue  # defaults and internal ids: noise in a listing
        if isinstance(v, (bool, int, float, str, tuple)) and len(repr(v)) < 40:
            parts.append(f"{k}={v!r}")
    return (", " + ", ".join(parts)) if parts else ""


def srcs_out(srcs: Sequence[RamTensor], grads: dict[int, RamTensor], single: bool):
    out: list[RamTensor] = []
    given: set[int] = set()
    for s in srcs:
        g = grads.get(id(s))
        if g is None:
            g = rcmlrs.zeros(s.shape)
        elif id(g) in given:
            g = g.copy()  # two sources with one gradient object: give each its own
        given.add(id(g))
        out.append(g)
    return out[0] if single else out
