/* transpose_x86.h - register transposes for the x86 kernel files (gemm_avx2.c,
 * gemm_avx512.c), ONE source compiled once per ISA: include it after the file's
 * target_*_begin.h, <immintrin.h> and its NR (a multiple of 8). Needs AVX only. No include
 * guard: each variant file includes it once. */

/* d[c*ldd + r] = s[r*lds + c] for an 8 x 8 block, in registers (the usual
 * unpack/shuffle/permute sequence): 8 loads and 8 stores instead of 64 scalar moves. */
RCML_FORCE_INLINE void rcml_tr8x8(const float *s, size_t lds, float *d, size_t ldd) {
    __m256 r0 = _mm256_loadu_ps(s + 0 * lds), r1 = _mm256_loadu_ps(s + 1 * lds);
    __m256 r2 = _mm256_loadu_ps(s + 2 * lds), r3 = _mm256_loadu_ps(s + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(d + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* The table's tr16 (gemm.h): a 16 x 16 block as four 8 x 8 ones, so that every source and
 * destination line (16 floats) is used whole within the block. */
static void rcml_tr16x16(const float *s, size_t lds, float *d, size_t ldd) {
    rcml_tr8x8(s, lds, d, ldd);
    rcml_tr8x8(s + 8, lds, d + 8 * ldd, ldd);
    rcml_tr8x8(s + 8 * lds, lds, d + 8, ldd);
    rcml_tr8x8(s + 8 * lds + 8, lds, d + 8 * ldd + 8, ldd);
}

/* The table's pack_bt: a full NR panel of a transposed B (stored n x k), d[p*NR + j] =
 * s[j*lds + p]. With scalar moves a batch of 64 x 64 products ran at 60% of the
 * untransposed speed (AVX-512). */
static void rcml_pack_bt_x86(const float *s, size_t lds, size_t kq, float *d) {
    size_t p = 0, j;
    for (; p + 8 <= kq; p += 8)
        for (j = 0; j < NR; j += 8) rcml_tr8x8(s + j * lds + p, lds, d + p * NR + j, NR);
    for (; p < kq; p++)
        for (j = 0; j < NR; j++) d[p * NR + j] = s[j * lds + p];
}
