"""The thread pool's helpers on Linux: named, and never left pinned.

After an idle spell Linux may wake a helper on the CPU of the thread that wakes it; the
two then share one core. A helper that finds itself on the caller's CPU moves off it by
narrowing its affinity and restoring it (csrc/threads.c, "Placement"). The test pins the
calling thread to one CPU, so helpers woken there move (with the restore removed, the
helper's mask stayed narrowed in 5 of 5 runs), and checks that every helper's mask is the
process's own after each job. Where the helper then runs is the scheduler's choice, so it
is measured in benchmarks, not asserted here.
"""

import os
import sys
import time

import numpy as np
import pytest

import rcmlrs as rc

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(os, "sched_getaffinity"),
    reason="Linux thread placement",
)


def _helpers():
    """The pool's threads, by the name the pool gives them."""
    out = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() == "rcmlrs-pool":
                    out.append(int(tid))
        except FileNotFoundError:
            pass
    return out


@pytest.fixture
def two_threads():
    old = rc.get_num_threads()
    mask = os.sched_getaffinity(0)
    yield
    os.sched_setaffinity(0, mask)
    rc.set_num_threads(old)


def test_helpers_are_named_and_never_left_pinned(two_threads):
    mask = os.sched_getaffinity(0)
    if len(mask) < 2:
        pytest.skip("needs two CPUs in the affinity mask")
    if rc._runtime.get_backend() == "serial":
        pytest.skip("the serial reference backend runs its products on the caller alone")
    a = rc.from_numpy(np.ones((768, 768), np.float32))
    rc.set_num_threads(2)
    a @ a  # starts the helper if no earlier test did
    helpers = _helpers()
    assert helpers, "no thread named rcmlrs-pool"
    c = min(mask)
    os.sched_setaffinity(0, {c})  # the caller (this thread only) runs on CPU c
    for _ in range(12):
        time.sleep(0.02)  # the helper falls asleep, so the next job wakes it
        a @ a
        for tid in helpers:
            assert os.sched_getaffinity(tid) == mask, "a helper was left pinned"
