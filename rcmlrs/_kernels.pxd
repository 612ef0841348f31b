# Extern declarations of csrc/rcmlrs.h (the public C header), for Cython users.
from libc.stdint cimport int64_t, uint64_t

cdef extern from "rcmlrs.h" nogil:
    ctypedef enum rcml_status_t:
        RCML_OK
        RCML_EINVAL
        RCML_ENOMEM

    enum:
        RCML_ISA_SERIAL
        RCML_ISA_BASELINE
        RCML_ISA_AVX2
        RCML_ISA_AVX512
        RCML_ISA_NEON
        RCML_ISA_COUNT

    void rcml_init() noexcept
    int rcml_isa_available(int isa) noexcept
    int rcml_get_isa() noexcept
    int rcml_set_isa(int isa) noexcept
    int rcml_best_isa() noexcept
    const char *rcml_isa_name(int isa) noexcept
    const char *rcml_compiler() noexcept

    ctypedef void (*rcml_chunk_fn)(void *ctx, size_t begin, size_t end) noexcept nogil
    void rcml_parallel_for(size_t n, size_t grain, rcml_chunk_fn fn, void *ctx) noexcept
    void rcml_set_num_threads(int n) noexcept
    int rcml_get_num_threads() noexcept

    enum:
        RCML_ADD
        RCML_SUB
        RCML_MUL
        RCML_DIV
        RCML_RSUB
        RCML_RDIV
        RCML_MAXIMUM
        RCML_MINIMUM
        RCML_MOD
        RCML_RMOD
        RCML_POW
        RCML_RPOW
        RCML_LT
        RCML_LE
        RCML_GT
        RCML_GE
        RCML_EQ
        RCML_NE

    void rcml_binary_f32(int op, const float *a, const float *b, float *out, size_t n) noexcept
    void rcml_binary_scalar_f32(int op, const float *a, float s, float *out, size_t n) noexcept
    void rcml_binary_bcast_f32(int op, const float *a, const Py_ssize_t *as_, const float *b,
                               const Py_ssize_t *bs, float *out, const size_t *shape) noexcept

    enum:
        RCML_NEG
        RCML_ABS
        RCML_SQRT
        RCML_EXP
        RCML_LOG
        RCML_POWI
        RCML_POWF
        RCML_CLIP
        RCML_TANH
        RCML_SQUARE
        RCML_FLOOR
        RCML_CEIL
        RCML_ROUND
        RCML_SIGN
        RCML_ISNAN
        RCML_ISINF
        RCML_ISFINITE

    void rcml_unary_f32(int op, const float *x, float p0, float p1, float *out, size_t n) noexcept

    enum:
        RCML_WHERE
        RCML_CLAMP

    void rcml_ternary_bcast_f32(int op, const float *a, const Py_ssize_t *as_, const float *b,
                                const Py_ssize_t *bs, const float *c, const Py_ssize_t *cs,
                                float *out, const size_t *shape) noexcept

    double rcml_sum_f32(const float *x, size_t n) noexcept
    double rcml_sumsqdev_f32(const float *x, size_t n, double mean) noexcept
    float rcml_min_f32(const float *x, size_t n) noexcept
    float rcml_max_f32(const float *x, size_t n) noexcept
    size_t rcml_argmax_f32(const float *x, size_t n) noexcept
    float rcml_median_f32(float *scratch, size_t n) noexcept

    enum:
        RCML_RED_SUM
        RCML_RED_MEAN
        RCML_RED_MIN
        RCML_RED_MAX
        RCML_RED_VAR
        RCML_RED_STD
        RCML_RED_PROD
        RCML_RED_ANY
        RCML_RED_ALL
        RCML_RED_LOGSUMEXP

    void rcml_reduce_axis_f32(int op, const float *x, size_t outer, size_t len, size_t inner,
                              double ddof, float *out) noexcept
    void rcml_argmax_axis_f32(const float *x, size_t outer, size_t len, size_t inner,
                              int64_t *out) noexcept
    size_t rcml_argmin_f32(const float *x, size_t n) noexcept
    void rcml_argmin_axis_f32(const float *x, size_t outer, size_t len, size_t inner,
                              int64_t *out) noexcept
    void rcml_cumsum_axis_f32(const float *x, size_t outer, size_t len, size_t inner,
                              int reverse, float *out) noexcept
    int rcml_sum02_f32(int op, const float *x, size_t L, size_t R, size_t C,
                       float *out) noexcept

    void rcml_transpose_f32(const float *x, size_t layers, size_t rows, size_t cols,
                            float *out) noexcept
    void rcml_pad_f32(const float *x, size_t L, size_t R, size_t C, float fill, float *out,
                      size_t L2, size_t R2, size_t C2) noexcept
    void rcml_fill_f32(float v, float *out, size_t n) noexcept
    void rcml_gather3_f32(const float *x, const int64_t *o0, size_t n0, const int64_t *o1,
                          size_t n1, const int64_t *o2, size_t n2, float *out) noexcept
    enum:
        RCML_SCATTER_SERIAL
        RCML_SCATTER_ROWS
        RCML_SCATTER_DISTINCT
    void rcml_scatter3_f32(const float *v, const Py_ssize_t *vs, const int64_t *o0, size_t n0,
                           const int64_t *o1, size_t n1, const int64_t *o2, size_t n2,
                           int accumulate, int mode, float *out) noexcept

    void rcml_random_uniform_f32(uint64_t seed, uint64_t offset, float low, float high,
                                 float *out, size_t n) noexcept
    void rcml_random_normal_f32(uint64_t seed, uint64_t offset, float mean, float std,
                                float *out, size_t n) noexcept

    void *rcml_alloc_aligned(size_t nbytes) noexcept
    void rcml_free_aligned(void *p) noexcept

    void rcml_gemm_f32(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                       const float *A, const float *B, float beta, float *C) noexcept
    void rcml_gemm_batched_f32(size_t layers, int trans_a, int trans_b, size_t m, size_t n,
                               size_t k, float alpha, const float *A, size_t stride_a,
                               const float *B, size_t stride_b, float beta, float *C) noexcept

    # ------------------------------------------------ activations (issue 4)
    enum:
        RCML_ACT_LINEAR
        RCML_ACT_RELU
        RCML_ACT_LEAKY_RELU
        RCML_ACT_SIGMOID
        RCML_ACT_TANH
        RCML_ACT_SWISH
        RCML_ACT_GELU
        RCML_ACT_GELU_ERF
        RCML_ACT_ERF
        RCML_ACT_COUNT
        RCML_ACT_SOFTMAX

    void rcml_act_f32(int act, const float *x, float param, float *out, size_t n) noexcept
    void rcml_act_deriv_f32(int act, const float *x, float param, float *out, size_t n) noexcept
    void rcml_act_backward_f32(int act, const float *x, const float *grad, float param,
                               float *out, size_t n) noexcept
    int rcml_act_has_output_backward(int act) noexcept
    int rcml_act_backward_from_output_f32(int act, const float *y, const float *grad,
                                          float param, float *out, size_t n) noexcept
    void rcml_bias_act_f32(int act, float param, size_t m, size_t n, const float *bias,
                           float *z, float *y) noexcept
    void rcml_act_layer_backward_f32(int act, float param, size_t m, size_t n, const float *z,
                                     const float *y, const float *grad, float *dz) noexcept
    void rcml_softmax_axis_f32(const float *x, size_t outer, size_t len, size_t inner,
                               float *out) noexcept
    void rcml_log_softmax_axis_f32(const float *x, size_t outer, size_t len, size_t inner,
                                   float *out) noexcept
    void rcml_softmax_backward_axis_f32(const float *x, const float *grad, size_t outer,
                                        size_t len, size_t inner, float *out) noexcept
    void rcml_log_softmax_backward_axis_f32(const float *x, const float *grad, size_t outer,
                                            size_t len, size_t inner, float *out) noexcept
    void rcml_softmax_f32(const float *x, size_t rows, size_t cols, float *out) noexcept
    void rcml_log_softmax_f32(const float *x, size_t rows, size_t cols, float *out) noexcept
    void rcml_softmax_backward_f32(const float *x, const float *grad, size_t rows, size_t cols,
                                   float *out) noexcept
    void rcml_softmax_jacobian_f32(const float *x, size_t rows, size_t cols, float *out) noexcept

    # ---------------------------------------------- normalization (issue 4)
    void rcml_norm_apply_f32(const float *x, size_t outer, size_t len, size_t inner,
                             const float *sub, const float *div, float *out) noexcept
    # ------------------------------------------- losses and optimizers (issue 4)
    double rcml_mse_f32(const float *actual, const float *pred, size_t n, float *grad) noexcept
    double rcml_mae_f32(const float *actual, const float *pred, size_t n, float *grad) noexcept
    double rcml_binary_cross_entropy_f32(const float *actual, const float *pred, size_t n,
                                         float *grad) noexcept
    double rcml_binary_cross_entropy_logits_f32(const float *actual, const float *logits,
                                                size_t n, float *grad) noexcept
    double rcml_cross_entropy_f32(const float *logits, const float *target, size_t rows,
                                  size_t cols, float *grad) noexcept
    double rcml_cross_entropy_labels_f32(const float *logits, const int64_t *labels,
                                         size_t rows, size_t cols, float *grad) noexcept
    ctypedef enum rcml_loss_t:
        RCML_LOSS_MSE
        RCML_LOSS_MAE
        RCML_LOSS_BCE
        RCML_LOSS_BCE_LOGITS
    ctypedef enum rcml_reduction_t:
        RCML_REDUCE_MEAN
        RCML_REDUCE_SUM
        RCML_REDUCE_NONE
    double rcml_elem_loss_f32(int kind, const float *actual, const float *pred,
                              const float *weight, size_t n, int reduction, float *grad,
                              float *out) noexcept
    double rcml_cross_entropy_ex_f32(const float *logits, const float *target,
                                     const int64_t *labels, const float *weight, size_t rows,
                                     size_t cols, float label_smoothing, int reduction,
                                     float *grad, float *out) noexcept
    double rcml_nll_loss_f32(const float *log_probs, const int64_t *labels,
                             const float *class_weight, size_t rows, size_t cols,
                             int reduction, float *grad, float *out) noexcept
    void rcml_adam_f32(const float *grad, float *param, float *m, float *v, float *vmax,
                       size_t n, int64_t step, double lr, double beta1, double beta2,
                       double eps, double weight_decay, int decoupled) noexcept
    void rcml_sgd_f32(const float *grad, float *param, float *buf, size_t n, double lr,
                      double momentum, double dampening, double weight_decay, int nesterov,
                      int first) noexcept
    void rcml_rmsprop_f32(const float *grad, float *param, float *square_avg, float *grad_avg,
                          float *buf, size_t n, double lr, double alpha, double eps,
                          double weight_decay, double momentum) noexcept
    void rcml_adagrad_f32(const float *grad, float *param, float *state_sum, size_t n,
                          int64_t step, double lr, double lr_decay, double eps,
                          double weight_decay) noexcept
    void rcml_nadam_f32(const float *grad, float *param, float *m, float *v, size_t n,
                        int64_t step, float *mu_product, double lr, double beta1, double beta2,
                        double eps, double weight_decay, double momentum_decay,
                        int decoupled) noexcept

# ------------------------------------------------------------------ layers (rc.nn)
cdef extern from "rcmlrs.h" nogil:
    size_t rcml_nn_count_correct_f32(size_t m, size_t n, const float *pred,
                                     const float *target, int labels, float threshold) noexcept
    void rcml_nn_gather_rows_f32(const float *src, size_t row_len, const int64_t *idx,
                                 size_t count, float *dst) noexcept
    void rcml_nn_gather_seq_f32(const float *src, size_t T, size_t F, const int64_t *idx,
                                size_t B, float *dst) noexcept
    void rcml_nn_swap01_f32(size_t A, size_t B, size_t F, const float *src, float *dst) noexcept
    void rcml_nn_dropout_f32(size_t n, float rate, const float *u, const float *x, float *mask,
                             float *y) noexcept
    void rcml_rnn_forward_f32(int act, size_t T, size_t B, size_t I, size_t H,
                              const float *X, const float *Wx, const float *Wh,
                              const float *b, float *Hs) noexcept
    void rcml_rnn_backward_f32(int act, size_t T, size_t B, size_t I, size_t H,
                               const float *X, const float *WxT, const float *WhT,
                               const float *Hs, float *dHs, float *dWx, float *dWh,
                               float *dX) noexcept
    void rcml_lstm_forward_f32(size_t T, size_t B, size_t I, size_t H, const float *X,
                               const float *W, const float *U, const float *b, float *G,
                               float *Cs, float *Hs) noexcept
    void rcml_lstm_backward_f32(size_t T, size_t B, size_t I, size_t H, const float *X,
                                const float *WT, const float *UT, const float *G,
                                const float *Cs, const float *Hs, float *dHs, float *dG,
                                float *dc, float *dW, float *dU, float *dX) noexcept

    # convolutions (issue 12): the geometry and the two entry points
    ctypedef struct rcml_conv2d_t:
        size_t B, H, W, C, F, kh, kw, sh, sw, pt, pl, Ho, Wo
    int rcml_conv2d_forward_f32(const rcml_conv2d_t *g, int act, float param, const float *x,
                                const float *w, const float *bias, float *z,
                                float *y) noexcept
    int rcml_conv2d_backward_f32(const rcml_conv2d_t *g, int act, float param,
                                 const float *x, const float *w, const float *z,
                                 const float *y, const float *grad, float *dz, float *dw,
                                 float *db, float *dx) noexcept

# The C API importer of csrc/rcmlrs_capi.h (modules built with RCMLRS_USE_CAPI only), and
# the tensor-object entry points (GIL held: rcmlrs.h, "tensor objects"). A third-party
# Cython module: define RCMLRS_USE_CAPI=1, `from rcmlrs._kernels cimport *`, call
# rcml_capi_import() at module level, then any function above (examples/custom_kernel).
cdef extern from "rcmlrs.h":
    int rcml_capi_import() except -1
    ctypedef struct rcml_capi_t:
        pass
    const rcml_capi_t *rcml_capi_table() noexcept
    const char *RCML_CAPI_NAME
    enum:
        RCML_CAPI_VERSION

    object rcml_tensor_new(size_t layers, size_t rows, size_t cols)
    bint rcml_tensor_check(object obj) noexcept
    float *rcml_tensor_data(object obj) except NULL
    int rcml_tensor_shape(object obj, size_t *shape) except -1
    int rcml_tensor_modified(object obj) except -1

# ------------------------------------------------------------ GRU and embedding (issue 12)
cdef extern from "rcmlrs.h" nogil:
    void rcml_gru_forward_f32(size_t T, size_t B, size_t I, size_t H, const float *X,
                              const float *W, const float *U, const float *b, float *G,
                              float *Gh, float *Hs) noexcept
    void rcml_gru_backward_f32(size_t T, size_t B, size_t I, size_t H, const float *X,
                               const float *WT, const float *UT, const float *G,
                               const float *Gh, const float *Hs, float *dHs, float *dGx,
                               float *dGh, float *dW, float *dU, float *dX) noexcept
    void rcml_embedding_backward_f32(const float *g, const int64_t *rows, size_t n,
                                     const int64_t *cols, size_t d, float *dtable) noexcept

# Batch and layer normalization (csrc/norm.c): an (n, c) matrix, statistics per column
# (batch norm) or per row (layer norm); `work` is rcml_norm_workspace_f32(n, c) bytes.
cdef extern from "rcmlrs.h" nogil:
    size_t rcml_norm_workspace_f32(size_t n, size_t c) noexcept
    void rcml_batch_norm_forward_f32(const float *x, size_t n, size_t c, const float *gamma,
                                     const float *beta, double eps, int training,
                                     double momentum, float *mean, float *var, float *mmean,
                                     float *mvar, float *istd, float *y, void *work) noexcept
    void rcml_batch_norm_backward_f32(const float *x, const float *g, size_t n, size_t c,
                                      const float *mean, const float *istd,
                                      const float *gamma, int training, float *dgamma,
                                      float *dbeta, float *dx, void *work) noexcept
    void rcml_layer_norm_forward_f32(const float *x, size_t n, size_t c, const float *gamma,
                                     const float *beta, double eps, float *mean, float *istd,
                                     float *y) noexcept
    void rcml_layer_norm_backward_f32(const float *x, const float *g, size_t n, size_t c,
                                      const float *mean, const float *istd,
                                      const float *gamma, float *dgamma, float *dbeta,
                                      float *dx, void *work) noexcept
# 2-D pooling on the images layout (csrc/pool.c, pool_body.h)
cdef extern from "rcmlrs.h":
    enum:
        RCML_POOL_MAX
        RCML_POOL_AVG
    ctypedef struct rcml_pool2d_t:
        size_t B, H, W, C
        size_t ph, pw
        size_t sh, sw
        size_t pt, pl
        size_t Ho, Wo
    void rcml_pool2d_forward_f32(int mode, const rcml_pool2d_t *p, const float *x,
                                 float *y) noexcept nogil
    void rcml_pool2d_backward_f32(int mode, const rcml_pool2d_t *p, const float *x,
                                  const float *g, float *dx) noexcept nogil
