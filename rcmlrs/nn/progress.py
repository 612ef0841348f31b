"""What ``fit`` reports: the per-epoch ``History`` and the Keras-style progress line."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class History:
    """What ``fit`` returns: ``history`` maps "loss", metric names and their ``"val_"``
    twins to one value per epoch; ``epoch`` lists the epoch indices."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params = params or {}

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record epoch ``epoch``'s ``logs`` (name -> value, e.g. ``{"loss": 0.3}``)."""
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


class Progress:
    """A Keras-style progress line per epoch:
    ``45/45 [==============================] - 0s 4ms/step - loss: 0.1234 - accuracy: 0.97``.
    Redrawn in place at most ~20 times a second on a terminal; one final line otherwise."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def _line(self, done: int, logs: dict[str, float], now: float) -> str:
        frac = done / self.total if self.total else 1.0
        filled = int(self.WIDTH * frac)
        if done < self.total:
            bar = "=" * max(filled - 1, 0) + ">" + "." * (self.WIDTH - filled)
        else:
            bar = "=" * self.WIDTH
        elapsed = now - self.start
        w = len(str(self.total))
        if done < self.total:
            eta = elapsed / max(done, 1) * (self.total - done)
            timing = f"ETA: {eta:.0f}s"
        else:
            per = elapsed / max(done, 1)
            per_s = f"{per * 1e3:.0f}ms/step" if per >= 1e-3 else f"{per * 1e6:.0f}us/step"
            timing = f"{elapsed:.0f}s {per_s}"
        parts = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
        return f"{done:>{w}}/{self.total} [{bar}] - {timing}" + (f" - {parts}" if parts else "")

    def due(self) -> bool:
        """True when a redraw is due (a terminal, and 50 ms since the last one)."""
        return self.tty and time.perf_counter() - self.last_draw >= 0.05

    def update(self, done: int, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        self.last_draw = now
        self.stream.write("\r" + self._line(done, logs, now))
        self.stream.flush()

    def finish(self, logs: dict[str, float]) -> None:
        line = self._line(self.total, logs, time.perf_counter())
        self.stream.write(("\r" if self.tty else "") + line + "\n")
        self.stream.flush()


__all__ = ["History", "Progress"]
