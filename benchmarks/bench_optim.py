"""Optimizer and loss benchmarks: rcmlrs vs NumPy and PyTorch, side by side, 1 thread.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_optim.py

Ratios are rival time / rcmlrs time (> 1 means rcmlrs is faster). Each timing is the best
call over many (the machine is shared and noisy; see ``interleaved``). All contenders
update their own copies of the same data in the same process, taking turns.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import rcmlrs as rc

try:
    import torch
except ImportError:  # torch is optional here
    torch = None


def interleaved(fns: dict, number: int, repeat: int) -> dict:
    """Best seconds per call of each contender. Contenders take turns within every repeat
    (so slow phases of a noisy machine hit all alike); each turn makes ``number`` calls
    back to back (warm caches, as in a training loop) and every call is timed on its own,
    so a time slice lost to another process spoils one sample, not the whole turn. Calls
    under ~20 us are timed in groups of ``number`` instead (timer resolution)."""
    for fn in fns.values():
        fn()
    best = {k: float("inf") for k in fns}
    clock = time.perf_counter
    for _ in range(repeat):
        for k, fn in fns.items():
            if best[k] < 2e-5:
                t0 = clock()
                for _ in range(number):
                    fn()
                best[k] = min(best[k], (clock() - t0) / number)
                continue
            for _ in range(number):
                t0 = clock()
                fn()
                best[k] = min(best[k], clock() - t0)
    return best


# ----------------------------------------------------------------------- Adam


def numpy_adam(p, g, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, tmp=None, tmp2=None):
    """The best plain-NumPy Adam step: in place, preallocated temporaries, no copies."""
    bc1 = 1 - b1**t
    bc2s = (1 - b2**t) ** 0.5
    m *= b1
    np.multiply(g, 1 - b1, out=tmp)
    m += tmp
    v *= b2
    np.multiply(g, g, out=tmp)
    tmp *= 1 - b2
    v += tmp
    np.sqrt(v, out=tmp)
    tmp /= bc2s
    tmp += eps
    np.divide(m, tmp, out=tmp2)
    tmp2 *= -lr / bc1
    p += tmp2


def bench_adam(n: int, number: int, repeat: int) -> list:
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(n).astype(np.float32)
    g0 = (rng.standard_normal(n) * 0.01).astype(np.float32)

    # rcmlrs: the optimizer object (what users call) and the low-level kernel
    rp, rg = rc.from_numpy(p0.copy()), rc.from_numpy(g0.copy())
    opt = rc.Adam([rp], lr=1e-3)

    def rc_step():
        opt.step([rg])

    # NumPy composition
    np_state = dict(
        p=p0.copy(),
        m=np.zeros(n, np.float32),
        v=np.zeros(n, np.float32),
        tmp=np.empty(n, np.float32),
        tmp2=np.empty(n, np.float32),
        t=0,
    )

    def np_step():
        s = np_state
        s["t"] += 1
        numpy_adam(s["p"], g0, s["m"], s["v"], s["t"], tmp=s["tmp"], tmp2=s["tmp2"])

    fns = {"rcmlrs Adam": rc_step, "numpy in-place": np_step}
    if torch is not None:
        torch.set_num_threads(1)
        for label, kw in (
            ("torch foreach=False", dict(foreach=False)),
            ("torch foreach=True", dict(foreach=True)),
            ("torch fused=True", dict(fused=True)),
        ):
            tp = torch.nn.Parameter(torch.from_numpy(p0.copy()))
            tp.grad = torch.from_numpy(g0.copy())
            topt = torch.optim.Adam([tp], lr=1e-3, **kw)
            fns[label] = topt.step
    with torch.no_grad() if torch is not None else _null():
        times = interleaved(fns, number, repeat)
    base = times["rcmlrs Adam"]
    rows = [(f"Adam step, n={n}", k, times[k], times[k] / base) for k in fns]
    return rows


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# ---------------------------------------------------------------- cross-entropy


def bench_xent(rows_: int, cols: int, number: int, repeat: int) -> list:
    rng = np.random.default_rng(1)
    z = (rng.standard_normal((rows_, cols)) * 3).astype(np.float32)
    labels = rng.integers(0, cols, rows_)
    rz = rc.from_numpy(z)
    ce = rc.losses.get("cross_entropy")

    def rc_ce():
        ce.value_and_grad(labels, rz)

    def np_ce():
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - z[np.arange(rows_), labels]))
        g = e / s
        g[np.arange(rows_), labels] -= 1
        g /= rows_
        return loss, g

    fns = {"rcmlrs value_and_grad": rc_ce, "numpy composite": np_ce}
    if torch is not None:
        torch.set_num_threads(1)
        tz = torch.from_numpy(z.copy())
        tl = torch.from_numpy(labels)

        def torch_ce():
            x = tz.detach().requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(x, tl)
            loss.backward()
            return loss.item(), x.grad

        fns["torch F.cross_entropy+backward"] = torch_ce
    times = interleaved(fns, number, repeat)
    base = times["rcmlrs value_and_grad"]
    return [(f"cross-entropy {rows_}x{cols}", k, times[k], times[k] / base) for k in fns]


# ------------------------------------------------------------ binary cross-entropy


def bench_bce(n: int, number: int, repeat: int) -> list:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.99, n).astype(np.float32)
    a = rng.integers(0, 2, n).astype(np.float32)
    rp, ra = rc.from_numpy(p), rc.from_numpy(a)
    bce = rc.losses.get("binary_cross_entropy")

    def rc_bce():
        bce.value_and_grad(ra, rp)

    def np_bce():
        loss = -np.mean(a * np.log(p) + (1 - a) * np.log1p(-p))
        g = (p - a) / np.maximum(p * (1 - p), 1e-12) / n
        return float(loss), g

    fns = {"rcmlrs value_and_grad": rc_bce, "numpy composite": np_bce}
    if torch is not None:
        tp, ta = torch.from_numpy(p.copy()), torch.from_numpy(a.copy())

        def torch_bce():
            x = tp.detach().requires_grad_(True)
            loss = torch.nn.functional.binary_cross_entropy(x, ta)
            loss.backward()
            return loss.item(), x.grad

        fns["torch F.bce+backward"] = torch_bce
    times = interleaved(fns, number, repeat)
    base = times["rcmlrs value_and_grad"]
    return [(f"binary cross-entropy n={n}", k, times[k], times[k] / base) for k in fns]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--number", type=int, default=20)
    args = ap.parse_args()
    rc.set_num_threads(1)
    print(
        f"rcmlrs {rc.__version__}, backend {rc._runtime.get_backend()}, threads "
        f"{rc.get_num_threads()}; numpy {np.__version__}; torch "
        f"{torch.__version__ if torch is not None else 'n/a'}"
    )
    print(f"{'work':<28} {'contender':<32} {'time':>10} {'ratio':>8}")
    rows = bench_adam(args.n, args.number, args.repeat)
    rows += bench_xent(1024, 1000, max(1, args.number // 2), args.repeat)
    rows += bench_xent(32, 10, args.number * 50, args.repeat)
    rows += bench_bce(args.n, max(1, args.number // 2), args.repeat)
    for work, who, t, ratio in rows:
        unit = f"{t * 1e3:8.3f} ms" if t >= 1e-4 else f"{t * 1e6:8.2f} us"
        print(f"{work:<28} {who:<32} {unit:>10} {ratio:7.2f}x")


if __name__ == "__main__":
    main()
