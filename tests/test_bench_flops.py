"""The operation counts behind benchmarks/bench_train.py's GFLOP/s columns, checked
against torch.profiler's own count of the same training step's matrix products."""

from __future__ import annotations

import importlib.util
import itertools
import os
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_train.py"


def bench_train():
    if not BENCH.exists():  # a wheel's test run copies tests/ without benchmarks/
        pytest.skip("benchmarks/bench_train.py is not beside tests/")
    spec = importlib.util.spec_from_file_location("bench_train_under_test", BENCH)
    mod = importlib.util.module_from_spec(spec)
    saved = dict(os.environ)  # the script sets thread-count variables as it loads
    try:
        spec.loader.exec_module(mod)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return mod


def profiled_mm_flops(torch, step):
    """FLOPs that torch.profiler counts for the matrix products (mm, addmm) of step()."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        step()
    return sum(e.flops for e in prof.key_averages() if e.key in ("aten::mm", "aten::addmm"))


@pytest.mark.parametrize("sizes", [(784, 1024, 1024, 1024, 10), (7, 5, 3), (12, 9)])
def test_mlp_flops_match_torch_profiler(sizes):
    torch = pytest.importorskip("torch")
    bt = bench_train()
    batch = 6
    mods = []
    for i, o in itertools.pairwise(sizes):
        mods += [torch.nn.Linear(i, o), torch.nn.ReLU()]
    net = torch.nn.Sequential(*mods[:-1])
    x = torch.randn(batch, sizes[0])  # no gradient wanted for the input, as in training
    y = torch.randint(0, sizes[-1], (batch,))

    def step():
        torch.nn.functional.cross_entropy(net(x), y).backward()

    assert bt._mlp_flops(sizes, batch) == profiled_mm_flops(torch, step)


@pytest.mark.parametrize("T,B,I,H", [(50, 64, 32, 256), (3, 2, 5, 4), (1, 3, 2, 2)])
def test_lstm_flops_match_torch_profiler(T, B, I, H):  # noqa: E741
    """An LSTM written out as products (torch's own LSTM op reports no FLOPs): the gates'
    input product at every step, the recurrent one from the second step on (the state
    starts at zero), the loss on the last state; the head's products are subtracted."""
    torch = pytest.importorskip("torch")
    bt = bench_train()
    W = torch.randn(I, 4 * H, requires_grad=True)
    U = torch.randn(H, 4 * H, requires_grad=True)
    b = torch.randn(4 * H, requires_grad=True)
    head = torch.randn(H, 1, requires_grad=True)
    x = torch.randn(T, B, I)

    def step():
        h = c = None
        for t in range(T):
            g = x[t] @ W + b if h is None else x[t] @ W + h @ U + b
            i, f, gg, o = g.split(H, dim=1)
            i, f, o, gg = i.sigmoid(), f.sigmoid(), o.sigmoid(), gg.tanh()
            c = i * gg if c is None else f * c + i * gg
            h = o * c.tanh()
        (h @ head).square().mean().backward()

    head_flops = 3 * 2 * B * H  # the head's forward, weight gradient and state gradient
    assert bt._lstm_flops(T, B, I, H) == profiled_mm_flops(torch, step) - head_flops
