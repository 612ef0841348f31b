"""Where an MLP training epoch's time goes, rcmlrs and PyTorch, and the best ratio that
faster non-GEMM code could still buy: the issue-15 MLP (784-1024x3-10, relu, Adam,
cross-entropy, batch 256, 4096 samples) at 1 and 2 threads.

rcmlrs: each layer's forward and backward (its matrix products with bias and activation)
and the optimizer step, timed by wrapping them for a few epochs; "rest" is the loop, the
loss and Python. PyTorch: the epoch unprofiled (median of 5), and the share of a profiled
epoch spent in aten::mm / aten::addmm (torch.profiler self time).

"bound" = PyTorch's epoch / rcmlrs's layer time: the ratio rcmlrs would reach if its
optimizer, loss and Python cost nothing. Where PyTorch's matrix products run as fast as
rcmlrs's (bench_shapes.py compares them shape by shape), that bound is about
1 / (PyTorch's mm share).

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_mlp_bound.py
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

# first: bench_train sets the BLAS / OpenMP thread variables before NumPy loads. The
# model, data and PyTorch epoch are its --big MLP row's.
from bench_train import MLP_BATCH, mlp_data, rcmlrs_mlp, torch_mlp_epoch

import rcmlrs as rc
from rcmlrs.nn.layers import dense as _dense

EPOCHS = 4


def ours(threads):
    """(epoch ms, {part: ms per epoch}) for rcmlrs."""
    rc.set_num_threads(threads)
    x, y = mlp_data()
    model = rcmlrs_mlp()
    model.fit(x, y, epochs=1, batch_size=MLP_BATCH, verbose=0)  # warm-up
    parts = defaultdict(float)

    def timed(obj, name, key):
        fn = getattr(obj, name)

        def wrapper(*a, **k):
            t = time.perf_counter()
            out = fn(*a, **k)
            parts[key] += time.perf_counter() - t
            return out

        return fn, wrapper

    saved = []
    for name in ("forward", "_backward"):  # plain functions: they bind as methods
        fn, w = timed(_dense.Dense, name, "layers")
        saved.append((name, fn))
        setattr(_dense.Dense, name, w)
    opt = model.optimizer
    fn, w = timed(opt, "step", "optimizer")
    opt.step = w
    try:
        t = time.perf_counter()
        for _ in range(EPOCHS):
            model.fit(x, y, epochs=1, batch_size=MLP_BATCH, verbose=0)
        total = (time.perf_counter() - t) / EPOCHS
    finally:
        for name, f in saved:
            setattr(_dense.Dense, name, f)
        del opt.step
    parts = {k: v / EPOCHS * 1e3 for k, v in parts.items()}
    parts["rest"] = total * 1e3 - sum(parts.values())
    return total * 1e3, parts


def theirs(threads):
    """(median epoch ms unprofiled, mm + addmm share of a profiled epoch) for PyTorch."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    torch.set_num_threads(threads)
    epoch = torch_mlp_epoch(*mlp_data())
    epoch()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t = time.perf_counter()
        epoch()
        wall = time.perf_counter() - t
    mm = sum(
        e.self_cpu_time_total for e in prof.key_averages() if e.key in ("aten::mm", "aten::addmm")
    )
    return statistics.median(times) * 1e3, mm / 1e6 / wall


def main():
    print(f"rcmlrs {rc.__version__}, backend {rc._runtime.get_backend()}; ms per epoch")
    print(
        "| threads | rcmlrs epoch | layers (fwd + bwd) | optimizer | rest | PyTorch epoch "
        "| PyTorch mm share | ratio | bound (PyTorch epoch / rcmlrs layers) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for threads in (1, 2):
        total, parts = ours(threads)
        tt, share = theirs(threads)
        print(
            f"| {threads} | {total:.0f} | {parts['layers']:.0f} | {parts['optimizer']:.0f} | "
            f"{parts['rest']:.0f} | {tt:.0f} | {100 * share:.0f}% | {tt / total:.2f}x | "
            f"{tt / parts['layers']:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
