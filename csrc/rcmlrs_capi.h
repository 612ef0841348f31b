/*
 * rcmlrs_capi.h - the C API table: every entry point of rcmlrs.h, reachable from another
 * extension module without linking against rcmlrs (included by rcmlrs.h).
 *
 * The extension rcmlrs._tensor holds the one copy of the kernels, the CPU dispatch state
 * and the thread pool, and exports a table of pointers to every function of rcmlrs.h as
 * the capsule "rcmlrs._tensor._C_API". rcmlrs's own Cython modules (_train, _layers, ...)
 * and third-party kernels use it like this:
 *
 *     #define RCMLRS_USE_CAPI 1      (or -DRCMLRS_USE_CAPI, before including rcmlrs.h)
 *     #include "rcmlrs.h"
 *     ...
 *     if (rcml_capi_import() < 0) return NULL;   (once, at module init, GIL held)
 *     rcml_gemm_f32(...);            (the same names and signatures as rcmlrs.h)
 *
 * Under RCMLRS_USE_CAPI each name of rcmlrs.h is a static function pointer of that
 * translation unit (see RCML_FN there), filled by rcml_capi_import, so calls reach the
 * same kernels, the same backend choice and the same deterministic thread pool.
 *
 * The table is versioned and append-only: new entry points go at the END of
 * RCML_CAPI_FUNCS, so a module built against an older header keeps working with a newer
 * rcmlrs (its table is a prefix of the newer one; `count` says how many entries exist).
 * tests/test_capi.py checks that the list names every function of rcmlrs.h.
 */
#ifndef RCMLRS_CAPI_H
#define RCMLRS_CAPI_H

#include <stddef.h>
#include <string.h>

#define RCML_CAPI_VERSION 1
#define RCML_CAPI_NAME "rcmlrs._tensor._C_API"

/* X(name) for every function of rcmlrs.h, in table order (append only). */
#define RCML_CAPI_FUNCS(X)                                                                         \
    X(rcml_init)                                                                                   \
    X(rcml_isa_available)                                                                          \
    X(rcml_get_isa)                                                                                \
    X(rcml_set_isa)                                                                                \
    X(rcml_best_isa)                                                                               \
    X(rcml_isa_name)                                                                               \
    X(rcml_compiler)                                                                               \
    X(rcml_parallel_for)                                                                           \
    X(rcml_set_num_threads)                                                                        \
    X(rcml_get_num_threads)                                                                        \
    X(rcml_binary_f32)                                                                             \
    X(rcml_binary_scalar_f32)                                                                      \
    X(rcml_binary_bcast_f32)                                                                       \
    X(rcml_unary_f32)                                                                              \
    X(rcml_sum_f32)                                                                                \
    X(rcml_sumsqdev_f32)                                                                           \
    X(rcml_min_f32)                                                                                \
    X(rcml_max_f32)                                                                                \
    X(rcml_argmax_f32)                                                                             \
    X(rcml_median_f32)                                                                             \
    X(rcml_reduce_axis_f32)                                                                        \
    X(rcml_argmax_axis_f32)                                                                        \
    X(rcml_transpose_f32)                                                                          \
    X(rcml_pad_f32)                                                                                \
    X(rcml_fill_f32)                                                                               \
    X(rcml_random_uniform_f32)                                                                     \
    X(rcml_random_normal_f32)                                                                      \
    X(rcml_alloc_aligned)                                                                          \
    X(rcml_free_aligned)                                                                           \
    X(rcml_gemm_f32)                                                                               \
    X(rcml_gemm_batched_f32)                                                                       \
    X(rcml_act_f32)                                                                                \
    X(rcml_act_deriv_f32)                                                                          \
    X(rcml_act_backward_f32)                                                                       \
    X(rcml_act_has_output_backward)                                                                \
    X(rcml_act_backward_from_output_f32)                                                           \
    X(rcml_bias_act_f32)                                                                           \
    X(rcml_act_layer_backward_f32)                                                                 \
    X(rcml_softmax_axis_f32)                                                                       \
    X(rcml_log_softmax_axis_f32)                                                                   \
    X(rcml_softmax_backward_axis_f32)                                                              \
    X(rcml_softmax_f32)                                                                            \
    X(rcml_log_softmax_f32)                                                                        \
    X(rcml_softmax_backward_f32)                                                                   \
    X(rcml_softmax_jacobian_f32)                                                                   \
    X(rcml_norm_apply_f32)                                                                         \
    X(rcml_mse_f32)                                                                                \
    X(rcml_mae_f32)                                                                                \
    X(rcml_binary_cross_entropy_f32)                                                               \
    X(rcml_binary_cross_entropy_logits_f32)                                                        \
    X(rcml_cross_entropy_f32)                                                                      \
    X(rcml_cross_entropy_labels_f32)                                                               \
    X(rcml_adam_f32)                                                                               \
    X(rcml_sgd_f32)                                                                                \
    X(rcml_rnn_forward_f32)                                                                        \
    X(rcml_rnn_backward_f32)                                                                       \
    X(rcml_lstm_forward_f32)                                                                       \
    X(rcml_lstm_backward_f32)                                                                      \
    X(rcml_nn_count_correct_f32)                                                                   \
    X(rcml_nn_gather_rows_f32)                                                                     \
    X(rcml_nn_gather_seq_f32)                                                                      \
    X(rcml_nn_swap01_f32)                                                                          \
    X(rcml_nn_dropout_f32)                                                                         \
    X(rcml_ternary_bcast_f32)                                                                      \
    X(rcml_argmin_f32)                                                                             \
    X(rcml_argmin_axis_f32)                                                                        \
    X(rcml_cumsum_axis_f32)                                                                        \
    X(rcml_elem_loss_f32)                                                                          \
    X(rcml_cross_entropy_ex_f32)                                                                   \
    X(rcml_nll_loss_f32)                                                                           \
    X(rcml_log_softmax_backward_axis_f32)                                                          \
    X(rcml_gather3_f32)                                                                            \
    X(rcml_scatter3_f32)                                                                           \
    X(rcml_rmsprop_f32)                                                                            \
    X(rcml_adagrad_f32)                                                                            \
    X(rcml_nadam_f32)

/* A generic function pointer: each slot is cast back to its own type by the importer. */
typedef void (*rcml_capi_fn)(void);

/* What the capsule points to. */
typedef struct rcml_capi {
    unsigned int version;    /* RCML_CAPI_VERSION of the exporter */
    unsigned int abi;        /* RCMLRS_ABI_VERSION (buffer layout) of the exporter */
    size_t count;            /* entries in fns */
    const rcml_capi_fn *fns; /* RCML_CAPI_FUNCS order */
} rcml_capi_t;

#ifdef RCMLRS_USE_CAPI
#include <Python.h>

/* Fill this translation unit's pointers from the capsule: 0, or -1 with a Python
 * exception set (rcmlrs not importable, older than this header, or another layout). */
#if defined(_MSC_VER)
static __inline int rcml_capi_import(void) {
#else
static inline int rcml_capi_import(void) {
#endif
    size_t i = 0, need = 0;
    const rcml_capi_t *t = (const rcml_capi_t *)PyCapsule_Import(RCML_CAPI_NAME, 0);
    if (t == NULL) return -1;
#define RCML_CAPI_COUNT(name) need++;
    RCML_CAPI_FUNCS(RCML_CAPI_COUNT)
#undef RCML_CAPI_COUNT
    if (t->abi != RCMLRS_ABI_VERSION || t->count < need) {
        PyErr_Format(PyExc_ImportError,
                     "rcmlrs C API: this module needs %zu entry points of buffer layout %d, "
                     "the installed rcmlrs exports %zu of layout %u; rebuild the module",
                     need, RCMLRS_ABI_VERSION, t->count, t->abi);
        return -1;
    }
    /* the slot holds the function's address as a generic function pointer; copying its
     * bytes into the typed pointer is the round trip C allows through a cast */
#define RCML_CAPI_SET(name) memcpy((void *)&name, &t->fns[i++], sizeof(name));
    RCML_CAPI_FUNCS(RCML_CAPI_SET)
#undef RCML_CAPI_SET
    return 0;
}
#else
/* The exporter's table (csrc/capi.c), wrapped in the capsule by rcmlrs._tensor. */
const rcml_capi_t *rcml_capi_table(void);
#endif /* RCMLRS_USE_CAPI */

#endif /* RCMLRS_CAPI_H */
