"""Every SIMD backend against the serial reference; determinism across thread counts."""

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _runtime

BACKENDS = _runtime.capabilities()


def _run_all(x, y):
    """Every elementwise/reduction kernel of the foundation on borrowed buffers."""
    tx, ty = rc.from_numpy(x), rc.from_numpy(y)
    out = [
        tx + ty,
        tx - ty,
        tx * ty,
        tx / ty,
        tx * 1.5,
        2.0 - tx,
        3.0 / ty,
        -tx,
        abs(tx),
        abs(ty).sqrt(),
        tx.exp(),
        abs(ty).log(),
        tx.clip(-0.5, 0.5),
        tx**3,
        tx.powf(2.0),
    ]
    res = [o.numpy().copy() for o in out]
    if x.size:
        res.append(np.array([tx.sum(), tx.min(), tx.max(), tx.var(), tx.argmax()], np.float64))
    return res


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_backend_matches_serial_all_lengths(name):
    rng = np.random.default_rng(11)
    old = _runtime.get_backend()
    try:
        for n in range(68):
            # offset by one float so the buffers are not 64-byte aligned
            bx = rng.uniform(-3, 3, n + 1).astype(np.float32)
            by = rng.uniform(0.5, 3, n + 1).astype(np.float32)
            x, y = bx[1:], by[1:]
            _runtime.set_backend("serial")
            want = _run_all(x, y)
            _runtime.set_backend(name)
            got = _run_all(x, y)
            for w, g in zip(want, got, strict=True):
                np.testing.assert_array_equal(g, w, err_msg=f"{name} n={n}")
    finally:
        _runtime.set_backend(old)


def test_backend_switch_errors():
    with pytest.raises(ValueError):
        _runtime.set_backend("quantum")
    assert _runtime.get_backend() in BACKENDS
    assert _runtime.best_backend() in BACKENDS


def test_env_backend_pin(tmp_path):
    import subprocess
    import sys

    code = "import rcmlrs._runtime as t; print(t.get_backend())"
    env = dict(__import__("os").environ, RCMLRS_BACKEND="serial")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "serial"


def test_bitwise_identical_across_thread_counts(threads):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((4, 700, 900)).astype(np.float32)
    b = rng.standard_normal((1, 700, 900)).astype(np.float32)
    ta, tb = rc.tensor(a), rc.tensor(b)
    results = []
    for n in (1, 2, 3, 7):
        rc.set_num_threads(n)
        assert rc.get_num_threads() == n
        r = [
            ta + tb,
            ta * 0.5,
            ta.exp(),
            ta.sum(axis=0),
            ta.var(axis=1),
            ta.max(axis=2),
            rc.random((3, 500, 500), seed=9),
            rc.randn((3, 500, 500), seed=9),
        ]
        scalars = [ta.sum(), ta.std(), ta.mean()]
        results.append(([x.numpy().copy() for x in r], scalars, ta.argmax(axis=1)))
    first = results[0]
    for other in results[1:]:
        for x, y in zip(first[0], other[0], strict=True):
            assert np.array_equal(x, y)
        assert first[1] == other[1]
        assert np.array_equal(first[2], other[2])


def test_set_num_threads_validation(threads):
    with pytest.raises(ValueError):
        rc.set_num_threads(0)
    with pytest.raises(TypeError):
        rc.set_num_threads(1.5)


def test_concurrent_python_threads(threads):
    import threading

    rc.set_num_threads(2)
    x = rc.random((2, 600, 600), seed=1)
    want = x.sum()
    errors = []

    def worker():
        for _ in range(20):
            if x.sum() != want:
                errors.append("mismatch")

    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
