/*
 * rcmlrs_capi.h - the C API table: every entry point of rcmlrs.h, reachable from another
 * extension module without linking against rcmlrs (included by rcmlrs.h).
 *
 * The extension rcmlrs._tensor holds the one copy of the kernels, the CPU dispatch state
 * and the thread pool, and exports a table of pointers to every function of rcmlrs.h
 * (kernels, the pool's rcml_parallel_for, and the rcml_tensor_* functions that create
 * RamTensors and read their buffer and shape) as the capsule "rcmlrs._tensor._C_API".
 * rcmlrs's own Cython modules (_train, _layers, ...) and third-party kernels use it so:
 *
 *     #define RCMLRS_USE_CAPI 1      (or -DRCMLRS_USE_CAPI, before including rcmlrs.h)
 *     #include <Python.h>
 *     #include "rcmlrs.h"            (from rcmlrs.get_include())
 *     ...
 *     if (rcml_capi_import() < 0) return NULL;   (once, at module init, GIL held)
 *     rcml_gemm_f32(...);            (the same names and signatures as rcmlrs.h)
 *
 * Under RCMLRS_USE_CAPI each name of rcmlrs.h is a static function pointer of that
 * translation unit (see RCML_FN there), filled by rcml_capi_import, so calls reach the
 * same kernels, the same backend choice and the same deterministic thread pool.
 * Cython: `from rcmlrs._kernels cimport *` declares the same names (built with
 * RCMLRS_USE_CAPI, call rcml_capi_import() at module level); see examples/custom_kernel.
 *
 * The table is versioned and append-only: new entry points go at the END of
 * RCML_CAPI_FUNCS (and RCML_CAPI_VERSION goes up by one), existing ones never move or
 * change, so a module built against an older header keeps working with a newer rcmlrs
 * (its table is a prefix of the newer one; `count` says how many entries exist). A module
 * built against a newer header than the installed rcmlrs, or for another buffer layout,
 * gets an ImportError from rcml_capi_import, never a call through a missing slot.
 * tests/test_capi.py checks that the list names every function of rcmlrs.h.
 */
#ifndef RCMLRS_CAPI_H
#define RCMLRS_CAPI_H

#include <stddef.h>
#include <string.h>

/* Table revisions: 1 the kernels, the pool and dispatch (rcmlrs 0.1); 2 + rcml_tensor_*;
 * 3 + CNN/normalization/GRU kernels; 4 + rcml_sum02_f32. */
#define RCML_CAPI_VERSION 4
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
    X(rcml_tensor_new)                                                                             \
    X(rcml_tensor_check)                                                                           \
    X(rcml_tensor_data)                                                                            \
    X(rcml_tensor_shape)                                                                           \
    X(rcml_tensor_modified)                                                                        \
    X(rcml_rmsprop_f32)                                                                            \
    X(rcml_adagrad_f32)                                                                            \
    X(rcml_nadam_f32)                                                                              \
    X(rcml_gru_forward_f32)                                                                        \
    X(rcml_gru_backward_f32)                                                                       \
    X(rcml_embedding_backward_f32)                                                                 \
    X(rcml_norm_workspace_f32)                                                                     \
    X(rcml_batch_norm_forward_f32)                                                                 \
    X(rcml_batch_norm_backward_f32)                                                                \
    X(rcml_layer_norm_forward_f32)                                                                 \
    X(rcml_layer_norm_backward_f32)                                                                \
    X(rcml_conv2d_forward_f32)                                                                     \
    X(rcml_conv2d_backward_f32)                                                                    \
    X(rcml_pool2d_forward_f32)                                                                     \
    X(rcml_pool2d_backward_f32)                                                                    \
    X(rcml_sum02_f32)

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

#if defined(_MSC_VER)
#define RCML_CAPI_INLINE static __inline
#else
#define RCML_CAPI_INLINE static inline
#endif

/* The pending exception becomes the cause of an ImportError saying `what`. */
RCML_CAPI_INLINE void rcml_capi_import_error_(const char *what) {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *cause = PyErr_GetRaisedException();
    PyErr_Format(PyExc_ImportError, "rcmlrs C API: %s (%S)", what, cause);
    {
        PyObject *err = PyErr_GetRaisedException();
        PyException_SetCause(err, cause); /* steals cause */
        PyErr_SetRaisedException(err);
    }
#else
    PyObject *type, *cause, *tb, *t2, *err, *tb2;
    PyErr_Fetch(&type, &cause, &tb);
    PyErr_NormalizeException(&type, &cause, &tb);
    if (tb != NULL && cause != NULL) PyException_SetTraceback(cause, tb);
    PyErr_Format(PyExc_ImportError, "rcmlrs C API: %s (%S)", what, cause);
    PyErr_Fetch(&t2, &err, &tb2);
    PyErr_NormalizeException(&t2, &err, &tb2);
    if (err != NULL && cause != NULL)
        PyException_SetCause(err, cause); /* steals cause */
    else
        Py_XDECREF(cause);
    PyErr_Restore(t2, err, tb2);
    Py_XDECREF(type);
    Py_XDECREF(tb);
#endif
}

/* Fill this translation unit's pointers from the capsule: 0, or -1 with ImportError set
 * (rcmlrs not importable, no C API capsule, a table older than this header, or another
 * buffer layout). Nothing is called through the table before every check has passed. */
RCML_CAPI_INLINE int rcml_capi_import(void) {
    size_t i = 0, need = 0;
    const rcml_capi_t *t = (const rcml_capi_t *)PyCapsule_Import(RCML_CAPI_NAME, 0);
    if (t == NULL) {
        rcml_capi_import_error_("cannot load the capsule " RCML_CAPI_NAME
                                " (is rcmlrs installed, and new enough to have a C API?)");
        return -1;
    }
#define RCML_CAPI_COUNT(name) need++;
    RCML_CAPI_FUNCS(RCML_CAPI_COUNT)
#undef RCML_CAPI_COUNT
    /* every table since version 1 starts with this struct; check the version first */
    if (t->version < RCML_CAPI_VERSION || t->abi != RCMLRS_ABI_VERSION || t->count < need ||
        t->fns == NULL) {
        PyErr_Format(PyExc_ImportError,
                     "rcmlrs C API: this module was built against table version %d (%zu entry "
                     "points, buffer layout %d), the installed rcmlrs exports version %u (%zu "
                     "entry points, layout %u); install a newer rcmlrs or rebuild the module "
                     "against the installed one",
                     RCML_CAPI_VERSION, need, RCMLRS_ABI_VERSION, t->version,
                     t->version >= 1 ? t->count : (size_t)0, t->abi);
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
