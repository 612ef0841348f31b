"""Memory-safety sweep for tools/sanitize.sh (also fast enough for every run): each op
family on every backend over empty tensors, SIMD tails and sizes around the threading
and block thresholds, with 1 and 2 threads. Values are compared to the serial backend
bit for bit, which is the contract of the dispatch layer (kernel-level accuracy tests
live with the kernels)."""

from __future__ import annotations

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime

# 0, tails of 8/16-lane vectors, a 4096 reduction block +- 1, the 2^16 chunk grain and
# the 2^18 parallel threshold +- a tail
SIZES = [0, 1, 7, 15, 16, 17, 33, 4095, 4097, 65537, 262143, 262161]
BACKENDS = _runtime.capabilities()


def _ops(a: rc.RamTensor, b: rc.RamTensor) -> dict[str, object]:
    n = a.size
    out: dict[str, object] = {
        "add": a + b,
        "sub": a - b,
        "mul": a * b,
        "div": a / b,
        "rsub": 1.5 - a,
        "rdiv": 2.0 / b,
        "neg": -a,
        "abs": abs(a),
        "sqrt": abs(a).sqrt(),
        "exp": a.exp(),
        "log": abs(b).log(),
        "scale": a.scale(0.1),
        "clip": a.clip(-0.5, 0.5),
        "powi": a.powi(3),
        "powi_neg": b.powi(-2),
        "powf": abs(a).powf(0.5),
        "bcast_layer": a * b[0] if n else a,
    }
    if n:
        out.update(
            sum=a.sum(),
            mean=a.mean(),
            min=a.min(),
            max=a.max(),
            var=a.var(),
            std=a.std(ddof=1) if n > 1 else 0.0,
            argmax=a.argmax(),
            median=a.median(),
        )
    for ax in (0, 1, 2) if n else ():
        out[f"sum{ax}"] = a.sum(axis=ax)
        out[f"max{ax}"] = a.max(axis=ax)
        out[f"std{ax}"] = a.std(axis=ax)
        out[f"argmax{ax}"] = a.argmax(axis=ax)
    for name in ("relu", "sigmoid", "tanh", "gelu", "swish", "softmax"):  # when present
        if hasattr(a, name):
            out[name] = getattr(a, name)()
    return out


def _shape(n: int) -> tuple[int, int, int]:
    # spread n over the three axes where it factors, so axis reductions see odd sizes too
    for r in (3, 2):
        if n % (2 * r) == 0 and n >= 2 * r:
            return (2, r, n // (2 * r))
    return (1, 1, n)


def _same(x: object, y: object) -> bool:
    if isinstance(x, rc.RamTensor):
        assert isinstance(y, rc.RamTensor)
        return x.shape == y.shape and np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
    if isinstance(x, np.ndarray):
        return np.array_equal(x, np.asarray(y))
    return np.array_equal(np.float64(x), np.float64(y), equal_nan=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", SIZES)
def test_every_backend_and_thread_count_matches_serial(n: int, restore: None) -> None:
    shape = _shape(n)
    a = rc.randn(shape, std=2.0, seed=11)
    b = rc.randn(shape, seed=12) + 3.0
    if n > 3:  # specials in the tail and the head
        a[0, 0, 0] = float("nan") if n > 40 else 0.0
        a[shape[0] - 1, shape[1] - 1, shape[2] - 1] = float("inf")
    _runtime.set_backend("serial")
    rc.set_num_threads(1)
    ref = _ops(a, b)
    a0, b0 = a.copy(), b.copy()
    for be in BACKENDS:
        for threads in (1, 2):
            _runtime.set_backend(be)
            rc.set_num_threads(threads)
            got = _ops(a, b)
            bad = [k for k in ref if not _same(ref[k], got[k])]
            assert not bad, f"{be}, {threads} threads, n={n}: differ from serial in {bad}"
    assert a.equals(a0) and b.equals(b0), "an op wrote to its input"


@pytest.mark.parametrize("shape", [(0, 3, 4), (2, 0, 4), (2, 3, 0), (0, 0, 0)])
def test_empty_tensors(shape: tuple[int, int, int]) -> None:
    t = rc.zeros(shape)
    assert (t + t).shape == shape and (t * 2.0).shape == shape and t.exp().shape == shape
    assert t.transpose().shape == (shape[0], shape[2], shape[1])
    assert t.copy().equals(t) and t.tolist() is not None and np.asarray(t).shape == shape
    assert t.sum() == 0.0
    for ax in (0, 1, 2):
        s = t.sum(axis=ax)
        assert s.shape[ax] == 1
    t2 = t.reshape(shape)
    t2 += 1.0
    assert t.pad((2, 2), 1).shape == (1, 2, 2)
    with pytest.raises(ValueError):
        t.max()
    with pytest.raises(ValueError):
        t.argmax()


def test_in_place_on_numpy_borrowed_and_overlapping_buffers() -> None:
    arr = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = rc.from_numpy(arr)
    t += 1.0
    t *= rc.from_numpy(arr)  # the same buffer on both sides
    assert arr[1, 2, 3] == 24.0 * 24.0
    u = rc.from_numpy(arr[1:])  # a view of the same memory, a different start: copies
    v = rc.from_numpy(arr)
    v[0, 0, 0] = 5.0
    assert u.shape == (1, 3, 4)
    assert arr[0, 0, 0] == 5.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: rc.zeros((1 << 41,)),
        lambda: rc.zeros((1 << 20, 1 << 20, 1 << 20)),
        lambda: rc.zeros((-1, 2)),
        lambda: rc.zeros((1, 2, 3, 4)),
        lambda: rc.tensor([[1.0, 2.0], [3.0]]),
        lambda: rc.tensor("abc"),
        lambda: rc.ones((2, 3)) + rc.ones((3, 2)),
        lambda: rc.ones((2, 3)).matmul(rc.ones((2, 3))),
        lambda: rc.ones((2, 3))[0, 5, 0],
        lambda: rc.ones((2, 3))[1.5],
        lambda: rc.ones((2, 3)).reshape((7,)),
        lambda: rc.ones((2, 3)).std(axis=5),
        lambda: rc.set_num_threads(0),
        lambda: rc.ones(3).powi(1 << 40),
        lambda: pickle_bad(),
    ],
)
def test_bad_input_raises_cleanly(call) -> None:
    with pytest.raises((ValueError, TypeError, IndexError, MemoryError)):
        call()


def pickle_bad() -> None:
    from rcmlrs._tensor import _rebuild

    _rebuild(2, 2, 2, b"\x00" * 12)  # payload shorter than the shape claims
