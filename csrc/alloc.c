/* alloc.c - aligned buffers for tensors. */
#if !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* posix_memalign, madvise */
#endif
#include "rcmlrs.h"

#include <stdlib.h>
#if defined(_WIN32)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Big buffers are 2 MiB aligned and marked for transparent huge pages (as NumPy does):
 * a fresh 4 MB result then costs 2 page faults instead of ~1000, which is most of the
 * time of a memory-bound op such as add on 1e6 floats. */
#define RCML_HUGE_MIN ((size_t)4 << 20)
#define RCML_HUGE_ALIGN ((size_t)2 << 20)

void *rcml_alloc_aligned(size_t nbytes) {
    void *p = NULL;
    if (nbytes == 0) nbytes = 64;
#if defined(_WIN32)
    p = _aligned_malloc(nbytes, 64);
#else
    size_t align = 64;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (nbytes >= RCML_HUGE_MIN) align = RCML_HUGE_ALIGN;
#endif
    if (posix_memalign(&p, align, nbytes) != 0) p = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p && align == RCML_HUGE_ALIGN) madvise(p, nbytes & ~(RCML_HUGE_ALIGN - 1), MADV_HUGEPAGE);
#endif
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
