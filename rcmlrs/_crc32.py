"""CRC-32 of rcmlrs's binary files, in parallel: zlib checksums chunks on worker threads
(it releases the GIL) and the chunk CRCs are joined with crc32_combine (zlib's algorithm;
Python's zlib module does not expose it): crc(A + B) = crc(A) * x^(8 len B) mod P xor
crc(B). Used by rcmlrs.io while it reads or writes."""

from __future__ import annotations

import functools
import os
import zlib
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

_THREADED_CRC_MIN = 1 << 23  # below this many data bytes a helper thread does not pay
_CRC_POLY = 0xEDB88320  # CRC-32 polynomial, bit-reflected as zlib uses it
_X2N: list[int] = []  # _X2N[k] = x^(2^k) mod P
_CRC_POOL = None  # (pid, ThreadPoolExecutor), made on first use, remade after fork


def _multmodp(a: int, b: int) -> int:
    """a * b modulo P over GF(2), reflected (zlib's multmodp)."""
    p = 0
    for i in range(31, -1, -1):
        if (a >> i) & 1:
            p ^= b
        b = (b >> 1) ^ _CRC_POLY if b & 1 else b >> 1
    return p


@functools.lru_cache(maxsize=64)
def _x8nmodp(n: int) -> int:
    """x^(8 n) modulo P: the factor that shifts a CRC past n zero bytes."""
    if not _X2N:
        p = 1 << 30  # x^1
        table = [p]
        for _ in range(31):
            p = _multmodp(p, p)
            table.append(p)
        _X2N[:] = table
    p, k = 1 << 31, 3  # x^0, and 8 = 2^3
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


def _crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A + B from crc1 = crc(A), crc2 = crc(B) and len2 = len(B)."""
    return _multmodp(_x8nmodp(len2), crc1) ^ crc2


def _crc_pool() -> ThreadPoolExecutor:
    global _CRC_POOL
    pid = os.getpid()
    if _CRC_POOL is None or _CRC_POOL[0] != pid:  # a forked child has no worker threads
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, min(4, (os.cpu_count() or 1) - 1))
        _CRC_POOL = (pid, ThreadPoolExecutor(workers, thread_name_prefix="rcmlrs-crc32"))
    return _CRC_POOL[1]


class _Crc32:
    """A running CRC-32 over chunks added in file order. Above ``_THREADED_CRC_MIN`` bytes
    in all, chunks are checksummed on worker threads while the caller goes on reading or
    writing, and ``result()`` joins the pieces; below, it is computed inline."""

    def __init__(self, crc: int, total: int):
        self.crc = crc
        self._pending: list[tuple[Future[int], int]] | None = (
            [] if total >= _THREADED_CRC_MIN else None
        )
        self._pool = _crc_pool() if self._pending is not None else None

    def add(self, chunk) -> None:
        if self._pending is None:
            self.crc = zlib.crc32(chunk, self.crc)
        else:
            pool = cast("ThreadPoolExecutor", self._pool)  # made with _pending
            self._pending.append((pool.submit(zlib.crc32, chunk), len(chunk)))

    def result(self) -> int:
        """The CRC so far (waits for the workers; call it even on error paths)."""
        if self._pending:
            crc = self.crc
            for future, n in self._pending:
                crc = _crc32_combine(crc, future.result(), n)
            self.crc = crc
            self._pending = []
        return self.crc


class _NoCrc:
    @staticmethod
    def add(chunk) -> None:
        pass


_NO_CRC = _NoCrc()
