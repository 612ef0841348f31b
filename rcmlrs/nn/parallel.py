"""``fit(..., micro_batches=M)``: gradient accumulation over M micro-batches, in one process
or data-parallel over the processes of an MPI job, with the same bits either way.

One training step on a global batch of ``c`` rows (rows ``s .. s + c - 1`` of the epoch's
seeded order):

1. Fixed boundaries: micro-batch ``k`` (0 <= k < M) is rows ``s + k*c//M`` up to
   ``s + (k+1)*c//M`` (a micro-batch may be empty when ``c < M``: the last batch).
2. Process ``r`` of ``P`` owns the contiguous block ``k = r*M//P .. (r+1)*M//P - 1``. For
   each of its micro-batches it runs the forward pass, the loss and the backward pass (the
   model's own: the layers' ``backward`` or the tape) and packs the trainable gradients,
   each multiplied by the micro-batch's row count ``c_k`` (its weight in the batch mean),
   into one float32 leaf buffer of all the parameters.
3. The M leaves are summed as one pairwise tree, ``T(lo, hi) = T(lo, mid) + T(mid, hi)``
   with ``mid = (lo + hi) // 2``, then divided once by ``c``: the full-batch mean-loss
   gradient up to rounding, and bit for bit the same sum whatever P is:

   - P a power of two dividing M: each block is a subtree; every process sums its own
     block, then the blocks are joined by recursive doubling (at level j process r
     exchanges its partial sum with r XOR 2**j and both add the lower block first), which
     is exactly the top of the same tree. Each process sends log2(P) buffers.
   - otherwise: the leaves are gathered on every process (``Allgatherv``) and every
     process sums the whole tree itself.
4. The micro-batch losses (float64, one slot per micro-batch, zeros elsewhere) are summed
   with ``Allreduce``: each slot has one non-zero contribution, so the sum is exact in any
   order; the batch loss is then ``sum_k c_k L_k / c`` in k order on every process. When the
   model has metrics, the micro-batches' outputs are gathered and every process updates
   the metrics with all of them, in k order, as one process does.
5. Every process applies the same update (weight penalties added once, on the summed
   gradient; then ``optimizer.step``), so the parameters stay identical without another
   broadcast.

At the start of ``fit`` the parameters, the optimizer state and the random stream position
are broadcast from rank 0, after a check that every process got the same data sizes and
settings. Dropout masks are drawn per micro-batch from a seed of (epoch, step, k), so a
micro-batch draws the same mask on whichever process runs it.

Losses: a mean over rows (mse, mae, the cross-entropies, nll: "mean") is combined by row
count; "sum" by a plain sum (no division). Per-sample weights (``sample_weight``,
``class_weight``) follow Keras's ``sum_i w_i l_i / batch_size`` over the whole batch,
which the row-count weighting keeps (up to rounding). A loss given as a function is
refused (its reduction over rows is unknown). Weight penalties (regularizers) are added once
per step. Layers with
non-trainable state (BatchNormalization's moving statistics) are refused under MPI: each
process would update them from its own micro-batches only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import rcmlrs
from rcmlrs import distributed as _dist
from rcmlrs import losses as _losses
from rcmlrs._tensor import RamTensor
from rcmlrs.autograd import Tape
from rcmlrs.nn.autodiff import FunctionLoss
from rcmlrs.nn.seeding import layer_seed, mix

if TYPE_CHECKING:
    import numpy as np

    from rcmlrs.nn import metrics as _metrics


def check_micro_batches(micro_batches: Any) -> int | None:
    """``fit``'s ``micro_batches`` checked: None, or an int >= 1. Under MPI with several
    processes it must be given (ValueError otherwise)."""
    if micro_batches is None:
        if _dist.size() > 1:
            raise ValueError(
                f"fit: this is one of {_dist.size()} MPI processes; pass micro_batches=M "
                f"(M micro-batches per global batch, e.g. a multiple of the process count) "
                f"so every process count gives the same result"
            )
        return None
    if isinstance(micro_batches, bool) or not isinstance(micro_batches, int) or micro_batches < 1:
        raise ValueError(f"fit: micro_batches must be an int >= 1, got {micro_batches!r}")
    return micro_batches


def guarded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; under MPI with several processes an exception ends the
    whole job with a clear message on every process (``rc.distributed.fail``) instead of
    leaving the others waiting in a collective."""
    if _dist.size() <= 1:
        return fn(*args, **kwargs)
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        _dist.fail(e, "in fit")
        raise


def callbacks_for_rank(callbacks: list[Any]) -> list[Any]:
    """The callbacks this process runs: all on rank 0; elsewhere all but those that write
    files (ModelCheckpoint, CSVLogger, and any callback with ``rank_zero_only = True``).
    The logs are the same on every process, so EarlyStopping and the learning-rate
    callbacks decide the same everywhere."""
    if _dist.is_main():
        return callbacks
    from rcmlrs.nn import callbacks as _cb

    return [
        cb
        for cb in callbacks
        if not isinstance(cb, (_cb.ModelCheckpoint, _cb.CSVLogger))
        and not getattr(cb, "rank_zero_only", False)
    ]


def _tree_sum(leaves: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The pairwise tree sum of ``leaves[lo:hi]`` (in place: the result is row ``lo``)."""
    import numpy as np

    if hi - lo > 1:
        mid = (lo + hi) // 2
        _tree_sum(leaves, lo, mid)
        _tree_sum(leaves, mid, hi)
        np.add(leaves[lo], leaves[mid], out=leaves[lo])
    return leaves[lo]


def recursive_doubling(buf: np.ndarray, tmp: np.ndarray) -> None:
    """Finish a pairwise tree across the processes: ``buf`` holds this process's subtree
    (block ``rank`` of ``size`` equal blocks, ``size`` a power of two); afterwards every
    process holds the root, summed in the same association on all of them. ``tmp`` is a
    scratch buffer of ``buf``'s size (float32)."""
    import numpy as np

    comm, mpi = _dist.comm(), _dist._S.mpi
    r, p = _dist.rank(), _dist.size()
    j = 1
    while j < p:
        partner = r ^ j
        reqs = [
            comm.Isend([buf, mpi.FLOAT], dest=partner, tag=j),
            comm.Irecv([tmp, mpi.FLOAT], source=partner, tag=j),
        ]
        _dist._wait(reqs, "the gradient reduction")
        if r < partner:  # the lower block is the left operand
            np.add(buf, tmp, out=buf)
        else:
            np.add(tmp, buf, out=buf)
        j <<= 1


class _Slot:
    """One trainable parameter: its index in ``model.params``, its layer and index there,
    shape, and place in the packed buffer."""

    __slots__ = ("i", "j", "layer", "offset", "shape", "size")

    def __init__(self, i: int, layer: Any, j: int, shape: tuple[int, ...], offset: int) -> None:
        self.i, self.layer, self.j, self.shape, self.offset = i, layer, j, shape, offset
        self.size = shape[0] * shape[1] * shape[2]


class MicroBatches:
    """The micro-batch step of one ``fit`` call (see the module docstring): ``forward``
    computes and reduces one global batch's loss and gradient, ``apply`` steps the
    optimizer, ``update_metrics`` feeds the metrics every micro-batch's outputs."""

    def __init__(self, model: Any, m: int, batch_size: int) -> None:
        import numpy as np

        self.model, self.m = model, m
        self.p, self.r = _dist.size(), _dist.rank()
        loss = model._loss_fn
        if isinstance(loss, FunctionLoss) or not isinstance(loss, _losses.Loss):
            raise ValueError(
                "fit: micro_batches needs a loss from rc.losses (a name or a Loss object): "
                "the micro-batch gradients are combined by how the loss reduces over rows, "
                "which a loss given as a function does not say"
            )
        if loss.reduction not in ("mean", "sum"):
            raise ValueError(
                f"fit: micro_batches needs reduction 'mean' or 'sum', got {loss.reduction!r}"
            )
        self.mean = loss.reduction == "mean"
        if self.p > 1:
            stateful = [
                type(layer).__name__
                for layer in model.layers
                if getattr(layer, "non_trainable_weights", None)
            ]
            if stateful:
                raise ValueError(
                    f"fit: under MPI, layers with non-trainable state ({', '.join(stateful)}) "
                    f"would update it from each process's micro-batches only; train them in "
                    f"one process"
                )
        self.backprop = model._uses_backprop()
        self.slots: list[_Slot] = []
        i = off = 0
        for layer in model.layers:
            for j, prm in enumerate(layer.params):
                if layer.trainable:
                    self.slots.append(_Slot(i, layer, j, prm.shape, off))
                    off += self.slots[-1].size
                i += 1
        self.n = off
        self.lo, self.hi = self.r * m // self.p, (self.r + 1) * m // self.p
        self.doubling = self.p & (self.p - 1) == 0 and m % self.p == 0
        # the doubling path builds its subtree as the leaves come (about log2(M/P) + 2
        # buffers of n floats); the gather path needs all M leaves
        self.leaves = None if self.doubling else np.zeros((m, self.n), dtype=np.float32)
        self.pool: list[np.ndarray] = []
        self.root: np.ndarray | None = None
        self.tmp = np.empty(self.n, dtype=np.float32) if self.doubling and self.p > 1 else None
        self.losses = np.zeros(m, dtype=np.float64)
        self.base = 0
        self.epoch = 0
        self.keep_outputs = bool(getattr(model, "_metric_objs", None))
        self.outputs: dict[int, tuple[RamTensor, RamTensor]] = {}
        self._batch_size = batch_size

    # ------------------------------------------------------------------ start of fit
    def sync_start(self, signature: tuple[Any, ...]) -> None:
        """Under MPI: check that every process got the same ``signature`` (data sizes and
        settings), then broadcast parameters, optimizer state and the random stream
        position (``model.seed``, ``model.epoch``) from rank 0."""
        if self.p <= 1:
            return
        comm = _dist.comm()
        sig = (*signature, self.m, self.n, self._batch_size)
        sigs = comm.allgather(sig)
        for k, other in enumerate(sigs):
            if other != sigs[0]:
                raise ValueError(
                    f"fit: the MPI processes disagree: rank 0 has (training samples, "
                    f"samples, epochs, shuffle, micro_batches, parameters, batch_size) "
                    f"{sigs[0]}, rank {k} {other}; every process must load the same data and "
                    f"call fit with the same arguments"
                )
        model = self.model
        state = None
        if self.r == 0:
            state = (
                [p.numpy().copy() for p in model.params],
                model.optimizer.state_dict(),
                model.seed,
                model.epoch,
            )
        state = comm.bcast(state, root=0)
        if self.r != 0:
            weights, opt_state, model.seed, model.epoch = state
            for p, w in zip(model.params, weights, strict=True):
                p.numpy()[...] = w
            model.optimizer.load_state_dict(opt_state)

    def begin_epoch(self, base: int, epoch: int) -> None:
        """The random stream of this epoch (``base`` seed, ``epoch`` index)."""
        self.base, self.epoch = base, epoch

    # ------------------------------------------------------------------ one step
    def _leaf(self, k: int, out: np.ndarray, batch: tuple[Any, ...], step: int) -> None:
        """Micro-batch k's gradient, times its row count (mean losses), packed into ``out``;
        its loss into ``self.losses[k]``."""
        import numpy as np

        gather, targets, border, s, c, wb = batch
        s_k = s + k * c // self.m
        c_k = s + (k + 1) * c // self.m - s_k
        if c_k == 0:
            out[:] = 0.0
            self.losses[k] = 0.0
            return
        model = self.model
        for i, layer in enumerate(model.layers):
            layer.reseed(mix(layer_seed(self.base, i, self.epoch), step * self.m + k))
        xb = gather(border, s_k, c_k)
        actual = targets.batch(border, s_k, c_k)
        w = None if wb is None else wb[s_k - s : s_k - s + c_k]
        if self.backprop:
            loss, o, lin, grad = model._backprop_data_forward(xb, actual, w)
            model._backward(grad)
            grads: list[Any] = [sl.layer.grads[sl.j] for sl in self.slots]
        else:
            loss, o, lin, (tape, value) = model._tape_forward(xb, actual, w, penalty=False)
            grads = tape.gradient(value, model._tape_sources)
        scale = np.float32(c_k if self.mean else 1)
        for sl, g in zip(self.slots, grads, strict=True):
            dst = out[sl.offset : sl.offset + sl.size]
            if g is None:
                dst[:] = 0.0
            else:
                np.multiply(g.numpy().reshape(-1), scale, out=dst)
        self.losses[k] = loss
        if self.keep_outputs:
            self.outputs[k] = (o.copy(), o if lin is o else lin.copy())

    def _subtree(self, lo: int, hi: int, batch: tuple[Any, ...], step: int) -> np.ndarray:
        """The pairwise tree sum ``T(lo, hi)`` of the leaves (``_tree_sum``'s association),
        each leaf computed when the tree reaches it: the leaves come in k order and at most
        one buffer per tree level is alive."""
        import numpy as np

        if hi - lo == 1:
            buf = self.pool.pop() if self.pool else np.empty(self.n, dtype=np.float32)
            self._leaf(lo, buf, batch, step)
            return buf
        mid = (lo + hi) // 2
        left = self._subtree(lo, mid, batch, step)
        right = self._subtree(mid, hi, batch, step)
        np.add(left, right, out=left)
        self.pool.append(right)
        return left

    def forward(self, batch: tuple[Any, ...], step: int) -> tuple[float, np.ndarray]:
        """Loss and summed gradient of one global batch ``(gather, targets, order, start,
        count, weights)`` (step ``step`` of the epoch), reduced over the processes: the
        loss is the batch's (plus the weight penalties) and the gradient buffer is what
        ``apply`` takes."""
        import numpy as np

        mpi = _dist._S.mpi
        self.losses[:] = 0.0
        self.outputs = {}
        lo, hi = (0, self.m) if self.p == 1 else (self.lo, self.hi)
        loss_req = None
        if self.doubling:
            if self.root is not None:  # the last step's buffer, free again
                self.pool.append(self.root)
            root = self.root = self._subtree(lo, hi, batch, step)
            if self.p > 1:
                loss_req = _dist.comm().Iallreduce(mpi.IN_PLACE, [self.losses, mpi.DOUBLE], mpi.SUM)
                assert self.tmp is not None
                recursive_doubling(root, self.tmp)
        else:
            assert self.leaves is not None
            for k in range(lo, hi):
                self._leaf(k, self.leaves[k], batch, step)
            comm = _dist.comm()
            loss_req = comm.Iallreduce(mpi.IN_PLACE, [self.losses, mpi.DOUBLE], mpi.SUM)
            counts = [(q + 1) * self.m // self.p - q * self.m // self.p for q in range(self.p)]
            counts = [cnt * self.n for cnt in counts]
            displs = [q * self.m // self.p * self.n for q in range(self.p)]
            req = comm.Iallgatherv(mpi.IN_PLACE, [self.leaves, counts, displs, mpi.FLOAT])
            _dist._wait([req], "the gradient gather")
            root = _tree_sum(self.leaves, 0, self.m)
        if loss_req is not None:
            _dist._wait([loss_req], "the loss reduction")
        c = batch[4]
        if self.mean:
            counts_k = [(k + 1) * c // self.m - k * c // self.m for k in range(self.m)]
            total = sum(ck * float(lk) for ck, lk in zip(counts_k, self.losses, strict=True))
            loss = total / c
            np.divide(root, np.float32(c), out=root)
        else:
            loss = float(sum(float(v) for v in self.losses))
        loss += self.model._regularization_loss()
        return loss, root

    def apply(self, root: np.ndarray) -> None:
        """One optimizer step with the reduced gradient ``root`` (weight penalties added
        once, on the whole batch's gradient)."""
        model = self.model
        if self.backprop:
            for sl in self.slots:
                g = sl.layer.grads[sl.j]
                g.numpy().reshape(-1)[:] = root[sl.offset : sl.offset + sl.size]
            model._add_regularization_grads()
            model._step()
            return
        grads: list[RamTensor | None] = [None] * len(model.params)
        for sl in self.slots:
            flat = root[sl.offset : sl.offset + sl.size]
            grads[sl.i] = rcmlrs.from_numpy(flat.reshape(sl.shape))
        tape = Tape()
        with tape:
            tape.watch(model._tape_sources)
            penalty = model._regularization_penalty()
        if penalty is not None:
            for sl, pg in zip(self.slots, tape.gradient(penalty, model._tape_sources), strict=True):
                g = grads[sl.i]
                assert g is not None
                grads[sl.i] = g + pg
        model.optimizer.step(grads)

    # ------------------------------------------------------------------ metrics
    def _share_outputs(self) -> None:
        """Under MPI: every process gets every micro-batch's (output, loss input)."""
        import numpy as np

        mpi, comm = _dist._S.mpi, _dist.comm()
        shapes = np.zeros((self.m, 6), dtype=np.int64)
        for k, (o, lin) in self.outputs.items():
            shapes[k, :3], shapes[k, 3:] = o.shape, lin.shape
        _dist._wait(
            [comm.Iallreduce(mpi.IN_PLACE, [shapes, mpi.INT64_T], mpi.SUM)], "the metric shapes"
        )
        sizes = shapes[:, :3].prod(axis=1) + shapes[:, 3:].prod(axis=1)
        mine = [
            np.concatenate([o.numpy().reshape(-1), lin.numpy().reshape(-1)])
            for _, (o, lin) in sorted(self.outputs.items())
        ]
        send = np.concatenate(mine) if mine else np.zeros(0, dtype=np.float32)
        bounds = [q * self.m // self.p for q in range(self.p + 1)]
        counts = [int(sizes[bounds[q] : bounds[q + 1]].sum()) for q in range(self.p)]
        displs = [int(sizes[: bounds[q]].sum()) for q in range(self.p)]
        recv = np.empty(int(sizes.sum()), dtype=np.float32)
        req = comm.Iallgatherv([send, mpi.FLOAT], [recv, counts, displs, mpi.FLOAT])
        _dist._wait([req], "the metric outputs")
        pos = 0
        for k in range(self.m):
            if not sizes[k]:
                continue
            so, sl = tuple(int(v) for v in shapes[k, :3]), tuple(int(v) for v in shapes[k, 3:])
            no, nl = so[0] * so[1] * so[2], sl[0] * sl[1] * sl[2]
            o = rcmlrs.from_numpy(recv[pos : pos + no].reshape(so))
            lin = rcmlrs.from_numpy(recv[pos + no : pos + no + nl].reshape(sl))
            self.outputs[k] = (o, lin)
            pos += no + nl

    def update_metrics(
        self, mets: list[_metrics.Metric], batch: tuple[Any, ...], labels: bool, thr: float
    ) -> None:
        """Feed ``mets`` every micro-batch of the last ``forward`` in k order (the same
        updates on every process, and as in one process)."""
        if self.p > 1:
            self._share_outputs()
        _, targets, border, s, c, _ = batch
        for k in range(self.m):
            if k not in self.outputs:
                continue
            o, lin = self.outputs[k]
            s_k = s + k * c // self.m
            c_k = s + (k + 1) * c // self.m - s_k
            yb = (
                targets.batch_tensor(border, s_k, c_k)
                if labels
                else targets.batch(border, s_k, c_k)
            )
            for met in mets:
                met.update_from_batch(o, lin, yb, labels, thr)


__all__ = [
    "MicroBatches",
    "callbacks_for_rank",
    "check_micro_batches",
    "guarded",
    "recursive_doubling",
]
