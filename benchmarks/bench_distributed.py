"""Data-parallel training on one box: rcmlrs over MPI vs rcmlrs threads vs PyTorch DDP.

MLP 784-1024-1024-1024-10 (relu), cross-entropy, Adam 1e-3, global batch 256, synthetic
data (random inputs, 10 classes), ms per training step (median over rounds and passes; the
three jobs take turns, pass after pass):

1. rcmlrs, 2 MPI processes x 1 thread: ``fit(micro_batches=2)`` (one micro-batch of 128
   rows per process; the deterministic reduction: recursive doubling of the packed
   gradient), and the same step with the reduction swapped for a plain ``MPI_Allreduce``
   (whose bits may change with the process count);
2. rcmlrs, 1 process x 2 threads: plain ``fit`` (batch 256);
3. PyTorch DDP, gloo backend, 2 processes x 1 thread (128 rows per process);
4. the reduction alone on the packed gradient (2.9 M floats, 11.7 MB): the deterministic
   recursive doubling vs ``MPI_Allreduce(SUM)``, best of many rounds, on 2 processes.

Run (needs mpi4py + mpiexec: pip install "rcmlrs[mpi]", and torch):
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_distributed.py
It launches the MPI and DDP jobs itself (``--role`` runs one side; not for users). Prints a
Markdown table; ratio = that time / rcmlrs 2 processes (> 1: rcmlrs over MPI is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

SIZES = [784, 1024, 1024, 1024, 10]
BATCH = 256


def data(steps: int):
    rng = np.random.default_rng(0)
    n = steps * BATCH
    x = rng.standard_normal((n, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], n)
    return x, y


def rc_model():
    import rcmlrs as rc

    layers = [rc.nn.Dense(u, "relu") for u in SIZES[1:-1]] + [rc.nn.Dense(SIZES[-1])]
    model = rc.nn.Sequential(layers)
    model.compile(rc.Adam(lr=1e-3), "cross_entropy")
    model.build((SIZES[0],), seed=0)
    return model


def _fit_ms(model, x, y, steps, micro):
    """ms per step of a one-epoch fit."""
    from rcmlrs import distributed

    distributed.barrier()
    t = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=BATCH, shuffle=True, seed=1, verbose=0,
              micro_batches=micro)  # fmt: skip
    distributed.barrier()
    return (time.perf_counter() - t) / steps * 1e3


def role_rc_mpi(steps: int, rounds: int) -> None:
    import rcmlrs as rc
    from rcmlrs import distributed
    from rcmlrs.nn import parallel

    rc.distributed.init()
    rc.set_num_threads(1)
    comm, mpi = distributed.comm(), distributed._S.mpi
    x, y = data(steps)
    model = rc_model()
    keep = parallel.recursive_doubling

    def plain(buf, tmp):  # the non-deterministic baseline: MPI's own Allreduce
        comm.Allreduce(mpi.IN_PLACE, [buf, mpi.FLOAT], mpi.SUM)

    times: dict[str, list[float]] = {"det": [], "plain": []}
    for r in range(rounds + 1):  # alternating, after a warm-up round
        for name, fn in (("det", keep), ("plain", plain)):
            parallel.recursive_doubling = fn
            try:
                ms = _fit_ms(model, x, y, steps, micro=distributed.size())
            finally:
                parallel.recursive_doubling = keep
            if r:
                times[name].append(ms)
    det, plain_ms = statistics.median(times["det"]), statistics.median(times["plain"])
    # the reduction alone, alternating rounds
    n = model.count_params()
    buf = np.ones(n, dtype=np.float32)
    tmp = np.empty_like(buf)
    best = {"tree": float("inf"), "allreduce": float("inf")}
    for _ in range(15):
        for name in best:
            distributed.barrier()
            t = time.perf_counter()
            if name == "tree":
                parallel.recursive_doubling(buf, tmp)
            else:
                comm.Allreduce(mpi.IN_PLACE, [buf, mpi.FLOAT], mpi.SUM)
            best[name] = min(best[name], (time.perf_counter() - t) * 1e3)
            buf.fill(1.0)
    if distributed.rank() == 0:
        out = {"det": det, "plain": plain_ms, "params": n, **best}
        print("RESULT " + json.dumps(out), flush=True)


def role_rc_threads(steps: int, rounds: int, threads: int) -> None:
    import rcmlrs as rc

    rc.set_num_threads(threads)
    x, y = data(steps)
    model = rc_model()
    ms = [_fit_ms(model, x, y, steps, micro=None) for _ in range(rounds + 1)][1:]
    print("RESULT " + json.dumps({"ms": statistics.median(ms)}), flush=True)


def role_ddp(steps: int, rounds: int, rank: int, world: int) -> None:
    import torch
    import torch.distributed as tdist

    torch.set_num_threads(1)
    tdist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for a, b in zip(SIZES[:-2], SIZES[1:-1], strict=True):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(SIZES[-2], SIZES[-1]))
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(*layers))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    x, y = data(steps)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    per = BATCH // world
    ts = []
    for r in range(rounds + 1):
        perm = torch.from_numpy(np.random.default_rng(r).permutation(len(x)))
        tdist.barrier()
        t = time.perf_counter()
        for s in range(steps):
            idx = perm[s * BATCH + rank * per : s * BATCH + (rank + 1) * per]
            opt.zero_grad(set_to_none=True)
            lossf(model(xt[idx]), yt[idx]).backward()
            opt.step()
        tdist.barrier()
        if r:
            ts.append((time.perf_counter() - t) / steps * 1e3)
    if rank == 0:
        print("RESULT " + json.dumps({"ms": statistics.median(ts)}), flush=True)
    tdist.destroy_process_group()


def _result(text: str) -> dict:
    for line in text.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"no result in:\n{text}")


def _env() -> dict:
    env = dict(os.environ)
    root = str(pathlib.Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def driver(steps: int, rounds: int, passes: int) -> None:
    me = [sys.executable, str(pathlib.Path(__file__).resolve())]
    common = ["--steps", str(steps), "--rounds", str(rounds)]
    exe = pathlib.Path(sys.executable).parent / "mpiexec"
    mpiexec = str(exe) if exe.exists() else shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("bench_distributed: mpiexec not found (pip install 'rcmlrs[mpi]')")
    env = _env()

    def run(cmd):
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
        if p.returncode:
            raise RuntimeError(f"{cmd} failed:\n{p.stdout}\n{p.stderr}")
        return _result(p.stdout)

    def ddp_job(k):
        port = str(29500 + (os.getpid() + k) % 1000)
        denv = dict(env, MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        procs = []
        for r in range(2):
            cmd = [*me, "--role", "ddp", "--rank", str(r), *common]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=denv))
        outs = [p.communicate(timeout=1800)[0] for p in procs]
        if any(p.returncode for p in procs):
            raise RuntimeError("the DDP job failed")
        return _result(outs[0])

    # the jobs take turns, pass after pass, so a burst of load hits each alike
    res: dict[str, list] = {"mpi": [], "thr": [], "ddp": []}
    for k in range(passes):
        res["mpi"].append(run([mpiexec, "-n", "2", *me, "--role", "rc-mpi", *common]))
        res["thr"].append(run([*me, "--role", "rc-threads", "--threads", "2", *common]))
        res["ddp"].append(ddp_job(k))

    def med(job, key):
        return statistics.median(r[key] for r in res[job])

    mpi = {key: med("mpi", key) for key in ("det", "plain", "params", "tree", "allreduce")}
    mpi["tree"] = min(r["tree"] for r in res["mpi"])
    mpi["allreduce"] = min(r["allreduce"] for r in res["mpi"])
    thr, ddp = {"ms": med("thr", "ms")}, {"ms": med("ddp", "ms")}
    base = mpi["det"]
    print(f"MLP {'-'.join(map(str, SIZES))}, global batch {BATCH}, Adam, {steps} steps per "
          f"round, {rounds} rounds x {passes} passes (median ms per step); ratio = time / "
          f"rcmlrs 2 processes")  # fmt: skip
    print()
    print("| configuration | ms / step | ratio |")
    print("| --- | ---: | ---: |")
    rows = [
        ("rcmlrs, 2 MPI processes x 1 thread, deterministic reduction", base),
        ("rcmlrs, 2 MPI processes x 1 thread, plain MPI_Allreduce", mpi["plain"]),
        ("rcmlrs, 1 process x 2 threads", thr["ms"]),
        ("PyTorch DDP (gloo), 2 processes x 1 thread", ddp["ms"]),
    ]
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / base:.2f} |")
    print()
    mb = mpi["params"] * 4 / 1e6
    print(f"Reduction alone, {mpi['params']} floats ({mb:.1f} MB), 2 processes, best of "
          f"{15 * passes}:")  # fmt: skip
    print()
    print("| reduction | ms | ratio |")
    print("| --- | ---: | ---: |")
    print(f"| deterministic (recursive doubling) | {mpi['tree']:.2f} | 1.00 |")
    print(f"| MPI_Allreduce(SUM) | {mpi['allreduce']:.2f} | "
          f"{mpi['allreduce'] / mpi['tree']:.2f} |")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--role", default="driver", choices=["driver", "rc-mpi", "rc-threads", "ddp"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank", type=int, default=0)
    args = ap.parse_args(argv)
    if args.role == "rc-mpi":
        role_rc_mpi(args.steps, args.rounds)
    elif args.role == "rc-threads":
        role_rc_threads(args.steps, args.rounds, args.threads)
    elif args.role == "ddp":
        role_ddp(args.steps, args.rounds, args.rank, 2)
    else:
        driver(args.steps, args.rounds, args.passes)


if __name__ == "__main__":
    main()
