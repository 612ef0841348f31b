/*
 * softsign.c - a third-party elementwise kernel over RamTensor buffers.
 *
 * Shows how to extend rcmlrs in C: include the public header from rc.get_include(),
 * take a tensor's buffer through the buffer protocol, run a kernel written in rcmlrs's
 * conventions over it with the GIL released, and return a new tensor.
 *
 *   softsign(x)  -> a new tensor, out = x / (1 + |x|)
 *   softsign_(x) -> x itself, updated in place
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>

#include "rcmlrs.h" /* buffer layout, rcml_* types; from rcmlrs.get_include() */

#if RCMLRS_ABI_VERSION != 1
#error "built for rcmlrs buffer layout version 1"
#endif

/* out[i] = x[i] / (1 + |x[i]|); n floats; out may equal x. NaN stays NaN, +-inf -> +-1. */
static void softsign_f32(const float *x, size_t n, float *out) {
    size_t i;
    for (i = 0; i < n; i++) {
        float v = x[i];
        float a = v < 0.0f ? -v : v;
        /* |x| = inf gives inf/inf = NaN: the limit is +-1 (a > FLT_MAX avoids the INFINITY
         * macro, which older MSVC headers spell as an overflowing constant) */
        out[i] = a > FLT_MAX ? (v < 0.0f ? -1.0f : 1.0f) : v / (1.0f + a);
    }
}

/* Get a float32 C-contiguous buffer (a RamTensor, a NumPy float32 array...). The layout
 * contract of rcmlrs.h: one contiguous run of float32, element (l, r, c) at
 * (l*R + r)*C + c, so an elementwise kernel can treat it as a flat array. */
static int get_f32(PyObject *obj, Py_buffer *view, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    if (view->itemsize != 4 || view->format == NULL || strcmp(view->format, "f") != 0) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_TypeError, "softsign: expected a float32 tensor or array");
        return -1;
    }
    return 0;
}

static void run(const float *x, size_t n, float *out) {
    if (n >= 16384) { /* large: let other Python threads run meanwhile */
        Py_BEGIN_ALLOW_THREADS
        softsign_f32(x, n, out);
        Py_END_ALLOW_THREADS
    } else {
        softsign_f32(x, n, out);
    }
}

static PyObject *softsign(PyObject *self, PyObject *x) {
    Py_buffer in, out;
    PyObject *result;
    (void)self;
    if (get_f32(x, &in, 0) < 0) return NULL;
    /* a new tensor of the same shape: RamTensor.copy() allocates an owned buffer */
    result = PyObject_CallMethod(x, "copy", NULL);
    if (result == NULL || get_f32(result, &out, 1) < 0) {
        Py_XDECREF(result);
        PyBuffer_Release(&in);
        return NULL;
    }
    if (out.len != in.len) {
        PyBuffer_Release(&out);
        PyBuffer_Release(&in);
        Py_DECREF(result);
        PyErr_SetString(PyExc_ValueError, "softsign: copy() returned a different size");
        return NULL;
    }
    run((const float *)in.buf, (size_t)(in.len / 4), (float *)out.buf);
    PyBuffer_Release(&out);
    PyBuffer_Release(&in);
    return result;
}

static PyObject *softsign_(PyObject *self, PyObject *x) {
    Py_buffer view;
    (void)self;
    if (get_f32(x, &view, 1) < 0) return NULL;
    run((const float *)view.buf, (size_t)(view.len / 4), (float *)view.buf);
    PyBuffer_Release(&view);
    Py_INCREF(x);
    return x;
}

static PyMethodDef methods[] = {
    {"softsign", softsign, METH_O, "softsign(x) -> x / (1 + |x|) as a new tensor."},
    {"softsign_", softsign_, METH_O, "softsign_(x): x = x / (1 + |x|) in place; returns x."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "rcmlrs_softsign",
    "A custom elementwise kernel (softsign) over rcmlrs RamTensor buffers.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_rcmlrs_softsign(void) { return PyModule_Create(&module); }
