"""rc.distributed and fit(micro_batches=M): one process without MPI, and MPI jobs of 1, 2, 3
and 4 processes (``mpiexec``; skipped per test without mpi4py/mpiexec, failed instead under
RCMLRS_REQUIRE_REFS=1) whose final weights must equal a one-process run bit for bit."""

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REQUIRE_REFS

import rcmlrs as rc
from rcmlrs import distributed
from rcmlrs.nn import Dense, Dropout, Layer, Sequential, parallel
from rcmlrs.nn.parallel import _tree_sum
from rcmlrs.nn.regularizers import L2

HERE = pathlib.Path(__file__).resolve().parent
WORKER = HERE / "distributed_worker.py"
EXAMPLE = HERE.parent / "examples" / "distributed_train.py"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


worker = _load(WORKER, "distributed_worker")


@pytest.fixture
def no_mpi(monkeypatch):
    """A fresh rc.distributed state in a process where mpi4py cannot be imported."""
    monkeypatch.setattr(distributed, "_S", distributed._State())
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    for var in distributed._LAUNCHER_SIZE_VARS + ("RCMLRS_MPI_TIMEOUT",):
        monkeypatch.delenv(var, raising=False)


# ---------------------------------------------------------------------- one process, no MPI


def test_init_without_mpi4py_is_the_one_process_job(no_mpi):
    assert not distributed.is_initialized()
    assert (distributed.rank(), distributed.size()) == (0, 1)
    distributed.init()
    distributed.init()  # idempotent
    assert distributed.is_initialized()
    assert (distributed.rank(), distributed.size(), distributed.is_main()) == (0, 1, True)
    assert distributed.comm() is None
    distributed.barrier()
    assert rc.distributed is distributed
    # fit runs unchanged, with and without micro-batches
    x, y, _ = worker.data("mlp")
    model = worker.build("mlp")
    hist = model.fit(x, y, epochs=1, batch_size=32, seed=3, verbose=0, micro_batches=4)
    assert np.isfinite(hist.history["loss"][0])


def test_init_refuses_an_mpi_launch_without_mpi4py(no_mpi, monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    with pytest.raises(ImportError, match=r"one of 2 MPI processes.*rcmlrs\[mpi\]"):
        distributed.init()
    assert not distributed.is_initialized()


@pytest.mark.parametrize("bad", [0, -1.0, "5", True])
def test_init_checks_the_timeout(no_mpi, bad):
    with pytest.raises(ValueError, match="timeout"):
        distributed.init(timeout=bad)


def test_tree_sum_has_the_pairwise_association():
    # 2**24 + 1 is not a float32: the association decides what survives
    v = np.array([2.0**24, 1.0, 1.0, -(2.0**24), 1.0, 1.0, 4.0], dtype=np.float32)
    leaves = np.repeat(v[:, None], 3, axis=1).copy()
    f = np.float32
    # T(0,7) = T(0,3) + T(3,7); T(0,3) = v0 + (v1 + v2); T(3,7) = (v3 + v4) + (v5 + v6)
    expect = f(v[0] + f(v[1] + v[2])) + f(f(v[3] + v[4]) + f(v[5] + v[6]))
    got = _tree_sum(leaves, 0, 7)
    assert got.tolist() == [float(expect)] * 3
    seq = f(0)
    for e in v:
        seq = f(seq + e)
    assert float(seq) != float(expect)  # the test distinguishes the association


def _fit_weights(model_fn, micro, opt="sgd", **kw):
    model = model_fn(opt)
    model.fit(
        *kw.pop("data"), epochs=2, batch_size=40, seed=5, verbose=0, micro_batches=micro, **kw
    )
    return [w.numpy().copy() for w in model.get_weights()]


class Square(Layer):
    """A layer with only ``forward`` (trains through the tape)."""

    def forward(self, x, training=False):
        return x * x


def _mlp(opt, loss="cross_entropy", reg=None, tape=False):
    layers = [Dense(16, "tanh", kernel_regularizer=reg)]
    if tape:
        layers.append(Square())
    layers.append(Dense(3))
    model = Sequential(layers)
    model.compile(rc.SGD(lr=0.1) if opt == "sgd" else rc.Adam(lr=1e-2), loss)
    return model


@pytest.mark.parametrize(
    "case", ["plain", "sample_weight", "class_weight", "l2", "tape", "sum", "mse", "lstm"]
)
def test_micro_batches_give_the_full_batch_gradient(case):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100, 6)).astype(np.float32)
    y = rng.integers(0, 3, 100)
    kw: dict = {}
    loss, reg, tape = "cross_entropy", None, False
    if case == "sample_weight":
        kw["sample_weight"] = rng.uniform(0.2, 3.0, 100).astype(np.float32)
    elif case == "class_weight":
        kw["class_weight"] = {0: 2.0, 2: 0.5}
    elif case == "l2":
        reg = L2(0.05)
    elif case == "tape":
        tape, reg = True, L2(0.05)
    elif case == "sum":
        loss = rc.losses.CrossEntropy(reduction="sum")
    elif case == "mse":
        loss, y = "mse", rng.standard_normal((100, 3)).astype(np.float32)
    elif case == "lstm":
        from rcmlrs.nn import LSTM

        xs = rng.standard_normal((100, 4, 2)).astype(np.float32)

        def fn(opt):
            m = Sequential([LSTM(5), Dense(3)])
            m.compile(rc.SGD(lr=0.1), "cross_entropy")
            return m

        full = _fit_weights(fn, None, data=(xs, y))
        for micro in (1, 3, 4):
            got = _fit_weights(fn, micro, data=(xs, y))
            for a, b in zip(full, got, strict=True):
                np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-6)
        return

    def fn(opt):
        return _mlp(opt, loss, reg, tape)

    full = _fit_weights(fn, None, data=(x, y), **kw)
    changed = False
    for micro in (1, 3, 4, 7):
        got = _fit_weights(fn, micro, data=(x, y), **kw)
        for a, b in zip(full, got, strict=True):
            np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-6)
            changed |= not np.array_equal(a, b)
    init = [w.numpy() for w in fn("sgd").build((6,), seed=5).get_weights()]
    assert any(not np.allclose(a, b) for a, b in zip(init, full, strict=True))  # it trained
    assert changed or case == "sum"  # micro-batches really took another path (rounding)


def test_micro_batches_loss_and_metrics_match_the_full_batch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((90, 5)).astype(np.float32)
    y = rng.integers(0, 3, 90)
    hists = []
    for micro in (None, 4):
        model = _mlp("sgd")
        model.compile(rc.SGD(lr=0.1), "cross_entropy", metrics=["accuracy", "mae"])
        h = model.fit(x, y, epochs=2, batch_size=32, seed=2, verbose=0, micro_batches=micro)
        hists.append(h.history)
    for k in ("loss", "accuracy", "mae"):
        np.testing.assert_allclose(hists[1][k], hists[0][k], rtol=1e-5)


def test_under_mpi_micro_batches_are_required_and_state_is_refused(monkeypatch):
    # what fit checks on every process of a job (the same on each, before any collective)
    monkeypatch.setattr(distributed, "_S", distributed._State())
    distributed._S.size = 2
    with pytest.raises(ValueError, match="one of 2 MPI processes; pass micro_batches"):
        parallel.check_micro_batches(None)
    model = _mlp("sgd")
    model.build((6,), seed=0)
    model.layers[0].non_trainable_weights = [rc.zeros((1, 1, 16))]  # moving statistics
    with pytest.raises(ValueError, match=r"non-trainable state \(Dense\)"):
        parallel.MicroBatches(model, 4, 32)


def test_only_rank_0_runs_the_callbacks_that_write_files(monkeypatch, tmp_path):
    from rcmlrs.nn import callbacks as cb

    class Mine(cb.Callback):
        rank_zero_only = True

    cbs = [
        cb.ModelCheckpoint(str(tmp_path / "m.rcml")),
        cb.CSVLogger(str(tmp_path / "log.csv")),
        cb.EarlyStopping(monitor="loss"),
        Mine(),
        cb.LearningRateScheduler(lambda e, lr: lr),
    ]
    monkeypatch.setattr(distributed, "_S", distributed._State())
    assert parallel.callbacks_for_rank(cbs) == cbs
    distributed._S.rank, distributed._S.size = 1, 2
    assert parallel.callbacks_for_rank(cbs) == [cbs[2], cbs[4]]


def test_micro_batches_are_checked():
    x = np.zeros((10, 6), np.float32)
    y = np.zeros(10, np.int64)
    model = _mlp("sgd")
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="micro_batches must be an int >= 1"):
            model.fit(x, y, verbose=0, micro_batches=bad)
    model = Sequential([Dense(3)])
    model.compile("sgd", lambda a, p: ((a - p) * (a - p)).mean(axis=2).mean(axis=1).mean(axis=0))
    with pytest.raises(ValueError, match="needs a loss from rc.losses"):
        model.fit(x, np.zeros((10, 3), np.float32), verbose=0, micro_batches=2)


def test_dropout_masks_do_not_depend_on_the_split():
    # the same micro-batch draws the same mask: M=4 twice gives the same bits, and the
    # masks differ between micro-batches (training with dropout differs from without)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)

    def fn(rate):
        m = Sequential([Dense(16, "relu"), Dropout(rate), Dense(3)])
        m.compile(rc.SGD(lr=0.1), "cross_entropy")
        m.fit(x, y, epochs=1, batch_size=32, seed=9, verbose=0, micro_batches=4)
        return [w.numpy().copy() for w in m.get_weights()]

    a, b, c = fn(0.5), fn(0.5), fn(0.0)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c, strict=True))


def test_micro_batches_bits_do_not_depend_on_the_thread_count(capsys):
    ref = _one_process_hashes("mlp,lstm", 4, 1, capsys)
    for n in (2, 3):
        assert _one_process_hashes("mlp,lstm", 4, 1, capsys, "--threads", n) == ref


def test_example_runs_in_one_process(capsys, tmp_path):
    example = _load(EXAMPLE, "example_distributed_train")
    assert example.main(["--small", "--checkpoint", str(tmp_path / "ck.rcml")]) == 0
    out = capsys.readouterr().out
    assert "weights sha256" in out
    assert (tmp_path / "ck.rcml").exists()


# ---------------------------------------------------------------------- MPI jobs


def _mpiexec():
    """The mpiexec to launch with (next to this Python first: the mpich wheel's), and the
    flags it needs to start more processes than cores; skips without MPI."""
    pytest.importorskip("mpi4py")
    exe = pathlib.Path(sys.executable).parent / "mpiexec"
    path = str(exe) if exe.exists() else shutil.which("mpiexec")
    if path is None:
        msg = "mpiexec not found (pip install 'rcmlrs[mpi]' installs the mpich wheel's)"
        if REQUIRE_REFS:
            pytest.fail(f"RCMLRS_REQUIRE_REFS=1 but {msg}", pytrace=False)
        pytest.skip(msg)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    flags = ["--oversubscribe"] if "Open MPI" in version.stdout + version.stderr else []
    return [path, *flags]


def _launch(n, *args, timeout=120, check=True, **extra_env):
    env = dict(os.environ, **extra_env)
    root = str(pathlib.Path(rc.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [*_mpiexec(), "-n", str(n), sys.executable, *map(str, args)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    proc.elapsed = time.monotonic() - t0
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _hashes(stdout):
    """{(rank, kind): (weights hash, last logs)} from the worker's lines (the launcher may
    join two processes' lines, so they are found anywhere in the text)."""
    found = re.findall(r"RANK (\d+) KIND (\w+) HASH ([0-9a-f]{64}) LOGS (.*?) END", stdout)
    return {(int(r), kind): (h, logs) for r, kind, h, logs in found}


def _one_process_hashes(kinds, m, epochs, capsys, *extra):
    """The worker run in this process, without MPI."""
    threads = rc.get_num_threads()
    try:
        worker.main([kinds, str(m), str(epochs), *map(str, extra)])
    finally:
        rc.set_num_threads(threads)
    return {kind: h for (_, kind), h in _hashes(capsys.readouterr().out).items()}


@pytest.mark.parametrize("n", [1, 2, 4, 3])
def test_same_weights_on_1_2_4_processes(n, capsys):
    mpiexec = _mpiexec()
    assert mpiexec
    kinds = ("mlp", "lstm", "tape")
    want = _one_process_hashes(",".join(kinds), 4, 2, capsys)
    assert set(want) == set(kinds)
    proc = _launch(n, WORKER, ",".join(kinds), 4, 2, "--mpi")
    got = _hashes(proc.stdout)
    assert set(got) == {(r, k) for r in range(n) for k in kinds}, proc.stdout
    for (_, kind), h in got.items():
        # the weights and the logged loss and metrics (reduced over the processes)
        assert h == want[kind], f"{n} processes, {kind}: {h} != one process {want[kind]}"


def test_a_failing_rank_stops_every_rank_and_training_resumes(tmp_path, capsys):
    _mpiexec()
    ck = tmp_path / "ck.rcml"
    # 150 samples / batch 32 = 5 steps per epoch: rank 1 fails in epoch 3, after the
    # checkpoint of epoch 2
    proc = _launch(
        2, WORKER, "mlp", 4, 3, "--mpi", "--checkpoint", ck, "--fail-rank", 1, "--fail-step", 12,
        check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert proc.elapsed < 30, f"the job took {proc.elapsed:.1f} s to stop"
    err = proc.stderr
    assert "rank 1/2 failed in fit" in err and "deliberate failure at step 12" in err, err
    assert "rank 0/2: stopping because rank 1 failed in fit" in err, err
    assert "HASH" not in proc.stdout
    assert ck.exists()
    # resume from the checkpoint for the last epoch: the weights of 3 epochs straight
    want = _one_process_hashes("mlp", 4, 3, capsys)["mlp"]
    proc = _launch(2, WORKER, "mlp", 4, 1, "--mpi", "--resume", ck)
    got = _hashes(proc.stdout)
    assert got == {(0, "mlp"): want, (1, "mlp"): want}, proc.stdout


def test_a_stuck_rank_times_out_on_every_rank():
    _mpiexec()
    proc = _launch(
        2, WORKER, "mlp", 4, 2, "--mpi", "--fail-rank", 1, "--fail-step", 3, "--stall",
        "--timeout", 1, check=False, timeout=60, RCMLRS_MPI_GRACE="1",
    )  # fmt: skip
    assert proc.returncode != 0
    assert proc.elapsed < 30, f"the job took {proc.elapsed:.1f} s to stop"
    assert "rank 0/2 failed in fit" in proc.stderr, proc.stderr
    assert "made no progress in 1 s" in proc.stderr, proc.stderr


def test_an_uncaught_exception_outside_fit_ends_the_job():
    _mpiexec()
    script = (
        "import rcmlrs as rc\n"
        "rc.distributed.init(timeout=60)\n"
        "if rc.distributed.rank() == 1:\n"
        "    raise ValueError('outside fit')\n"
        "rc.distributed.barrier()\n"
        "print('PASSED THE BARRIER')\n"
    )
    proc = _launch(2, "-c", script, check=False, timeout=60)
    assert proc.returncode != 0
    assert proc.elapsed < 30, f"the job took {proc.elapsed:.1f} s to stop"
    assert "rank 1/2 failed with an uncaught exception" in proc.stderr, proc.stderr
    assert "rank 0/2: stopping because rank 1 failed" in proc.stderr, proc.stderr
    assert "PASSED THE BARRIER" not in proc.stdout


def test_example_runs_under_mpiexec(tmp_path):
    _mpiexec()
    proc = _launch(2, EXAMPLE, "--small", "--checkpoint", tmp_path / "ck.rcml")
    assert proc.stdout.count("weights sha256") == 1, proc.stdout  # the script's print
    assert proc.stdout.count("Epoch 1/1") == 1, proc.stdout  # fit prints on rank 0 only
    assert (tmp_path / "ck.rcml").exists()
