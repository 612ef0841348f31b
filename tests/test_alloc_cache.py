"""The allocator's cache of big buffers (csrc/alloc.c): freed tensor buffers of 4 MiB and
more are handed out again. A buffer must never be handed out twice (live tensors keep
their contents), a fresh ``zeros`` is zeros whatever the buffer held, and the cache stays
bounded (at most 8 buffers, 128 MiB)."""

from __future__ import annotations

import ctypes
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import rcmlrs as rc

MIB = 1 << 20


def _floats(mib: float) -> int:
    return int(mib * MIB) // 4


def test_live_big_tensors_never_share_a_buffer():
    rng = np.random.default_rng(0)
    sizes = [_floats(s) for s in (4, 4.5, 5, 6, 9)]  # several fit each other's buffers
    live: dict[int, tuple[rc.RamTensor, float]] = {}
    for step in range(120):
        if live and (len(live) > 6 or rng.random() < 0.45):
            key = list(live)[int(rng.integers(len(live)))]
            t, value = live.pop(key)
            got = t.numpy().ravel()
            assert got[0] == value and got[-1] == value and got[len(got) // 2] == value
            del t
        else:
            n = sizes[int(rng.integers(len(sizes)))]
            if rng.random() < 0.3:
                z = rc.zeros(n)  # a reused buffer held other values: zeros must be zeros
                assert not np.any(z.numpy())  # (every tensor is 3-D: 1 x 1 x n here)
                live[step] = (z, 0.0)
            else:
                live[step] = (rc.full(n, float(step)), float(step))
    for t, value in live.values():
        a = t.numpy()
        assert np.all(a == value)


def test_threads_allocating_big_tensors_at_once():
    bad = []

    def work(i):
        for it in range(25):
            v = float(i * 100 + it)
            t = rc.full(_floats(4 + (i + it) % 3), v)
            u = rc.full(_floats(5), -v)
            if not (np.all(t.numpy() == v) and np.all(u.numpy() == -v)):
                bad.append((i, it))
            del t, u

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    assert not bad


def _c_heap_bytes() -> int | None:
    """glibc's count of heap bytes in use (kept buffers included), or None."""
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None

    class MallInfo2(ctypes.Structure):
        _fields_ = [(f, ctypes.c_size_t) for f in ("arena", "ordblks", "smblks", "hblks")] + [
            (f, ctypes.c_size_t)
            for f in ("hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
        ]

    fn.restype = MallInfo2
    info = fn()
    return int(info.uordblks + info.hblkhd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallinfo2")
@pytest.mark.skipif(bool(os.environ.get("RCMLRS_SANITIZE")), reason="ASan owns the heap")
def test_the_cache_keeps_at_most_128_mib():
    start = _c_heap_bytes()
    if start is None:
        pytest.skip("no glibc mallinfo2 here")
    # 30 buffers of distinct sizes (5..34 MiB, ~585 MiB in all) are live at once, then
    # freed smallest first: the cache ends up with the last three (32 + 33 + 34 MiB)
    ts = [rc.zeros(_floats(5 + i)) for i in range(30)]
    while ts:
        ts.pop(0)
    kept = _c_heap_bytes() - start
    assert kept <= 128 * MIB + 8 * MIB, kept / MIB
    # and a request that fits a kept buffer (34 MiB) takes it instead of growing the heap
    t = rc.zeros(_floats(33.5))
    assert _c_heap_bytes() - start <= kept + MIB
    del t
