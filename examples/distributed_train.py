"""Data-parallel training on MPI with the same final weights on any number of processes.

    python examples/distributed_train.py                   # one process (no MPI needed)
    mpiexec -n 2 python examples/distributed_train.py      # two processes, same weights
    mpiexec -n 4 python examples/distributed_train.py --checkpoint ck.rcml
    mpiexec -n 4 python examples/distributed_train.py --resume ck.rcml --epochs 2

Every process runs this same script on the same data. ``rc.distributed.init()`` joins the
MPI job (in one process, or without mpi4py installed, it is a job of one);
``fit(micro_batches=M)`` cuts each global batch into M micro-batches, each process computes
the gradients of its block of them, and the blocks are summed in one fixed association, so
the printed SHA-256 of the weights is the same for 1, 2 or 4 processes (M = 8 here). Only
rank 0 prints and writes the checkpoint (``ModelCheckpoint`` saves the model, optimizer
state and position in the random streams after every epoch); ``--resume`` loads it on every
process and continues exactly where it stopped, e.g. after a process failed (which ends the
whole job with a clear message on every rank instead of a hang).
"""

from __future__ import annotations

import argparse
import hashlib
import sys

import numpy as np

import rcmlrs as rc
from rcmlrs.nn import Dense, Dropout, Model, Sequential, load_model
from rcmlrs.nn.callbacks import ModelCheckpoint


def make_data(n: int, features: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic classification problem: Gaussian blobs, one per class, (n, features)
    float32 inputs and (n,) integer labels."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, features)) * 2.0
    y = rng.integers(0, classes, n)
    x = centers[y] + rng.standard_normal((n, features))
    return x.astype(np.float32), y


def weights_sha256(model: Model) -> str:
    """SHA-256 of every weight's float32 bytes, in ``get_weights`` order."""
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w.numpy(), dtype=np.float32).tobytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--micro-batches", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--checkpoint", default=None, help="save the model here after every epoch")
    ap.add_argument("--resume", default=None, help="continue training from this saved model")
    ap.add_argument("--small", action="store_true", help="a tiny run (tests)")
    args = ap.parse_args(argv)

    rc.distributed.init()
    rank, size = rc.distributed.rank(), rc.distributed.size()
    rc.set_num_threads(1)  # one thread per process: the processes are the parallelism

    n, features, classes = (256, 16, 4) if args.small else (8192, 64, 10)
    x, y = make_data(n, features, classes)
    if args.resume:
        model: Model = load_model(args.resume)  # every process loads the same file
    else:
        model = Sequential([Dense(128, "relu"), Dropout(0.1), Dense(128, "relu"), Dense(classes)])
        model.compile(rc.Adam(lr=1e-3), "cross_entropy", metrics=["accuracy"])
    callbacks = [ModelCheckpoint(args.checkpoint, monitor="loss")] if args.checkpoint else []
    if rank == 0:
        print(f"{size} process(es), micro_batches={args.micro_batches}, {n} samples")
    epochs = 1 if args.small else args.epochs
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=args.batch_size,
        seed=1234,
        verbose=2,  # one line per epoch; fit prints on rank 0 only
        callbacks=callbacks,
        micro_batches=args.micro_batches,
    )
    digest = weights_sha256(model)
    if rank == 0:
        logs = model.evaluate(x, y)
        print(f"loss {logs['loss']:.4f} accuracy {logs['accuracy']:.4f}")
        print(f"weights sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
