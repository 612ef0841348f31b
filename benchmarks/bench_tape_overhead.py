"""What the autograd hook costs: a 3x3 add outside a tape, inside a tape on tensors it
does not track, and recorded (watched inputs), each against NumPy's 3x3 add in the same
process. Ratio = NumPy time / rcmlrs time (above 1: rcmlrs faster).

Outside a tape the hook is one pointer test per op, so the first ratio should match the
build before autograd within noise: run this file with PYTHONPATH set to each build's
source tree and compare the "outside a tape" ratios.
Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_tape_overhead.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_times, row, single_thread  # noqa: E402

import rcmlrs as rc  # noqa: E402


def main() -> None:
    single_thread(rc)
    a, b = rc.random((3, 3), seed=3), rc.random((3, 3), seed=4)
    na, nb = a.numpy()[0].copy(), b.numpy()[0].copy()
    fns = {"rcmlrs": lambda: a + b, "numpy": lambda: na + nb}
    for _ in range(3):  # three alternating measurements: the spread shows the noise
        t = best_times(fns, rounds=15)
        print(row("3x3 add, outside a tape", t["rcmlrs"], {"numpy": t["numpy"]}))
    if not hasattr(rc, "autograd"):
        return
    with rc.autograd.Tape():
        t = best_times(fns, rounds=15)
    print(row("3x3 add, tape, untracked", t["rcmlrs"], {"numpy": t["numpy"]}))
    tape = rc.autograd.Tape()
    with tape:
        tape.watch(a)
        t = best_times(fns, rounds=5)
    print(row("3x3 add, recorded", t["rcmlrs"], {"numpy": t["numpy"]}))


if __name__ == "__main__":
    main()
