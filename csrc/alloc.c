/* alloc.c - aligned buffers for tensors. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200112L
#endif
#include "rcmlrs.h"

#include <stdlib.h>
#if defined(_WIN32)
#include <malloc.h>
#endif

void *rcml_alloc_aligned(size_t nbytes) {
    void *p = NULL;
    if (nbytes == 0) nbytes = 64;
#if defined(_WIN32)
    p = _aligned_malloc(nbytes, 64);
#else
    if (posix_memalign(&p, 64, nbytes) != 0) p = NULL;
#endif
    return p;
}

void rcml_free_aligned(void *p) {
#if defined(_WIN32)
    _aligned_free(p);
#else
    free(p);
#endif
}
