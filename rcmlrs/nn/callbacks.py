"""Callbacks: code that ``fit`` calls at fixed points of training, with Keras's conventions.

``fit(callbacks=[...])`` sets ``cb.model`` (``set_model``) and ``cb.params`` (``epochs``,
``steps``, ``batch_size``, ``verbose``) and then calls, in the order of the list:

- ``on_train_begin(logs)`` once, ``on_train_end(logs)`` once at the end (also after a stop);
- ``on_epoch_begin(epoch, logs)`` / ``on_epoch_end(epoch, logs)``: ``epoch`` counts from 0
  within this ``fit`` call; the end's ``logs`` hold "loss", the metrics and their "val_"
  twins (a callback may add keys, e.g. "lr": the ``History`` runs last and records them);
- ``on_batch_begin(batch, logs)`` / ``on_batch_end(batch, logs)``: ``batch`` counts from 0
  within the epoch; the end's ``logs`` are ``{"batch", "size", "loss"}`` with "loss" the
  running mean of this epoch's training loss so far (only callbacks that override these
  hooks are called per batch, so the others cost nothing per step).

Setting ``model.stop_training = True`` in any hook ends training after the current batch
(from a batch hook) or epoch. ``fit`` returns the ``History`` (a Callback too, always last).

Monitored values (``monitor=``): a key of the epoch logs. ``mode="auto"`` maximises names
that contain "acc", "auc", "precision", "recall", "f1" or "r2" and minimises the others;
a monitored key missing from the logs gives one RuntimeWarning and leaves the callback idle.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rcmlrs.nn.progress import History

_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "fmeasure", "r2")


class Callback:
    """Base class: override the hooks you need (all do nothing here). ``self.model`` is the
    model being trained, ``self.params`` fit's settings."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        """Set ``self.model``, the model being trained (``fit`` calls it before
        ``on_train_begin``)."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Set ``self.params``, fit's settings: ``epochs``, ``steps`` (batches per epoch),
        ``batch_size`` and ``verbose``."""
        self.params = params

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called once when ``fit`` starts, before the first epoch (``logs`` is empty); does nothing
        here."""
        pass

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called once when training ends, also after a stop, with the last epoch's logs; does
        nothing here."""
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of each epoch (``epoch`` counted from 0 in this ``fit`` call); does
        nothing here."""
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after each epoch with its logs ("loss", the metrics and their ``val_`` twins), to
        which it may add keys; does nothing here."""
        pass

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before each training batch (``batch`` counted from 0 within the epoch), only for
        callbacks that override it; does nothing here."""
        pass

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called after each training batch with ``{"batch", "size", "loss"}`` ("loss" the running
        mean of the epoch's training loss so far), only for callbacks that override it; does nothing
        here. ``batch`` counts from 0 within the epoch; "size" is the batch's sample count."""
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _overrides(cb: Callback, hook: str) -> bool:
    return getattr(type(cb), hook, None) is not getattr(Callback, hook)


class CallbackList:
    """The callbacks of one ``fit`` call, dispatched in order (used by ``fit``)."""

    def __init__(self, callbacks: Iterable[Callback], model: Any, params: dict[str, Any]):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self.batch_begin = [cb for cb in self.callbacks if _overrides(cb, "on_batch_begin")]
        self.batch_end = [cb for cb in self.callbacks if _overrides(cb, "on_batch_end")]

    @property
    def per_batch(self) -> bool:
        """True when some callback has a batch hook."""
        return bool(self.batch_begin or self.batch_end)

    def train_begin(self, logs: dict[str, Any]) -> None:
        """Call ``on_train_begin(logs)`` of every callback, in list order."""
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def train_end(self, logs: dict[str, Any]) -> None:
        """Call ``on_train_end(logs)`` of every callback, in list order."""
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        """Call ``on_epoch_begin(epoch, logs)`` of every callback, in list order."""
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        """Call ``on_epoch_end(epoch, logs)`` of every callback, in list order (the ``History``
        last)."""
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def batch_begin_(self, batch: int, logs: dict[str, Any]) -> None:
        """Call ``on_batch_begin(batch, logs)`` of the callbacks that override it (the
        ``batch_begin`` list), in order."""
        for cb in self.batch_begin:
            cb.on_batch_begin(batch, logs)

    def batch_end_(self, batch: int, logs: dict[str, Any]) -> None:
        """Call ``on_batch_end(batch, logs)`` of the callbacks that override it (the ``batch_end``
        list), in order."""
        for cb in self.batch_end:
            cb.on_batch_end(batch, logs)


def check_callbacks(callbacks: Any) -> list[Callback]:
    """fit's ``callbacks`` argument as a list (TypeError for anything but Callbacks)."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    try:
        cbs = list(callbacks)
    except TypeError:
        raise TypeError(
            f"fit: callbacks must be a list of rc.nn.callbacks.Callback, got "
            f"{type(callbacks).__name__}"
        ) from None
    for i, cb in enumerate(cbs):
        if not isinstance(cb, Callback):
            raise TypeError(
                f"fit: callbacks[{i}] is a {type(cb).__name__}, not an "
                f"rc.nn.callbacks.Callback (subclass it and override its hooks)"
            )
    return cbs


# ---------------------------------------------------------------------- monitoring


def _number(v: Any, name: str, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{what}: {name} must be a finite number, got {v!r}")
    return float(v)


def _patience(v: Any, name: str, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{what}: {name} must be an int >= 0, got {v!r}")
    return v


class _Monitor(Callback):
    """Shared by the callbacks that watch one logged value: ``monitor``, ``mode`` and the
    comparison ``improved(current, reference)`` with ``min_delta`` (Keras: in "min" mode
    ``current < reference - min_delta``, in "max" mode ``current > reference + min_delta``)."""

    def __init__(self, monitor: str, mode: str, min_delta: float, what: str) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"{what}: monitor must be a log key such as 'val_loss'")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{what}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        if mode == "auto":
            mode = "max" if any(w in monitor.lower() for w in _MAX_WORDS) else "min"
        self.mode = mode
        self.min_delta = abs(_number(min_delta, "min_delta", what))
        self._warned = False

    def improved(self, current: float, reference: float) -> bool:
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def _worst(self) -> float:
        return math.inf if self.mode == "min" else -math.inf

    def _current(self, logs: dict[str, Any] | None) -> float | None:
        v = (logs or {}).get(self.monitor)
        if v is None:
            if not self._warned:
                self._warned = True
                keys = ", ".join(sorted(logs or {})) or "none"
                warnings.warn(
                    f"{type(self).__name__}: the monitored value {self.monitor!r} is not in "
                    f"the epoch logs (available: {keys}); this callback does nothing (for "
                    f"'val_' values pass validation_data or validation_split to fit)",
                    RuntimeWarning,
                    stacklevel=4,
                )
            return None
        return float(v)


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has stopped improving (Keras's EarlyStopping).

    After each epoch (from ``start_from_epoch`` on): an improvement (see ``min_delta``
    above) records the value as best and resets the wait; otherwise ``wait`` grows by one,
    and once ``wait >= patience`` (and it is not the first epoch) training stops. So
    ``patience=0`` stops at the first epoch that does not improve, ``patience=2`` after two
    such epochs in a row. ``baseline``: an improvement also has to beat it to reset the
    wait. ``restore_best_weights``: at the end of training (stopped or not; Keras 3) the
    model gets back the weights of the best epoch, bit for bit (``stopped_epoch``,
    ``best_epoch`` and ``best`` say what happened). ``patience`` and ``start_from_epoch``
    count epochs; ``stopped_epoch`` and ``best_epoch`` are epoch indices from 0 in the
    ``fit`` call; ``min_delta`` and ``baseline`` are in the monitored quantity's units."""

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        what = "EarlyStopping"
        super().__init__(monitor, mode, min_delta, what)
        self.patience = _patience(patience, "patience", what)
        self.verbose = verbose
        self.baseline = None if baseline is None else _number(baseline, "baseline", what)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = _patience(start_from_epoch, "start_from_epoch", what)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._worst()
        self.best_weights: list[Any] | None = None
        self.best_epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Reset the wait, the best value and epoch, the kept weights and ``stopped_epoch``, so that
        each ``fit`` call starts afresh."""
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Compare the monitored value with the best so far (keeping the best epoch's weights with
        ``restore_best_weights``); stop after ``patience`` epochs without an improvement of more
        than ``min_delta``. Epochs before ``start_from_epoch`` are ignored."""
        current = self._current(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # no epoch ever improves
            self.best_epoch = epoch
        self.wait += 1
        if self.improved(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """With ``verbose``, print the epoch training stopped at; with ``restore_best_weights``, set
        the model's weights back to those of the best epoch (stopped or not)."""
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring the weights of epoch {self.best_epoch + 1}, the best")
            self.model.set_weights(self.best_weights)

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"min_delta={self.min_delta}, mode={self.mode!r}, "
            f"restore_best_weights={self.restore_best_weights})"
        )


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch with ``model.save`` (or ``save_weights`` when
    ``save_weights_only``; a subclassed Model needs that). ``path`` is formatted with
    ``epoch`` (counted from 1, as Keras) and the epoch logs: ``"ckpt-{epoch:02d}-
    {val_loss:.3f}.rcml"``. ``save_best_only``: save only when ``monitor`` improved on the
    best value so far (strictly, with ``min_delta=0``; ``best`` holds it)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
    ) -> None:
        super().__init__(monitor, mode, 0.0, "ModelCheckpoint")
        self.path = os.fspath(path)
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.best = self._worst()
        self.saved: list[str] = []  # the paths written, in order

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Save the model (or only its weights with ``save_weights_only``) to ``path`` formatted
        with ``epoch`` (from 1) and the epoch logs, and append that path to ``saved``; with
        ``save_best_only``, only when the monitored value improved on ``best``."""
        logs = logs or {}
        try:
            path = self.path.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"ModelCheckpoint: cannot format the path {self.path!r} with epoch and the "
                f"logs ({', '.join(sorted(logs))}): {e!r}"
            ) from None
        if self.save_best_only:
            current = self._current(logs)
            if current is None or not self.improved(current, self.best):
                return
            self.best = current
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.saved.append(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")

    def __repr__(self) -> str:
        return (
            f"ModelCheckpoint({self.path!r}, monitor={self.monitor!r}, "
            f"save_best_only={self.save_best_only})"
        )


def _set_lr(model: Any, lr: float, what: str) -> None:
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "lr"):
        raise AttributeError(f"{what}: the model's optimizer has no 'lr' attribute to set")
    opt.lr = lr


def _get_lr(model: Any, what: str) -> float:
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "lr"):
        raise AttributeError(f"{what}: the model's optimizer has no 'lr' attribute")
    return float(opt.lr)


class LearningRateScheduler(Callback):
    """At the start of each epoch set ``model.optimizer.lr`` (the live rate: Adam and SGD
    read it at every step) to ``schedule(epoch, lr)``, ``epoch`` counted from 0 in this
    ``fit`` call and ``lr`` the current rate. The epoch logs get the rate as "lr".
    The rate is the optimizer's step size per update (per batch), not per epoch."""

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError("LearningRateScheduler: schedule must be a function (epoch, lr) -> lr")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Set the optimizer's ``lr`` to ``schedule(epoch, lr)``; TypeError when the schedule
        returns no number, ValueError for a negative or non-finite rate."""
        what = "LearningRateScheduler"
        lr = self.schedule(epoch, _get_lr(self.model, what))
        if isinstance(lr, bool) or not isinstance(lr, (int, float)):
            try:
                lr = float(lr)  # a NumPy scalar
            except (TypeError, ValueError):
                raise TypeError(
                    f"{what}: the schedule must return a number, got {type(lr).__name__}"
                ) from None
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"{what}: the schedule returned lr={lr!r} at epoch {epoch}")
        _set_lr(self.model, float(lr), what)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler set the learning rate to {lr}")

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Add the optimizer's current rate to the epoch logs as "lr"."""
        if logs is not None:
            logs["lr"] = _get_lr(self.model, "LearningRateScheduler")


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for
    ``patience`` epochs (Keras's ReduceLROnPlateau, to the step). After each epoch: in
    cooldown, the cooldown counter drops by one and the wait resets; an improvement (by
    more than ``min_delta``) records the best and resets the wait; otherwise, out of
    cooldown, the wait grows and when it reaches ``patience`` and ``lr > min_lr`` the rate
    becomes ``max(lr * factor, min_lr)``, the wait resets and ``cooldown`` epochs start.
    The epoch logs get the rate as "lr". ``patience`` and ``cooldown`` count epochs,
    ``factor`` is a multiplier in [0, 1), ``min_lr`` a rate per optimizer step and
    ``min_delta`` is in the monitored quantity's units."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        what = "ReduceLROnPlateau"
        super().__init__(monitor, mode, min_delta, what)
        factor = _number(factor, "factor", what)
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"{what}: factor must be in [0, 1) (it lowers the rate), got {factor}")
        self.factor = factor
        self.patience = _patience(patience, "patience", what)
        self.cooldown = _patience(cooldown, "cooldown", what)
        self.min_lr = _number(min_lr, "min_lr", what)
        self.verbose = verbose
        self._reset()

    def _reset(self) -> None:
        self.best = self._worst()
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Reset the best value, the wait and the cooldown counter, so that each ``fit`` call starts
        afresh."""
        self._reset()

    def in_cooldown(self) -> bool:
        """True while the cooldown after a reduction runs (``cooldown_counter > 0``)."""
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Log the rate as "lr", then compare the monitored value with the best so far: after
        ``patience`` epochs out of cooldown without an improvement of more than ``min_delta``, set
        the rate to ``max(lr * factor, min_lr)`` and start ``cooldown`` epochs of cooldown."""
        what = "ReduceLROnPlateau"
        if logs is not None:
            logs["lr"] = _get_lr(self.model, what)
        current = self._current(logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.improved(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old = _get_lr(self.model, what)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    _set_lr(self.model, new, what)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reduced the rate to {new}")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def __repr__(self) -> str:
        return (
            f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, "
            f"patience={self.patience}, min_delta={self.min_delta}, cooldown={self.cooldown}, "
            f"min_lr={self.min_lr})"
        )


class CSVLogger(Callback):
    """Write one CSV row per epoch: ``epoch`` (from 0, as Keras) then the epoch logs' keys
    in sorted order (fixed by the first epoch). ``append``: add to an existing file (no
    second header when it already has content) instead of starting it anew."""

    def __init__(self, path: str | os.PathLike[str], separator: str = ",", append: bool = False):
        super().__init__()
        self.path = os.fspath(path)
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._file: Any = None
        self._writer: Any = None
        self._header = True

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Open ``path`` (appending with ``append``, else truncating it) and decide whether a header
        row is due (not when appending to a non-empty file)."""
        self._header = not (
            self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        )
        self._file = open(self.path, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Write the epoch's row, ``epoch`` then the logs' values in the key order fixed by the
        first epoch ("NA" for a missing key), after the header on the first row, and flush."""
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if self._header:
                self._writer.writerow(["epoch", *self.keys])
        self._writer.writerow([epoch, *(logs.get(k, "NA") for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Close the file (the next ``fit`` call opens it again)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None

    def __repr__(self) -> str:
        return f"CSVLogger({self.path!r}, append={self.append})"


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite (Keras's). ``fit``
    then does not apply that batch's update (the weights stay finite) and returns
    normally, where without this callback it raises ``NonFiniteLossError``."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Set ``model.stop_training`` (and print a line) when the batch's running loss is NaN or
        infinite."""
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True


def __getattr__(name: str) -> Any:
    # History lives in progress.py (it subclasses Callback, so it cannot be imported here
    # at the top without a cycle); ``rc.nn.callbacks.History`` is the same class.
    if name == "History":
        from rcmlrs.nn.progress import History

        return History
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
]
