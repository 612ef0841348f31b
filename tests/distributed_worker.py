"""The training script that tests/test_distributed.py launches (with and without mpiexec).

``python tests/distributed_worker.py KINDS M EPOCHS [--mpi] [--fail-rank R --fail-step S]
[--checkpoint PATH] [--resume PATH]``: trains tiny models (KINDS, comma-separated: "mlp" is
Dense + Dropout with cross-entropy, sample weights and an L2 penalty; "lstm" an LSTM with mse;
"tape" a layer with only ``forward``, so the tape computes the gradients, and an L2 penalty)
on fixed data with ``micro_batches=M`` and prints one line ``RANK r KIND k HASH <sha256 of
the final weights> LOGS <last epoch's logs> END`` per model and process (every process prints
its own, so the test sees that they agree).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time

import numpy as np

import rcmlrs as rc
from rcmlrs.nn import LSTM, Dense, Dropout, Layer, Sequential, load_model
from rcmlrs.nn.callbacks import Callback, ModelCheckpoint
from rcmlrs.nn.regularizers import L2


def weights_hash(model) -> str:
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(np.ascontiguousarray(w.numpy(), dtype=np.float32).tobytes())
    return h.hexdigest()


class Square(Layer):
    """x * x, with only ``forward`` (fit differentiates it on the tape)."""

    def forward(self, x, training=False):
        return x * x


def data(kind: str):
    rng = np.random.default_rng(7)
    if kind in ("mlp", "tape"):
        x = rng.standard_normal((150, 12)).astype(np.float32)
        y = rng.integers(0, 4, 150)
        w = rng.uniform(0.5, 2.0, 150).astype(np.float32)
        return x, y, w
    x = rng.standard_normal((60, 5, 3)).astype(np.float32)
    y = rng.standard_normal((60, 2)).astype(np.float32)
    return x, y, None


def build(kind: str):
    if kind == "mlp":
        model = Sequential(
            [
                Dense(24, "relu", kernel_regularizer=L2(1e-3)),
                Dropout(0.2),
                Dense(4),
            ]
        )
        model.compile(rc.Adam(lr=1e-2), "cross_entropy", metrics=["accuracy"])
    elif kind == "tape":
        model = Sequential([Dense(10, "tanh", kernel_regularizer=L2(1e-2)), Square(), Dense(4)])
        model.compile(rc.SGD(lr=0.05, momentum=0.9), "cross_entropy", metrics=["accuracy"])
    else:
        model = Sequential([LSTM(8), Dense(2)])
        model.compile(rc.Adam(lr=1e-2), "mse", metrics=["mae"])
    return model


class FailAt(Callback):
    """Raises (or, with ``stall``, sleeps a minute) on one rank at one global step."""

    def __init__(self, rank: int, step: int, stall: bool = False) -> None:
        super().__init__()
        self.rank, self.step, self.stall, self.seen = rank, step, stall, 0

    def on_batch_end(self, batch, logs=None):
        self.seen += 1
        if rc.distributed.rank() == self.rank and self.seen == self.step:
            if self.stall:
                time.sleep(60)
            raise RuntimeError(f"deliberate failure at step {self.step}")


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("kinds")
    ap.add_argument("m", type=int)
    ap.add_argument("epochs", type=int)
    ap.add_argument("--mpi", action="store_true")
    ap.add_argument("--fail-rank", type=int, default=-1)
    ap.add_argument("--fail-step", type=int, default=0)
    ap.add_argument("--stall", action="store_true", help="the failing rank sleeps instead")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--resume", default=None)
    args = ap.parse_args(argv)
    rc.set_num_threads(args.threads)
    if args.mpi:
        rc.distributed.init(timeout=args.timeout)
    for kind in args.kinds.split(","):
        train(kind, args)


def train(kind: str, args: argparse.Namespace) -> None:
    x, y, w = data(kind)
    model = load_model(args.resume) if args.resume else build(kind)
    cbs: list[Callback] = []
    if args.checkpoint:
        cbs.append(ModelCheckpoint(args.checkpoint, monitor="loss"))
    if args.fail_rank >= 0:
        cbs.append(FailAt(args.fail_rank, args.fail_step, args.stall))
    hist = model.fit(
        x,
        y,
        epochs=args.epochs,
        batch_size=32,
        seed=11,
        verbose=0,
        sample_weight=w,
        callbacks=cbs,
        micro_batches=args.m,
    )
    logs = " ".join(f"{k}={v[-1]!r}" for k, v in sorted(hist.history.items()))
    rank = rc.distributed.rank()
    print(f"RANK {rank} KIND {kind} HASH {weights_hash(model)} LOGS {logs} END", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
