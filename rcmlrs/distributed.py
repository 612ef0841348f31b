"""Data-parallel training on MPI (through ``mpi4py``), with the same bits on any number of
processes.

Launch the same script on P processes (``mpiexec -n 4 python train.py``, ``srun``), call
``rc.distributed.init()`` first, and ``model.fit(..., micro_batches=M)`` splits each global
batch into M micro-batches of fixed boundaries; process ``r`` computes the gradients of a
contiguous block of them and the processes sum them in one fixed association (see
rc.nn.parallel and docs/DISTRIBUTED.md), so the final weights are bit for bit those of one
process with the same M.

Without ``mpi4py`` (``pip install "rcmlrs[mpi]"`` installs it with the ``mpich`` wheel)
everything here works in one process: ``init()`` succeeds, ``rank()`` is 0 and ``size()`` 1.
Launched by ``mpiexec`` with several processes but without ``mpi4py``, ``init()`` raises
ImportError instead of letting every process train alone.

A failing process does not hang the others. Every wait of a training collective polls for a
note from a failed process (and, with a ``timeout``, gives up after that many seconds): the
process whose step raised prints its error, sends a note to the others, waits briefly for
them to print theirs (each raises ``DistributedError`` naming the failed rank), then aborts
the job (``MPI_Abort``), so every process ends within a bounded time with a clear message.
``init()`` also installs an exception hook that does the same for an uncaught exception
outside ``fit``.
"""

from __future__ import annotations

import atexit
import os
import sys
import time
import traceback
from typing import Any

from rcmlrs._tensor import RCMLRSError

_ERR_TAG, _ACK_TAG = 7001, 7002
_NOTE_BYTES = 4096
_GRACE_S = 5.0  # how long a failing process waits for the others to print before aborting


def _grace() -> float:
    """Seconds a failing process waits for the others' acknowledgements before it aborts
    the job: ``RCMLRS_MPI_GRACE`` when set, else 5."""
    v = os.environ.get("RCMLRS_MPI_GRACE", "").strip()
    try:
        return max(0.0, float(v)) if v else _GRACE_S
    except ValueError:
        return _GRACE_S


# the launchers' own variables for the number of processes (MPICH/Hydra and PMI-2 under
# Slurm, Open MPI, MVAPICH)
_LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


class DistributedError(RCMLRSError, RuntimeError):
    """Another process of the job failed (the message names its rank and error;
    ``failed_rank`` is that rank), or a collective made no progress within
    ``init(timeout=...)`` seconds (``failed_rank`` is None)."""

    def __init__(self, message: str, failed_rank: int | None = None) -> None:
        super().__init__(message)
        self.failed_rank = failed_rank


class _State:
    def __init__(self) -> None:
        self.initialized = False
        self.mpi: Any = None  # the mpi4py.MPI module
        self.comm: Any = None  # the data communicator (a duplicate of the one given)
        self.err_comm: Any = None  # the error notes' communicator
        self.err_req: Any = None  # the posted receive of an error note
        self.err_buf = bytearray(_NOTE_BYTES)
        self.rank = 0
        self.size = 1
        self.timeout: float | None = None
        self.failing = False
        self.prev_hook: Any = None
        self.pending: list[Any] = []  # notes and acks in flight (their buffers stay alive)


_S = _State()


def _launcher_size() -> int:
    """The number of processes a launcher (mpiexec, srun) started, from its environment
    (1 when none did)."""
    for var in _LAUNCHER_SIZE_VARS:
        v = os.environ.get(var, "")
        if v.strip().isdigit():
            return int(v)
    return 1


def init(timeout: float | None = None, comm: Any = None) -> None:
    """Join the MPI job this process was launched in (idempotent).

    ``timeout`` (seconds, > 0; default: the ``RCMLRS_MPI_TIMEOUT`` environment variable,
    else no limit) bounds every wait of a training collective: a process that waits longer
    raises ``DistributedError`` and the job is aborted. ``comm``: an ``mpi4py``
    communicator to train over (default ``MPI.COMM_WORLD``); it is duplicated, so training
    traffic never mixes with the caller's. Without ``mpi4py`` this is the one-process
    job (rank 0 of 1); launched with several processes but without ``mpi4py``, ImportError."""
    if timeout is None:
        env = os.environ.get("RCMLRS_MPI_TIMEOUT", "").strip()
        timeout = float(env) if env else None
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise ValueError(
            f"distributed.init: timeout must be a number of seconds > 0, got {timeout!r}"
        )
    _S.timeout = None if timeout is None else float(timeout)
    if _S.initialized:
        return
    try:
        from mpi4py import MPI  # type: ignore[import-not-found,unused-ignore]
    except ImportError as e:
        n = _launcher_size()
        if n > 1 or comm is not None:
            raise ImportError(
                f"distributed.init: this process was started as one of {n} MPI processes, but "
                f"mpi4py cannot be imported ({e}); install it with pip install 'rcmlrs[mpi]'"
            ) from None
        _S.initialized = True
        return
    base = MPI.COMM_WORLD if comm is None else comm
    _S.mpi = MPI
    _S.comm = base.Dup()
    _S.err_comm = base.Dup()
    _S.rank, _S.size = _S.comm.Get_rank(), _S.comm.Get_size()
    if _S.size > 1:
        _S.err_req = _S.err_comm.Irecv([_S.err_buf, MPI.BYTE], source=MPI.ANY_SOURCE, tag=_ERR_TAG)
        _S.prev_hook = sys.excepthook
        sys.excepthook = _excepthook
        atexit.register(_cancel_note_receive)  # runs before mpi4py's MPI_Finalize
    _S.initialized = True


def is_initialized() -> bool:
    """True once ``init()`` has run in this process."""
    return _S.initialized


def rank() -> int:
    """This process's rank in the job, 0 ... size() - 1 (0 before ``init`` and without MPI)."""
    return _S.rank


def size() -> int:
    """The number of processes in the job (1 before ``init`` and without MPI)."""
    return _S.size


def is_main() -> bool:
    """True on rank 0, the process that prints and writes files."""
    return _S.rank == 0


def comm() -> Any:
    """The ``mpi4py`` communicator training uses (a duplicate of the one ``init`` was
    given), or None in a one-process job without MPI."""
    return _S.comm


def barrier() -> None:
    """Wait until every process reaches this call (nothing to wait for in one process);
    honours ``init``'s timeout and a failed process's note like a training collective."""
    if _S.size > 1:
        _wait([_S.comm.Ibarrier()], "barrier")


# ---------------------------------------------------------------------- failure handling


def _note_received() -> tuple[str, int] | None:
    """The note of a failed process and its rank, when one has arrived."""
    req = _S.err_req
    if req is None:
        return None
    status = _S.mpi.Status()
    if not req.Test(status):
        return None
    _S.err_req = None
    n = status.Get_count(_S.mpi.BYTE)
    return bytes(_S.err_buf[:n]).decode("utf-8", "replace"), status.Get_source()


def _cancel_note_receive() -> None:
    """Withdraw the posted receive of an error note (at a clean exit)."""
    req, _S.err_req = _S.err_req, None
    if req is not None:
        req.Cancel()
        req.Wait()


def _wait(reqs: list[Any], what: str) -> None:
    """Complete the MPI requests ``reqs``, polling for a failed process's note and
    honouring ``init``'s timeout. It polls without sleeping, as MPI's own blocking waits
    do (a large message moves only while someone polls, so a sleep between polls would
    stretch every transfer), but yields the CPU between polls once the wait gets long,
    so that on a machine with more processes than cores the ones still computing run."""
    mpi = _S.mpi
    start = time.monotonic()
    polls = 0
    while not mpi.Request.Testall(reqs):
        note = _note_received()
        if note is not None:
            raise DistributedError(
                f"rank {_S.rank}/{_S.size}: stopping because {note[0]}", failed_rank=note[1]
            )
        polls += 1
        if polls > 1000:
            os.sched_yield() if hasattr(os, "sched_yield") else time.sleep(0)
            if polls % 1024 == 0 and _S.timeout is not None:
                if time.monotonic() - start > _S.timeout:
                    raise DistributedError(
                        f"rank {_S.rank}/{_S.size}: {what} made no progress in "
                        f"{_S.timeout:g} s (another process is stuck or dead); aborting the job"
                    )


def _announce(exc: BaseException, where: str) -> str:
    """Print this process's failure to stderr and send a note to every other process."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    sys.stderr.write(
        f"rcmlrs.distributed: rank {_S.rank}/{_S.size} failed {where}:\n{''.join(lines)}"
    )
    sys.stderr.flush()
    note = f"rank {_S.rank} failed {where}: {type(exc).__name__}: {exc}"
    data = note.encode("utf-8")[: _NOTE_BYTES - 1]
    for dest in range(_S.size):
        if dest != _S.rank:
            req = _S.err_comm.Isend([data, _S.mpi.BYTE], dest=dest, tag=_ERR_TAG)
            _S.pending.append((req, data))
    return note


def fail(exc: BaseException, where: str = "") -> None:
    """End the job after ``exc`` on this process: report it, and abort every process.

    A ``DistributedError`` naming another failed process is printed and acknowledged to
    that process, which aborts the job once every process has acknowledged (this one aborts
    it itself if that has not happened within a few seconds). Any other exception (a
    timeout included) is printed and announced to the other processes, which print their
    own ``DistributedError``; the job is aborted after they acknowledge, or after a few
    seconds (``RCMLRS_MPI_GRACE``, default 5). Does nothing in a one-process job (the
    caller re-raises)."""
    if _S.size <= 1 or _S.failing:
        return
    _S.failing = True
    mpi = _S.mpi
    src = getattr(exc, "failed_rank", None)
    if isinstance(exc, DistributedError) and src is not None:
        sys.stderr.write(f"rcmlrs.distributed: {exc}\n")
        sys.stderr.flush()
        _S.pending.append(_S.err_comm.Isend([b"1", mpi.BYTE], dest=src, tag=_ACK_TAG))
        time.sleep(_grace() + 2.0)  # the failed process aborts the job meanwhile
        _S.comm.Abort(1)
        return
    _announce(exc, where)
    acks = [bytearray(1) for _ in range(_S.size - 1)]
    reqs = [_S.err_comm.Irecv([buf, mpi.BYTE], source=mpi.ANY_SOURCE, tag=_ACK_TAG) for buf in acks]
    deadline = time.monotonic() + _grace()
    while time.monotonic() < deadline and not mpi.Request.Testall(reqs):
        time.sleep(1e-3)
    time.sleep(0.05)  # let the others' stderr reach the launcher
    _S.comm.Abort(1)


def _excepthook(tp: Any, value: BaseException, tb: Any) -> None:
    """An uncaught exception on one process ends the whole job (after reporting it)."""
    if _S.size <= 1 or not isinstance(value, Exception):
        _S.prev_hook(tp, value, tb)
        return
    if value.__traceback__ is None:
        value = value.with_traceback(tb)
    fail(value, "with an uncaught exception")


__all__ = [
    "DistributedError",
    "barrier",
    "comm",
    "fail",
    "init",
    "is_initialized",
    "is_main",
    "rank",
    "size",
]
