"""What ``fit`` reports: the per-epoch ``History`` and the Keras-style progress line.

The progress line is this module's small ``Progress`` class, not tqdm: it needs no extra
dependency, prints Keras's familiar line (which existing logs and tests read), and its
redraw is throttled to ~20 a second so that it costs nothing per step of the fused path.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from rcmlrs.nn.callbacks import Callback


class History(Callback):
    """What ``fit`` returns, a Callback that ``fit`` always runs last: ``history`` maps
    "loss", the metric names, their ``val_`` twins (and "lr" when a learning-rate
    callback logs it) to one value per epoch; ``epoch`` lists the epoch indices (from 0 in the
    ``fit`` call); ``params`` holds fit's settings; ``model`` the trained model."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params = params or {}

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Clear ``epoch`` at the start of a ``fit`` call."""
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Record the epoch: append ``epoch`` to ``epoch`` and each value of ``logs`` to
        ``history[key]`` (see ``append``)."""
        self.append(epoch, dict(logs or {}))

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record epoch ``epoch``'s ``logs`` (name -> value, e.g. ``{"loss": 0.3}``)."""
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"

    def plot(self, path: str | os.PathLike[str], dpi: int = 100) -> None:
        """Write a PNG to ``path``: one panel for the loss and one per metric, each value
        against the epoch (1-based), training solid and its ``val_`` twin dashed. Needs
        matplotlib (``pip install rcmlrs[plot]``); draws off-screen (the Agg canvas, no
        window, whatever the pyplot backend)."""
        try:
            from matplotlib.backends.backend_agg import (  # type: ignore[import-not-found,unused-ignore]
                FigureCanvasAgg,
            )
            from matplotlib.figure import Figure  # type: ignore[import-not-found,unused-ignore]
            from matplotlib.ticker import MaxNLocator  # type: ignore[import-not-found,unused-ignore]
        except ImportError as e:
            raise ImportError(
                "History.plot needs matplotlib: pip install rcmlrs[plot] "
                "(or pip install matplotlib)"
            ) from e
        keys = [k for k in self.history if not k.startswith("val_")]
        keys += [k[4:] for k in self.history if k.startswith("val_") and k[4:] not in keys]
        if not keys:
            raise ValueError("History.plot: nothing to plot (no epoch was run)")
        fig = Figure(figsize=(5.0 * len(keys), 3.6))
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(keys), squeeze=False)[0]
        for ax, key in zip(axes, keys, strict=True):
            for name, style in ((key, "-"), ("val_" + key, "--")):
                values = self.history.get(name)
                if values:
                    ax.plot(range(1, len(values) + 1), values, style, marker="o", label=name)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(key)
            ax.grid(True, alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(os.fspath(path), format="png", dpi=dpi)


def _rate(count: float, seconds: float, unit: str) -> str:
    r = count / seconds if seconds > 0 else 0.0
    if r >= 1e6:
        return f"{r / 1e6:.1f}M {unit}/s"
    if r >= 1e4:
        return f"{r / 1e3:.0f}k {unit}/s"
    return f"{r:.0f} {unit}/s" if r >= 10 else f"{r:.2f} {unit}/s"


def _duration(s: float) -> str:
    s = max(s, 0.0)
    if s < 60:
        return f"{s:.0f}s"
    m, sec = divmod(int(s + 0.5), 60)
    return f"{m}:{sec:02d}" if m < 60 else f"{m // 60}:{m % 60:02d}:{sec:02d}"


class Progress:
    """A Keras-style progress line per epoch, with the rate (samples/s when the sample
    count is known, else steps/s) and, while running, the ETA::

        45/45 [==============================] - 0s 4ms/step - 11250 samples/s - loss: 0.1234

    On a terminal (``stream.isatty()``) ``begin`` prints the ``prefix`` ("Epoch 1/3") on its
    own line and ``update`` redraws the line in place with ``\\r`` (``due`` throttles it to
    ~20 redraws a second); elsewhere (a file, a CI log, pytest's capture) nothing is drawn
    during the epoch and ``finish`` prints ONE line, ``prefix - <final line>``.
    ``total=None``: the number of steps is unknown (a generator); the line shows the count
    and the rate, no bar and no ETA. ``tty`` overrides the detection (``verbose=2`` of fit
    asks for one line per epoch even on a terminal)."""

    WIDTH = 30

    def __init__(
        self,
        total: int | None,
        stream: TextIO | None = None,
        prefix: str = "",
        tty: bool | None = None,
    ) -> None:
        self.total = total
        self.stream = stream or sys.stdout
        if tty is None:
            tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.tty = tty
        self.prefix = prefix
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.samples = 0  # samples seen so far (set by the caller; 0: unknown)

    def begin(self) -> None:
        """Start the epoch's clock (and print the prefix line on a terminal).

        The clock is wall time; the line shows it in seconds and ms per step."""
        if self.tty and self.prefix:
            self.stream.write(self.prefix + "\n")
            self.stream.flush()
        self.start = time.perf_counter()

    def _rate(self, done: int, elapsed: float) -> str:
        if self.samples:
            return _rate(self.samples, elapsed, "samples")
        return _rate(done, elapsed, "steps")

    def _line(self, done: int, logs: dict[str, float], now: float, final: bool = False) -> str:
        total = self.total
        elapsed = now - self.start
        if total is None:
            head = f"{done}/?" if not final else f"{done}/{done}"
            bar = ""
        else:
            frac = done / total if total else 1.0
            filled = int(self.WIDTH * frac)
            if done < total:
                bar = "=" * max(filled - 1, 0) + ">" + "." * (self.WIDTH - filled)
            else:
                bar = "=" * self.WIDTH
            w = len(str(total))
            head = f"{done:>{w}}/{total}"
            bar = f" [{bar}]"
        if not final and total is not None and done < total:
            eta = elapsed / max(done, 1) * (total - done)
            timing = f"ETA: {_duration(eta)}"
        elif not final:
            timing = _duration(elapsed)
        else:
            per = elapsed / max(done, 1)
            per_s = f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"
            timing = f"{_duration(elapsed)} {per_s}"
        parts = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
        line = f"{head}{bar} - {timing} - {self._rate(done, elapsed)}"
        return line + (f" - {parts}" if parts else "")

    def due(self) -> bool:
        """True when a redraw is due (a terminal, and 50 ms since the last one)."""
        return self.tty and time.perf_counter() - self.last_draw >= 0.05

    def update(self, done: int, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        self.last_draw = now
        self.stream.write("\r" + self._line(done, logs, now))
        self.stream.flush()

    def finish(self, logs: dict[str, float], done: int | None = None) -> None:
        """The epoch's final line (``done``: the steps taken, for ``total=None`` or a stop).

        ``done`` counts steps (batches), not samples."""
        steps = self.total if done is None else done
        if steps is None:
            steps = 0
        line = self._line(steps, logs, time.perf_counter(), final=True)
        if self.tty:
            self.stream.write("\r" + line + "\n")
        else:
            self.stream.write((f"{self.prefix} - " if self.prefix else "") + line + "\n")
        self.stream.flush()


__all__ = ["History", "Progress"]
