/* alloc.c - aligned buffers for tensors. */
#if !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* posix_memalign, madvise */
#endif
#include "rcmlrs.h"

#include <stdint.h>
#include <stdlib.h>
#if defined(_WIN32)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* Big buffers are marked for transparent huge pages, as NumPy does: the whole 2 MiB
 * pages inside them then fault in once each instead of 512 times. The alignment stays at
 * 64 bytes: a 2 MiB-aligned request is larger than glibc's mmap threshold every time, so
 * each result would be a fresh mmap (page faults on every call) instead of reused heap. */
#define RCML_HUGE_MIN ((size_t)4 << 20)
#define RCML_HUGE_ALIGN ((size_t)2 << 20)

void *rcml_alloc_aligned(size_t nbytes) {
    void *p = NULL;
    if (nbytes == 0) nbytes = 64;
#if defined(_WIN32)
    p = _aligned_malloc(nbytes, 64);
#else
    if (posix_memalign(&p, 64, nbytes) != 0) p = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p && nbytes >= RCML_HUGE_MIN) {
        uintptr_t b = ((uintptr_t)p + RCML_HUGE_ALIGN - 1) & ~(uintptr_t)(RCML_HUGE_ALIGN - 1);
        uintptr_t e = ((uintptr_t)p + nbytes) & ~(uintptr_t)(RCML_HUGE_ALIGN - 1);
        if (e > b) madvise((void *)b, e - b, MADV_HUGEPAGE);
    }
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
