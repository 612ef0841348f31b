/* rnn_body.h - the recurrent layers' time loops (Elman RNN, LSTM) and their BPTT, ONE
 * source compiled per ISA through isa_body.h. No activation math of its own: the RNN's
 * bias + activation and its derivative are act_body.h's layer forms, the LSTM gates use
 * the same element functions (rcml_sigmoidf, rcml_tanhf and the y-derivatives) as the
 * tensor methods. Products go through the packed GEMM driver, whose bits do not depend on
 * the thread count; each row of the batch steps through time in a fixed order, the whole
 * batch on the calling thread or row blocks on the pool's threads (rnn_block_rows).
 */
#include "kernels.h"

#include <string.h>

/* C = beta C + op(A) @ B (A stored k x m when ta) */
#define RNN_GEMM(ta, m, n, k, A, B, beta, C)                                                       \
    rcml_gemm_f32((ta), 0, (m), (n), (k), 1.0f, (A), (B), (beta), (C))
/* The recurrent product of every step multiplies by the same weights W (k x n): they are
 * packed once per sequence (pk, from RNN_PACK) instead of once per step, same bits. */
#define RNN_PACK(pk, T, m, n, k, W)                                                                \
    if ((T) < 3 || rcml_gemm_bpack_init(&(pk), (m), 0, (n), (k), (W)) != 0)                        \
    memset(&(pk), 0, sizeof(pk))
/* One step's recurrent product for rows [r0, r1) of the batch, by q's packed weights: a
 * row block (q->per != 0) runs them on this thread with the whole batch's k blocking
 * (rcml_gemm_f32_bpacked_rows), the whole batch shares its tiles out over the pool. Same
 * bits either way. */
#define RNN_STEP_GEMM(q, r0, r1, n, k, A, beta, C)                                                 \
    do {                                                                                           \
        if ((q)->per)                                                                              \
            rcml_gemm_f32_bpacked_rows((r1) - (r0), (n), (k), 1.0f, (A) + (r0) * (k), (q)->pk,     \
                                       (q)->W, (beta), (C) + (r0) * (n));                          \
        else                                                                                       \
            rcml_gemm_f32_bpacked(0, (r1) - (r0), (n), (k), 1.0f, (A), (q)->pk, 0, (q)->W, (beta), \
                                  (C));                                                            \
    } while (0)

#ifndef RCML_RNN_BLOCKS_DEFINED
#define RCML_RNN_BLOCKS_DEFINED
/* Row blocks of the batch, each running the whole time loop on one thread: a row of the
 * state depends only on the same row one step earlier, so blocks need no hand-off per
 * step, where stepping the whole batch shared every step's product and cells out over the
 * pool (two waits per step). Used when two or more threads are free, the packed recurrent
 * weights serve the whole batch's product (so a block's rows get its bits), and each
 * block has at least RNN_BLOCK_MIN rows. Returns the rows per block (a multiple of 8),
 * or 0: step the whole batch. Training step, h256 b64 seq50, 2 threads, the two ways
 * alternated in one process (16-20 rounds): LSTM 1.08-1.10x, GRU 1.05x, RNN 1.03x; the
 * pool's spin-waits fell from 8% to 1% of the samples under perf. */
#define RNN_BLOCK_MIN 8
static size_t rnn_block_rows(const rcml_gemm_bpack_t *pk, size_t B, size_t n, size_t k) {
    const size_t threads = (size_t)rcml_threads_free();
    size_t nb = RCML_MIN(threads, B / RNN_BLOCK_MIN);
    if (nb < 2 || !rcml_gemm_bpack_serves(pk, B, 0, n, k)) return 0;
    return (B + nb * 8 - 1) / (nb * 8) * 8;
}

/* One layer's time loop: steps(q, r0, r1) runs every step for rows [r0, r1) of the
 * batch. Forward fills G/Gh/Cs/Hs; backward reads them (never writes) and fills dHs,
 * dG, dGh and dc. */
typedef struct rcml_rnn_seq rcml_rnn_seq_t;
struct rcml_rnn_seq {
    void (*steps)(const rcml_rnn_seq_t *q, size_t r0, size_t r1);
    int act;
    size_t T, B, H;
    size_t per; /* rows per block, each stepped on one thread; 0: the whole batch at once */
    const rcml_gemm_bpack_t *pk;
    const float *W, *b; /* the recurrent weights pk packs (transposed backward), bias */
    float *G, *Gh, *Cs, *Hs;
    float *dHs, *dG, *dGh, *dc;
};

static void rnn_blocks(void *ctx, size_t c0, size_t c1) {
    const rcml_rnn_seq_t *q = (const rcml_rnn_seq_t *)ctx;
    size_t c;
    for (c = c0; c < c1; c++) q->steps(q, c * q->per, RCML_MIN(q->B, (c + 1) * q->per));
}

/* q's time loop, in row blocks over the pool or for the whole batch; n x k is the
 * recurrent product's B (what pk packs). */
static void rnn_run(rcml_rnn_seq_t *q, size_t n, size_t k) {
    q->per = rnn_block_rows(q->pk, q->B, n, k);
    if (q->per)
        rcml_parallel_for((q->B + q->per - 1) / q->per, 1, rnn_blocks, q);
    else
        q->steps(q, 0, q->B);
}

/* A time loop for T steps of B rows of H units; W: the recurrent product's B. */
static rcml_rnn_seq_t rnn_seq(void (*steps)(const rcml_rnn_seq_t *, size_t, size_t), size_t T,
                              size_t B, size_t H, const float *W) {
    rcml_rnn_seq_t q;
    memset(&q, 0, sizeof(q));
    q.steps = steps;
    q.T = T;
    q.B = B;
    q.H = H;
    q.W = W;
    return q;
}

/* q's time loop with its recurrent weights (n x k as the step product's B) packed once
 * for the whole sequence (RNN_PACK). */
static void rnn_run_packed(rcml_rnn_seq_t *q, size_t n, size_t k) {
    rcml_gemm_bpack_t pk;
    RNN_PACK(pk, q->T, q->B, n, k, q->W);
    q->pk = &pk;
    rnn_run(q, n, k);
    rcml_gemm_bpack_free(&pk);
}

/* One step's cells (rows independent): a block's on this thread, the whole batch's
 * shared out over the pool. */
#define RNN_CELLS(fn, st, q, r0, r1)                                                               \
    do {                                                                                           \
        if ((q)->per)                                                                              \
            fn(&(st), (r0), (r1));                                                                 \
        else                                                                                       \
            rcml_parallel_for((q)->B, RCML_LSTM_GRAIN((q)->H), fn, &(st));                         \
    } while (0)
#endif

/* The weight gradients of a recurrent layer from its pre-activation gradients dG (T*B x
 * N): dW = X^T dG (I x N) and dU = P^T dG (H x N), P_t = h_{t-1} (zero rows at t = 0).
 * One product [X | P]^T dG gives both: dG, the largest operand, is packed once instead of
 * twice, and dW's I rows join dU's H rows instead of being a product of few rows of its
 * own (LSTM h256 b64 seq50, 1 thread, paired rounds: the products 256x3136x1024 +
 * 32x3200x1024 vs 288x3200x1024 1.07x, the training step 1.02x). The t = 0 rows add
 * exact zeros. dW's sums are the same as alone (same k); dU's run over T*B terms with the
 * k blocking of that length (a non-finite gradient at t = 0 then reaches dU as NaN; it
 * has already spoilt dW). One step (no recurrent product: dU = 0) or no memory for
 * [X | P] and the (I + H) x N product: two products as before. */
static void RCML_SFX(rnn_weight_grads)(size_t T, size_t B, size_t I, size_t H, size_t N,
                                       const float *X, const float *Hs, const float *dG, float *dW,
                                       float *dU) {
    const size_t R = T * B, J = I + H, BH = B * H;
    float *xp = T > 1 ? (float *)rcml_alloc_aligned((R * J + J * N) * sizeof(float)) : NULL;
    size_t r;
    if (!xp) {
        if (T > 1)
            RNN_GEMM(1, H, N, (T - 1) * B, Hs, dG + B * N, 0.0f, dU);
        else
            memset(dU, 0, H * N * sizeof(float));
        RNN_GEMM(1, I, N, R, X, dG, 0.0f, dW);
        return;
    }
    float *out = xp + R * J;
    for (r = 0; r < R; r++) {
        float *row = xp + r * J;
        memcpy(row, X + r * I, I * sizeof(float));
        if (r < B)
            memset(row + I, 0, H * sizeof(float));
        else
            memcpy(row + I, Hs + r * H - BH, H * sizeof(float));
    }
    RNN_GEMM(1, J, N, R, xp, dG, 0.0f, out);
    memcpy(dW, out, I * N * sizeof(float));
    memcpy(dU, out + I * N, H * N * sizeof(float));
    rcml_free_aligned(xp);
}

static void RCML_SFX(rnn_fwd_steps)(const rcml_rnn_seq_t *q, size_t r0, size_t r1) {
    const size_t H = q->H, BH = q->B * H;
    size_t t;
    for (t = 0; t < q->T; t++) {
        float *h = q->Hs + t * BH;
        if (t > 0) RNN_STEP_GEMM(q, r0, r1, H, H, h - BH, 1.0f, h);
        RCML_SFX(bias_act)(q->act, 0.0f, r1 - r0, H, q->b, h + r0 * H, h + r0 * H);
    }
}

static void RCML_SFX(rnn_forward)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                                  const float *Wx, const float *Wh, const float *b, float *Hs) {
    rcml_rnn_seq_t q = rnn_seq(RCML_SFX(rnn_fwd_steps), T, B, H, Wh);
    /* all input projections at once, then the recurrence one step at a time */
    RNN_GEMM(0, T * B, H, I, X, Wx, 0.0f, Hs);
    q.act = act;
    q.b = b;
    q.Hs = Hs;
    rnn_run_packed(&q, H, H);
}

static void RCML_SFX(rnn_bwd_steps)(const rcml_rnn_seq_t *q, size_t r0, size_t r1) {
    const size_t H = q->H, BH = q->B * H;
    size_t t;
    for (t = q->T; t-- > 0;) {
        float *dz = q->dHs + t * BH;
        RCML_SFX(layer_backward)(q->act, 0.0f, r1 - r0, H, NULL, q->Hs + t * BH + r0 * H,
                                 dz + r0 * H, dz + r0 * H);
        if (t > 0) RNN_STEP_GEMM(q, r0, r1, H, H, dz, 1.0f, dz - BH);
    }
}

/* dHs: in dL/dh_t from the outputs, out dL/dz_t (z the pre-activation) for every step */
static void RCML_SFX(rnn_backward)(int act, size_t T, size_t B, size_t I, size_t H, const float *X,
                                   const float *WxT, const float *WhT, const float *Hs, float *dHs,
                                   float *dWx, float *dWh, float *dX) {
    rcml_rnn_seq_t q = rnn_seq(RCML_SFX(rnn_bwd_steps), T, B, H, WhT);
    q.act = act;
    q.Hs = (float *)Hs; /* read only */
    q.dHs = dHs;
    rnn_run_packed(&q, H, H);
    RCML_SFX(rnn_weight_grads)(T, B, I, H, H, X, Hs, dHs, dWx, dWh);
    if (dX) RNN_GEMM(0, T * B, I, H, dHs, WxT, 0.0f, dX);
}

/* One LSTM step's gates and state for one row (gates [i | f | g | o], torch's order).
 * Separate simple loops over restrict pointers so each one vectorises. */
static void RCML_SFX(lstm_cell)(size_t H, const float *RCML_RESTRICT b, float *RCML_RESTRICT gr,
                                const float *RCML_RESTRICT cp, float *RCML_RESTRICT c,
                                float *RCML_RESTRICT h) {
    size_t j;
    RCML_LOOP for (j = 0; j < 4 * H; j++) gr[j] = gr[j] + b[j];
    RCML_LOOP for (j = 0; j < 2 * H; j++) gr[j] = rcml_sigmoidf(gr[j]);     /* i, f */
    RCML_LOOP for (j = 2 * H; j < 3 * H; j++) gr[j] = rcml_tanhf(gr[j]);    /* g */
    RCML_LOOP for (j = 3 * H; j < 4 * H; j++) gr[j] = rcml_sigmoidf(gr[j]); /* o */
    const float *ig = gr, *fg = gr + H, *gg = gr + 2 * H, *og = gr + 3 * H;
    if (cp) {
        RCML_LOOP for (j = 0; j < H; j++) c[j] = fg[j] * cp[j] + ig[j] * gg[j];
    } else {
        RCML_LOOP for (j = 0; j < H; j++) c[j] = ig[j] * gg[j];
    }
    RCML_LOOP for (j = 0; j < H; j++) h[j] = og[j] * rcml_tanhf(c[j]);
}

/* One step's cells (or cell gradients) for a range of rows: the rows are independent, so
 * they are shared out over the pool (rcml_parallel_for) with the same bits. */
#ifndef RCML_LSTM_STEP_DEFINED
#define RCML_LSTM_STEP_DEFINED
typedef struct {
    size_t H;
    const float *b, *cp, *dh;
    const float *G;   /* backward: this step's gates */
    float *g, *c, *h; /* forward: gates (in: pre-activations), state, output */
    float *dc, *dg;   /* backward: the cell-state gradient, the gate gradients */
} rcml_lstm_step_t;
/* rows per chunk: ~8K gate elements, whatever the thread count */
#define RCML_LSTM_GRAIN(H) ((size_t)((8192 / (4 * (H) + 1)) + 1))
#endif

static void RCML_SFX(lstm_cell_rows)(void *ctx, size_t r0, size_t r1) {
    const rcml_lstm_step_t *s = (const rcml_lstm_step_t *)ctx;
    const size_t H = s->H;
    size_t r;
    for (r = r0; r < r1; r++)
        RCML_SFX(lstm_cell)(H, s->b, s->g + r * 4 * H, s->cp ? s->cp + r * H : NULL, s->c + r * H,
                            s->h + r * H);
}

static void RCML_SFX(lstm_fwd_steps)(const rcml_rnn_seq_t *q, size_t r0, size_t r1) {
    const size_t H = q->H, H4 = 4 * H, BH = q->B * H, BG = q->B * H4;
    rcml_lstm_step_t st;
    size_t t;
    memset(&st, 0, sizeof(st));
    st.H = H;
    st.b = q->b;
    for (t = 0; t < q->T; t++) {
        float *g = q->G + t * BG;
        if (t > 0) RNN_STEP_GEMM(q, r0, r1, H4, H, q->Hs + (t - 1) * BH, 1.0f, g);
        st.g = g;
        st.cp = t > 0 ? q->Cs + (t - 1) * BH : NULL;
        st.c = q->Cs + t * BH;
        st.h = q->Hs + t * BH;
        RNN_CELLS(RCML_SFX(lstm_cell_rows), st, q, r0, r1);
    }
}

static void RCML_SFX(lstm_forward)(size_t T, size_t B, size_t I, size_t H, const float *X,
                                   const float *W, const float *U, const float *b, float *G,
                                   float *Cs, float *Hs) {
    rcml_rnn_seq_t q = rnn_seq(RCML_SFX(lstm_fwd_steps), T, B, H, U);
    RNN_GEMM(0, T * B, 4 * H, I, X, W, 0.0f, G);
    q.b = b;
    q.G = G;
    q.Cs = Cs;
    q.Hs = Hs;
    rnn_run_packed(&q, 4 * H, H);
}

/* Gate gradients of one row at one step; dc (in: from step t+1, out: to step t-1). */
static void RCML_SFX(lstm_cell_backward)(size_t H, const float *RCML_RESTRICT gr,
                                         const float *RCML_RESTRICT c,
                                         const float *RCML_RESTRICT cp,
                                         const float *RCML_RESTRICT dh, float *RCML_RESTRICT dcr,
                                         float *RCML_RESTRICT dg) {
    size_t j;
    const float *ig = gr, *fg = gr + H, *gg = gr + 2 * H, *og = gr + 3 * H;
    float *di = dg, *df = dg + H, *dgg = dg + 2 * H, *dout = dg + 3 * H;
    RCML_LOOP for (j = 0; j < H; j++) {
        float tc = rcml_tanhf(c[j]);
        float dcv = dcr[j] + dh[j] * og[j] * act_tanh_dy(tc);
        dout[j] = dh[j] * tc * act_sigmoid_dy(og[j]);
        di[j] = dcv * gg[j] * act_sigmoid_dy(ig[j]);
        dgg[j] = dcv * ig[j] * act_tanh_dy(gg[j]);
        df[j] = dcv; /* times c_{t-1} f (1 - f) below */
        dcr[j] = dcv * fg[j];
    }
    if (cp) {
        RCML_LOOP for (j = 0; j < H; j++) df[j] = df[j] * cp[j] * act_sigmoid_dy(fg[j]);
    } else {
        RCML_LOOP for (j = 0; j < H; j++) df[j] = 0.0f; /* c_{-1} = 0 */
    }
}

static void RCML_SFX(lstm_cell_backward_rows)(void *ctx, size_t r0, size_t r1) {
    const rcml_lstm_step_t *s = (const rcml_lstm_step_t *)ctx;
    const size_t H = s->H, H4 = 4 * H;
    size_t r;
    for (r = r0; r < r1; r++)
        RCML_SFX(lstm_cell_backward)(H, s->G + r * H4, s->c + r * H, s->cp ? s->cp + r * H : NULL,
                                     s->dh + r * H, s->dc + r * H, s->dg + r * H4);
}

static void RCML_SFX(lstm_bwd_steps)(const rcml_rnn_seq_t *q, size_t r0, size_t r1) {
    const size_t H = q->H, H4 = 4 * H, BH = q->B * H, BG = q->B * H4;
    rcml_lstm_step_t st;
    size_t t;
    memset(&st, 0, sizeof(st));
    st.H = H;
    st.dc = q->dc;
    for (t = q->T; t-- > 0;) {
        st.G = q->G + t * BG;
        st.c = q->Cs + t * BH; /* read only here */
        st.cp = t > 0 ? q->Cs + (t - 1) * BH : NULL;
        st.dh = q->dHs + t * BH;
        st.dg = q->dG + t * BG;
        RNN_CELLS(RCML_SFX(lstm_cell_backward_rows), st, q, r0, r1);
        if (t > 0) RNN_STEP_GEMM(q, r0, r1, H, H4, q->dG + t * BG, 1.0f, q->dHs + (t - 1) * BH);
    }
}

static void RCML_SFX(lstm_backward)(size_t T, size_t B, size_t I, size_t H, const float *X,
                                    const float *WT, const float *UT, const float *G,
                                    const float *Cs, const float *Hs, float *dHs, float *dG,
                                    float *dc, float *dW, float *dU, float *dX) {
    const size_t H4 = 4 * H;
    rcml_rnn_seq_t q = rnn_seq(RCML_SFX(lstm_bwd_steps), T, B, H, UT);
    memset(dc, 0, B * H * sizeof(float));
    q.G = (float *)G; /* G and Cs are read only */
    q.Cs = (float *)Cs;
    q.dHs = dHs;
    q.dG = dG;
    q.dc = dc;
    rnn_run_packed(&q, H, H4);
    RCML_SFX(rnn_weight_grads)(T, B, I, H, H4, X, Hs, dG, dW, dU);
    if (dX) RNN_GEMM(0, T * B, I, H4, dG, WT, 0.0f, dX);
}

/* ------------------------------------------------------------------ GRU
 * torch.nn.GRU's equations (Keras reset_after=True), gate blocks [z | r | h] of H columns:
 *   z = sig(x Wz + bz + h Uz + cz), r = sig(x Wr + br + h Ur + cr),
 *   n = tanh(x Wh + bh + r (h Uh + ch)), h' = n + z (h - n)  (torch's (1 - z) n + z h).
 * bi (3H) is the input bias, bh (3H) the recurrent one. The input products of the whole
 * sequence are one GEMM, each step one recurrent GEMM, the gates one fused pass per row
 * with the element functions of the tensor methods. */

/* One row of one step. gx (3H): in x W, out [z | r | n]; gh (3H): in h U, out h U + bh;
 * hp: h_{t-1} (NULL at t = 0: zero state). */
static void RCML_SFX(gru_cell)(size_t H, const float *RCML_RESTRICT bi,
                               const float *RCML_RESTRICT bh, float *RCML_RESTRICT gx,
                               float *RCML_RESTRICT gh, const float *RCML_RESTRICT hp,
                               float *RCML_RESTRICT h) {
    size_t j;
    RCML_LOOP for (j = 0; j < 3 * H; j++) gh[j] = gh[j] + bh[j];
    RCML_LOOP for (j = 0; j < 2 * H; j++) gx[j] = rcml_sigmoidf((gx[j] + bi[j]) + gh[j]);
    const float *z = gx, *r = gx + H, *ghn = gh + 2 * H;
    float *n = gx + 2 * H;
    const float *bn = bi + 2 * H;
    RCML_LOOP for (j = 0; j < H; j++) n[j] = rcml_tanhf((n[j] + bn[j]) + r[j] * ghn[j]);
    if (hp) {
        RCML_LOOP for (j = 0; j < H; j++) h[j] = n[j] + z[j] * (hp[j] - n[j]);
    } else {
        RCML_LOOP for (j = 0; j < H; j++) h[j] = n[j] - z[j] * n[j];
    }
}

/* One step's rows of the GRU cells (or their gradients), shared out over the pool like
 * the LSTM's: rows are independent, so the bits do not depend on the split. */
#ifndef RCML_GRU_STEP_DEFINED
#define RCML_GRU_STEP_DEFINED
typedef struct {
    size_t H;
    const float *b, *hp, *dh, *g, *gh; /* hp: h_{t-1} (NULL at t = 0) */
    float *gx, *ghw, *h;               /* forward: gates (in/out), h U (in/out), output */
    float *dgx, *dgh, *dhp;            /* backward */
} rcml_gru_step_t;
#endif

static void RCML_SFX(gru_cell_rows)(void *ctx, size_t r0, size_t r1) {
    const rcml_gru_step_t *s = (const rcml_gru_step_t *)ctx;
    const size_t H = s->H, H3 = 3 * H;
    size_t r;
    for (r = r0; r < r1; r++)
        RCML_SFX(gru_cell)(H, s->b, s->b + H3, s->gx + r * H3, s->ghw + r * H3,
                           s->hp ? s->hp + r * H : NULL, s->h + r * H);
}

static void RCML_SFX(gru_fwd_steps)(const rcml_rnn_seq_t *q, size_t r0, size_t r1) {
    const size_t H = q->H, H3 = 3 * H, BH = q->B * H, BG = q->B * H3;
    rcml_gru_step_t st;
    size_t t;
    memset(&st, 0, sizeof(st));
    st.H = H;
    st.b = q->b;
    for (t = 0; t < q->T; t++) {
        float *gh = q->Gh + t * BG;
        if (t > 0) {
            RNN_STEP_GEMM(q, r0, r1, H3, H, q->Hs + (t - 1) * BH, 0.0f, gh);
        } else {
            memset(gh + r0 * H3, 0, (r1 - r0) * H3 * sizeof(float));
        }
        st.gx = q->G + t * BG;
        st.ghw = gh;
        st.hp = t > 0 ? q->Hs + (t - 1) * BH : NULL;
        st.h = q->Hs + t * BH;
        RNN_CELLS(RCML_SFX(gru_cell_rows), st, q, r0, r1);
    }
}

static void RCML_SFX(gru_forward)(size_t T, size_t B, size_t I, size_t H, const float *X,
                                  const float *W, const float *U, const float *b, float *G,
                                  float *Gh, float *Hs) {
    rcml_rnn_seq_t q = rnn_seq(RCML_SFX(gru_fwd_steps), T, B, H, U);
    RNN_GEMM(0, T * B, 3 * H, I, X, W, 0.0f, G);
    q.b = b;
    q.G = G;
    q.Gh = Gh;
    q.Hs = Hs;
    rnn_run_packed(&q, 3 * H, H);
}

/* Gate gradients of one row at one step from dh = dL/dh_t: dgx (3H) gets dL/d(input
 * pre-activations), dgh (3H) dL/d(h U + bh); dhp (NULL at t = 0) gets dh z added. */
static void RCML_SFX(gru_cell_backward)(size_t H, const float *RCML_RESTRICT g,
                                        const float *RCML_RESTRICT gh,
                                        const float *RCML_RESTRICT hp,
                                        const float *RCML_RESTRICT dh, float *RCML_RESTRICT dgx,
                                        float *RCML_RESTRICT dgh, float *RCML_RESTRICT dhp) {
    size_t j;
    const float *z = g, *r = g + H, *n = g + 2 * H, *ghn = gh + 2 * H;
    float *dz = dgx, *dr = dgx + H, *dn = dgx + 2 * H;
    RCML_LOOP for (j = 0; j < H; j++) {
        float dnv = dh[j] * (1.0f - z[j]) * act_tanh_dy(n[j]);
        dn[j] = dnv;
        dr[j] = dnv * ghn[j] * act_sigmoid_dy(r[j]);
        dgh[2 * H + j] = dnv * r[j];
    }
    if (hp) {
        RCML_LOOP for (j = 0; j < H; j++) dz[j] = dh[j] * (hp[j] - n[j]) * act_sigmoid_dy(z[j]);
        RCML_LOOP for (j = 0; j < H; j++) dhp[j] = dhp[j] + dh[j] * z[j];
    } else {
        RCML_LOOP for (j = 0; j < H; j++) dz[j] = -dh[j] * n[j] * act_sigmoid_dy(z[j]);
    }
    memcpy(dgh, dgx, 2 * H * sizeof(float));
}

static void RCML_SFX(gru_cell_backward_rows)(void *ctx, size_t r0, size_t r1) {
    const rcml_gru_step_t *s = (const rcml_gru_step_t *)ctx;
    const size_t H = s->H, H3 = 3 * H;
    size_t r;
    for (r = r0; r < r1; r++)
        RCML_SFX(gru_cell_backward)(H, s->g + r * H3, s->gh + r * H3, s->hp ? s->hp + r * H : NULL,
                                    s->dh + r * H, s->dgx + r * H3, s->dgh + r * H3,
                                    s->dhp ? s->dhp + r * H : NULL);
}

static void RCML_SFX(gru_bwd_steps)(const rcml_rnn_seq_t *q, size_t r0, size_t r1) {
    const size_t H = q->H, H3 = 3 * H, BH = q->B * H, BG = q->B * H3;
    rcml_gru_step_t st;
    size_t t;
    memset(&st, 0, sizeof(st));
    st.H = H;
    for (t = q->T; t-- > 0;) {
        st.g = q->G + t * BG;
        st.gh = q->Gh + t * BG;
        st.hp = t > 0 ? q->Hs + (t - 1) * BH : NULL;
        st.dh = q->dHs + t * BH;
        st.dgx = q->dG + t * BG;
        st.dgh = q->dGh + t * BG;
        st.dhp = t > 0 ? q->dHs + (t - 1) * BH : NULL;
        RNN_CELLS(RCML_SFX(gru_cell_backward_rows), st, q, r0, r1);
        if (t > 0) RNN_STEP_GEMM(q, r0, r1, H, H3, q->dGh + t * BG, 1.0f, q->dHs + (t - 1) * BH);
    }
}

/* BPTT: dHs (T, B, H) in dL/dh_t from the outputs (modified: the total dL/dh_t); dGx and
 * dGh (T, B, 3H) get dL/d(x W + bi) and dL/d(h U + bh) (their column sums are the bias
 * gradients); WT (3H, I), UT (3H, H) transposed weights; dX may be NULL. */
static void RCML_SFX(gru_backward)(size_t T, size_t B, size_t I, size_t H, const float *X,
                                   const float *WT, const float *UT, const float *G,
                                   const float *Gh, const float *Hs, float *dHs, float *dGx,
                                   float *dGh, float *dW, float *dU, float *dX) {
    const size_t H3 = 3 * H, BG = B * H3;
    rcml_rnn_seq_t q = rnn_seq(RCML_SFX(gru_bwd_steps), T, B, H, UT);
    q.G = (float *)G; /* G, Gh and Hs are read only */
    q.Gh = (float *)Gh;
    q.Hs = (float *)Hs;
    q.dHs = dHs;
    q.dG = dGx;
    q.dGh = dGh;
    rnn_run_packed(&q, H, H3);
    if (T > 1)
        RNN_GEMM(1, H, H3, (T - 1) * B, Hs, dGh + BG, 0.0f, dU);
    else
        memset(dU, 0, H * H3 * sizeof(float));
    RNN_GEMM(1, I, H3, T * B, X, dGx, 0.0f, dW);
    if (dX) RNN_GEMM(0, T * B, I, H3, dGx, WT, 0.0f, dX);
}

#undef RNN_GEMM
#undef RNN_PACK
#undef RNN_STEP_GEMM

/* one member per line, so each family appends its own */
/* clang-format off */
const rcml_rnn_table_t RCML_SFX(rcml_rnn) = {
    RCML_SFX(rnn_forward),
    RCML_SFX(rnn_backward),
    RCML_SFX(lstm_forward),
    RCML_SFX(lstm_backward),
    RCML_SFX(gru_forward),
    RCML_SFX(gru_backward),
};
/* clang-format on */
