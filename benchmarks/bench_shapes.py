"""GEMM on the shapes a network runs: rcmlrs vs NumPy (OpenBLAS) vs PyTorch, 1 and 2 threads.

Shapes (m x k @ k x n, ``ta``/``tb`` = the operand is stored transposed, as the backward
products use it):

- MLP 784-1024-1024-1024-10, batch 256: every layer's forward (X @ W), input gradient
  (dY @ W^T, transpose_b) and weight gradient (X^T @ dY, transpose_a); and 32x784 @ 784x512.
- LSTM hidden 256, batch 64, seq 50, input 32: the whole-sequence input projection, the
  per-step recurrent product (m = batch), its backward (dG @ U^T) and the weight gradients
  (H^T @ dG over the sequence: long k, transpose_a).
- tall / wide / skinny: 4096x64x64, 64x4096x64, m = 1..256 with k, n 64..4096.
- square n = 256 ... 2048 (every transpose at 512).
- GEMV: 1x1024 @ 1024x1024 (m = 1) and 1024x1024 @ 1024x1 (n = 1).
- convolution-shaped weight gradients: few output columns, long k, transpose_a
  (im2col^T @ dY of LeNet / CIFAR-size layers).

One-thread rows are timed by the calling thread's CPU time (every contender then computes
on that thread; a loaded machine's preemptions drop out; --wall for the wall clock),
multi-thread rows by the wall clock, each round after 0.3 s of sleep (the other
contenders' workers stop spinning) and 30 ms of untimed calls. Each contender writes into
a preallocated output (``_gemm_into``, ``np.matmul(out=)``, ``torch.matmul(out=)``), so
the allocator is not timed. Contenders are timed in alternating rounds (the machine may be
shared); the table gives the median GFLOP/s over the rounds with the spread (min-max of
the rounds, in GFLOP/s), the fraction of the measured FMA peak (per core times the thread
count), and the ratios rival time / rcmlrs time (> 1: rcmlrs is faster).

FMA peak: a small C loop of independent register FMAs (16 zmm or 12 ymm accumulators, no
memory traffic) compiled with the system C compiler at startup and timed on one
thread; if no compiler is available, the best square-GEMM GFLOP/s of any contender is
used instead (the header says which).

Idle CPU: after a 2-thread kernel the process's CPU time is measured over one second of
sleep (``resource.getrusage``) before NumPy or PyTorch run anything threaded; a thread
pool that kept spinning would show up here (expected: ~0 ms).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=. python benchmarks/bench_shapes.py
    (--quick: fewer shapes and rounds; --threads 1 or 2 to run one thread count)
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit

import numpy as np

import rcmlrs as rc
from rcmlrs import _runtime, _tensor

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

# (group, m, k, n, ta, tb)
MLP = [
    ("mlp fwd", 256, 784, 1024, 0, 0),
    ("mlp fwd", 256, 1024, 1024, 0, 0),
    ("mlp fwd", 256, 1024, 10, 0, 0),
    ("mlp dX", 256, 1024, 784, 0, 1),
    ("mlp dX", 256, 1024, 1024, 0, 1),
    ("mlp dX", 256, 10, 1024, 0, 1),
    ("mlp dW", 784, 256, 1024, 1, 0),
    ("mlp dW", 1024, 256, 1024, 1, 0),
    ("mlp dW", 1024, 256, 10, 1, 0),
    ("mlp 32", 32, 784, 512, 0, 0),
    ("mlp 32 dX", 32, 512, 784, 0, 1),
    ("mlp 32 dW", 784, 32, 512, 1, 0),
    # narrow layers after a 1024- or 4096-wide one: X^T dY, X's rows 4 KB or 16 KB long
    ("mlp dW n=128", 1024, 256, 128, 1, 0),
    ("mlp dW n=100", 4096, 512, 100, 1, 0),
]
LSTM = [
    ("lstm x-proj", 3200, 32, 1024, 0, 0),
    ("lstm step", 64, 256, 1024, 0, 0),
    ("lstm step dH", 64, 1024, 256, 0, 0),
    ("lstm step dH^T", 64, 1024, 256, 0, 1),
    ("lstm dU", 256, 3136, 1024, 1, 0),
    ("lstm dW", 32, 3200, 1024, 1, 0),
    ("lstm dX", 3200, 1024, 32, 0, 0),
]
SKINNY = [
    ("tall", 4096, 64, 64, 0, 0),
    ("wide k", 64, 4096, 64, 0, 0),
    ("m=16", 16, 1024, 1024, 0, 0),
    ("m=64 n=4096", 64, 1024, 4096, 0, 0),
    ("m=128 k=4096", 128, 4096, 256, 0, 0),
    ("m=8", 8, 4096, 512, 0, 0),
    # a B beyond L2 streamed in place by a few rows (short k blocks), or packed a panel at
    # a time when transposed
    ("m=8 n=1024", 8, 1024, 1024, 0, 0),
    ("m=12 k=2048", 12, 2048, 2048, 0, 0),
    ("m=8 tb", 8, 1024, 1024, 0, 1),
    ("n=16", 1024, 1024, 16, 0, 0),
    ("m=1..4 k=64", 4, 64, 4096, 0, 0),
]
SQUARE = [("square", n, n, n, 0, 0) for n in (256, 512, 1024, 2048)] + [
    ("square ta", 512, 512, 512, 1, 0),
    ("square tb", 512, 512, 512, 0, 1),
    ("square ta tb", 512, 512, 512, 1, 1),
]
GEMV = [
    ("gemv m=1", 1, 1024, 1024, 0, 0),
    ("gemv m=1 tb", 1, 1024, 1024, 0, 1),
    ("gemv n=1", 1024, 1024, 1, 0, 0),
    ("gemv n=1 ta", 1024, 1024, 1, 1, 0),
    ("gemv m=1 4096", 1, 4096, 4096, 0, 0),
]
CONV = [
    ("conv dW lenet1", 25, 36864, 6, 1, 0),  # 5x5x1 -> 6, 64 x 24x24
    ("conv dW lenet2", 150, 4096, 16, 1, 0),  # 5x5x6 -> 16, 64 x 8x8
    ("conv dW cifar1", 27, 65536, 32, 1, 0),  # 3x3x3 -> 32, 64 x 32x32
    ("conv dW cifar2", 288, 16384, 64, 1, 0),  # 3x3x32 -> 64, 64 x 16x16
    ("conv fwd cifar1", 65536, 27, 32, 0, 0),
    ("conv dcols cifar2", 16384, 64, 288, 0, 1),
]
QUICK = {
    ("mlp fwd", 256, 784, 1024),
    ("mlp dX", 256, 1024, 1024),
    ("mlp dW", 1024, 256, 1024),
    ("mlp 32", 32, 784, 512),
    ("lstm step", 64, 256, 1024),
    ("lstm dU", 256, 3136, 1024),
    ("tall", 4096, 64, 64),
    ("wide k", 64, 4096, 64),
    ("square", 512, 512, 512),
    ("square", 1024, 1024, 1024),
    ("gemv m=1", 1, 1024, 1024),
    ("gemv n=1", 1024, 1024, 1),
    ("conv dW cifar2", 288, 16384, 64),
}

FMA_SRC = r"""
#include <immintrin.h>
#include <stddef.h>
/* RC_NACC independent FMA chains in registers; returns a value so nothing is dropped.
 * With AVX2 only 16 ymm registers exist: 12 chains plus the two constants fit (16 chains
 * would spill to the stack every iteration and time the stores, a third of the peak on
 * Zen 3); 12 chains still cover two FMA ports of latency 5. */
#if defined(__AVX512F__)
#define RC_NACC 16
#define RC_LANES 16
typedef __m512 vec;
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define STORE _mm512_storeu_ps
#else
#define RC_NACC 12
#define RC_LANES 8
typedef __m256 vec;
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define STORE _mm256_storeu_ps
#endif
float rc_fma_loop(size_t iters) {
    vec a0 = SET1(1.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0,
        a9 = a0, a10 = a0, a11 = a0;
    const vec x = SET1(0.999999f), y = SET1(1e-7f);
#define F(r) r = FMA(r, x, y);
#if RC_NACC == 16
    vec a12 = a0, a13 = a0, a14 = a0, a15 = a0;
#endif
    for (size_t i = 0; i < iters; i++) {
        F(a0) F(a1) F(a2) F(a3) F(a4) F(a5) F(a6) F(a7) F(a8) F(a9) F(a10) F(a11)
        /* opaque to the compiler: the chains stay distinct and all stay live */
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
        __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
#if RC_NACC == 16
        F(a12) F(a13) F(a14) F(a15)
        __asm__ volatile("" : "+v"(a12), "+v"(a13), "+v"(a14), "+v"(a15));
#endif
    }
    float out[16];
    a0 = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    a8 = ADD(ADD(a8, a9), ADD(a10, a11));
#if RC_NACC == 16
    a8 = ADD(a8, ADD(ADD(a12, a13), ADD(a14, a15)));
#endif
    STORE(out, ADD(a0, a8));
    return out[0];
}
int rc_fma_lanes(void) { return RC_LANES; }
int rc_fma_chains(void) { return RC_NACC; }
"""


def measure_fma_peak():
    """(GFLOP/s per core, how) from an in-register FMA loop, or (None, reason)."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None or platform.machine().lower() not in ("x86_64", "amd64"):
        return None, "no C compiler / not x86-64"
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    isa = ["-mavx512f", "-mfma"] if " avx512f" in flags else ["-mavx2", "-mfma"]
    with tempfile.TemporaryDirectory() as d:
        src, lib = os.path.join(d, "fma.c"), os.path.join(d, "fma.so")
        with open(src, "w") as f:
            f.write(FMA_SRC)
        r = subprocess.run(
            [cc, "-O2", *isa, "-shared", "-fPIC", src, "-o", lib], capture_output=True, text=True
        )
        if r.returncode != 0:
            return None, f"compile failed: {r.stderr.strip()[:80]}"
        so = ctypes.CDLL(lib)
        so.rc_fma_loop.restype = ctypes.c_float
        so.rc_fma_loop.argtypes = [ctypes.c_size_t]
        lanes, chains = so.rc_fma_lanes(), so.rc_fma_chains()
        iters = 100_000
        best = float("inf")
        for _ in range(200):  # short tries, the best one: a loaded machine preempts some
            t = time.perf_counter()
            so.rc_fma_loop(iters)
            best = min(best, time.perf_counter() - t)
        gf = iters * chains * lanes * 2 / best / 1e9
        return gf, f"in-register FMA loop, {chains} x {lanes}-lane accumulators ({' '.join(isa)})"


def blas_threads(n):
    if threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def idle_cpu_ms(threads=2):
    """Process CPU ms spent during 1 s of sleep right after a multi-threaded rcmlrs GEMM."""
    old = rc.get_num_threads()
    rc.set_num_threads(threads)
    a = rc.from_numpy(np.ones((512, 512), np.float32))
    try:
        for _ in range(3):
            a @ a
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(1.0)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        rc.set_num_threads(old)
    return ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * 1e3


def operands(m, k, n, ta, tb, rng):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def contenders(m, k, n, ta, tb, rng):
    a, b = operands(m, k, n, ta, tb, rng)
    ra, rb = rc.from_numpy(a), rc.from_numpy(b)
    rout = rc.from_numpy(np.zeros((m, n), np.float32))
    na, nb = (a.T if ta else a), (b.T if tb else b)
    nout = np.zeros((m, n), np.float32)
    fns = {
        "rcmlrs": lambda: _tensor._gemm_into(rout, ra, rb, 1.0, 0.0, ta, tb),
        "numpy": lambda: np.matmul(na, nb, out=nout),
    }
    if torch is not None:
        xa, xb = torch.from_numpy(a), torch.from_numpy(b)
        xa, xb = (xa.t() if ta else xa), (xb.t() if tb else xb)
        xout = torch.zeros((m, n))
        fns["torch"] = lambda: torch.matmul(xa, xb, out=xout)
    # correctness first: rcmlrs against float64 (every contender also runs once: warm-up)
    want = na.astype(np.float64) @ nb.astype(np.float64)
    for fn in fns.values():
        fn()
    scale = max(1.0, float(np.max(np.abs(want))))
    err = float(np.max(np.abs(rout.numpy().reshape(m, n) - want))) / scale
    return fns, err


WARM_S = 0.03  # untimed calls before each multi-thread round (see time_rounds)


def time_rounds(fns, rounds, threads, min_round=0.01, clock=time.perf_counter):
    """Per-call seconds of each contender in each of `rounds` alternating rounds."""
    numbers = {}
    for name, fn in fns.items():
        number = 1
        while timeit.timeit(fn, number=number) < min_round and number < 1 << 20:
            number *= 2
        numbers[name] = number
    per = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            if threads > 1:
                # OpenBLAS / OpenMP workers spin for a while after a call (and would steal
                # the next contender's second core): let them fall asleep first. OpenBLAS
                # spins up to 2^28 cycles (~0.1 s) by default, so 0.1 s was not enough.
                time.sleep(0.3)
                # ... then run this contender untimed for a moment: after that sleep the
                # next ~10 ms of calls ran slow whoever made them (on a 2-vCPU VM, rcmlrs's
                # 1024x1024 matrix x vector at 2 threads: 32 GFLOP/s in those calls, 50
                # after 20 ms of calls), which timed the wake-up instead of the kernel
                warm_until = time.perf_counter() + WARM_S
                while time.perf_counter() < warm_until:
                    fn()
            t = timeit.Timer(fn, timer=clock).timeit(number=numbers[name])
            per[name].append(t / numbers[name])
    return per


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few shapes, 3 rounds")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--only", default=None, help="substring of the group names to run")
    ap.add_argument(
        "--wall",
        action="store_true",
        help="time 1-thread rows by the wall clock too (default: the thread's CPU time)",
    )
    args = ap.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    shapes = MLP + LSTM + SKINNY + SQUARE + GEMV + CONV
    if args.quick:
        shapes = [s for s in shapes if s[:4] in QUICK]
    if args.only:
        shapes = [s for s in shapes if args.only in s[0]]

    idle = idle_cpu_ms(2)
    peak, how = measure_fma_peak()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cpu = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print(
        f"rcmlrs {rc.__version__} backend {_runtime.get_backend()} ({_runtime.compiler()}), "
        f"numpy {np.__version__}, torch {torch.__version__ if torch else 'absent'}, "
        f"threadpoolctl {'yes' if threadpool_limits else 'no'}"
    )
    print(f"CPU: {cpu}, {os.cpu_count()} logical CPUs, load average {load:.2f} at start")
    print(f"idle CPU after a 2-thread rcmlrs GEMM, over 1 s of sleep: {idle:.2f} ms")

    rng = np.random.default_rng(0)
    results = []
    for threads in args.threads:
        rc.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        with blas_threads(threads):
            for group, m, k, n, ta, tb in shapes:
                fns, err = contenders(m, k, n, ta, tb, rng)
                # one thread: every contender computes on this thread, so its CPU time
                # is the work without the time other processes held the core
                clock = time.thread_time if threads == 1 and not args.wall else time.perf_counter
                per = time_rounds(fns, rounds, threads, clock=clock)
                results.append(((group, m, k, n, ta, tb), threads, per, err))
    if peak is None:
        best = 0.0
        for (g, m, k, n, _, _), thr, per, _ in results:
            if g == "square" and thr == 1:
                best = max(best, max(2.0 * m * n * k / min(v) / 1e9 for v in per.values()))
        peak, how = best, f"best 1-thread square GEMM of any contender ({how})"
    print(f"FMA peak per core: {peak:.1f} GFLOP/s, measured by {how}")
    print(
        "GFLOP/s: median over rounds [min-max]; %pk: median / (peak x threads); "
        "ratio: rival median time / rcmlrs median time (> 1: rcmlrs faster); clock: "
        + ("wall" if args.wall else "1 thread: the thread's CPU time, 2 threads: wall")
    )
    hdr = (
        f"{'shape':<18} {'m':>5} {'k':>5} {'n':>5} {'t':>2} {'thr':>3} | "
        f"{'rcmlrs GF/s':>22} {'%pk':>4} | {'numpy GF/s':>10} {'ratio':>6} | "
        f"{'torch GF/s':>10} {'ratio':>6} | relerr"
    )
    print(hdr)
    print("-" * len(hdr))
    for (g, m, k, n, ta, tb), thr, per, err in results:
        flops = 2.0 * m * n * k
        med = {name: statistics.median(v) for name, v in per.items()}
        gf = {name: flops / t / 1e9 for name, t in med.items()}
        lo, hi = flops / max(per["rcmlrs"]) / 1e9, flops / min(per["rcmlrs"]) / 1e9
        trans = ("a" if ta else "") + ("b" if tb else "") or "-"
        line = (
            f"{g:<18} {m:>5} {k:>5} {n:>5} {trans:>2} {thr:>3} | "
            f"{gf['rcmlrs']:7.1f} [{lo:6.1f}-{hi:6.1f}] {gf['rcmlrs'] / (peak * thr):4.0%} | "
            f"{gf['numpy']:10.1f} {med['numpy'] / med['rcmlrs']:5.2f}x | "
        )
        if "torch" in med:
            line += f"{gf['torch']:10.1f} {med['torch'] / med['rcmlrs']:5.2f}x | "
        else:
            line += f"{'-':>10} {'-':>6} | "
        print(line + f"{err:.1e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
