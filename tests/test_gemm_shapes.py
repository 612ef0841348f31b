"""GEMM shape classes of issue 15 against NumPy float64, and their bits across threads.

Covers the matrix x vector path (m = 1 or n = 1, every transpose), small m / n edges,
tall-skinny products whose k is split into segments (few outputs, long k), alpha/beta
(beta == 0 never reads C: NaN there must not leak), and bitwise identical results at 1, 2
and 3 threads and run after run. Also the LSTM time loop (its cells run over the pool)
across thread counts, and that the thread pool does not spin once idle.

Tolerance as in test_matmul.py: |got - want| <= 2*k*u*|alpha|*(|A| @ |B|) + 2u|beta*C|.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import rcmlrs as rc
from rcmlrs import _layers, _runtime, _tensor

BACKENDS = _runtime.capabilities()
U = 2.0**-24

# (m, k, n): matrix x vector, small edges, k-split (m*n <= 65536, k >= 2048,
# m*n*k >= 4M), and a few ordinary ones that border them
# (the axpy forms cut their columns by thread count, at most 1024 a chunk, or 4096 with the
# AVX2 kernels: 2500 and 4500 columns)
GEMV = [(1, 1024, 1024), (1, 37, 1000), (1, 600, 17), (1000, 300, 1), (33, 1025, 1), (1, 1, 5)]
GEMV += [(1, 300, 2500), (2500, 300, 1), (1, 40, 4500), (4500, 40, 1)]
# a matrix of 32 MB or more, whose next rows the AVX-512 axpy form prefetches: k not a
# multiple of its 8-row passes, a last column block of 2
GEMV += [(1, 4100, 2050), (2050, 4100, 1)]
EDGES = [(2, 300, 700), (3, 129, 45), (17, 64, 2), (700, 90, 3), (9, 513, 33), (40, 40, 40)]
# whole tiles over a B read in place, one k block of 301 (AVX2 unrolls that k loop by four)
EDGES += [(30, 301, 48)]
# an A whose rows lie 4 KB apart (1024 floats), n > 32, is packed (RCML_A_4K_N): transposed
# here; untransposed in (16, 1024, 700) and in the k-split segments of (20, 4096, 52)
EDGES += [(1024, 40, 48)]
KSPLIT = [(20, 4096, 52), (24, 9000, 20), (40, 2048, 52), (5, 70000, 13), (60, 2100, 40)]
KSPLIT += [(60, 8192, 10)]  # with A transposed: computed as C^T (n <= 16, m >= 2n)
# tiles: one row of tiles with B packed per tile (m <= 480; m <= 1024 at one thread),
# several row tiles sharing one packed B (m > 480 with threads; m > 1024), several k
# blocks, ragged edges, a B beyond 2 MB packed for 24 rows; tiles follow the thread count
TILED = [(64, 256, 1100), (520, 600, 300), (33, 700, 650), (256, 784, 1024), (24, 1024, 700)]
TILED += [(1100, 200, 300)]
# a B of 0.5-2 MB for 17..32 rows: packed on AVX2 (its kernels' b_direct_big), read in
# place by the other tables
TILED += [(32, 784, 512)]
# B packed by the first row panel's kernels as they read it (AVX2's rowa_pk / cola_pk: at
# most 64 rows, B's rows at most 512 floats apart or one k block): two k blocks and a
# partial last column panel, packed ahead; (64, 256, 1100) is the one-k-block case
TILED += [(40, 500, 333)]
# a B over 8 MB, whose packing prefetches rows ahead on AVX2: packed per tile (64 rows; in
# AVX2's 128-column blocks for a B from memory, the last one ragged: 1100 = 8 x 128 + 76),
# and inside a k-split (24 rows: 4 segments, the whole product's B decides)
TILED += [(64, 2100, 1100), (24, 2100, 1100)]
# a k-split whose whole B passes 4 MB, rows 512 floats apart: packed row by row, not fused
TILED += [(12, 4096, 512)]
# a B read in place by up to 16 rows, its rows 2 KB or more apart and over 2 MB in all: k
# blocks of at most 32 (a ragged last one at k = 600; also inside a k-split; 16 and 13
# rows: a second, full or partial, row panel)
STREAM = [(8, 600, 1000), (3, 300, 2000), (6, 4096, 512), (16, 1024, 700), (13, 300, 4000)]
# ... but packed in full k blocks by two or more row panels past 4 MB, or by three with rows
# 4 KB apart (rcml_b_stream_packed, AVX2 table): two panels, a partial one; three panels at
# 2.4 MB; and a k-split whose segments are 2 MB each (the whole product's B decides)
STREAM += [(9, 1100, 1000), (13, 600, 1024), (10, 2100, 1024)]
# a streamed B of 8 MB or more (RCML_B_FAR), whose next blocks are prefetched line by line:
# a ragged last k block, and a last column block narrower than a panel (1030 = 2 x 512 + 6)
STREAM += [(5, 2100, 1030)]
# ... which tables that prefetch it stream for up to 32 rows (rcml_b_stream_rows): three row
# panels, and a k-split whose whole B (not a segment's) is 8 MB
STREAM += [(24, 2100, 1030), (20, 4096, 520)]
# a C of 8 MB or more whose rows one block of B spans (AVX-512: each call prefetches its
# tile in the next row panel): several row tiles, a partial last row panel, and a last
# column panel of 2 columns
TILED += [(8203, 40, 290)]
SHAPES = GEMV + EDGES + KSPLIT + TILED + STREAM
TRANS = [(False, False), (True, False), (False, True), (True, True)]


def _operands(rng, m, k, n, ta, tb):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    return a, b


def _gemm(a, b, ta, tb, alpha=1.0, beta=0.0, c=None):
    m = a.shape[1] if ta else a.shape[0]
    n = b.shape[0] if tb else b.shape[1]
    out = rc.from_numpy(np.zeros((m, n), np.float32) if c is None else c.copy())
    _tensor._gemm_into(out, rc.from_numpy(a), rc.from_numpy(b), alpha, beta, ta, tb)
    return out.numpy().reshape(m, n)


def _mm64(x, y):
    """float64 product without BLAS (whose threads crawl on a loaded machine)."""
    return np.einsum("ik,kj->ij", x, y)


def _check(got, a, b, ta, tb, alpha=1.0, beta=0.0, c=None):
    a64 = a.astype(np.float64).T if ta else a.astype(np.float64)
    b64 = b.astype(np.float64).T if tb else b.astype(np.float64)
    want = alpha * _mm64(a64, b64)
    bound = 2.0 * a64.shape[1] * U * abs(alpha) * _mm64(np.abs(a64), np.abs(b64)) + 1e-30
    if beta != 0.0:
        want = want + beta * c.astype(np.float64)
        bound = bound + 2.0 * U * np.abs(beta * c.astype(np.float64))
    err = np.abs(got.astype(np.float64) - want)
    assert np.all(err <= bound), f"max err {err.max()} (bound {bound.max()}) {a.shape} {b.shape}"


@pytest.mark.parametrize("m,k,n", SHAPES)
def test_shapes_all_transposes_against_float64(m, k, n, restore):
    rng = np.random.default_rng(m * 7919 + k * 31 + n)
    for ta, tb in TRANS:
        a, b = _operands(rng, m, k, n, ta, tb)
        _check(_gemm(a, b, ta, tb), a, b, ta, tb)


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_gemv_and_ksplit(name, restore):
    _runtime.set_backend(name)
    rng = np.random.default_rng(17)
    for m, k, n in [(1, 300, 70), (90, 200, 1), (20, 4096, 24)]:
        for ta, tb in TRANS:
            a, b = _operands(rng, m, k, n, ta, tb)
            _check(_gemm(a, b, ta, tb), a, b, ta, tb)


@pytest.mark.parametrize(
    "m,k,n", [(1, 500, 300), (300, 500, 1), (30, 5000, 40), (50, 60, 70), (40, 500, 333)]
)
def test_alpha_beta_and_nan_in_c(m, k, n, restore):
    rng = np.random.default_rng(m + k + n)
    for ta, tb in TRANS:
        a, b = _operands(rng, m, k, n, ta, tb)
        c = rng.standard_normal((m, n)).astype(np.float32)
        _check(_gemm(a, b, ta, tb, 0.5, -1.5, c), a, b, ta, tb, 0.5, -1.5, c)
        # beta == 0: C is never read, so NaN (or inf) there does not leak
        nan = np.full((m, n), np.nan, np.float32)
        got = _gemm(a, b, ta, tb, 2.0, 0.0, nan)
        assert np.all(np.isfinite(got))
        _check(got, a, b, ta, tb, 2.0)
        # but a NaN in an operand does reach its outputs (nothing is skipped)
        a2 = a.copy()
        a2.flat[0] = np.nan
        got = _gemm(a2, b, ta, tb)
        # stored element 0 is op(A)[0, 0] either way: row 0 of C is NaN, the rest finite
        assert np.all(np.isnan(got[0])) and np.all(np.isfinite(got[1:]))


def _at_offset(x, offset):
    """A copy of x whose data starts `offset` bytes past a 64-byte cache line."""
    buf = np.empty(x.size + 32, np.float32)
    skip = (-buf.ctypes.data % 64 + offset) // 4
    view = buf[skip : skip + x.size].reshape(x.shape)
    view[...] = x
    assert view.ctypes.data % 64 == offset
    return view


@pytest.mark.parametrize("name", BACKENDS)
def test_gemv_axpy_bits_do_not_depend_on_alignment(name, restore):
    # The axpy forms (1 x k @ k x n; A^T x with A stored k x m) over a matrix that starts
    # inside a cache line, as NumPy's own arrays do (16 bytes in), and whose rows lie whole
    # vectors apart: the AVX2 kernel then starts its vectors before the matrix, the first
    # one masked. Every output keeps its chain of FMAs, so the bits equal those of the same
    # values on a line; k covers the 8-row passes and the rows left over, w a partial
    # vector and a second 4096-column block.
    _runtime.set_backend(name)
    rng = np.random.default_rng(7)
    for threads in (1, 2):
        rc.set_num_threads(threads)
        for w in (8, 24, 1000, 4104):
            for k in (5, 8, 37, 300):
                x = rng.standard_normal((1, k)).astype(np.float32)
                mat = rng.standard_normal((k, w)).astype(np.float32)
                c = rng.standard_normal((1, w)).astype(np.float32)
                for form in ("m=1", "n=1 ta"):
                    outs = []
                    for off in (0, 4, 16, 28, 60):
                        mo = _at_offset(mat, off)
                        if form == "m=1":
                            got = _gemm(x, mo, False, False, 0.5, -1.5, c)
                        else:  # (w x k) @ (k x 1) with A stored k x w
                            got = _gemm(mo, x.reshape(k, 1), True, False, 0.5, -1.5, c.T)
                        outs.append(got.reshape(-1))
                    if form == "m=1":
                        _check(outs[0].reshape(1, w), x, mat, False, False, 0.5, -1.5, c)
                    else:
                        _check(
                            outs[0].reshape(w, 1), mat, x.reshape(k, 1), True, False, 0.5, -1.5, c.T
                        )
                    for off, got in zip((4, 16, 28, 60), outs[1:], strict=True):
                        assert np.array_equal(got.view(np.uint32), outs[0].view(np.uint32)), (
                            f"{form} w={w} k={k} offset {off} threads {threads}"
                        )
        # a NaN in the first and in the last column reaches only those outputs
        mat = rng.standard_normal((37, 1000)).astype(np.float32)
        mat[3, 0] = np.nan
        mat[36, 999] = np.nan
        got = _gemm(np.ones((1, 37), np.float32), _at_offset(mat, 16), False, False)[0]
        assert np.isnan(got[0]) and np.isnan(got[999]) and np.all(np.isfinite(got[1:999]))


@pytest.mark.parametrize("name", BACKENDS)
def test_gemm_bits_do_not_depend_on_where_b_starts(name, restore):
    # A B that would be read in place but starts inside a cache line, its rows whole lines
    # apart, is packed with the AVX2 kernels (RCML_B_LINE_M): a k-split product (A
    # transposed, n = 48 and 64), one read in place (64 x 1024 x 64), a ragged one and a
    # batch of three layers sharing one misaligned B. Packing keeps the k blocks, so the bits
    # must equal those of the same values on a line, at 1 and 2 threads.
    _runtime.set_backend(name)
    rng = np.random.default_rng(11)
    cases = [(288, 4096, 48, True), (100, 2100, 64, True), (64, 1024, 64, False)]
    cases += [(70, 300, 48, False), (130, 500, 48, True)]
    for threads in (1, 2):
        rc.set_num_threads(threads)
        for m, k, n, ta in cases:
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            outs = [_gemm(a, _at_offset(b, off), ta, False) for off in (0, 16, 32, 4)]
            _check(outs[0], a, b, ta, False)
            for off, got in zip((16, 32, 4), outs[1:], strict=True):
                assert np.array_equal(got.view(np.uint32), outs[0].view(np.uint32)), (
                    f"{m}x{k}x{n} ta={ta} B offset {off} threads {threads}"
                )
        a = rng.standard_normal((3, 80, 300)).astype(np.float32)
        b = rng.standard_normal((300, 64)).astype(np.float32)
        want = None
        for off in (0, 16):
            out = rc.from_numpy(np.zeros((3, 80, 64), np.float32))
            _tensor._gemm_into(
                out, rc.from_numpy(a), rc.from_numpy(_at_offset(b, off)), 1.0, 0.0, False, False
            )
            got = out.numpy().reshape(3, 80, 64).copy()
            if want is None:
                want = got
                for layer in range(3):
                    _check(got[layer], a[layer], b, False, False)
            assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), f"batch {off}"


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_bits_same_for_1_2_3_threads_and_runs(name, restore):
    _runtime.set_backend(name)
    rng = np.random.default_rng(5)
    shapes = SHAPES + [(256, 300, 520)]
    for m, k, n in shapes:
        for ta, tb in TRANS:
            a, b = _operands(rng, m, k, n, ta, tb)
            c = rng.standard_normal((m, n)).astype(np.float32)
            rc.set_num_threads(1)
            want = _gemm(a, b, ta, tb, 0.75, 0.25, c)
            for threads in (2, 3, 2, 1):
                rc.set_num_threads(threads)
                got = _gemm(a, b, ta, tb, 0.75, 0.25, c)
                np.testing.assert_array_equal(got, want, err_msg=f"{m}x{k}x{n} {ta}{tb} t{threads}")


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_short_last_panel_has_the_full_panels_bits(name, restore):
    # a last row panel of <= MR/2 rows runs a narrower kernel (AVX-512: 4 x 32) that must
    # keep each output's FMA chain: rows 32..35 of a 36-row product equal the same rows
    # of a 40-row one (a full panel), and likewise for 2..4 rows against 8. Each pair
    # takes the same path (A read in place or packed, B in place or packed, same k blocks).
    rng = np.random.default_rng(10)
    _runtime.set_backend(name)
    pairs = [(36, 40, 300, 100), (34, 40, 300, 100), (33, 40, 700, 70)]  # A, B in place
    pairs += [(260, 264, 300, 60), (258, 264, 300, 300)]  # A packed; B in place, packed
    pairs += [(4, 8, 700, 300), (2, 8, 300, 33), (3, 8, 64, 4096)]  # a batch of 2..4 rows
    pairs += [(4, 8, 600, 1000), (12, 16, 1024, 700)]  # short k blocks, B read in place
    for small, big, k, n in pairs:
        for ta, tb in TRANS:
            a, b = _operands(rng, big, k, n, ta, tb)
            c = rng.standard_normal((big, n)).astype(np.float32)
            full = _gemm(a, b, ta, tb, 0.75, 0.25, c)
            part_a = np.ascontiguousarray(a[:, :small] if ta else a[:small])
            part = _gemm(part_a, b, ta, tb, 0.75, 0.25, c[:small])
            np.testing.assert_array_equal(
                part, full[:small], err_msg=f"{small} vs {big} rows, x{k}x{n} {ta}{tb}"
            )


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_partial_last_column_panel_has_the_full_panels_bits(name, restore):
    # a last column panel of nr < NR columns of a B read in place is either copied with
    # zero padding or (AVX-512) read in place with masked loads: its columns must equal
    # the same columns of a product whose B is wider by a few columns (that panel full),
    # for full, half-width (nr <= 16) and swapped (transposed A, n <= 16) products
    rng = np.random.default_rng(12)
    _runtime.set_backend(name)
    cases = [(20, 300, 25, 32), (7, 1000, 9, 16), (40, 200, 57, 64), (60, 300, 7, 16)]
    cases += [(6, 5000, 25, 32), (33, 40, 45, 64)]
    for m, k, n, wide_n in cases:
        for ta in (False, True):
            a, b_wide = _operands(rng, m, k, wide_n, ta, False)
            b = np.ascontiguousarray(b_wide[:, :n])
            c = rng.standard_normal((m, wide_n)).astype(np.float32)
            want = _gemm(a, b_wide, ta, False, 0.75, 0.25, c)[:, :n]
            got = _gemm(a, b, ta, False, 0.75, 0.25, np.ascontiguousarray(c[:, :n]))
            np.testing.assert_array_equal(got, want, err_msg=f"{m}x{k}x{n} ta={ta}")
            _check(_gemm(a, b, ta, False), a, b, ta, False)


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_few_columns_computed_transposed_keep_their_bits(name, restore):
    # with a transposed A and n <= 16 < m/2 (n not a multiple of the kernel's NR: 16 is
    # swapped by the AVX-512 kernels, not by AVX2's) the product is computed as
    # C^T = B^T A^T (the vector lanes then run along m): the bits must be those of the
    # direct product, i.e. of the same columns in a product padded to 40 columns (computed
    # directly); packed route and k-split route, alpha and beta
    rng = np.random.default_rng(11)
    _runtime.set_backend(name)
    for m, k, n in [(1024, 256, 10), (60, 300, 7), (33, 1000, 16), (25, 36864, 6)]:
        for ta, tb in TRANS:
            a, b = _operands(rng, m, k, n, ta, tb)
            extra = rng.standard_normal((40 - n, k) if tb else (k, 40 - n)).astype(np.float32)
            wide = np.concatenate([b, extra], axis=0 if tb else 1)
            c = rng.standard_normal((m, 40)).astype(np.float32)
            want = _gemm(a, wide, ta, tb, 0.75, 0.25, c)[:, :n]
            got = _gemm(a, b, ta, tb, 0.75, 0.25, np.ascontiguousarray(c[:, :n]))
            np.testing.assert_array_equal(got, want, err_msg=f"{m}x{k}x{n} {ta}{tb}")
            _check(_gemm(a, b, ta, tb), a, b, ta, tb)


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_few_rows_with_transposed_b_computed_transposed_keep_their_bits(name, restore):
    # with a transposed B, 8..32 rows (a multiple of half the kernel's NR, or k a multiple of
    # 1024) and a B over 256 KB, the AVX2 and AVX-512 tables compute C^T = B A^T (the stored B
    # read in place), AVX-512 on one thread for up to 64 rows; the bits must be those of the
    # same rows of an 80-row product (computed directly), at 1 and 2 threads, alpha and beta;
    # both transposes of A
    rng = np.random.default_rng(14)
    _runtime.set_backend(name)
    cases = [(16, 512, 300), (32, 300, 784), (8, 1024, 100), (12, 1024, 257), (24, 1024, 64)]
    cases += [(8, 600, 520), (16, 200, 33)]  # direct on AVX-512 (8 rows), and B under 256 KB
    cases += [(64, 1024, 256), (48, 512, 784), (40, 1024, 130)]  # AVX-512, 1 thread
    for m, k, n in cases:
        for ta in (False, True):
            a_big, b = _operands(rng, 80, k, n, ta, True)
            a = np.ascontiguousarray(a_big[:, :m] if ta else a_big[:m])
            c_big = rng.standard_normal((80, n)).astype(np.float32)
            for threads in (1, 2):
                rc.set_num_threads(threads)
                want = _gemm(a_big, b, ta, True, 0.75, 0.25, c_big)[:m]
                got = _gemm(a, b, ta, True, 0.75, 0.25, np.ascontiguousarray(c_big[:m]))
                np.testing.assert_array_equal(got, want, err_msg=f"{m}x{k}x{n} ta={ta} {threads}")
            _check(_gemm(a, b, ta, True), a, b, ta, True)


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_fused_and_row_packed_b_give_the_same_bits(name, restore):
    # AVX2's first row panel packs B as its kernels read it (rowa_pk / cola_pk) while the
    # whole product's B is under 4 MB; a batch of three such layers (4.8 MB in all) packs
    # each B row by row first. Layer l of the batch must equal the single product of its
    # operands, bit for bit, at 1 and 2 threads (every table: the layouts differ by table)
    rng = np.random.default_rng(13)
    _runtime.set_backend(name)
    for m, k, n in [(17, 784, 512), (40, 500, 700)]:
        for ta in (False, True):
            a = rng.standard_normal((3, k, m) if ta else (3, m, k)).astype(np.float32)
            b = rng.standard_normal((3, k, n)).astype(np.float32)
            for threads in (1, 2):
                rc.set_num_threads(threads)
                out = rc.from_numpy(np.zeros((3, m, n), np.float32))
                _tensor._gemm_into(out, rc.from_numpy(a), rc.from_numpy(b), 1.0, 0.0, ta, False)
                batch = out.numpy().reshape(3, m, n)
                for layer in range(3):
                    one = _gemm(a[layer], b[layer], ta, False)
                    np.testing.assert_array_equal(
                        batch[layer], one, err_msg=f"{m}x{k}x{n} ta={ta} layer {layer} t{threads}"
                    )
                    _check(one, a[layer], b[layer], ta, False)


def _packed_path(m, k, n, tb):
    """matmul.c's route (not tiny, not matrix x vector, not split along k) and a B that
    the packed path packs (transposed, big with more than 32 rows of A to serve, beyond
    2 MB with more than 16, or any size with 128 rows or more and n > 64)."""
    tiny = m * n <= 4096 and k <= 1024 // (m * n)
    ksplit = m * n <= 1 << 16 and k >= 2048 and m * n * k >= 1 << 22
    packs_b = tb or (k * n > 1 << 16 and m > 32) or (k * n > 1 << 19 and m > 16)
    packs_b = packs_b or (m >= 128 and n > 64)
    return not (tiny or m == 1 or n == 1 or ksplit) and packs_b


@pytest.mark.parametrize("name", [b for b in BACKENDS if b != "serial"])
def test_prepacked_b_gives_the_plain_products_bits(name, restore):
    # the recurrent layers pack their weights once per sequence (rcml_gemm_bpack_init):
    # every later product must equal the unpacked one bit for bit, at any thread count;
    # shapes on other paths (tiny, GEMV, k-split) fall back to the plain product
    _runtime.set_backend(name)
    rng = np.random.default_rng(8)
    cases = [(64, 256, 1024), (40, 48, 192), (9, 300, 70), (600, 40, 100), (33, 700, 650)]
    cases += [(128, 40, 65), (127, 40, 100), (200, 32, 64)]  # around the row / column bounds
    cases += [(2, 3, 4), (1, 64, 300), (20, 4096, 52), (16, 1024, 1024), (8, 1024, 1024)]
    for m, k, n in cases:
        for ta, tb in TRANS:
            a, b = _operands(rng, m, k, n, ta, tb)
            c = rng.standard_normal((m, n)).astype(np.float32)
            want = _gemm(a, b, ta, tb, 0.5, 1.0, c)
            for threads in (1, 2):
                rc.set_num_threads(threads)
                out = rc.from_numpy(c.copy())
                packed = _tensor._gemm_prepacked_into(
                    out, rc.from_numpy(a), rc.from_numpy(b), 0.5, 1.0, ta, tb
                )
                assert packed == _packed_path(m, k, n, tb), (m, k, n, tb)
                got = out.numpy().reshape(m, n)
                np.testing.assert_array_equal(got, want, err_msg=f"{m}x{k}x{n} {ta}{tb} t{threads}")
    # a pack made for some rows may serve a product of other rows only where the k blocks
    # are the same (20 rows, packed for 24; with AVX2, 16 and 8 rows pack this B in full k
    # blocks too): one row panel reads it in place in blocks of 32, so the 24-row pack must
    # not serve it; packing for 16 rows packs nothing
    for m, rows in [(20, 24), (16, 24), (8, 24), (6, 24), (24, 16)]:
        a, b = _operands(rng, m, 1024, 1024, False, False)
        want = _gemm(a, b, False, False)
        out = rc.zeros((m, 1024))
        packed = _tensor._gemm_prepacked_into(
            out, rc.from_numpy(a), rc.from_numpy(b), pack_rows=rows
        )
        assert packed == (rows > 16), (m, rows)
        np.testing.assert_array_equal(out.numpy().reshape(m, 1024), want, err_msg=f"{m} {rows}")
    with pytest.raises(rc.ShapeError, match="inner dims"):
        _tensor._gemm_prepacked_into(rc.zeros((2, 2)), rc.zeros((2, 3)), rc.zeros((2, 2)))


def test_concurrent_callers_share_the_scratch_and_pool_safely(restore):
    # Python threads multiply at once (the GIL is released): one gets the kept workspace
    # and the pool, the others allocate their own and run inline; every result keeps its
    # bits (packed, lazily packed, k-split and pre-packed products)
    import threading

    rc.set_num_threads(2)
    rng = np.random.default_rng(9)
    jobs = []
    for m, k, n in [(256, 300, 520), (64, 256, 1100), (520, 600, 300), (40, 4096, 52)]:
        a, b = _operands(rng, m, k, n, False, False)
        jobs.append((rc.from_numpy(a), rc.from_numpy(b), _gemm(a, b, False, False), m, n))
    bad = []

    def work(i):
        for it in range(12):
            ra, rb, want, m, n = jobs[(i + it) % len(jobs)]
            out = rc.zeros((m, n))
            if it % 2:
                _tensor._gemm_prepacked_into(out, ra, rb)
            else:
                _tensor._gemm_into(out, ra, rb)
            if not np.array_equal(out.numpy().reshape(m, n), want):
                bad.append((i, it))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_ksplit_matches_float64_tightly_enough_on_long_k(restore):
    # k = 70000 is split into 16 segments: the error stays within the dot-product bound
    rng = np.random.default_rng(2)
    a = rng.uniform(0.0, 1.0, (70000, 6)).astype(np.float32)  # all positive: no cancellation
    b = rng.uniform(0.0, 1.0, (70000, 5)).astype(np.float32)
    got = _gemm(a, b, True, False)
    _check(got, a, b, True, False)
    want = _mm64(a.astype(np.float64).T, b.astype(np.float64))
    # a plain float32 running sum of 70000 terms drifts ~1e-4 relative; the segments do better
    assert np.max(np.abs(got - want) / want) < 2e-5


def test_lstm_bits_same_across_threads(restore):
    rng = np.random.default_rng(3)
    T, B, I, H = 6, 40, 12, 48

    def t(*shape):
        return rc.from_numpy(rng.standard_normal(shape).astype(np.float32) * 0.3)

    x, W, U, b = t(T, B, I), t(1, I, 4 * H), t(1, H, 4 * H), t(1, 1, 4 * H)
    dh = rng.standard_normal((T, B, H)).astype(np.float32)

    def run():
        G, Cs, Hs = _layers._nn_lstm_forward(x, W, U, b)
        dW, dU, db = rc.zeros((1, I, 4 * H)), rc.zeros((1, H, 4 * H)), rc.zeros((1, 1, 4 * H))
        dx = _layers._nn_lstm_backward(
            x, W, U, G, Cs, Hs, rc.from_numpy(dh.copy()), dW, dU, db, True
        )
        return [o.numpy().copy() for o in (G, Cs, Hs, dW, dU, db, dx)]

    rc.set_num_threads(1)
    want = run()
    for threads in (2, 3, 2):
        rc.set_num_threads(threads)
        for w, g in zip(want, run(), strict=True):
            np.testing.assert_array_equal(g, w)


def test_pool_does_not_spin_when_idle(restore):
    resource = pytest.importorskip("resource")  # POSIX only
    # workers poll for ~0.1 ms after a job, then sleep: over half a second of idleness the
    # process uses (almost) no CPU. A pool that kept spinning would burn ~0.5 s per worker.
    rc.set_num_threads(2)
    a = rc.from_numpy(np.ones((300, 300), np.float32))
    for _ in range(5):
        a @ a
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(0.5)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    used = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    assert used < 0.05, f"{used * 1e3:.1f} ms of CPU while idle"
