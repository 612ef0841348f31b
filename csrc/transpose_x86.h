/* transpose_x86.h - register transposes for the x86 kernel files (gemm_avx2.c,
 * gemm_avx512.c), ONE source compiled once per ISA: include it after the file's
 * target_*_begin.h, <immintrin.h> and its NR (a multiple of 8). Needs AVX only. No include
 * guard: each variant file includes it once. */

/* An 8 x 8 transpose in registers (the usual unpack/shuffle/permute sequence): o[c] gets
 * lane r of r_[r] for r < 8, i.e. column c of the rows r_[0..7]. Force-inlined, so the
 * arrays stay in registers. */
RCML_FORCE_INLINE void rcml_tr8x8_regs(const __m256 *r_, __m256 *o) {
    __m256 t0 = _mm256_unpacklo_ps(r_[0], r_[1]), t1 = _mm256_unpackhi_ps(r_[0], r_[1]);
    __m256 t2 = _mm256_unpacklo_ps(r_[2], r_[3]), t3 = _mm256_unpackhi_ps(r_[2], r_[3]);
    __m256 t4 = _mm256_unpacklo_ps(r_[4], r_[5]), t5 = _mm256_unpackhi_ps(r_[4], r_[5]);
    __m256 t6 = _mm256_unpacklo_ps(r_[6], r_[7]), t7 = _mm256_unpackhi_ps(r_[6], r_[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    o[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    o[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    o[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    o[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    o[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    o[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    o[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    o[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* d[c*ldd + r] = s[r*lds + c] for an 8 x 8 block: 8 loads and 8 stores instead of 64
 * scalar moves. */
RCML_FORCE_INLINE void rcml_tr8x8(const float *s, size_t lds, float *d, size_t ldd) {
    __m256 r_[8], o[8];
    size_t i;
    for (i = 0; i < 8; i++) r_[i] = _mm256_loadu_ps(s + i * lds);
    rcml_tr8x8_regs(r_, o);
    for (i = 0; i < 8; i++) _mm256_storeu_ps(d + i * ldd, o[i]);
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
