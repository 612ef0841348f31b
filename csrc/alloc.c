/* alloc.c - aligned buffers for tensors, and a small cache of big ones. */
#if !defined(_WIN32) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* posix_memalign, madvise */
#endif
#include "rcmlrs.h"
#include "internal.h"

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

/* Every buffer starts with a 64-byte header holding its capacity (the bytes after the
 * header), so rcml_free_aligned knows a big buffer's size. */
#define RCML_HDR 64

/* Freed buffers of at least RCML_HUGE_MIN bytes are kept, up to RCML_KEEP_N of them and
 * RCML_KEEP_BYTES in all, and handed out again for a request they fit with at most a
 * quarter to spare. A training step frees and reallocates the same big activations and
 * gradients every time; through malloc they went back to the heap, whose top glibc trims,
 * so their pages were faulted in and zeroed again each step (clear_page 2-2.5% of an
 * LSTM h256 or MLP 784-1024x3 step under perf). The oldest entry goes first when full. */
#define RCML_KEEP_N 8
#define RCML_KEEP_BYTES ((size_t)128 << 20)
static struct {
    void *base[RCML_KEEP_N];
    size_t cap[RCML_KEEP_N];
    int n;
    size_t bytes;
} kept;

static void *rcml_raw_alloc(size_t total) {
    void *p = NULL;
#if defined(_WIN32)
    p = _aligned_malloc(total, 64);
#else
    if (posix_memalign(&p, 64, total) != 0) p = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p && total >= RCML_HUGE_MIN) {
        uintptr_t b = ((uintptr_t)p + RCML_HUGE_ALIGN - 1) & ~(uintptr_t)(RCML_HUGE_ALIGN - 1);
        uintptr_t e = ((uintptr_t)p + total) & ~(uintptr_t)(RCML_HUGE_ALIGN - 1);
        if (e > b) madvise((void *)b, e - b, MADV_HUGEPAGE);
    }
#endif
#endif
    return p;
}

static void rcml_raw_free(void *p) {
#if defined(_WIN32)
    _aligned_free(p);
#else
    free(p);
#endif
}

/* Entry i leaves the cache (the later ones move up, keeping their age order); caller
 * holds the lock. Returns its buffer. */
static void *rcml_kept_remove(int i) {
    void *base = kept.base[i];
    kept.bytes -= kept.cap[i];
    for (; i + 1 < kept.n; i++) {
        kept.base[i] = kept.base[i + 1];
        kept.cap[i] = kept.cap[i + 1];
    }
    kept.n--;
    return base;
}

/* The best-fitting kept buffer for nbytes (removed from the cache), or NULL. */
static void *rcml_kept_take(size_t nbytes) {
    void *base = NULL;
    int i, best = -1;
    rcml_pool_lock();
    for (i = 0; i < kept.n; i++)
        if (kept.cap[i] >= nbytes && kept.cap[i] - nbytes <= nbytes / 4 &&
            (best < 0 || kept.cap[i] < kept.cap[best]))
            best = i;
    if (best >= 0) base = rcml_kept_remove(best);
    rcml_pool_unlock();
    return base;
}

/* Keep a freed big buffer, evicting the oldest ones to make room; frees outside the lock. */
static void rcml_kept_put(void *base, size_t cap) {
    void *evicted[RCML_KEEP_N + 1];
    int i, ne = 0;
    if (cap > RCML_KEEP_BYTES / 2) {
        rcml_raw_free(base);
        return;
    }
    rcml_pool_lock();
    while (kept.n == RCML_KEEP_N || kept.bytes + cap > RCML_KEEP_BYTES)
        evicted[ne++] = rcml_kept_remove(0);
    kept.base[kept.n] = base;
    kept.cap[kept.n] = cap;
    kept.n++;
    kept.bytes += cap;
    rcml_pool_unlock();
    for (i = 0; i < ne; i++) rcml_raw_free(evicted[i]);
}

void *rcml_alloc_aligned(size_t nbytes) {
    unsigned char *base = NULL;
    if (nbytes == 0) nbytes = 64;
    if (nbytes > SIZE_MAX - RCML_HDR) return NULL;
    if (nbytes >= RCML_HUGE_MIN) base = (unsigned char *)rcml_kept_take(nbytes);
    if (!base) {
        base = (unsigned char *)rcml_raw_alloc(nbytes + RCML_HDR);
        if (!base) return NULL;
        *(size_t *)base = nbytes;
    }
    return base + RCML_HDR;
}

void rcml_free_aligned(void *p) {
    unsigned char *base;
    size_t cap;
    if (!p) return;
    base = (unsigned char *)p - RCML_HDR;
    cap = *(size_t *)base;
    if (cap >= RCML_HUGE_MIN)
        rcml_kept_put(base, cap);
    else
        rcml_raw_free(base);
}
