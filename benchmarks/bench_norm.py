"""Batch norm and layer norm, forward and forward+backward, rcmlrs vs PyTorch CPU.

Run: ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_norm.py
[--threads N]``. Both libraries run in this process with the same thread count, timed in
alternating rounds; ratio = torch time / rcmlrs time (> 1: rcmlrs is faster).

Shapes: a Dense batch (256 rows x 1024 features), an image batch (64 images of 32x32x16
as rcmlrs's (64, 1024, 16) / torch's NCHW (64, 16, 32, 32)) and a time-major sequence batch
for layer norm (50 steps x 64 x 256). Training-mode batch norm (batch statistics and the
moving-statistics update); forward+backward = the op and its gradients w.r.t. x, gamma
and beta from an upstream gradient of ones-like random values.
"""

from __future__ import annotations

import argparse

import numpy as np

import rcmlrs as rc
from rcmlrs import _norm

try:  # run as a script from the repository root or from benchmarks/
    from benchmarks._timing import best_times, row, single_thread
except ImportError:  # pragma: no cover
    from _timing import best_times, row, single_thread  # type: ignore[no-redef]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch = single_thread(rc)
    rc.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"threads: {args.threads}")
    F = torch.nn.functional if torch is not None else None
    rng = np.random.default_rng(0)
    cases = [
        ("batch_norm rows 256x1024", "bn", (1, 256, 1024), None),
        ("batch_norm images 64x32x32x16", "bn", (64, 1024, 16), (64, 32, 32, 16)),
        ("layer_norm rows 256x1024", "ln", (1, 256, 1024), None),
        ("layer_norm seq 50x64x256", "ln", (50, 64, 256), None),
    ]
    for name, kind, shape, nhwc in cases:
        c = shape[-1]
        x = rng.standard_normal(shape).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        tx, tg = rc.tensor(x), rc.tensor(g)
        gamma, beta = rc.ones((1, 1, c)), rc.zeros((1, 1, c))
        mm, mv = rc.zeros((1, 1, c)), rc.ones((1, 1, c))

        if kind == "bn":

            def ours_fwd(tx=tx, gamma=gamma, beta=beta, mm=mm, mv=mv):
                return _norm._bn_forward(tx, gamma, beta, mm, mv, True, 0.99, 1e-3)

            def ours_both(tx=tx, tg=tg, gamma=gamma, beta=beta, mm=mm, mv=mv):
                _, mean, _, istd = _norm._bn_forward(tx, gamma, beta, mm, mv, True, 0.99, 1e-3)
                return _norm._bn_backward(tx, tg, mean, istd, gamma, True, True)

        else:

            def ours_fwd(tx=tx, gamma=gamma, beta=beta):
                return _norm._ln_forward(tx, gamma, beta, 1e-3)

            def ours_both(tx=tx, tg=tg, gamma=gamma, beta=beta):
                _, mean, istd = _norm._ln_forward(tx, gamma, beta, 1e-3)
                return _norm._ln_backward(tx, tg, mean, istd, gamma, True)

        fns = {"fwd": ours_fwd, "fwd+bwd": ours_both}
        if torch is not None:
            if kind == "bn" and nhwc is not None:
                xt = torch.tensor(x.reshape(nhwc)).permute(0, 3, 1, 2).contiguous()
                gt = torch.tensor(g.reshape(nhwc)).permute(0, 3, 1, 2).contiguous()
            else:
                xt = torch.tensor(x.reshape(-1, c) if kind == "bn" else x)
                gt = torch.tensor(g.reshape(-1, c) if kind == "bn" else g)
            w = torch.ones(c, requires_grad=True)
            b = torch.zeros(c, requires_grad=True)
            rm, rv = torch.zeros(c), torch.ones(c)
            xr = xt.clone().requires_grad_(True)

            if kind == "bn":

                def t_fwd(xt=xt, w=w, b=b, rm=rm, rv=rv):
                    with torch.no_grad():
                        return F.batch_norm(xt, rm, rv, w, b, True, 0.01, 1e-3)

                def t_both(xr=xr, gt=gt, w=w, b=b, rm=rm, rv=rv):
                    y = F.batch_norm(xr, rm, rv, w, b, True, 0.01, 1e-3)
                    return torch.autograd.grad(y, (xr, w, b), gt)

            else:

                def t_fwd(xt=xt, w=w, b=b, c=c):
                    with torch.no_grad():
                        return F.layer_norm(xt, (c,), w, b, 1e-3)

                def t_both(xr=xr, gt=gt, w=w, b=b, c=c):
                    y = F.layer_norm(xr, (c,), w, b, 1e-3)
                    return torch.autograd.grad(y, (xr, w, b), gt)

            fns.update({"torch fwd": t_fwd, "torch fwd+bwd": t_both})
        best = best_times(fns)
        for part in ("fwd", "fwd+bwd"):
            rivals = {"torch": best[f"torch {part}"]} if torch is not None else {}
            print(row(f"{name} {part}", best[part], rivals))


if __name__ == "__main__":
    main()
