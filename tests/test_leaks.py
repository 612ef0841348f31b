"""Leak check: a loop over every op family must not grow Python memory (tracemalloc),
live tensor objects (gc) or, on Linux, the C heap (tensor buffers are C memory that
tracemalloc cannot see: glibc's mallinfo2 counts them, the resident set elsewhere)."""

from __future__ import annotations

import ctypes
import gc
import os
import pickle
import sys
import tracemalloc

import numpy as np
import pytest

import rcmlrs as rc

N = 4096  # elements per tensor: large enough to hit the SIMD paths, fast enough


def _maybe(t: rc.RamTensor, name: str, *args):
    """Ops that other modules add (activations, losses...) are exercised once present."""
    fn = getattr(t, name, None)
    return fn(*args) if fn is not None else None


def one_round(big: int = N) -> None:
    # construction and conversion
    a = rc.random((4, 32, big // 128), seed=1)
    b = rc.randn((4, 32, big // 128), seed=2)
    rc.zeros(big), rc.ones((2, big // 2)), rc.full((1, 2, 3), 7.0)
    arr = np.arange(big, dtype=np.float32)
    v = rc.from_numpy(arr)  # borrows the array's buffer
    rc.from_numpy(arr.astype(np.float64))  # copies
    rc.tensor([[1.0, 2.0], [3.0, 4.0]]), rc.tensor(arr.reshape(8, -1)), rc.tensor(3.0)
    v.numpy(), np.asarray(a), a.tolist() if big <= N else None
    a.copy(), pickle.loads(pickle.dumps(a)), a[0], a[1, 2, 3], float(a[0, 0, 0])
    # arithmetic, scalar, broadcasting, reflected and in place
    a + b, a - b, a * b, a / (b + 10.0), 2.0 - a, 3.0 / (a + 1.0), -a, abs(b)
    a + b[0], a * rc.tensor([1.0] * a.cols)
    c = a.copy()
    c += b
    c -= 1.0
    c *= b[0]
    c /= 2.0
    a.sqrt(), a.exp(), (a + 1.0).log(), b.clip(-0.5, 0.5), a.powi(3), a.powf(1.5), a**2
    a.scale(2.0), a.equals(b), a.allclose(b)
    # reductions
    a.sum(), a.mean(axis=0), a.min(axis=1), a.max(axis=2), a.var(), a.std(axis=-1, ddof=1)
    a.argmax(), a.argmax(axis=1), a.median()
    # shape
    a.transpose(), a.flatten(), a.reshape((4, -1)), a.pad((40, 8), 5, 1.0)
    rc.concat([a, b], axis=1), a.insert_matrix(0, b[1])
    # matrix product (batched, broadcast weight, transposed)
    w = rc.randn((1, a.cols, 16), seed=3)
    a.matmul(w), a @ w, a.matmul(a, transpose_b=True)
    # error paths must not leak either
    bad_calls = (
        lambda: a + rc.zeros((3, 3, 3)),
        lambda: a.matmul(rc.zeros((1, a.cols + 1, 2))),
        lambda: a[9, 9, 9],
    )
    for bad in bad_calls:
        with pytest.raises((ValueError, IndexError)):
            bad()
    # families other engineers add: run them when they exist
    for name in (
        "relu",
        "sigmoid",
        "tanh",
        "swish",
        "gelu",
        "softmax",
        "log_softmax",
        "relu_deriv",
        "sigmoid_deriv",
        "tanh_deriv",
        "gelu_deriv",
    ):
        _maybe(a, name)
    for name in (
        "relu_backward",
        "sigmoid_backward",
        "tanh_backward",
        "gelu_backward",
        "softmax_backward",
    ):
        _maybe(a, name, b)
    for name in ("mse_loss", "mae_loss", "mse_deriv", "mae_deriv"):
        fn = getattr(rc, name, None)
        if fn is not None:
            fn(a, b)
    if hasattr(rc, "adam_update"):
        p, g, m, s = a.copy(), b.copy(), rc.zeros(a.shape), rc.zeros(a.shape)
        rc.adam_update(p, g, m, s, 1)


def _live_tensors() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is rc.RamTensor)


def _c_heap_bytes() -> int | None:
    """Bytes in use in the C heap (glibc mallinfo2: main-arena blocks plus mmapped ones),
    else the resident set from /proc; None where neither is available."""
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError, TypeError):
        fn = None
    if fn is not None:

        class MallInfo2(ctypes.Structure):
            _fields_ = [
                (name, ctypes.c_size_t)
                for name in (
                    "arena",
                    "ordblks",
                    "smblks",
                    "hblks",
                    "hblkhd",
                    "usmblks",
                    "fsmblks",
                    "uordblks",
                    "fordblks",
                    "keepcost",
                )
            ]

        fn.restype = MallInfo2
        info = fn()
        return int(info.uordblks + info.hblkhd)
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def test_no_python_level_leak():
    for _ in range(3):  # warm caches, interned strings, freelists
        one_round()
    gc.collect()
    live = _live_tensors()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(30):
            one_round()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(s.size_diff for s in after.compare_to(before, "filename"))
    # a leak of one small object per op and round would be > 100 KiB here
    assert growth < 64 * 1024, after.compare_to(before, "lineno")[:10]
    assert _live_tensors() <= live


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallinfo2 or /proc")
@pytest.mark.skipif(bool(os.environ.get("RCMLRS_SANITIZE")), reason="ASan owns the heap")
def test_no_buffer_leak():
    """Tensor buffers are C memory (rcml_alloc_aligned), invisible to tracemalloc."""
    big = 1 << 18  # 1 MiB per tensor, so one leaked buffer a round is 8 MiB in all
    for _ in range(2):
        one_round(big)
    gc.collect()
    start = _c_heap_bytes()
    for _ in range(8):
        one_round(big)
    gc.collect()
    end = _c_heap_bytes()
    if start is None or end is None:
        pytest.skip("no way to measure the C heap here")
    # one leaked 1 MiB buffer a round would add 8 MiB
    assert end - start < 2 * 1024 * 1024, (start, end)
