/* threads.c - a small portable thread pool (pthreads or Win32), no OpenMP runtime.
 *
 * One job at a time: the caller publishes (fn, ctx, n, grain), wakes the workers and
 * takes chunks itself. Chunks are handed out under the mutex; they are large (grain is
 * tens of thousands of floats), so the lock is not a bottleneck. A second caller that
 * finds the pool busy runs its job inline, which gives the same bits because chunk
 * boundaries depend only on n and grain.
 *
 * Spin, then sleep. A training step is a chain of kernels a few microseconds to a few
 * milliseconds long; waking a sleeping worker through the condition variable costs
 * tens of microseconds (more when another process holds the core). So a worker that
 * finishes a job first polls the job counter for RCML_SPIN_US microseconds (a pause
 * instruction between polls, the clock read every 64 polls) and only then sleeps on the
 * condition variable; the caller likewise polls for its helpers before sleeping. The
 * poll reads one word without the lock and is only a hint: the state is always
 * re-checked under the mutex. Once idle for longer than that, no thread runs. The caller
 * polls longer (RCML_CALLER_SPIN_US), and on Linux a helper woken on the caller's CPU
 * moves off it (Placement, below).
 */
/* clock_gettime and CLOCK_MONOTONIC under -std=c11 (glibc hides POSIX names there); on
 * Linux also sched_getcpu and the cpu_set_t macros (GNU names, which imply POSIX's) */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#elif !defined(_WIN32) && !defined(__APPLE__) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200112L
#endif
#include "rcmlrs.h"
#include "internal.h"

#include <stdlib.h>

#define RCML_MAX_THREADS 256
/* how long a worker (or the waiting caller) polls before sleeping, microseconds. 1000 us
 * was tried (a worker that runs out of GEMM tiles waits for the caller's last one and may
 * fall asleep just before the next job): one bench_shapes run at 2 threads looked better,
 * the next full run did not (MLP rows 0.73x -> 0.72x NumPy's median), so it stays 100. */
#ifndef RCML_SPIN_US
#define RCML_SPIN_US 100
#endif
/* how long the caller polls for its helpers to finish their last chunks before sleeping.
 * It is inside the call anyway, so polling costs no CPU that would do other work (the
 * poll yields to any runnable thread); sleeping instead meant a wake-up per product, and
 * the woken caller was often placed on its helper's CPU (see Placement below). */
#ifndef RCML_CALLER_SPIN_US
#define RCML_CALLER_SPIN_US 2000
#endif

#if defined(_WIN32)
#include <windows.h>
typedef CRITICAL_SECTION rcml_mutex_t;
typedef CONDITION_VARIABLE rcml_cond_t;
#define rcml_mutex_init(m) InitializeCriticalSection(m)
#define rcml_lock(m) EnterCriticalSection(m)
#define rcml_unlock(m) LeaveCriticalSection(m)
#define rcml_cond_init(c) InitializeConditionVariable(c)
#define rcml_cond_wait(c, m) SleepConditionVariableCS(c, m, INFINITE)
#define rcml_cond_broadcast(c) WakeAllConditionVariable(c)
/* a monotonic clock in microseconds (the spin bound) */
static unsigned long long rcml_now_us(void) {
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (unsigned long long)(t.QuadPart /
                                (freq.QuadPart / 1000000 ? freq.QuadPart / 1000000 : 1));
}
#else
#include <pthread.h>
#include <time.h>
static unsigned long long rcml_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u;
}
typedef pthread_mutex_t rcml_mutex_t;
typedef pthread_cond_t rcml_cond_t;
#define rcml_mutex_init(m) pthread_mutex_init(m, NULL)
#define rcml_lock(m) pthread_mutex_lock(m)
#define rcml_unlock(m) pthread_mutex_unlock(m)
#define rcml_cond_init(c) pthread_cond_init(c, NULL)
#define rcml_cond_wait(c, m) pthread_cond_wait(c, m)
#define rcml_cond_broadcast(c) pthread_cond_broadcast(c)
#endif

/* A CPU hint for spin-wait loops (lets the sibling hyperthread run, saves power). GCC and
 * Clang (clang-cl included: its <intrin.h> clashes with the Windows SDK's barrier macros)
 * take the builtins; only cl.exe itself includes <intrin.h>, as dispatch.c does. */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define rcml_cpu_relax() __builtin_ia32_pause()
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__aarch64__) || defined(__arm__))
#define rcml_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#define rcml_cpu_relax() _mm_pause()
#elif defined(_MSC_VER) && (defined(_M_ARM64) || defined(_M_ARM))
#include <intrin.h>
#define rcml_cpu_relax() __yield()
#else
#define rcml_cpu_relax() ((void)0)
#endif

/* Give the core to another runnable thread, if any (returns at once otherwise). */
#if defined(_WIN32)
#define rcml_yield() ((void)SwitchToThread())
#else
#include <sched.h>
#define rcml_yield() ((void)sched_yield())
#endif

/* An unlocked read of a word another thread writes under the mutex (a hint only). */
#if defined(__GNUC__) || defined(__clang__)
#define rcml_peek_ul(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define rcml_peek_int(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#else /* MSVC: volatile reads are acquire loads on x86 and (/volatile:ms) ARM */
#define rcml_peek_ul(x) (*(volatile unsigned long *)&(x))
#define rcml_peek_int(x) (*(volatile int *)&(x))
#endif

/* Poll until cond holds or us microseconds pass. */
#define RCML_SPIN_UNTIL(cond, us)                                                                  \
    do {                                                                                           \
        unsigned long long t0_ = 0;                                                                \
        unsigned spins_ = 0;                                                                       \
        while (!(cond)) {                                                                          \
            rcml_cpu_relax();                                                                      \
            if ((++spins_ & 63u) == 0) {                                                           \
                const unsigned long long now_ = rcml_now_us();                                     \
                rcml_yield(); /* let a process that wants this core have it */                     \
                if (!t0_) {                                                                        \
                    t0_ = now_;                                                                    \
                } else if (now_ - t0_ >= (us)) {                                                   \
                    break;                                                                         \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Placement. After an idle spell Linux may wake a worker on the CPU of the thread that
 * wakes it (seen in KVM guests: the caller and its helper then share one core for many
 * calls, and a 2-thread product runs at 1-thread speed until the load balancer separates
 * them). A helper that picks up a job on the caller's CPU, with chunks still left, moves
 * off it: it narrows its affinity to the other allowed CPUs (the kernel migrates it at
 * once) and restores the mask, so it is never pinned. A helper that arrives after the
 * caller took every chunk has nothing to move for. The caller's CPU is a hint recorded
 * when the job is published. */
#if defined(__linux__)
#include <sched.h>
#define rcml_this_cpu() sched_getcpu()
static void rcml_leave_cpu(int cpu) {
    cpu_set_t all, others;
    if (cpu < 0 || cpu >= CPU_SETSIZE) return;
    if (sched_getaffinity(0, sizeof all, &all) != 0) return;
    if (!CPU_ISSET(cpu, &all) || CPU_COUNT(&all) < 2) return; /* nowhere else to go */
    others = all;
    CPU_CLR(cpu, &others);
    if (sched_setaffinity(0, sizeof others, &others) == 0) sched_setaffinity(0, sizeof all, &all);
}
#else
#define rcml_this_cpu() (-1)
#define rcml_leave_cpu(cpu) ((void)(cpu))
#endif

static struct {
    int initialised;
    rcml_mutex_t m;
    rcml_cond_t work_cv, done_cv;
    int nthreads; /* configured total, caller included */
    int nworkers; /* worker threads started */
    int busy;     /* a job is running */
    unsigned long generation;
    /* the current job */
    rcml_chunk_fn fn;
    void *ctx;
    size_t n, grain, next;
    int participants; /* workers allowed to join this job */
    int active;       /* workers still inside this job */
    int caller_cpu;   /* the CPU the caller ran on when it published the job, or -1 */
    unsigned long spawn_gen[RCML_MAX_THREADS];
} pool;

static void rcml_pool_init(void);

/* --------------------------------------------------------------- scratch cache */
/* Buffers above this size are not kept (a giant product should not pin its workspace). */
#define RCML_SCRATCH_KEEP ((size_t)32 << 20)
static struct {
    void *buf;
    size_t size;
    int out; /* the buffer is lent */
} scratch;

/* take the next chunk; returns 0 when none is left. Caller holds the mutex. */
static int rcml_take(size_t *b, size_t *e) {
    if (pool.next >= pool.n) return 0;
    *b = pool.next;
    *e = RCML_MIN(pool.n, pool.next + pool.grain);
    pool.next = *e;
    return 1;
}

static void rcml_work(void) {
    size_t b, e;
    rcml_chunk_fn fn = pool.fn;
    void *ctx = pool.ctx;
    while (rcml_take(&b, &e)) {
        rcml_unlock(&pool.m);
        fn(ctx, b, e);
        rcml_lock(&pool.m);
    }
}

#if defined(_WIN32)
static DWORD WINAPI rcml_worker(LPVOID arg)
#else
static void *rcml_worker(void *arg)
#endif
{
    int index = (int)(intptr_t)arg;
    unsigned long seen;
    rcml_lock(&pool.m);
    /* the generation when this worker was spawned, not now: a job may have been
     * published between the spawn and this thread first taking the lock */
    seen = pool.spawn_gen[index];
    for (;;) {
        if (pool.generation == seen) {
            /* poll for the next job a little while before sleeping (see the top) */
            rcml_unlock(&pool.m);
            RCML_SPIN_UNTIL(rcml_peek_ul(pool.generation) != seen, RCML_SPIN_US);
            rcml_lock(&pool.m);
        }
        while (pool.generation == seen) rcml_cond_wait(&pool.work_cv, &pool.m);
        seen = pool.generation;
        if (index < pool.participants) {
            const int cc = pool.caller_cpu;
            if (cc >= 0 && pool.next < pool.n && rcml_this_cpu() == cc) {
                rcml_unlock(&pool.m);
                rcml_leave_cpu(cc);
                rcml_lock(&pool.m);
            }
            rcml_work();
            pool.active--;
            if (pool.active == 0) rcml_cond_broadcast(&pool.done_cv);
        }
    }
    /* not reached: workers live as long as the process */
    return 0;
}

#if !defined(_WIN32)
/* After fork() only the forking thread exists: forget the workers and the lock state. */
static void rcml_atfork_child(void) {
    pool.initialised = 0;
    pool.nworkers = 0;
    pool.busy = 0;
    scratch.out = 0; /* no other thread survives to give it back */
    rcml_pool_init();
}
#endif

static void rcml_pool_init(void) {
    if (pool.initialised) return;
    rcml_mutex_init(&pool.m);
    rcml_cond_init(&pool.work_cv);
    rcml_cond_init(&pool.done_cv);
    pool.initialised = 1;
#if !defined(_WIN32)
    static int atfork_done = 0;
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, rcml_atfork_child);
        atfork_done = 1;
    }
#endif
}

/* start workers up to nthreads - 1; caller holds the mutex */
static void rcml_spawn(void) {
    while (pool.nworkers < pool.nthreads - 1) {
        int ok;
        pool.spawn_gen[pool.nworkers] = pool.generation;
#if defined(_WIN32)
        HANDLE h = CreateThread(NULL, 0, rcml_worker, (LPVOID)(intptr_t)pool.nworkers, 0, NULL);
        ok = h != NULL;
        if (ok) CloseHandle(h);
#else
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        ok = pthread_create(&t, &attr, rcml_worker, (void *)(intptr_t)pool.nworkers) == 0;
        pthread_attr_destroy(&attr);
#if defined(__linux__)
        /* named here, not by the worker, so the name is there when this call returns
         * (what top -H and /proc show; workers never exit, so t stays valid) */
        if (ok) pthread_setname_np(t, "rcmlrs-pool");
#endif
#endif
        if (!ok) break; /* fewer threads; results are the same */
        pool.nworkers++;
    }
}

void rcml_set_num_threads(int n) {
    rcml_pool_init();
    if (n < 1) n = 1;
    if (n > RCML_MAX_THREADS) n = RCML_MAX_THREADS;
    rcml_lock(&pool.m);
    pool.nthreads = n;
    rcml_unlock(&pool.m);
}

int rcml_get_num_threads(void) { return pool.nthreads < 1 ? 1 : pool.nthreads; }

void rcml_pool_lock(void) {
    rcml_pool_init();
    rcml_lock(&pool.m);
}

void rcml_pool_unlock(void) { rcml_unlock(&pool.m); }

int rcml_threads_free(void) {
    /* a job is running: a parallel_for now would run inline (a hint, read unlocked) */
    if (pool.initialised && rcml_peek_int(pool.busy)) return 1;
    return rcml_get_num_threads();
}

void *rcml_scratch_acquire(size_t nbytes) {
    void *p = NULL, *old = NULL;
    int token = 0; /* this caller holds the cache (and may replace its buffer) */
    if (nbytes == 0) nbytes = 64;
    if (nbytes > RCML_SCRATCH_KEEP) return rcml_alloc_aligned(nbytes);
    rcml_pool_init();
    rcml_lock(&pool.m);
    if (!scratch.out) {
        scratch.out = token = 1;
        if (scratch.size >= nbytes) {
            p = scratch.buf;
        } else {
            old = scratch.buf; /* too small: replaced below */
            scratch.buf = NULL;
            scratch.size = 0;
        }
    }
    rcml_unlock(&pool.m);
    if (p) return p;
    if (old) rcml_free_aligned(old);
    p = rcml_alloc_aligned(nbytes);
    if (token) {
        rcml_lock(&pool.m);
        if (p) {
            scratch.buf = p;
            scratch.size = nbytes;
        } else {
            scratch.out = 0;
        }
        rcml_unlock(&pool.m);
    }
    return p;
}

void rcml_scratch_release(void *p) {
    int mine;
    if (!p) return;
    rcml_lock(&pool.m);
    mine = p == scratch.buf;
    if (mine) scratch.out = 0;
    rcml_unlock(&pool.m);
    if (!mine) rcml_free_aligned(p);
}

void rcml_parallel_for(size_t n, size_t grain, rcml_chunk_fn fn, void *ctx) {
    size_t b;
    if (n == 0) return;
    if (grain == 0) grain = 1;
    if (n <= grain || pool.nthreads <= 1) { /* nthreads is 0 before set_num_threads */
        for (b = 0; b < n; b += grain) fn(ctx, b, RCML_MIN(n, b + grain));
        return;
    }
    rcml_pool_init();
    rcml_lock(&pool.m);
    if (pool.busy) {
        rcml_unlock(&pool.m);
        for (b = 0; b < n; b += grain) fn(ctx, b, RCML_MIN(n, b + grain));
        return;
    }
    rcml_spawn();
    size_t nchunks = (n + grain - 1) / grain;
    int helpers = RCML_MIN(pool.nworkers, pool.nthreads - 1);
    if ((size_t)helpers > nchunks - 1) helpers = (int)(nchunks - 1);
    pool.busy = 1;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.grain = grain;
    pool.next = 0;
    pool.participants = helpers;
    pool.active = helpers;
    pool.caller_cpu = helpers > 0 ? rcml_this_cpu() : -1;
    pool.generation++;
    if (helpers > 0) rcml_cond_broadcast(&pool.work_cv);
    rcml_work();
    if (pool.active > 0) {
        rcml_unlock(&pool.m);
        RCML_SPIN_UNTIL(rcml_peek_int(pool.active) == 0, RCML_CALLER_SPIN_US);
        rcml_lock(&pool.m);
    }
    while (pool.active > 0) rcml_cond_wait(&pool.done_cv, &pool.m);
    pool.busy = 0;
    rcml_unlock(&pool.m);
}
