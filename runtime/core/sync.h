/* sync.h: the few synchronisation primitives the runtime uses everywhere (spinlock,
 * cpu pause, branch hints). Anything that can block in the kernel lives in
 * sched/sleep.c instead; nothing here may sleep. */
#ifndef DAG_SYNC_H
#define DAG_SYNC_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define RELAXED memory_order_relaxed
#define ACQUIRE memory_order_acquire
#define RELEASE memory_order_release
#define ACQ_REL memory_order_acq_rel
#define SEQ_CST memory_order_seq_cst

/* ThreadSanitizer does not model fences. Under it, FENCE_SC() vanishes and the accesses
 * it orders (written with SC_TSAN(order)) become sequentially consistent themselves:
 * the same guarantees, at a cost only sanitizer builds pay. */
#if defined(__SANITIZE_THREAD__)
#define DAG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DAG_TSAN 1
#endif
#endif
#ifdef DAG_TSAN
#define FENCE_SC() ((void)0)
#define SC_TSAN(order) memory_order_seq_cst
#else
#define FENCE_SC() atomic_thread_fence(memory_order_seq_cst)
#define SC_TSAN(order) (order)
#endif

#define CACHE_LINE 64

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Test-and-test-and-set lock: held for a few dozen instructions at most. */
typedef struct spinlock {
    atomic_int held;
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
    while (atomic_exchange_explicit(&l->held, 1, ACQUIRE)) {
        /* yield after a while: the holder may have been descheduled (oversubscription) */
        for (unsigned i = 1; atomic_load_explicit(&l->held, RELAXED); i++) {
            cpu_relax();
            if ((i & 1023) == 0)
                sched_yield();
        }
    }
}

static inline int spin_trylock(spinlock_t *l)
{
    return !atomic_load_explicit(&l->held, RELAXED) &&
           !atomic_exchange_explicit(&l->held, 1, ACQUIRE);
}

static inline void spin_unlock(spinlock_t *l)
{
    atomic_store_explicit(&l->held, 0, RELEASE);
}

#endif
