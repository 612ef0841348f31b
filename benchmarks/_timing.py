"""Side-by-side timing helpers shared by the benchmarks (not collected by pytest)."""

from __future__ import annotations

import timeit
from collections.abc import Callable


def best_time(fn: Callable[[], object], min_total: float = 0.2, repeat: int = 7) -> float:
    """Best per-call seconds over `repeat` rounds, each long enough to time reliably."""
    number = 1
    while True:
        t = timeit.timeit(fn, number=number)
        if t >= min_total / repeat or number >= 1 << 24:
            break
        number *= 4
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def best_times(
    fns: dict[str, Callable[[], object]], rounds: int = 9, min_round: float = 0.02
) -> dict[str, float]:
    """Best per-call seconds of each contender, timed in alternating rounds so that a
    burst of load on a shared machine hits every contender alike."""
    numbers = {}
    for name, fn in fns.items():
        number = 1
        while timeit.timeit(fn, number=number) < min_round and number < 1 << 24:
            number *= 4
        numbers[name] = number
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t = timeit.timeit(fn, number=numbers[name]) / numbers[name]
            best[name] = min(best[name], t)
    return best


def single_thread(rc):  # noqa: ANN001, ANN201 (rcmlrs module; torch module or None)
    """Pin rcmlrs (and PyTorch, if installed) to one thread, print the versions and
    return the torch module or None."""
    import numpy as np

    rc.set_num_threads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None
    print(
        f"rcmlrs {rc.__version__} backend={rc._runtime.get_backend()} numpy {np.__version__}"
        + (f" torch {torch.__version__}" if torch else " (torch not installed: no torch column)")
    )
    return torch


def fmt_time(s: float) -> str:
    if s < 1e-6:
        return f"{s * 1e9:8.1f} ns"
    if s < 1e-3:
        return f"{s * 1e6:8.2f} us"
    return f"{s * 1e3:8.3f} ms"


def row(name: str, ours: float, rivals: dict[str, float]) -> str:
    parts = [f"{name:<28} rcmlrs {fmt_time(ours)}"]
    for rname, t in rivals.items():
        parts.append(f"{rname} {fmt_time(t)}  ratio {t / ours:5.2f}x")
    return " | ".join(parts)
